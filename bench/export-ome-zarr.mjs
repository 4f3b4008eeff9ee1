// OME-Zarr write throughput and peak RSS of a 2 GB float32 mask streamed
// from its NPY file (what a persisted memmap mask is). A bench, not a test:
//   npm run build && node bench/export-ome-zarr.mjs [side]
// Prints one line: MB/s of mask data written (level 0 bytes / seconds) and
// the child process's peak RSS (VmHWM).
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const side = Number(process.argv[2] ?? 23170); // 23170² float32 = 2.0 GiB
const dir = mkdtempSync(join(tmpdir(), 'wsi-bench-zarr-'));
try {
  const npy = join(dir, 'mask.npy');
  const { encodeNpyHeader } = require('../dist/npy.js');
  const fd = openSync(npy, 'w');
  writeSync(fd, encodeNpyHeader('<f4', [1, side, side], 1));
  const row = new Float32Array(side);
  const band = 256;
  const rows = new Float32Array(side * band);
  for (let y0 = 0; y0 < side; y0 += band) {
    const n = Math.min(band, side - y0);
    for (let r = 0; r < n; r++) {
      const y = y0 + r;
      // Smooth blobs, like a probability map: compressible but not constant.
      for (let x = 0; x < side; x++) row[x] = 0.5 + 0.5 * Math.sin(x / 397) * Math.cos(y / 271);
      rows.set(row, r * side);
    }
    writeSync(fd, new Uint8Array(rows.buffer, 0, n * side * 4));
  }
  closeSync(fd);
  const child = `
    const { openNpy, writeOmeZarr } = require(${JSON.stringify(require.resolve('../dist/index.js'))});
    const start = process.hrtime.bigint();
    const mapped = openNpy(${JSON.stringify(npy)});
    const out = writeOmeZarr(mapped, ${JSON.stringify(join(dir, 'mask.ome.zarr'))});
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const hwm = require('node:fs').readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\\s+(\\d+)/)[1];
    console.log(JSON.stringify({ seconds, levels: out.levels.length, peakRssMiB: Number(hwm) / 1024 }));
  `;
  const r = spawnSync(process.execPath, ['-e', child], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  const { seconds, levels, peakRssMiB } = JSON.parse(r.stdout);
  const megabytes = (side * side * 4) / 1e6;
  console.log(
    `writeOmeZarr ${side}x${side} float32 (${(megabytes / 1000).toFixed(2)} GB, ${levels} levels, zstd 3, 1024² chunks): ` +
      `${(megabytes / seconds).toFixed(0)} MB/s, ${seconds.toFixed(1)} s, peak RSS ${peakRssMiB.toFixed(0)} MiB`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
