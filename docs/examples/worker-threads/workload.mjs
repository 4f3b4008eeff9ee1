// The demo's workload (demo/run.mjs): its synthetic slide, its tile grid and
// its stand-in model, as the worker recipes share them. A real pipeline
// reads tiles from the slide file and runs a network instead.
import { runModel } from '../../../demo/model.mjs';
import { synthesizeSlide } from '../../../demo/slide.mjs';

export const TILE = 128;
export const STRIDE = 64;
/** The dense output is a quarter of the tile's resolution. */
export const REDUCE = 4;
export const OUT = TILE / REDUCE;
export const BATCH = 256;

/** The builder options of the demo's dense mask for a slide of `[height, width]`. */
export function builderOptions([height, width]) {
  return { sourceExtents: [height, width], sourceTileExtent: TILE, outputTileExtent: OUT, stride: STRIDE, nChannels: 1 };
}

/** The slide in a SharedArrayBuffer, so worker threads read it without copies. */
export function sharedSlide(height, width) {
  const slide = synthesizeSlide(height, width);
  const data = new Uint8Array(new SharedArrayBuffer(slide.data.length));
  data.set(slide.data);
  return { data, shape: slide.shape };
}

/** Top-left corners of every tile of the grid over `span` (`builder.span`), row-major `[K, 2]`. */
export function gridOrigins(span) {
  const origins = [];
  for (let y = 0; y + TILE <= span[0]; y += STRIDE) for (let x = 0; x + TILE <= span[1]; x += STRIDE) origins.push(y, x);
  return Float64Array.from(origins);
}

/** Runs the model on tiles `first..end` of `origins`: a dense batch `[B, 1, OUT, OUT]` and its coords. */
export function infer(slide, origins, first, end) {
  const tiles = end - first;
  const scores = new Float32Array(tiles * 2);
  const data = new Float32Array(tiles * OUT * OUT);
  for (let i = 0; i < tiles; i++) {
    runModel(slide, origins[2 * (first + i)], origins[2 * (first + i) + 1], TILE, REDUCE, scores, data, i);
  }
  return {
    batch: { data, shape: [tiles, 1, OUT, OUT] },
    coords: { data: origins.slice(2 * first, 2 * end), shape: [tiles, 2] },
  };
}
