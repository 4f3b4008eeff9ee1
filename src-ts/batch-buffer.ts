/**
 * Batches in memory the native binding owns: `updateBatchAsync` reads them
 * in place, with no copy and no transfer, and nothing JavaScript does with
 * the buffer meanwhile can free that memory under the update.
 */

import { describe, ErrorCode, rangeError, typeError } from './errors';
import { loadNative } from './native-backend';
import type { FloatArray, FloatDtype } from './ndarray';

/**
 * A zero-filled batch `{ data, shape }` for `updateBatchAsync`. Fill it, pass
 * it, and reuse it once the update's promise has settled (writing to it while
 * the update is pending mixes old and new values into the mask, though it can
 * never crash). Without the native addon this is an ordinary typed array.
 */
export function allocateBatch(shape: readonly number[], dtype: FloatDtype = 'float32'): { data: FloatArray; shape: number[] } {
  if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) {
    throw typeError(ErrorCode.BATCH_SHAPE, `shape must be an array of non-negative integers; received ${describe(shape)}`);
  }
  if (dtype !== 'float32' && dtype !== 'float64') {
    throw typeError(ErrorCode.DTYPE, `dtype must be 'float32' or 'float64'; received ${describe(dtype)}`);
  }
  const Ctor = dtype === 'float32' ? Float32Array : Float64Array;
  const length = shape.reduce((a, d) => a * d, 1);
  if (length === 0)
    throw rangeError(ErrorCode.BATCH_SHAPE, `a batch buffer needs at least one element; shape ${describe(shape)} has none`);
  const native = loadNative();
  const data = native ? new Ctor(native.allocateBatchBuffer(length * Ctor.BYTES_PER_ELEMENT).buffer) : new Ctor(length);
  return { data, shape: [...shape] };
}
