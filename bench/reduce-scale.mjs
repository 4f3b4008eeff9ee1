// Builds a memory-mapped mean mask (by default twice this machine's RAM) from
// dense tiles, then reduces it at finalize, band by band, into an NPY file:
// quantize (uint8 per channel, a quarter of the mask) or argmax (uint8 labels).
// Reports elapsed time and the peak anonymous RSS of the whole run and of the
// reduction alone: no full-size float copy is ever made.
//   node bench/reduce-scale.mjs [--reduction quantize|argmax] [--extent N] [--tile 500] [--dir /path] [--memory-limit 4G]
// Needs the mask, its counter and the reduction free on disk in --dir (default: the OS temp directory).
// --memory-limit runs the measurement in a child process inside a cgroup v1 memory group of that limit
// (page cache included, as the kernel counts it), so "twice the RAM" means twice the limit; it needs a
// writable /sys/fs/cgroup/memory and says so when there is none.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync, rmdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MaskBuilder, openNpy } from '../dist/index.mjs';
import { startRssSampler } from './rss-sampler.mjs';

const { values } = parseArgs({
  options: {
    reduction: { type: 'string', default: 'quantize' },
    extent: { type: 'string' },
    tile: { type: 'string', default: '500' },
    dir: { type: 'string' },
    batch: { type: 'string', default: '16' },
    'memory-limit': { type: 'string' },
  },
});

const CGROUP_ROOT = '/sys/fs/cgroup/memory';

/** `4G`, `512M`, `4096K` or bytes. */
function parseBytes(text) {
  const m = /^(\d+(?:\.\d+)?)([KMG]?)i?B?$/i.exec(text.trim());
  if (!m) return null;
  const scale = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 }[m[2].toUpperCase()];
  return Math.floor(Number(m[1]) * scale);
}

// The parent: make the group, run this script inside it, report what the kernel saw, remove the group.
if (values['memory-limit'] !== undefined && process.env.WSI_BENCH_CGROUP === undefined) {
  const limit = parseBytes(values['memory-limit']);
  if (!limit) {
    console.error(`--memory-limit must be a size such as 4G or 512M; got ${values['memory-limit']}`);
    process.exit(2);
  }
  try {
    accessSync(CGROUP_ROOT, constants.W_OK);
  } catch (e) {
    console.error(
      `--memory-limit needs a writable cgroup v1 memory controller at ${CGROUP_ROOT} (${e.message}); ` +
        'this machine does not offer one to this user: run without --memory-limit (the bound then is twice the RAM), ' +
        'or under systemd-run --scope -p MemoryMax=4G on cgroup v2',
    );
    process.exit(2);
  }
  const group = join(CGROUP_ROOT, `wsi-reduce-scale-${process.pid}`);
  mkdirSync(group);
  let status = 1;
  try {
    writeFileSync(join(group, 'memory.limit_in_bytes'), String(limit));
    const args = process.argv.slice(2);
    const child = spawnSync(process.execPath, [new URL(import.meta.url).pathname, ...args], {
      stdio: 'inherit',
      env: { ...process.env, WSI_BENCH_CGROUP: group, WSI_BENCH_MEMORY_LIMIT: String(limit) },
    });
    status = child.status ?? 1;
    const read = (name) => Number(readFileSync(join(group, name), 'utf8').trim());
    console.log(
      `cgroup ${group}: limit ${(limit / 2 ** 30).toFixed(2)} GiB, peak usage (anonymous + page cache) ` +
        `${(read('memory.max_usage_in_bytes') / 2 ** 30).toFixed(2)} GiB, limit hits ${read('memory.failcnt')}; ` +
        `child ${child.signal ? `killed by ${child.signal}` : `exited ${status}`}`,
    );
  } finally {
    rmdirSync(group);
  }
  process.exit(status);
}
// The child: join the group before allocating anything.
const memoryLimit = process.env.WSI_BENCH_CGROUP ? Number(process.env.WSI_BENCH_MEMORY_LIMIT) : null;
if (process.env.WSI_BENCH_CGROUP) writeFileSync(join(process.env.WSI_BENCH_CGROUP, 'cgroup.procs'), String(process.pid));
const ram = memoryLimit ?? totalmem();
const ramName = memoryLimit ? 'memory limit' : 'RAM';
const reduction = values.reduction;
if (reduction !== 'quantize' && reduction !== 'argmax') {
  console.error(`--reduction must be quantize or argmax; got ${reduction}`);
  process.exit(2);
}
const channels = 2;
const tile = Number(values.tile);
// Twice the RAM in float32 mask bytes, rounded up to whole tiles.
const extent = Number(values.extent ?? 0) || Math.ceil(Math.sqrt((2 * ram) / (channels * 4)) / tile) * tile;
const batchSize = Number(values.batch);
const dir = values.dir ?? tmpdir();
const GB = 1e9;
const MiB = 2 ** 20;

const maskBytes = channels * extent * extent * 4;
const counterBytes = extent * extent * 2;
// quantize: uint8 per channel; argmax: uint8 labels plus the winning value (float32, a temporary file).
const reducedBytes = reduction === 'quantize' ? channels * extent * extent : extent * extent * 5;
const free = (() => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
})();
const needed = maskBytes + counterBytes + reducedBytes;
console.log(
  `mask ${channels} x ${extent} x ${extent} float32 (${(maskBytes / GB).toFixed(1)} GB, ${(maskBytes / ram).toFixed(2)}x this process's ` +
    `${(ram / GB).toFixed(1)} GB ${ramName}) + uint16 counter (${(counterBytes / GB).toFixed(1)} GB); ${reduction} into ` +
    `${(reducedBytes / GB).toFixed(1)} GB; free in ${dir}: ${(free / GB).toFixed(1)} GB`,
);
if (free < needed * 1.05) {
  console.error(`not enough free disk for this run (${(needed / GB).toFixed(1)} GB); pass --dir or a smaller --extent`);
  process.exit(2);
}

const work = join(dir, `wsi-reduce-scale-${process.pid}`);
mkdirSync(work);
const output = join(work, `${reduction}.npy`);
try {
  const sampler = startRssSampler();
  const t0 = performance.now();
  const builder = new MaskBuilder({
    sourceExtents: [extent, extent],
    sourceTileExtent: tile,
    outputTileExtent: tile,
    stride: tile,
    nChannels: channels,
    storage: 'memmap',
    tempDir: work,
  });
  const grid = Math.ceil(extent / tile);
  const tiles = grid * grid;
  const data = new Float32Array(batchSize * channels * tile * tile);
  let done = 0;
  let lastReport = t0;
  while (done < tiles) {
    const b = Math.min(batchSize, tiles - done);
    const coords = new Int32Array(b * 2);
    for (let i = 0; i < b; i++) {
      const t = done + i;
      coords[2 * i] = Math.floor(t / grid) * tile;
      coords[2 * i + 1] = (t % grid) * tile;
    }
    // Channel 0 rises and channel 1 falls from tile to tile, so labels and bytes vary.
    const level = (done % 97) / 97;
    const plane = tile * tile;
    for (let i = 0; i < b; i++) {
      data.fill(level, (i * channels + 0) * plane, (i * channels + 1) * plane);
      data.fill(1 - level, (i * channels + 1) * plane, (i * channels + 2) * plane);
    }
    await builder.updateBatchAsync(
      { data: data.subarray(0, b * channels * plane), shape: [b, channels, tile, tile] },
      { data: coords, shape: [b, 2] },
    );
    done += b;
    const now = performance.now();
    if (now - lastReport > 10000) {
      lastReport = now;
      console.log(`  ${done}/${tiles} tiles, ${((done / tiles) * 100).toFixed(0)}%, ${((now - t0) / 1000).toFixed(0)} s`);
    }
  }
  const tUpdates = performance.now();
  const updatePeaks = await sampler.stop();
  const reduceSampler = startRssSampler();
  const request = reduction === 'quantize' ? { quantize: 'uint8' } : { argmax: true };
  await builder.finalizeAsync({ ...request, outputFilename: output });
  const tReduced = performance.now();
  const reducePeaks = await reduceSampler.stop();
  builder.cleanup();
  const written = openNpy(output);
  const result = {
    reduction,
    mask: [channels, extent, extent],
    maskBytes,
    ramBytes: totalmem(),
    memoryLimitBytes: memoryLimit,
    output: { shape: written.shape, dtype: written.dtype },
    tiles,
    updatesSeconds: (tUpdates - t0) / 1000,
    reduceSeconds: (tReduced - tUpdates) / 1000,
    peakAnonRssMiB: Math.max(updatePeaks.peakAnon, reducePeaks.peakAnon) / MiB,
    reducePeakAnonRssMiB: reducePeaks.peakAnon / MiB,
    reducePeakFileRssMiB: reducePeaks.peakFile / MiB,
  };
  written.close();
  console.log(JSON.stringify(result, null, 2));
  console.log(
    `\n${reduction} of a ${(maskBytes / GB).toFixed(1)} GB mask (${(maskBytes / ram).toFixed(2)}x the ${ramName}) into ` +
      `${result.output.dtype} [${result.output.shape.join(', ')}] in ${result.reduceSeconds.toFixed(1)} s ` +
      `(updates ${result.updatesSeconds.toFixed(1)} s); peak anonymous RSS ${result.peakAnonRssMiB.toFixed(0)} MiB ` +
      `(reduction alone ${result.reducePeakAnonRssMiB.toFixed(0)} MiB; ${result.peakAnonRssMiB < 1024 ? 'under' : 'OVER'} the 1 GiB bound)`,
  );
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL(`./results/reduce-scale-${reduction}.json`, import.meta.url),
    `${JSON.stringify({ date: new Date().toISOString(), ...result }, null, 2)}\n`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
