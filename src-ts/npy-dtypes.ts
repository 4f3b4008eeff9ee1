/** The NPY element types this package reads and writes: one table for npy.ts, npy-map.ts and the CLI's row reader. */

import type { ArrayDtype } from './ndarray';

export type NpyArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array;

export interface NpyType {
  /** numpy's name: `float32`, `uint16`, `int64`, ... */
  dtype: ArrayDtype | 'int64';
  ctor: { new (buffer: ArrayBufferLike): NpyArray; BYTES_PER_ELEMENT: number };
}

/** By NPY `descr` (little-endian, or byte-sized). */
export const NPY_TYPES: Readonly<Record<string, NpyType>> = {
  '<f4': { dtype: 'float32', ctor: Float32Array },
  '<f8': { dtype: 'float64', ctor: Float64Array },
  '<i4': { dtype: 'int32', ctor: Int32Array },
  '<i8': { dtype: 'int64', ctor: BigInt64Array },
  '|u1': { dtype: 'uint8', ctor: Uint8Array },
  '<u1': { dtype: 'uint8', ctor: Uint8Array },
  '<u2': { dtype: 'uint16', ctor: Uint16Array },
  '<u4': { dtype: 'uint32', ctor: Uint32Array },
};

/** The `descr` written for each array dtype. */
export const DESCR_OF: Readonly<Record<ArrayDtype, string>> = {
  float32: '<f4',
  float64: '<f8',
  uint16: '<u2',
  uint32: '<u4',
  uint8: '|u1',
  int32: '<i4',
};
