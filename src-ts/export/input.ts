/**
 * What the exports accept: a `finalize()` result (`{ mask }` or the mask),
 * any `{ data, shape, dtype }` 2-D mask, or a mapped NPY file from `openNpy`;
 * normalized to channel planes (or a file to stream) plus geometry.
 */

import { describe, ErrorCode, list, rangeError, stateError, typeError } from '../errors';
import type { NdArray } from '../ndarray';
import { geometryOf, type MaskGeometry, resolveMpp } from './geometry';

/** Something the exports read: a result, a mask, or an `openNpy` file. */
export type ExportInput =
  | NdArray<any>
  | { mask: NdArray<any> }
  | { array: NdArray<any>; path?: string; shape: number[]; dtype: string };

export interface ExportSource {
  /** Channel planes `[H, W]`, empty when `file` is streamed instead. */
  planes: (Float32Array | Float64Array | Uint8Array | Uint16Array)[];
  /** An NPY file to read band by band (persisted memmap masks, `openNpy` files). */
  file: string | undefined;
  channels: number;
  extents: [number, number];
  dtype: string;
  geometry: MaskGeometry;
  channelNames: string[] | undefined;
}

const DTYPES = new Set(['float32', 'float64', 'uint8', 'uint16']);
const ARRAYS = [Float32Array, Float64Array, Uint8Array, Uint16Array];

/** Attaches the NPY file behind a memmap mask, so exports stream it rather than reading views. */
export function attachFile(mask: object, path: string): void {
  Object.defineProperty(mask, 'file', { value: path, enumerable: false, configurable: true });
}

function unwrap(value: unknown): { array: NdArray<any>; file: string | undefined; holder: object } {
  if (value === null || typeof value !== 'object') {
    throw typeError(
      ErrorCode.IMAGE_TYPE,
      `mask must be a finalize() result, a { data, shape, dtype } mask or an openNpy() file; received ${describe(value)}`,
    );
  }
  const o = value as Record<string, unknown>;
  if (o.mask !== undefined && o.data === undefined) return unwrap(o.mask);
  if (o.array !== undefined && typeof o.path === 'string') {
    return { array: o.array as NdArray<any>, file: o.path, holder: o };
  }
  if (!Array.isArray(o.shape)) {
    throw typeError(ErrorCode.IMAGE_TYPE, `mask.shape must be an array [C, H, W] or [H, W]; received ${describe(o.shape)}`);
  }
  const file = (o as { file?: unknown }).file;
  return { array: o as unknown as NdArray<any>, file: typeof file === 'string' ? file : undefined, holder: o };
}

/** Normalizes `value` for an export; `options.mpp` and `options.channelNames` override what the input carries. */
/** A view whose builder's storage cleanup() released reads as empty. */
function released(): Error {
  return stateError(
    ErrorCode.CLEANED_UP,
    "mask.data is empty: its builder's storage was released by cleanup(); export before cleanup() (or export the persisted file with openNpy)",
  );
}

export function exportSource(value: unknown, options: { mpp?: unknown; channelNames?: unknown }): ExportSource {
  const { array, file, holder } = unwrap(value);
  const shape = array.shape;
  if (!(shape.length === 2 || shape.length === 3) || !shape.every((e) => Number.isSafeInteger(e) && e > 0)) {
    throw rangeError(
      ErrorCode.IMAGE_SHAPE,
      `mask.shape must be [C, H, W] or [H, W] of positive integers (exports are 2-D); received ${list(shape)}`,
    );
  }
  const [channels, h, w] = shape.length === 2 ? [1, shape[0], shape[1]] : shape;
  const dtype = String(array.dtype);
  if (!DTYPES.has(dtype)) {
    throw typeError(
      ErrorCode.DTYPE,
      `mask.dtype must be float32 or float64 (probabilities) or uint8 or uint16 (labels); received ${describe(array.dtype)}`,
    );
  }
  const planes: ExportSource['planes'] = [];
  if (file === undefined) {
    const whole = (array as { channels?: NdArray<any>[] }).channels ? undefined : array.data;
    if (whole !== undefined && ArrayBuffer.isView(whole) && whole.byteLength === 0 && channels * h * w > 0) {
      throw released();
    }
    for (let c = 0; c < channels; c++) {
      const data = whole ? (whole as Float32Array).subarray(c * h * w, (c + 1) * h * w) : (array as any).channels[c].data;
      if (!ARRAYS.some((A) => data instanceof A)) {
        throw typeError(
          ErrorCode.IMAGE_TYPE,
          `mask.data must be a Float32Array, Float64Array, Uint8Array or Uint16Array; received ${describe(data)}`,
        );
      }
      if (data.length === 0) throw released();
      if (data.length !== h * w) {
        throw rangeError(
          ErrorCode.IMAGE_SHAPE,
          `mask.data holds ${whole ? whole.length : data.length} values; shape ${list(shape)} needs ${channels * h * w}`,
        );
      }
      planes.push(data);
    }
  }
  const carried = geometryOf(holder) ?? geometryOf(value) ?? geometryOf(array);
  const mpp = resolveMpp(options.mpp, 2) ?? carried?.mpp;
  let geometry: MaskGeometry;
  if (carried) {
    if (carried.maskExtents.length !== 2 || carried.maskExtents[0] !== h || carried.maskExtents[1] !== w) {
      throw rangeError(
        ErrorCode.IMAGE_SHAPE,
        `the mask is [${h}, ${w}] but its geometry says maskExtents ${list(carried.maskExtents)}`,
      );
    }
    geometry = { ...carried, ...(mpp ? { mpp } : {}) };
  } else {
    // No geometry: mask pixels are source pixels.
    geometry = { sourceExtents: [h, w], span: [h, w], maskExtents: [h, w], scale: [1, 1], ...(mpp ? { mpp } : {}) };
  }
  let channelNames =
    options.channelNames ??
    (holder as { channelNames?: unknown }).channelNames ??
    (carried as { channelNames?: unknown } | undefined)?.channelNames;
  if (channelNames !== undefined) {
    if (!Array.isArray(channelNames) || !channelNames.every((n) => typeof n === 'string')) {
      throw typeError(ErrorCode.OPTION_TYPE, `channelNames must be an array of strings; received ${describe(channelNames)}`);
    }
    if (channelNames.length !== channels) {
      throw rangeError(
        ErrorCode.OPTION_RANGE,
        `channelNames must name each of the ${channels} channels; received ${channelNames.length} names`,
      );
    }
  } else {
    channelNames = undefined;
  }
  return {
    planes,
    file,
    channels,
    extents: [h, w],
    dtype,
    geometry,
    channelNames: channelNames as string[] | undefined,
  };
}

/** `'channel 0'`, ... for channels nobody named. */
export function namesOf(source: ExportSource): string[] {
  return source.channelNames ?? Array.from({ length: source.channels }, (_, c) => `channel ${c}`);
}
