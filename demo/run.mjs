// `npm run demo`: the package's main job end to end, with nothing to download.
// A synthetic slide is tiled with overlap, a small model scores every tile
// (two scalars per tile and a dense map per tile), the tiles are assembled
// into masks with mean and max, the masks are brought back to slide
// resolution, and demo-output/ gets the mask NPY files, heatmaps and an overlay.
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runModel } from './model.mjs';
import { synthesizeSlide } from './slide.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { MaskBuilder, overlay, toImage, writeGeoJSON, writeImage, writeOmeTiff, writeOmeZarr } = require(
  join(root, 'dist', 'index.js'),
);
const { writeNpy } = require(join(root, 'dist', 'npy.js'));

const SLIDE = [3000, 4000]; // [height, width]
const TILE = 128;
const STRIDE = 64; // half a tile of overlap
const REDUCE = 4; // the dense output is a quarter of the tile's resolution
const BATCH = 256;
const out = join(root, 'demo-output');
mkdirSync(out, { recursive: true });

const seconds = (start) => (performance.now() - start) / 1000;
const timings = {};

let t = performance.now();
const slide = synthesizeSlide(...SLIDE);
timings.slide = seconds(t);

// A synthetic slide scanned at 0.5 um per pixel (20x), for the exports' physical sizes.
const common = { sourceExtents: SLIDE, sourceTileExtent: TILE, stride: STRIDE, mpp: 0.5 };
const builders = {
  scalarMean: new MaskBuilder({ ...common, outputTileExtent: 1, nChannels: 2, aggregation: 'mean' }),
  scalarMax: new MaskBuilder({ ...common, outputTileExtent: 1, nChannels: 2, aggregation: 'max' }),
  denseMean: new MaskBuilder({ ...common, outputTileExtent: TILE / REDUCE, nChannels: 1, aggregation: 'mean' }),
  denseMax: new MaskBuilder({ ...common, outputTileExtent: TILE / REDUCE, nChannels: 1, aggregation: 'max' }),
};
const span = builders.scalarMean.span;

// Tile origins over the grid's span (it reaches past the slide's far edges).
const origins = [];
for (let y = 0; y + TILE <= span[0]; y += STRIDE) for (let x = 0; x + TILE <= span[1]; x += STRIDE) origins.push([y, x]);

const out2 = (TILE / REDUCE) ** 2;
let modelSeconds = 0;
let assemblySeconds = 0;
for (let first = 0; first < origins.length; first += BATCH) {
  const batch = origins.slice(first, first + BATCH);
  const scores = new Float32Array(batch.length * 2);
  const dense = new Float32Array(batch.length * out2);
  t = performance.now();
  for (const [i, [y, x]] of batch.entries()) runModel(slide, y, x, TILE, REDUCE, scores, dense, i);
  modelSeconds += seconds(t);
  const coords = { data: Int32Array.from(batch.flat()), shape: [batch.length, 2] };
  t = performance.now();
  builders.scalarMean.updateBatch({ data: scores, shape: [batch.length, 2] }, coords);
  builders.scalarMax.updateBatch({ data: scores, shape: [batch.length, 2] }, coords);
  builders.denseMean.updateBatch({ data: dense, shape: [batch.length, 1, TILE / REDUCE, TILE / REDUCE] }, coords);
  builders.denseMax.updateBatch({ data: dense, shape: [batch.length, 1, TILE / REDUCE, TILE / REDUCE] }, coords);
  assemblySeconds += seconds(t);
}
t = performance.now();
const masks = {
  scalarMean: builders.scalarMean.finalize().mask,
  scalarMax: builders.scalarMax.finalize(),
  denseMean: builders.denseMean.finalize().mask,
  denseMax: builders.denseMax.finalize(),
};
assemblySeconds += seconds(t);

t = performance.now();
writeNpy(join(out, 'tile-scores-mean.npy'), masks.scalarMean);
writeNpy(join(out, 'tile-scores-max.npy'), masks.scalarMax);
writeNpy(join(out, 'nuclei-density-mean.npy'), masks.denseMean);
writeNpy(join(out, 'nuclei-density-max.npy'), masks.denseMax);
timings.npy = seconds(t);

// Back to slide resolution: in memory for the overlay, and streamed into an NPY file.
t = performance.now();
const tileScores = builders.scalarMean.resizeToSource(masks.scalarMean, { kernel: 'cubic' });
const densityAtSource = builders.denseMean.resizeToSource(masks.denseMean);
timings.resize = seconds(t);
t = performance.now();
builders.denseMax.resizeToSource(masks.denseMax, { kernel: 'bilinear', filename: join(out, 'nuclei-density-max-at-source.npy') });
timings.resizeToFile = seconds(t);

/** Each mask pixel as a `factor` x `factor` block (nearest neighbour), so a per-tile mask is big enough to see. */
function upscale(mask, factor) {
  const [channels, height, width] = mask.shape;
  const data = new Float32Array(channels * height * factor * width * factor);
  for (let c = 0; c < channels; c++)
    for (let y = 0; y < height * factor; y++)
      for (let x = 0; x < width * factor; x++)
        data[(c * height * factor + y) * width * factor + x] =
          mask.data[(c * height + Math.floor(y / factor)) * width + Math.floor(x / factor)];
  return { data, shape: [channels, height * factor, width * factor], dtype: 'float32' };
}

t = performance.now();
const heatmap = { colormap: 'magma', range: [0, 0.3], colorbar: true };
const images = [
  toImage(masks.denseMean, { filename: join(out, 'nuclei-density-mean.png'), ...heatmap }),
  toImage(masks.denseMax, { filename: join(out, 'nuclei-density-max.png'), ...heatmap }),
  // One pixel per 64 px of slide: 63 x 47, upscaled 12 times to be seen.
  toImage(upscale(masks.scalarMax, 12), { filename: join(out, 'tumor-max.png'), channel: 1, range: [0, 1], colorbar: true }),
  toImage(tileScores, { filename: join(out, 'tumor-at-source.png'), layout: 'hwc', channel: 1, range: [0, 1] }),
  writeImage(slide, { filename: join(out, 'slide.png') }),
];
// Tumor probability over the slide, where it is above 0.2.
const blended = overlay(slide, tileScores, { channel: 1, range: [0, 1], opacity: 0.55, threshold: 0.2 });
images.push(writeImage(blended, { filename: join(out, 'overlay.png') }));
await Promise.all(images);
// A small copy of the overlay for the README.
const sharp = require('sharp');
await sharp(blended.data, { raw: { width: SLIDE[1], height: SLIDE[0], channels: 3 } })
  .resize({ width: 800 })
  .png({ palette: true, colours: 128 })
  .toFile(join(out, 'overlay-preview.png'));
timings.images = seconds(t);

// For viewers: the tumour mask as OME-Zarr and OME-TIFF, its regions as QuPath annotations,
// drawn over the slide to check they land where the tumour is.
t = performance.now();
const names = { channelNames: ['tissue', 'tumour'], overwrite: true };
writeOmeZarr(masks.scalarMean, join(out, 'tumour.ome.zarr'), names);
writeOmeTiff(masks.scalarMean, join(out, 'tumour.ome.tif'), names);
const regions = writeGeoJSON(masks.scalarMean, join(out, 'tumour.geojson'), {
  channel: 1,
  threshold: 0.5,
  classification: { name: 'Tumor', color: [200, 0, 0] },
});
const { readFileSync } = await import('node:fs');
const collection = JSON.parse(readFileSync(join(out, 'tumour.geojson'), 'utf8'));
const preview = 800 / SLIDE[1];
const paths = collection.features
  .map((f) => {
    const d = f.geometry.coordinates
      .map((ring) => `M${ring.map(([x, y]) => `${(x * preview).toFixed(1)},${(y * preview).toFixed(1)}`).join('L')}Z`)
      .join('');
    return `<path d="${d}" fill="rgb(200,0,0)" fill-opacity="0.25" fill-rule="evenodd" stroke="rgb(200,0,0)" stroke-width="2"/>`;
  })
  .join('');
const height = Math.round(SLIDE[0] * preview);
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="800" height="${height}">${paths}</svg>`;
await sharp(slide.data, { raw: { width: SLIDE[1], height: SLIDE[0], channels: 3 } })
  .resize({ width: 800 })
  .composite([{ input: Buffer.from(svg) }])
  .png({ palette: true, colours: 128 })
  .toFile(join(out, 'tumour-geojson-preview.png'));
timings.exports = seconds(t);
for (const b of Object.values(builders)) b.cleanup();

const shape = (a) => `[${a.shape.join(', ')}]`;
console.log(`wsi-mask-builder demo (${builders.scalarMean.backend} backend)`);
console.log(`  slide         ${SLIDE[0]} x ${SLIDE[1]} RGB, synthesized in ${timings.slide.toFixed(2)} s`);
console.log(`  tiles         ${origins.length} of ${TILE} px every ${STRIDE} px (span ${span.join(' x ')})`);
console.log(`  model         ${modelSeconds.toFixed(2)} s (${(origins.length / modelSeconds).toFixed(0)} tiles/s)`);
console.log(
  `  assembly      4 masks in ${assemblySeconds.toFixed(3)} s (${((4 * origins.length) / assemblySeconds).toFixed(0)} tiles/s)`,
);
console.log(
  `  scalar masks  mean ${shape(masks.scalarMean)}, max ${shape(masks.scalarMax)} (tissue fraction, tumor probability)`,
);
console.log(`  dense masks   mean ${shape(masks.denseMean)}, max ${shape(masks.denseMax)} (nuclei density)`);
console.log(
  `  at source     ${shape(tileScores)} and ${shape(densityAtSource)} in ${timings.resize.toFixed(2)} s; streamed to NPY in ${timings.resizeToFile.toFixed(2)} s`,
);
console.log(`  images        ${timings.images.toFixed(2)} s`);
console.log(
  `  exports       tumour.ome.zarr, tumour.ome.tif, tumour.geojson (${regions.features} regions) in ${timings.exports.toFixed(2)} s`,
);
console.log(`  output        ${out}/`);
