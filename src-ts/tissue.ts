/**
 * A tissue mask from a slide thumbnail: grey levels split by Otsu's threshold
 * (the level that maximizes the between-class variance of the histogram), for
 * `builder.tileOrigins({ tissue })`.
 */

import { describe, ErrorCode, rangeError, typeError } from './errors';

export interface TissueMaskOptions {
  /** `'darker'` (default: stained tissue on a bright brightfield background) or `'brighter'` (fluorescence). */
  tissueIs?: 'darker' | 'brighter';
  /** Use this grey level (0-255) instead of Otsu's. */
  threshold?: number;
}

/** `{ data, shape: [h, w] }`, 1 where there is tissue; `threshold` is the grey level used. */
export interface TissueMask {
  data: Uint8Array;
  shape: [number, number];
  dtype: 'uint8';
  threshold: number;
}

/**
 * Otsu's threshold of 8-bit values: the level `t` maximizing the
 * between-class variance of `values <= t` and `values > t`. A constant input
 * gives its value.
 */
export function otsuThreshold(values: ArrayLike<number>): number {
  const histogram = new Float64Array(256);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= 0 && v <= 255)) {
      throw rangeError(ErrorCode.OPTION_RANGE, `otsuThreshold takes 8-bit values 0 to 255; values[${i}] is ${describe(v)}`);
    }
    histogram[Math.round(v)]++;
  }
  const total = values.length;
  let sumAll = 0;
  for (let t = 0; t < 256; t++) sumAll += t * histogram[t];
  let best = -1;
  let level = 0;
  let weightLow = 0;
  let sumLow = 0;
  for (let t = 0; t < 256; t++) {
    weightLow += histogram[t];
    sumLow += t * histogram[t];
    const weightHigh = total - weightLow;
    if (weightLow === 0) continue;
    if (weightHigh === 0) break;
    const meanLow = sumLow / weightLow;
    const meanHigh = (sumAll - sumLow) / weightHigh;
    const between = weightLow * weightHigh * (meanLow - meanHigh) ** 2;
    if (between > best) {
      best = between;
      level = t;
    }
  }
  return best < 0 ? (total > 0 ? Math.round(values[0]) : 0) : level;
}

/**
 * A tissue mask of an 8-bit thumbnail `{ data: Uint8Array, shape: [h, w] | [h, w, 1 | 3 | 4] }`
 * (RGB to grey with the Rec. 601 weights; alpha ignored), thresholded with
 * Otsu's method unless `threshold` is given.
 */
export function tissueMask(thumbnail: unknown, options: TissueMaskOptions = {}): TissueMask {
  const t = thumbnail as { data?: unknown; shape?: unknown } | null;
  const data = t?.data;
  if (t === null || typeof t !== 'object' || !(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw typeError(
      ErrorCode.IMAGE_TYPE,
      `thumbnail must be { data: Uint8Array, shape: [h, w, 3] } (8-bit grey, RGB or RGBA); received ${describe(t?.data ?? t)}`,
    );
  }
  const shape = t.shape;
  const dims = Array.isArray(shape) ? (shape as unknown[]) : [];
  const bands = dims.length === 2 ? 1 : (dims[2] as number);
  const valid =
    (dims.length === 2 || (dims.length === 3 && [1, 3, 4].includes(bands))) &&
    dims.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d > 0) &&
    (dims[0] as number) * (dims[1] as number) * bands === data.length;
  if (!valid) {
    throw rangeError(
      ErrorCode.IMAGE_SHAPE,
      `thumbnail.shape must be [h, w] or [h, w, 1 | 3 | 4] matching its ${data.length} bytes; received ${describe(shape)}`,
    );
  }
  if (options === null || typeof options !== 'object') {
    throw typeError(ErrorCode.OPTION_TYPE, `options must be an object; received ${describe(options)}`);
  }
  const tissueIs = options.tissueIs ?? 'darker';
  if (tissueIs !== 'darker' && tissueIs !== 'brighter') {
    throw typeError(ErrorCode.OPTION_TYPE, `tissueIs must be 'darker' or 'brighter'; received ${describe(tissueIs)}`);
  }
  const [h, w] = dims as number[];
  const grey = new Uint8Array(h * w);
  for (let i = 0; i < grey.length; i++) {
    const p = i * bands;
    grey[i] = bands < 3 ? data[p] : Math.round(0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2]);
  }
  const threshold = options.threshold ?? otsuThreshold(grey);
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 255)) {
    throw rangeError(ErrorCode.OPTION_RANGE, `threshold must be a grey level from 0 to 255; received ${describe(threshold)}`);
  }
  const out = new Uint8Array(h * w);
  for (let i = 0; i < grey.length; i++) out[i] = (tissueIs === 'darker' ? grey[i] <= threshold : grey[i] > threshold) ? 1 : 0;
  return { data: out, shape: [h, w], dtype: 'uint8', threshold };
}
