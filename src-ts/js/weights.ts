/**
 * Weight windows of the pure-JS backend, the mirror of the Rust core's
 * `weights` module (same definitions, same order of operations): scipy's
 * `get_window` (periodic, or symmetric as tiler's Merger uses it), MONAI's
 * gaussian importance map, and custom maps, sampled over the unclipped
 * footprint (`outputTileExtent * upscaleFactor`).
 */

import { ErrorCode, list, rangeError } from '../errors';
import { cStrides, product } from '../ndarray';
import type { ResolvedWeights } from '../options';

export const WINDOW_NAMES = ['gaussian', 'hann', 'hamming', 'triang', 'bartlett', 'blackman'] as const;
export type WindowName = (typeof WINDOW_NAMES)[number];

/** MONAI's default `sigma_scale`, and its floor on the gaussian map. */
export const DEFAULT_SIGMA_SCALE = 0.125;
export const GAUSSIAN_FLOOR = 1e-3;

function generalCosine(m: number, a: readonly number[]): number[] {
  const step = (2 * Math.PI) / (m - 1);
  return Array.from({ length: m }, (_, i) => {
    const x = i === m - 1 ? Math.PI : i * step - Math.PI;
    let w = 0;
    for (let k = 0; k < a.length; k++) w = w + a[k] * Math.cos(k * x);
    return w;
  });
}

function triang(m: number): number[] {
  const half = Math.ceil(m / 2);
  const rising = Array.from({ length: half }, (_, i) => {
    const n = i + 1;
    return m % 2 === 0 ? (2 * n - 1) / m : (2 * n) / (m + 1);
  });
  const mirrored = m % 2 === 0 ? rising : rising.slice(0, half - 1);
  return [...rising, ...[...mirrored].reverse()];
}

function bartlett(m: number): number[] {
  const last = m - 1;
  return Array.from({ length: m }, (_, n) => (n <= last / 2 ? (2 * n) / last : 2 - (2 * n) / last));
}

function symmetricWindow(name: Exclude<WindowName, 'gaussian'>, m: number): number[] {
  if (m <= 1) return new Array<number>(m).fill(1);
  switch (name) {
    case 'hann':
      return generalCosine(m, [0.5, 0.5]);
    case 'hamming':
      return generalCosine(m, [0.54, 0.46]);
    case 'blackman':
      return generalCosine(m, [0.42, 0.5, 0.08]);
    case 'triang':
      return triang(m);
    case 'bartlett':
      return bartlett(m);
  }
}

/** scipy's `get_window(name, n)` (periodic) or `get_window(name, n, fftbins=False)`. */
export function scipyWindow(name: Exclude<WindowName, 'gaussian'>, n: number, symmetric: boolean): number[] {
  if (symmetric || n <= 1) return symmetricWindow(name, n);
  return symmetricWindow(name, n + 1).slice(0, n);
}

/** MONAI's 1-D gaussian before the floor. */
export function gaussian1d(n: number, sigmaScale: number): number[] {
  const sigma = sigmaScale * n;
  const centre = (n - 1) / 2;
  return Array.from({ length: n }, (_, i) => {
    const x = i - centre;
    return Math.exp((x * x) / (-2 * sigma * sigma));
  });
}

/** Outer product of 1-D windows, row-major, multiplied left to right. */
export function outerProduct(factors: readonly number[][]): Float64Array {
  let map = [1];
  for (const f of factors) {
    const next: number[] = [];
    for (const a of map) for (const b of f) next.push(a * b);
    map = next;
  }
  return Float64Array.from(map);
}

function upscaleMap(values: Float64Array, shape: readonly number[], upscale: readonly number[]): Float64Array {
  if (upscale.every((u) => u === 1)) return Float64Array.from(values);
  const outShape = shape.map((s, d) => s * upscale[d]);
  const strides = cStrides(shape);
  const n = shape.length;
  const out = new Float64Array(product(outShape));
  const index = new Array<number>(n).fill(0);
  for (let i = 0; i < out.length; i++) {
    let src = 0;
    for (let d = 0; d < n; d++) src += Math.floor(index[d] / upscale[d]) * strides[d];
    out[i] = values[src];
    for (let d = n - 1; d >= 0; d--) {
      if (++index[d] < outShape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

const numberText = (x: number) => String(x);

/**
 * The weight map over a whole footprint, row-major; null for uniform
 * weights. Refuses maps of the wrong shape and negative, NaN, infinite or
 * all-zero maps (the same messages as the core).
 */
export function footprintWeights(
  weights: ResolvedWeights,
  outputTile: readonly number[],
  upscale: readonly number[],
): Float64Array | null {
  const footprint = outputTile.map((o, d) => o * upscale[d]);
  if (weights.kind === 'uniform') return null;
  if (weights.kind === 'gaussian') {
    const { sigmaScale } = weights;
    if (sigmaScale.length !== footprint.length) {
      throw rangeError(
        ErrorCode.DIMS_MISMATCH,
        `weights.sigmaScale must have one entry per spatial dimension (${footprint.length}); received ${sigmaScale.length}`,
      );
    }
    const bad = sigmaScale.find((s) => !(Number.isFinite(s) && s > 0));
    if (bad !== undefined) {
      throw rangeError(
        ErrorCode.OPTION_RANGE,
        `weights.sigmaScale must be a positive finite number; received ${numberText(bad)}`,
      );
    }
    const map = outerProduct(footprint.map((n, d) => gaussian1d(n, sigmaScale[d])));
    let min = Number.POSITIVE_INFINITY;
    for (const w of map) min = Math.min(min, w);
    const floor = Math.max(min, GAUSSIAN_FLOOR);
    for (let i = 0; i < map.length; i++) map[i] = Math.max(map[i], floor);
    return map;
  }
  if (weights.kind !== 'map') {
    const name = weights.kind;
    // Rounding leaves blackman's zero ends at -1.4e-17: no weight is negative.
    return outerProduct(footprint.map((n) => scipyWindow(name, n, weights.symmetric).map((w) => Math.max(w, 0))));
  }
  const { map: values, mapShape: shape } = weights;
  const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, d) => x === b[d]);
  let map: Float64Array;
  if (same(shape, footprint)) map = Float64Array.from(values);
  else if (same(shape, outputTile)) map = upscaleMap(values, shape, upscale);
  else {
    throw rangeError(
      ErrorCode.OPTION_RANGE,
      `a weights map must have the footprint's shape ${list(footprint)} (outputTileExtent x upscaleFactor) or outputTileExtent ${list(outputTile)}; received shape ${list(shape)}`,
    );
  }
  for (let i = 0; i < values.length; i++) {
    const w = values[i];
    if (!(Number.isFinite(w) && w >= 0)) {
      throw rangeError(
        ErrorCode.OPTION_RANGE,
        `weights map values must be finite and non-negative; element ${i} is ${numberText(w)}`,
      );
    }
  }
  if (values.every((w) => w === 0)) {
    throw rangeError(ErrorCode.OPTION_RANGE, 'a weights map must have at least one positive value; this one is all zeros');
  }
  return map;
}

/** The box `start`..`start + extent` of a row-major map of `full` extents. */
export function clipMap<T extends Float32Array | Float64Array>(
  map: T,
  full: readonly number[],
  start: readonly number[],
  extent: readonly number[],
): T {
  const n = full.length;
  const strides = cStrides(full);
  const row = extent[n - 1];
  const rows = product(extent.slice(0, n - 1));
  const out = new (map.constructor as { new (length: number): T })(rows * row);
  const index = new Array<number>(Math.max(n - 1, 0)).fill(0);
  for (let r = 0; r < rows; r++) {
    let offset = start[n - 1];
    for (let d = 0; d < n - 1; d++) offset += (start[d] + index[d]) * strides[d];
    out.set(map.subarray(offset, offset + row) as never, r * row);
    for (let d = n - 2; d >= 0; d--) {
      if (++index[d] < extent[d]) break;
      index[d] = 0;
    }
  }
  return out;
}
