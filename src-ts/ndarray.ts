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

/** The dtype name of a typed array type: `'float32'` for `Float32Array`, a union for a union. */
export type DtypeOf<T> = T extends Float32Array
  ? 'float32'
  : T extends Float64Array
    ? 'float64'
    : T extends Uint16Array
      ? 'uint16'
      : T extends Uint32Array
        ? 'uint32'
        : T extends Int32Array
          ? 'int32'
          : T extends Uint8Array
            ? 'uint8'
            : string;

/** An array this package returns: its `dtype` is typed with its data. */
export interface TypedNdArray<T extends NumericArray = FloatArray> extends NdArray<T> {
  dtype: DtypeOf<T>;
}

/** The array type of a dtype name: `Float64Array` for `'float64'`. */
export type ArrayOf<D extends ArrayDtype> = DtypeArrays[D];

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

/** Bytes of one element of `dtype`. */
export function bytesPerElement(dtype: ArrayDtype): number {
  return (ARRAY_TYPES[dtype] as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
}

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
  // A buffer detached by cleanup() has byteLength 0 and cannot back a new view: it reads as empty.
  const data = buffer.byteLength === 0 ? new ARRAY_TYPES[dtype](0) : new ARRAY_TYPES[dtype](buffer);
  return { data: data as DtypeArrays[D], shape: [...shape], dtype };
}

/** C-order element strides. */
export function cStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) strides[d] = strides[d + 1] * shape[d + 1];
  return strides;
}

/**
 * An array too large for one ArrayBuffer (Node 20: 4 GiB): reading `data`
 * throws a RangeError that says what to use instead; `channels` holds a view
 * per channel plane (each throws the same way if it is still too large).
 */
export interface LargeNdArray<T extends NumericArray = FloatArray> extends NdArray<T> {
  channels: NdArray<T>[];
}

/** An array whose `data` is produced on first read, or refused with `tooLarge`. */
export function lazyArray<T extends NumericArray>(
  shape: readonly number[],
  dtype: string,
  make: (() => T) | null,
  tooLarge: () => Error,
): NdArray<T> {
  let data: T | undefined;
  const array = { shape: [...shape], dtype } as NdArray<T>;
  Object.defineProperty(array, 'data', {
    enumerable: true,
    get() {
      if (!make) throw tooLarge();
      data ??= make();
      return data;
    },
  });
  return array;
}

/** Copies the box `start`..`start + extent` out of a C-order array of `extents`, row by row. */
export function copyWindow<T extends NumericArray>(
  plane: T,
  extents: readonly number[],
  start: readonly number[],
  extent: readonly number[],
): T {
  const n = extents.length;
  const strides = cStrides(extents);
  const row = extent[n - 1];
  const rows = product(extent.slice(0, n - 1));
  const out = new (plane.constructor as { new (length: number): T })(rows * row);
  const index = new Array<number>(n - 1).fill(0);
  for (let r = 0; r < rows; r++) {
    let offset = start[n - 1];
    for (let d = 0; d < n - 1; d++) offset += (start[d] + index[d]) * strides[d];
    out.set(plane.subarray(offset, offset + row) as never, r * row);
    for (let d = n - 2; d >= 0; d--) {
      if (++index[d] < extent[d]) break;
      index[d] = 0;
    }
  }
  return out;
}
