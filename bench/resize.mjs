// resizeToSource throughput: a scalar mask of a 512 px / 256 px tile grid back
// to slide resolution, streamed into an NPY file and in memory.
//   node bench/resize.mjs [height] [width] [streamHeight] [streamWidth]
import { rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { MaskBuilder } = createRequire(import.meta.url)(join(root, 'dist', 'index.js'));

const [h, w, sh, sw] = process.argv.slice(2).map(Number);
const sizes = [
  [h || 20000, w || 20000],
  [sh || 50000, sw || 40000],
];

function scalarMask(sourceExtents) {
  const builder = new MaskBuilder({ sourceExtents, sourceTileExtent: 512, outputTileExtent: 1, stride: 256 });
  const [mh, mw] = builder.maskExtents;
  const data = new Float32Array(mh * mw).map((_, i) => 0.5 + 0.5 * Math.sin(i / 97));
  return { builder, mask: { data, shape: [1, mh, mw] } };
}

// Streaming first, so the peak RSS printed is that of streaming.
const big = scalarMask(sizes[1]);
const filename = join(tmpdir(), `wsi-resize-bench-${process.pid}.npy`);
const t = performance.now();
const file = big.builder.resizeToSource(big.mask, { filename });
const s = (performance.now() - t) / 1000;
const bytes = statSync(filename).size;
rmSync(filename);
console.log(
  `streamed   lanczos3 [${big.mask.shape}] -> [${file.shape}] ${(bytes / 2 ** 30).toFixed(2)} GiB in ${s.toFixed(2)} s ` +
    `(${(bytes / 2 ** 20 / s).toFixed(0)} MiB/s); peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
);

const { builder, mask } = scalarMask(sizes[0]);
for (const kernel of ['nearest', 'bilinear', 'lanczos3']) {
  const t = performance.now();
  const out = builder.resizeToSource(mask, { kernel });
  const s = (performance.now() - t) / 1000;
  const mpx = (out.shape[0] * out.shape[1]) / 1e6;
  console.log(
    `in memory  ${kernel.padEnd(8)} [${mask.shape}] -> [${out.shape}] ${s.toFixed(2)} s (${(mpx / s).toFixed(0)} Mpx/s)`,
  );
}
