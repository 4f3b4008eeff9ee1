// `npm run bench`: every workload on every implementation in one run,
// alternating implementations round by round, each run in its own process.
// Writes bench/results/latest.json, latest.md and ratios.svg.
//   node bench/run.mjs [--rounds 5] [--only W1,W3] [--no-reference] [--no-pipeline] [--no-distributed]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { renderChart } from './chart.mjs';
import { describeDistributed, runDistributed } from './distributed.mjs';
import { runPipeline } from './pipeline.mjs';
import { replaceSection } from './readme.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    only: { type: 'string' },
    'no-reference': { type: 'boolean', default: false },
    'no-pipeline': { type: 'boolean', default: false },
    'no-distributed': { type: 'boolean', default: false },
  },
});
const rounds = Number(values.rounds);
const workloads = JSON.parse(readFileSync(join(here, 'workloads.json'), 'utf8'));
const names = values.only ? values.only.split(',') : Object.keys(workloads);
const MiB = 2 ** 20;

if (!existsSync(join(root, 'dist', 'index.mjs'))) {
  console.error('dist/ is missing: run `npm install` (or `npm run build`) first');
  process.exit(2);
}

// --- The reference: ratiopath in a virtual environment, or numpy alone; tiler beside it ---
/** tiler, pinned as in __test__/python-requirements.txt. */
const TILER_VERSION = '0.6.0';
function findPython() {
  const candidates = [
    'python3.13',
    'python3.12',
    ...['3.13', '3.12'].map((v) => `${process.env.HOME}/.pyenv/versions/${v}/bin/python3`),
  ];
  for (const c of candidates) {
    const r = spawnSync(c, ['-c', 'import sys; print(sys.version_info >= (3, 12))'], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim() === 'True') return c;
  }
  const pyenv = spawnSync('sh', ['-c', 'ls -d $HOME/.pyenv/versions/3.1[2-9]*/bin/python3 2>/dev/null | tail -1'], {
    encoding: 'utf8',
  });
  return pyenv.stdout.trim() || null;
}

function referencePython() {
  if (values['no-reference']) return { python: null, note: 'reference skipped (--no-reference)' };
  const venv = join(here, '.venv');
  const venvPython = join(venv, 'bin', 'python');
  const ok = (py, code) => spawnSync(py, ['-c', code], { encoding: 'utf8' }).status === 0;
  if (!existsSync(venvPython)) {
    const base = findPython();
    if (base) {
      console.log(`setting up the reference in bench/.venv with ${base} (ratiopath --no-deps, numpy)`);
      spawnSync(base, ['-m', 'venv', venv], { stdio: 'inherit' });
      spawnSync(venvPython, ['-m', 'pip', 'install', '--quiet', 'numpy'], { stdio: 'inherit' });
      spawnSync(venvPython, ['-m', 'pip', 'install', '--quiet', '--no-deps', 'ratiopath'], { stdio: 'inherit' });
    }
  }
  // The second peer, the-lay/tiler's Merger, in the same environment (added to older ones too).
  if (existsSync(venvPython) && !ok(venvPython, 'import tiler')) {
    console.log(`installing tiler ${TILER_VERSION} (the second peer) into bench/.venv`);
    spawnSync(venvPython, ['-m', 'pip', 'install', '--quiet', `tiler==${TILER_VERSION}`], { stdio: 'inherit' });
  }
  if (existsSync(venvPython) && ok(venvPython, 'import numpy')) {
    return { python: venvPython, tiler: ok(venvPython, 'import tiler'), note: null };
  }
  if (ok('python3', 'import numpy')) {
    return {
      python: 'python3',
      note: 'no Python >= 3.12 for ratiopath: the reference column is numpy doing its per-tile operations',
    };
  }
  return { python: null, note: 'no Python with numpy: the reference column is skipped' };
}

// --- Memory bandwidth of this machine, from Rust ---
function bandwidth() {
  execFileSync('cargo', ['build', '--quiet', '--release', '-p', 'wsi-bandwidth'], { cwd: root, stdio: 'inherit' });
  const out = execFileSync(join(root, 'target', 'release', 'wsi-bandwidth'), ['512', '7'], { encoding: 'utf8' });
  return JSON.parse(out);
}

/** Touches fresh memory first, so no implementation is timed against the hypervisor's page allocation. */
function warmMemory() {
  spawnSync(join(root, 'target', 'release', 'wsi-bandwidth'), ['--warm', '2048']);
}

function runOnce(name, impl, python, extra = []) {
  warmMemory();
  const [cmd, args] =
    impl === 'reference' || (impl === 'tiler' && !workloads[name].weights)
      ? [python, [join(here, 'reference', 'reference_bench.py'), name, impl]]
      : impl === 'tiler'
        ? [python, [join(here, 'reference', 'tiler_bench.py'), name]]
        : [process.execPath, [join(here, 'workload.mjs'), name, impl, ...extra]];
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${name} ${impl} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Bytes a workload must move at least: tile reads, accumulator read-modify-write and the finalize
 * pass; with `counter`, also the u16 overlap counter's read-modify-write per tile pixel and its read
 * at finalize (the old bound). Without it (the new bound), counts come from the tiles' rectangles.
 */
function traffic(w, tiles, maskPixels, counter) {
  const scalar = w.output === 1;
  const mean = w.aggregation === 'mean';
  const upscale = w.tile / gcd(w.tile, w.stride * w.output);
  const footprint = (w.output * upscale) ** 2;
  const perPixel = w.channels * (8 + (scalar ? 0 : 4 / upscale)) + (mean && counter ? 4 : 0);
  const finalize = maskPixels * (w.channels * 8 + (mean && counter ? 2 : 0));
  return tiles * footprint * perPixel + finalize;
}

function gcd(a, b) {
  while (b) [a, b] = [b, a % b];
  return a;
}

// --- Run ---
const { python, tiler, note } = referencePython();
if (note) console.log(note);
const impls = ['native', 'js', ...(python ? ['reference'] : []), ...(tiler ? ['tiler'] : [])];
if (python && !tiler) console.log('no tiler in the reference environment: the tiler column is skipped');
/** tiler's Merger is a peer for the dense in-memory means (W1, W4): it has no max, scalar tiles or memmap. */
const tilerFits = (w) => w.aggregation === 'mean' && w.output !== 1 && w.storage === 'inmemory';
/** What a workload runs: its own list (weighted ones: a uniform baseline, tiler) or every implementation that fits. */
const implsOf = (w) =>
  w.impls
    ? w.impls.filter((i) => (i === 'tiler' ? tiler : i !== 'reference' || python !== null))
    : impls.filter((i) => i !== 'tiler' || tilerFits(w));
console.log(`bandwidth (Rust, ${cpus().length} cores):`);
const bw = bandwidth();
console.log(
  `  copy ${bw.copyGBps} GB/s (1 thread), ${bw.copyAllThreadsGBps} GB/s (all); in-place add ${bw.addGBps} / ${bw.addAllThreadsGBps} GB/s; first touch ${bw.firstTouchGBps} GB/s`,
);

const results = [];
for (const name of names) {
  const w = workloads[name];
  // The pure-JS backend keeps masks in memory only: no JS column for memmap.
  const implsHere = implsOf(w).filter((i) => !(i === 'js' && w.storage === 'memmap'));
  const runs = Object.fromEntries(implsHere.map((i) => [i, []]));
  process.stdout.write(`${name} ${w.title}: `);
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round so no implementation always runs first.
    const order = implsHere.map((_, k) => implsHere[(k + r) % implsHere.length]);
    for (const impl of order) {
      runs[impl].push(runOnce(name, impl, python));
      process.stdout.write('.');
    }
  }
  process.stdout.write('\n');
  const native = runs.native;
  const maskPixels = native[0].maskExtents.reduce((a, e) => a * e, 1);
  // Counts from rectangles serve the uniform mean; weighted means keep a per-pixel counter, and a
  // memmap mean writes its counter file (through the page cache, so it is resident) at finalize.
  const countsFromRects = !w.weights;
  const counterResident = w.weights || w.storage === 'memmap';
  const bytes = traffic(w, native[0].tiles, maskPixels, true);
  const newBytes = traffic(w, native[0].tiles, maskPixels, !countsFromRects);
  const seconds = Object.fromEntries(implsHere.map((i) => [i, median(runs[i].map((x) => x.seconds))]));
  const ratio = (impl) => (runs[impl] ? median(runs[impl].map((x, k) => x.seconds / native[k].seconds)) : null);
  // CPU time of every thread of the run's process: on a shared machine it shows the work done where
  // wall time also counts waiting for a core. (The native backend's two threads both count.)
  const cpuSeconds = Object.fromEntries(implsHere.map((i) => [i, median(runs[i].map((x) => x.cpuSeconds ?? Number.NaN))]));
  const cpuRatio = (impl) => (runs[impl] ? median(runs[impl].map((x, k) => x.cpuSeconds / native[k].cpuSeconds)) : null);
  // The old memory bound kept the overlap counter resident; the new one (counts from rectangles) does not.
  const oldRssBound = native[0].storageBytes + native[0].counterBytes + native[0].batchBytes + 64 * MiB;
  const rssBound = oldRssBound - (counterResident ? 0 : native[0].counterBytes);
  const bestBandwidth = Math.max(bw.addAllThreadsGBps, bw.addGBps) * 1e9;
  // The least time the run's traffic could take at the in-place-add bandwidth.
  const boundSeconds = bytes / bestBandwidth;
  const newBoundSeconds = newBytes / bestBandwidth;
  const entry = {
    workload: name,
    title: w.title,
    tiles: native[0].tiles,
    maskExtents: native[0].maskExtents,
    trafficBytes: bytes,
    newTrafficBytes: newBytes,
    seconds,
    cpuSeconds,
    cpuSpeedupOverReference: python ? cpuRatio('reference') : null,
    tilesPerSecond: Object.fromEntries(implsHere.map((i) => [i, native[0].tiles / seconds[i]])),
    gbPerSecond: Object.fromEntries(implsHere.map((i) => [i, bytes / seconds[i] / 1e9])),
    boundSeconds,
    newBoundSeconds,
    bandwidthFraction: boundSeconds / seconds.native,
    newBandwidthFraction: newBoundSeconds / seconds.native,
    runs: Object.fromEntries(implsHere.map((i) => [i, runs[i].map((x) => x.seconds)])),
    speedupOverJs: ratio('js'),
    speedupOverReference: runs.reference ? ratio('reference') : null,
    // Weighted workloads: the same run with uniform weights over the weighted one, and tiler's Merger over ours.
    costOverUniform: runs.uniform ? median(native.map((x, k) => x.seconds / runs.uniform[k].seconds)) : null,
    speedupOverTiler: runs.tiler ? ratio('tiler') : null,
    tilerWindow: w.weights ? (typeof w.weights === 'string' ? w.weights : w.weights.type) : 'boxcar',
    tilerVersion: runs.tiler ? runs.tiler[0].tiler : null,
    referenceKind: runs.reference ? runs.reference[0].impl : null,
    referenceVersions: runs.reference
      ? { ratiopath: runs.reference[0].ratiopath, python: runs.reference[0].python, numpy: runs.reference[0].numpy }
      : null,
    peakRssMiB: Object.fromEntries(implsHere.map((i) => [i, Math.max(...runs[i].map((x) => x.peakRssBytes)) / MiB])),
    rssBoundMiB: rssBound / MiB,
    oldRssBoundMiB: oldRssBound / MiB,
    rounds,
  };
  results.push(entry);
}

// Off the main thread: W1 through updateBatchAsync, event-loop delay.
let asyncResult = null;
if (names.includes('W1')) {
  const asyncRuns = Array.from({ length: Math.max(3, Math.ceil(rounds / 2)) }, () => runOnce('W1', 'native', null, ['--async']));
  asyncResult = {
    workload: 'W1',
    seconds: median(asyncRuns.map((r) => r.seconds)),
    eventLoopDelayP99Ms: median(asyncRuns.map((r) => r.eventLoopDelayP99Ms)),
    eventLoopDelayMaxMs: Math.max(...asyncRuns.map((r) => r.eventLoopDelayMaxMs)),
  };
}

// A real pipeline: onnxruntime-node inference over the demo slide, with and without assembly.
let pipeline = null;
if (!values['no-pipeline'] && !values.only) {
  process.stdout.write('pipeline (onnxruntime-node + updateBatchAsync): ');
  pipeline = await runPipeline(Math.max(3, rounds));
  process.stdout.write('done\n');
  pipeline.targets = [{ target: 'assembly adds <= 5% of wall time', met: pipeline.assemblyShare <= 0.05 }];
}

// One slide across workers: merge throughput, worker recipes, BullMQ overhead per job.
let distributed = null;
if (!values['no-distributed'] && !values.only) {
  process.stdout.write('distributed (merge throughput, 1 vs 2 workers, BullMQ per job): ');
  distributed = { ...(await runDistributed(rounds)), loadAverage: loadavg() };
  process.stdout.write('done\n');
}

// --- Targets ---
const targets = {
  W1: (e) => [
    ['>= 4x reference', e.speedupOverReference == null || e.speedupOverReference >= 4],
    ['>= 4x JS', e.speedupOverJs >= 4],
    ['>= 50% of the old bound', e.bandwidthFraction >= 0.5],
  ],
  W3: (e) => [
    ['>= 50x reference', e.speedupOverReference == null || e.speedupOverReference >= 50],
    ['>= 8M tiles/s', e.tilesPerSecond.native >= 8e6],
  ],
  W4: (e) => [['>= 5x reference', e.speedupOverReference == null || e.speedupOverReference >= 5]],
  W6: (e) => [['<= 1.25x the uniform W1', e.costOverUniform != null && e.costOverUniform <= 1.25]],
  W7: (e) => [['>= 10x tiler Merger', e.speedupOverTiler == null || e.speedupOverTiler >= 10]],
};
for (const e of results) {
  const checks = (targets[e.workload]?.(e) ?? []).concat([
    [`peak RSS <= ${e.rssBoundMiB.toFixed(0)} MiB (new bound)`, e.peakRssMiB.native <= e.rssBoundMiB],
  ]);
  e.targets = checks.map(([target, met]) => ({ target, met }));
}
if (asyncResult) asyncResult.targets = [{ target: 'event-loop delay p99 < 5 ms', met: asyncResult.eventLoopDelayP99Ms < 5 }];

// --- Report ---
function describeReference(entry, python) {
  if (!python) return 'skipped';
  if (!entry) return 'not run for these workloads';
  const v = entry.referenceVersions ?? {};
  const what =
    entry.referenceKind === 'reference'
      ? `ratiopath ${v.ratiopath ?? ''} MaskBuilder`
      : "numpy doing ratiopath's per-tile operations";
  return `${what} (Python ${v.python}, numpy ${v.numpy})`;
}

const fmt = (x, d = 2) => (x == null ? 'n/a' : x >= 100 ? x.toFixed(0) : x.toFixed(d));
const times = (x) => (x == null ? 'n/a' : `${fmt(x, 1)}x`);
const lines = [
  `| workload | native s | JS s | reference s | tiler s | native tiles/s | of old / new bound | native vs JS | native vs reference | native vs tiler | peak RSS native / new bound (old) (MiB) |`,
  `|---|---|---|---|---|---|---|---|---|---|---|`,
  ...results.map(
    (e) =>
      `| ${e.workload} ${e.title} | ${fmt(e.seconds.native, 3)} | ${fmt(e.seconds.js, 3)} | ${fmt(e.seconds.reference, 3)} | ${fmt(e.seconds.tiler, 3)} | ${fmt(e.tilesPerSecond.native)} | ${(e.bandwidthFraction * 100).toFixed(0)}% / ${(e.newBandwidthFraction * 100).toFixed(0)}% | ${times(e.speedupOverJs)} | ${times(e.speedupOverReference)} | ${times(e.speedupOverTiler)} | ${e.peakRssMiB.native.toFixed(0)} / ${e.rssBoundMiB.toFixed(0)} (${e.oldRssBoundMiB.toFixed(0)}) |`,
  ),
];
const weightedLines = results.flatMap((e) => [
  ...(e.costOverUniform != null
    ? [
        `- ${e.workload} ${e.title}: ${fmt(e.seconds.native, 3)} s against ${fmt(e.seconds.uniform, 3)} s with uniform weights, ${fmt(e.costOverUniform)}x (median of per-round ratios)`,
      ]
    : []),
  ...(e.speedupOverTiler != null
    ? [
        `- ${e.workload} ${e.title}: ${fmt(e.seconds.native, 3)} s against ${fmt(e.seconds.tiler, 3)} s for tiler ${e.tilerVersion} Merger (window: ${e.tilerWindow}), ${fmt(e.speedupOverTiler, 1)}x faster`,
      ]
    : []),
]);
const targetLines = results
  .flatMap((e) => e.targets.map((t) => `- ${e.workload}: ${t.target}: ${t.met ? 'met' : 'MISSED'}`))
  .concat(
    asyncResult
      ? [
          `- W1 async: event-loop delay p99 ${asyncResult.eventLoopDelayP99Ms.toFixed(2)} ms (< 5 ms: ${asyncResult.targets[0].met ? 'met' : 'MISSED'})`,
        ]
      : [],
  )
  .concat(
    pipeline
      ? [
          `- pipeline: ${pipeline.modelTilesPerSecond.toFixed(0)} tiles/s inference alone (onnxruntime-node ${pipeline.onnxruntime}, ${pipeline.threads} threads, ${pipeline.tiles} tiles of 128 px, batches of ${pipeline.batch}), ${pipeline.assembledTilesPerSecond.toFixed(0)} tiles/s with assembly through updateBatchAsync; assembly adds ${(pipeline.assemblyShare * 100).toFixed(1)}% of wall time (<= 5%: ${pipeline.targets[0].met ? 'met' : 'MISSED'})`,
        ]
      : [],
  )
  .concat(
    distributed
      ? [
          describeDistributed(distributed),
          `- (load average during the run: ${distributed.loadAverage.map((x) => x.toFixed(1)).join(' / ')} on ${cpus().length} cores)`,
        ]
      : [],
  );
const md = [
  `Benchmark run of ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}.`,
  `Medians over ${rounds} rounds; implementations alternate within each round, each run in its own process after 2 GiB of fresh memory is touched (this VM backs new pages lazily); ratios are medians of per-round ratios.`,
  `Reference: ${describeReference(
    results.find((e) => e.referenceKind),
    python,
  )}${note ? ` (${note})` : ''}. Second peer: ${tiler ? `the-lay/tiler ${results.find((e) => e.tilerVersion)?.tilerVersion ?? TILER_VERSION} Merger (boxcar window, i.e. the uniform mean, visits not kept, on the dense in-memory means; the workload's window on the weighted ones)` : 'tiler not installed, skipped'}.`,
  `Memory bandwidth (Rust): copy ${bw.copyGBps} GB/s one thread, ${bw.copyAllThreadsGBps} GB/s all threads; in-place add ${bw.addGBps} / ${bw.addAllThreadsGBps} GB/s (bytes read + written); fresh memory made writable at ${bw.firstTouchGBps} GB/s.`,
  `Bound: the time a workload's traffic (every tile pixel reads its value and reads and writes the accumulator of each channel, then the finalize pass; no cache reuse assumed) takes at the in-place-add bandwidth. The old bound adds the u16 overlap counter's read-modify-write per tile pixel and its read at finalize; the new one leaves it out (overlap counts derived from the tiles' rectangles). "of bound" is that time over the measured time. Memory: the new bound is accumulator + one batch + 64 MiB, the old one adds the counter; weighted means (which keep a per-pixel counter beside the weight sum) and memmap means (whose counter file is written through the page cache at finalize) keep the counter in both.`,
  '',
  ...lines,
  '',
  ...(weightedLines.length ? ['Weighted means (W6, W7):', '', ...weightedLines, ''] : []),
  `CPU time (all threads of a run's process), medians: ${results.map((e) => `${e.workload} native ${fmt(e.cpuSeconds.native, 3)} s${e.cpuSpeedupOverReference == null ? '' : `, ${fmt(e.cpuSpeedupOverReference, 1)}x less than the reference`}`).join('; ')}.`,
  '',
  ...targetLines,
  '',
].join('\n');
console.log(`\n${md}`);

const out = join(here, 'results');
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, 'latest.json'),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, rounds, bandwidth: bw, reference: { python, tiler, note }, results, async: asyncResult, pipeline, distributed }, null, 2)}\n`,
);
writeFileSync(join(out, 'latest.md'), md);
writeFileSync(join(out, 'ratios.svg'), renderChart(results));
if (!values.only) {
  replaceSection('bench', `\n${md}\n`);
  if (distributed) {
    replaceSection(
      'distributed',
      `\n${describeDistributed(distributed)}\n- (load average during the run: ${distributed.loadAverage[0].toFixed(1)} on ${cpus().length} cores)\n`,
    );
  }
  if (asyncResult) {
    replaceSection(
      'async',
      `${asyncResult.eventLoopDelayP99Ms.toFixed(2)} ms (maximum ${asyncResult.eventLoopDelayMaxMs.toFixed(1)} ms; median run ${asyncResult.seconds.toFixed(2)} s)`,
    );
  }
}
console.log(`wrote bench/results/latest.json, latest.md and ratios.svg${values.only ? '' : ', and the README figures'}`);
