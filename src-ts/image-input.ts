/** Validation of the `{ data, shape }` arrays that resizing and image writing take. */

import { describe, ErrorCode, rangeError, typeError } from './errors';
import type { FloatArray } from './ndarray';

/** A float array with a C-order shape. */
export interface FloatImage {
  data: FloatArray;
  shape: number[];
}

/** `value` as `{ data: Float32Array | Float64Array, shape }` whose shape matches the data. */
export function floatImage(name: string, value: unknown): FloatImage {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value) || Array.isArray(value)) {
    throw typeError(ErrorCode.IMAGE_TYPE, `${name} must be { data, shape }; received ${describe(value)}`);
  }
  const v = value as { data?: unknown; shape?: unknown; mask?: unknown };
  if (v.data === undefined && v.mask !== undefined) {
    throw typeError(
      ErrorCode.IMAGE_TYPE,
      `${name} must be { data, shape }; received a mean result { mask, overlapCounter }: pass its .mask`,
    );
  }
  if (!(v.data instanceof Float32Array) && !(v.data instanceof Float64Array)) {
    throw typeError(ErrorCode.IMAGE_TYPE, `${name}.data must be a Float32Array or Float64Array; received ${describe(v.data)}`);
  }
  if (!Array.isArray(v.shape)) {
    throw typeError(ErrorCode.IMAGE_TYPE, `${name}.shape must be an array of integers; received ${describe(v.shape)}`);
  }
  const shape = v.shape as unknown[];
  shape.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 1) {
      throw rangeError(ErrorCode.IMAGE_SHAPE, `${name}.shape[${i}] must be a positive integer; received ${describe(d)}`);
    }
  });
  const count = (shape as number[]).reduce((a, d) => a * d, 1);
  if (count !== v.data.length) {
    throw rangeError(
      ErrorCode.IMAGE_SHAPE,
      `${name}.shape [${shape.join(', ')}] describes ${count} elements but ${name}.data holds ${v.data.length}`,
    );
  }
  return { data: v.data, shape: shape as number[] };
}
