// Builds a memory-mapped mean mask larger than this machine's RAM from dense
// tiles and reports elapsed time, throughput and peak anonymous RSS.
//   node bench/memmap-scale.mjs [--extent 56000] [--tile 500] [--dir /path]
// Needs about 32 GB free in --dir (default: the OS temp directory).
import { mkdirSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { MaskBuilder } from '../dist/index.mjs';
import { replaceSection } from './readme.mjs';
import { startRssSampler } from './rss-sampler.mjs';

const { values } = parseArgs({
  options: {
    extent: { type: 'string', default: '56000' },
    tile: { type: 'string', default: '500' },
    dir: { type: 'string' },
    batch: { type: 'string', default: '16' },
  },
});
const extent = Number(values.extent);
const tile = Number(values.tile);
const batchSize = Number(values.batch);
const dir = values.dir ?? tmpdir();
const channels = 2;
const GB = 1e9;

const maskBytes = channels * extent * extent * 4;
const counterBytes = extent * extent * 2;
const free = (() => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
})();
console.log(
  `mask 2 x ${extent} x ${extent} float32 (${(maskBytes / GB).toFixed(1)} GB) + uint16 counter (${(counterBytes / GB).toFixed(1)} GB)`,
);
console.log(`machine RAM ${(totalmem() / GB).toFixed(1)} GB; free in ${dir}: ${(free / GB).toFixed(1)} GB`);
if (free < (maskBytes + counterBytes) * 1.05) {
  console.error('not enough free disk for this run; pass --dir or a smaller --extent');
  process.exit(2);
}

const sampler = startRssSampler();
const t0 = performance.now();
const builder = new MaskBuilder({
  sourceExtents: [extent, extent],
  sourceTileExtent: tile,
  outputTileExtent: tile,
  stride: tile,
  nChannels: channels,
  storage: 'memmap',
  tempDir: dir,
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
  data.fill((done % 97) / 97);
  await builder.updateBatchAsync(
    { data: data.subarray(0, b * channels * tile * tile), shape: [b, channels, tile, tile] },
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
const { mask } = builder.finalize();
const tFinal = performance.now();
const probe = builder.readRegion(1, [extent - 3, extent - 3], [3, 3]);
builder.cleanup();
const tEnd = performance.now();
const peaks = await sampler.stop();

const seconds = (tEnd - t0) / 1000;
const result = {
  mask: mask.shape,
  tiles,
  bytesOnDisk: maskBytes + counterBytes,
  updatesSeconds: (tUpdates - t0) / 1000,
  finalizeSeconds: (tFinal - tUpdates) / 1000,
  totalSeconds: seconds,
  tilesPerSecond: tiles / ((tUpdates - t0) / 1000),
  writeGBps: (maskBytes + counterBytes) / GB / seconds,
  peakAnonRssMiB: peaks.peakAnon / 2 ** 20,
  peakFileRssMiB: peaks.peakFile / 2 ** 20,
  lastWindow: Array.from(probe.data),
};
console.log(JSON.stringify(result, null, 2));
console.log(
  `\n${tiles} tiles into ${((maskBytes + counterBytes) / GB).toFixed(1)} GB on disk in ${seconds.toFixed(1)} s ` +
    `(updates ${result.updatesSeconds.toFixed(1)} s, finalize ${result.finalizeSeconds.toFixed(1)} s): ` +
    `${result.tilesPerSecond.toFixed(0)} tiles/s, ${result.writeGBps.toFixed(2)} GB/s; peak anonymous RSS ${result.peakAnonRssMiB.toFixed(0)} MiB ` +
    `(${result.peakAnonRssMiB < 1024 ? 'under' : 'OVER'} the 1 GiB bound)`,
);

mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/memmap-scale.json', import.meta.url),
  `${JSON.stringify({ date: new Date().toISOString(), ...result }, null, 2)}\n`,
);
if (extent >= 50000) {
  replaceSection(
    'scale',
    `a ${channels} x ${extent} x ${extent} float32 mean mask (${(maskBytes / GB).toFixed(1)} GB) plus its uint16 counter ` +
      `(${(counterBytes / GB).toFixed(1)} GB), ${((maskBytes + counterBytes) / GB).toFixed(1)} GB on disk on a ${(totalmem() / GB).toFixed(0)} GB machine, ` +
      `built from ${tiles} dense ${tile} px tiles in ${seconds.toFixed(0)} s (updates ${result.updatesSeconds.toFixed(0)} s, ` +
      `${result.tilesPerSecond.toFixed(0)} tiles/s; finalize ${result.finalizeSeconds.toFixed(0)} s), ${result.writeGBps.toFixed(2)} GB/s of storage ` +
      `(bound by writeback to this VM's disk), with a peak anonymous RSS of ${result.peakAnonRssMiB.toFixed(0)} MiB (the bound is 1 GiB; ` +
      `the page cache held up to ${(result.peakFileRssMiB / 1024).toFixed(1)} GiB of file pages, which the kernel reclaims)`,
  );
}
