/** Plain n-dimensional arrays: a typed array, a C-order shape and a dtype name. */

export type FloatDtype = 'float32' | 'float64';
export type CounterDtype = 'uint16' | 'uint32';
export type ArrayDtype = FloatDtype | CounterDtype | 'uint8' | 'int32';

export type FloatArray = Float32Array | Float64Array;
export type CounterArray = Uint16Array | Uint32Array;
export type NumericArray = FloatArray | CounterArray | Uint8Array | Int32Array;

export interface DtypeArrays {
  float32: Float32Array;
  float64: Float64Array;
  uint16: Uint16Array;
  uint32: Uint32Array;
  uint8: Uint8Array;
  int32: Int32Array;
}

/** `{ data, shape, dtype }`, channel first, C order. */
export interface NdArray<T extends NumericArray = FloatArray> {
  data: T;
  shape: number[];
  dtype: string;
}

type Ctor = {
  new (length: number): NumericArray;
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): NumericArray;
};

export const ARRAY_TYPES: Record<ArrayDtype, Ctor> = {
  float32: Float32Array,
  float64: Float64Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint8: Uint8Array,
  int32: Int32Array,
};

export function dtypeOf(data: unknown): ArrayDtype | undefined {
  for (const [name, ctor] of Object.entries(ARRAY_TYPES)) {
    if (data instanceof ctor) return name as ArrayDtype;
  }
  return undefined;
}

export function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A zero-filled array of `shape`. */
export function zeros<D extends ArrayDtype>(shape: readonly number[], dtype: D): NdArray<DtypeArrays[D]> {
  return { data: new ARRAY_TYPES[dtype](product(shape)) as DtypeArrays[D], shape: [...shape], dtype };
}

/** A view of `buffer` as an array of `dtype` with `shape`. */
export function view<D extends ArrayDtype>(buffer: ArrayBufferLike, shape: readonly number[], dtype: D): NdArray<DtypeArrays[D]> {
  return { data: new ARRAY_TYPES[dtype](buffer) as DtypeArrays[D], shape: [...shape], dtype };
}

/** C-order element strides. */
export function cStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) strides[d] = strides[d + 1] * shape[d + 1];
  return strides;
}
