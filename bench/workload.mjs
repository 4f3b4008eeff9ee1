// Runs one workload once on one backend, in its own process (so peak RSS is
// this run's alone), and prints a JSON line. Driven by bench/run.mjs.
//   node bench/workload.mjs W1 native|js|uniform [--async]
// `uniform` is the native backend with the workload's weights left out (the
// baseline a weighted workload is compared with).
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { allocateBatch, MaskBuilder } from '../dist/index.mjs';

const [name, impl, mode] = process.argv.slice(2);
const backend = impl === 'uniform' ? 'native' : impl;
const w = JSON.parse(readFileSync(new URL('./workloads.json', import.meta.url), 'utf8'))[name];
const asyncPath = mode === '--async';
const [H, W] = w.sourceExtents;
const grid = w.sourceExtents.map((s) => Math.ceil(Math.max(0, s - w.tile) / w.stride) + 1);
const tiles = grid[0] * grid[1];
const tileValues = w.output === 1 ? w.channels : w.channels * w.output * w.output;

// Tile data is made before timing: one batch of values, reused with each
// batch's coordinates, so the process holds exactly one batch.
const pool = Array.from({ length: 1 }, (_, p) => {
  const data = new Float32Array(w.batch * tileValues);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 7919 + p * 104729) % 1000) / 1000 - (w.aggregation === 'max' ? 0.5 : 0);
  return data;
});
const batches = [];
for (let start = 0; start < tiles; start += w.batch) {
  const b = Math.min(w.batch, tiles - start);
  const coords = new Int32Array(b * 2);
  for (let i = 0; i < b; i++) {
    const t = start + i;
    coords[2 * i] = Math.floor(t / grid[1]) * w.stride;
    coords[2 * i + 1] = (t % grid[1]) * w.stride;
  }
  const data = pool[batches.length % pool.length].subarray(0, b * tileValues);
  const shape = w.output === 1 ? [b, w.channels] : [b, w.channels, w.output, w.output];
  batches.push({ batch: { data, shape }, coords: { data: coords, shape: [b, 2] } });
}

// The library loads before timing (its native addon loads with the first
// builder), as the reference imports ratiopath before its clock starts.
new MaskBuilder({ sourceExtents: [1, 1], sourceTileExtent: 1, outputTileExtent: 1, stride: 1, nChannels: 1, backend }).cleanup();

const delay = monitorEventLoopDelay({ resolution: 1 });
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const builder = new MaskBuilder({
  sourceExtents: [H, W],
  sourceTileExtent: w.tile,
  outputTileExtent: w.output,
  stride: w.stride,
  nChannels: w.channels,
  aggregation: w.aggregation,
  storage: w.storage,
  ...(w.weights && impl !== 'uniform' ? { weights: w.weights } : {}),
  backend,
});
const t1 = performance.now();
if (asyncPath) {
  // A pipeline's shape: batches land in a small ring of pinned buffers
  // (allocateBatch), which updateBatchAsync reads in place; a few updates
  // stay in flight and a buffer is reused once its update has settled.
  const ring = Array.from({ length: 5 }, () => {
    const pinned = allocateBatch(w.output === 1 ? [w.batch, w.channels] : [w.batch, w.channels, w.output, w.output]);
    pinned.data.set(pool[0]);
    return pinned.data;
  });
  delay.enable();
  const inFlight = [];
  for (let i = 0; i < batches.length; i++) {
    const { batch, coords } = batches[i];
    const data = ring[i % ring.length].subarray(0, batch.data.length);
    inFlight.push(builder.updateBatchAsync({ data, shape: batch.shape }, coords));
    if (inFlight.length >= 4) await inFlight.shift();
  }
  await Promise.all(inFlight);
  await builder.finalizeAsync();
  delay.disable();
} else {
  for (const { batch, coords } of batches) builder.updateBatch(batch, coords);
  builder.finalize();
}
const t2 = performance.now();
const cpu = process.cpuUsage(cpu0);
builder.cleanup();

const status = readFileSync('/proc/self/status', 'utf8');
const kB = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
const maskPixels = builder.maskExtents.reduce((a, e) => a * e, 1);
console.log(
  JSON.stringify({
    workload: name,
    impl,
    async: asyncPath,
    tiles,
    constructSeconds: (t1 - t0) / 1000,
    seconds: (t2 - t0) / 1000,
    // CPU time of all the process's threads over the same span: on a shared
    // machine it shows the work done, where wall time also shows waiting.
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssBytes: kB('VmHWM'),
    // The mask, and the weight sum plane of a weighted mean.
    storageBytes: maskPixels * (w.channels + (w.weights && impl !== 'uniform' ? 1 : 0)) * 4,
    counterBytes: w.aggregation === 'mean' ? maskPixels * 2 : 0,
    batchBytes: w.batch * tileValues * 4,
    maskExtents: builder.maskExtents,
    eventLoopDelayP99Ms: asyncPath ? delay.percentile(99) / 1e6 : null,
    eventLoopDelayMaxMs: asyncPath ? delay.max / 1e6 : null,
  }),
);
