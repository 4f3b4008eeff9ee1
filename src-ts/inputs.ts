/**
 * The forms `updateBatch` accepts for its arguments, brought to one form
 * before a backend sees them. Only form is checked here; values are checked
 * against the geometry by the backend.
 */

import { describe, ErrorCode, list, rangeError, typeError } from './errors';
import type { FloatArray, FloatDtype } from './ndarray';

/** A batch: `{ data, shape }`, or an object with `dims` (onnxruntime-node tensors). */
export interface BatchInput {
  data: FloatArray;
  shape?: readonly number[];
  dims?: readonly number[];
}

/**
 * A tensor as onnxruntime returns it (`ort.Tensor` of onnxruntime-node,
 * -web or -common): its `data` is typed for every element type, so which one
 * it holds is checked when the batch arrives (float32 or float64, matching
 * the builder's `dtype`; other types are refused saying how to convert).
 */
export interface TensorLike {
  readonly data: ArrayBufferView | readonly unknown[];
  readonly dims: readonly number[];
  readonly type?: string;
}

export type CoordsArray = Int32Array | BigInt64Array | Float64Array;

/** Top-left source coordinates `[y, x, ...]` of each tile. */
export type CoordsInput =
  | { data: CoordsArray; shape?: readonly number[]; dims?: readonly number[] }
  | ReadonlyArray<ReadonlyArray<number> | ArrayLike<number>>;

/** Output-tile pixels to drop: one number, one per dimension, or `[start, end]` per dimension. */
export type EdgeClippingInput =
  | number
  | ArrayLike<number>
  | ReadonlyArray<number | readonly [number, number] | ArrayLike<number>>;

export interface Batch {
  data: FloatArray;
  shape: number[];
}

export interface CoordsTable {
  data: CoordsArray;
  /** `[B, N]`. */
  shape: number[];
}

export interface Clipping {
  start: number[];
  end: number[];
}

const MAX_SAFE_BIGINT = BigInt(Number.MAX_SAFE_INTEGER);

const typedArrayTag = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag)!.get as (
  this: unknown,
) => string | undefined;

/**
 * `'Float32Array'`, `'Int32Array'`, ... for a typed array of any realm (one
 * made in a worker, a `vm` context or jest's sandbox fails `instanceof`);
 * undefined for anything else.
 */
export function typedArrayName(value: unknown): string | undefined {
  return ArrayBuffer.isView(value) ? typedArrayTag.call(value) : undefined;
}

const isSharedBuffer = (b: ArrayBufferLike) => typeof SharedArrayBuffer !== 'undefined' && b instanceof SharedArrayBuffer;
/** `ArrayBuffer.prototype.detached` where the runtime has it (Node 22+); else a view on a detached buffer cannot be made. */
function isDetached(b: ArrayBufferLike): boolean {
  const flag = (b as ArrayBuffer & { detached?: boolean }).detached;
  if (flag !== undefined) return flag;
  if (b.byteLength !== 0) return false;
  try {
    new Uint8Array(b, 0, 0);
    return false;
  } catch {
    return true;
  }
}

/**
 * Refuses a detached buffer; snapshots one in a SharedArrayBuffer. Copying in
 * JavaScript is well defined however another thread writes meanwhile, and the
 * kernel then reads memory nothing else can touch.
 */
function ownedData<T extends ArrayBufferView>(name: string, data: T): T {
  if (isSharedBuffer(data.buffer)) return (data as unknown as { slice(): T }).slice();
  if (isDetached(data.buffer)) {
    throw typeError(ErrorCode.BUFFER, `${name} lives in a detached ArrayBuffer (it was transferred)`);
  }
  return data;
}

/** Whether `data` lives in a SharedArrayBuffer (such a batch is copied, and cannot be transferred). */
export function isShared(data: unknown): boolean {
  return ArrayBuffer.isView(data) && isSharedBuffer(data.buffer);
}

function shapeOf(name: string, value: { shape?: unknown; dims?: unknown }, code: ErrorCode): number[] {
  const shape = value.shape ?? value.dims;
  if (!Array.isArray(shape) && !(ArrayBuffer.isView(shape) && !(shape instanceof DataView))) {
    throw typeError(code, `${name} needs a shape (or dims) array; received ${describe(shape)}`);
  }
  // A plain array of numbers (the common case) is used as it is: it is read
  // before the call returns, and never kept.
  const given = shape as ArrayLike<unknown>;
  let plain = Array.isArray(shape);
  for (let i = 0; plain && i < given.length; i++) plain = typeof given[i] === 'number';
  const dims = plain ? (shape as unknown[]) : Array.from(given, (d) => (typeof d === 'bigint' ? Number(d) : d));
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i];
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0 || d > 0xffffffff) {
      throw rangeError(code, `${name}.shape[${i}] must be a non-negative integer; received ${describe(d)}`);
    }
  }
  return dims as number[];
}

export function normalizeBatch(batch: unknown, dtype: FloatDtype): Batch {
  if (batch === null || typeof batch !== 'object' || ArrayBuffer.isView(batch) || Array.isArray(batch)) {
    throw typeError(
      ErrorCode.BATCH_TYPE,
      `batch must be { data, shape } (or a tensor with data and dims); received ${describe(batch)}`,
    );
  }
  const b = batch as { data?: unknown; shape?: unknown; dims?: unknown; type?: unknown };
  const data = b.data;
  const expected = dtype === 'float32' ? 'Float32Array' : 'Float64Array';
  if (typedArrayName(data) !== expected) {
    throw typeError(
      ErrorCode.BATCH_TYPE,
      `batch.data must be a ${expected} for dtype '${dtype}'; received ${describe(data)}${dataHint(data, dtype, b)}`,
    );
  }
  const owned = ownedData('batch.data', data as FloatArray);
  const shape = shapeOf('batch', b, ErrorCode.BATCH_SHAPE);
  let count = 1;
  for (let i = 0; i < shape.length; i++) count *= shape[i];
  if (count !== owned.length) {
    throw rangeError(
      ErrorCode.BATCH_SHAPE,
      `batch.data length must equal the product of its shape ${list(shape)} (${count}); received ${owned.length} elements`,
    );
  }
  return { data: owned, shape };
}

/** How to fix a batch whose data has the wrong element type. */
function dataHint(data: unknown, dtype: FloatDtype, batch: { type?: unknown }): string {
  const name = typedArrayName(data);
  if (name === 'Float64Array' || name === 'Float32Array') {
    const other = dtype === 'float32' ? 'float64' : 'float32';
    const ctor = dtype === 'float32' ? 'Float32Array' : 'Float64Array';
    return ` (build the mask with dtype: '${other}', or convert: ${ctor}.from(batch.data))`;
  }
  if (batch.type === 'float16' || (name === 'Uint16Array' && 'dims' in batch)) {
    return ' (a float16 tensor holds raw 16-bit halves: give the model float32 outputs, or decode the halves into a Float32Array)';
  }
  if (Array.isArray(data)) return ` (convert: ${dtype === 'float32' ? 'Float32Array' : 'Float64Array'}.from(data))`;
  return '';
}

/**
 * Memory a builder lends `normalizeCoords` for coordinates given as rows: the
 * table is read before the call that asked for it returns, so one buffer
 * serves every call.
 */
export interface CoordsScratch {
  buffer: Float64Array;
}

/**
 * Coordinates as a `[B, N]` table; `ndim` gives an empty list (no tiles) its N.
 * Rows are copied into `scratch` when given (grown as needed), so a call allocates nothing.
 */
export function normalizeCoords(coords: unknown, ndim: number, scratch?: CoordsScratch): CoordsTable {
  if (Array.isArray(coords)) {
    const rows = coords.length;
    if (rows > 0 && (typeof coords[0] === 'number' || typeof coords[0] === 'bigint')) {
      throw typeError(
        ErrorCode.COORDS_TYPE,
        `coords must be [y, x, ...] rows (an array of arrays) or { data, shape: [B, ${ndim}] }; received a flat array of numbers ${describe(coords)} ` +
          `(group it into rows [[y, x], ...], or pass { data: Int32Array.from(flat), shape: [flat.length / ${ndim}, ${ndim}] })`,
      );
    }
    const first = coords[0] as { length?: unknown } | null | undefined;
    const n = rows > 0 && first != null && typeof first.length === 'number' ? first.length : ndim;
    let data: Float64Array;
    if (scratch === undefined) {
      data = new Float64Array(rows * n);
    } else {
      if (scratch.buffer.length < rows * n) scratch.buffer = new Float64Array(Math.max(rows * n, 2 * scratch.buffer.length));
      data = scratch.buffer.subarray(0, rows * n);
    }
    for (let t = 0; t < rows; t++) {
      const row: unknown = coords[t];
      if (row === null || typeof row !== 'object' || typeof (row as ArrayLike<unknown>).length !== 'number') {
        throw typeError(
          ErrorCode.COORDS_TYPE,
          `coords[${t}] must be an array of ${n} numbers [y, x, ...]; received ${describe(row)}`,
        );
      }
      const r = row as ArrayLike<unknown>;
      if (r.length !== n) {
        throw rangeError(
          ErrorCode.COORDS_SHAPE,
          `every coords row must have ${n} entries like coords[0]; coords[${t}] has ${r.length}`,
        );
      }
      for (let d = 0; d < n; d++) {
        const v = r[d];
        if (typeof v !== 'number' && typeof v !== 'bigint') {
          throw typeError(ErrorCode.COORDS_TYPE, `coords[${t}][${d}] must be a number; received ${describe(v)}`);
        }
        // A bigint past 2^53 would round on the way to a number; report it exactly.
        if (typeof v === 'bigint' && (v > MAX_SAFE_BIGINT || v < -MAX_SAFE_BIGINT)) {
          throw rangeError(
            ErrorCode.COORDS_VALUE,
            `coords[${t}][${d}] must be a non-negative integer no larger than 2^53 - 1; received ${v}`,
          );
        }
        data[t * n + d] = Number(v);
      }
    }
    return { data, shape: [rows, n] };
  }
  if (coords === null || typeof coords !== 'object' || ArrayBuffer.isView(coords)) {
    throw typeError(
      ErrorCode.COORDS_TYPE,
      `coords must be { data, shape: [B, N] } with an Int32Array, BigInt64Array or Float64Array, or an array of [y, x, ...] rows; received ${describe(coords)}`,
    );
  }
  const c = coords as { data?: unknown; shape?: unknown; dims?: unknown };
  const data = c.data;
  const name = typedArrayName(data);
  if (name !== 'Int32Array' && name !== 'BigInt64Array' && name !== 'Float64Array') {
    throw typeError(
      ErrorCode.COORDS_TYPE,
      `coords.data must be an Int32Array, BigInt64Array or Float64Array; received ${describe(data)}` +
        (ArrayBuffer.isView(data) && !(data instanceof DataView)
          ? ' (convert: Int32Array.from(coords.data), or Float64Array.from(coords.data) for values of 2^31 or more)'
          : ''),
    );
  }
  const owned = ownedData('coords.data', data as CoordsArray);
  const shape = shapeOf('coords', c, ErrorCode.COORDS_SHAPE);
  if (shape.length !== 2 || shape[0] * shape[1] !== owned.length) {
    throw rangeError(
      ErrorCode.COORDS_SHAPE,
      `coords must have shape [B, N] matching its ${owned.length} values; received shape ${list(shape)}`,
    );
  }
  return { data: owned, shape };
}

function clipValue(v: unknown, where: string): number {
  if (typeof v !== 'number') {
    throw typeError(ErrorCode.EDGE_CLIPPING, `edgeClipping${where} must be a number; received ${describe(v)}`);
  }
  if (!Number.isSafeInteger(v) || v < 0 || v > 0xffffffff) {
    throw rangeError(ErrorCode.EDGE_CLIPPING, `edgeClipping${where} must be a non-negative integer; received ${v}`);
  }
  return v;
}

/** No clipping, per dimension count: made once, read only. */
const noClipping: Clipping[] = [];

/** `edgeClipping` as per-dimension start and end counts. */
export function normalizeEdgeClipping(clip: unknown, ndim: number): Clipping {
  if (clip === undefined || clip === null) {
    noClipping[ndim] ??= Object.freeze({
      start: Object.freeze(new Array(ndim).fill(0)),
      end: Object.freeze(new Array(ndim).fill(0)),
    }) as Clipping;
    return noClipping[ndim];
  }
  if (typeof clip === 'number') {
    const v = clipValue(clip, '');
    return { start: new Array(ndim).fill(v), end: new Array(ndim).fill(v) };
  }
  const isList = Array.isArray(clip) || (ArrayBuffer.isView(clip) && !(clip instanceof DataView));
  if (!isList) {
    throw typeError(
      ErrorCode.EDGE_CLIPPING,
      `edgeClipping must be a number, ${ndim} numbers or ${ndim} [start, end] pairs; received ${describe(clip)}`,
    );
  }
  const items = Array.from(clip as ArrayLike<unknown>);
  if (items.length !== ndim) {
    // With one dimension, [start, end] would read as two dimensions: ask for [[start, end]].
    const hint = ndim === 1 && items.length === 2 ? ' (for [start, end] on the single dimension write [[start, end]])' : '';
    throw rangeError(
      ErrorCode.EDGE_CLIPPING,
      `edgeClipping must give ${ndim} entries (one per spatial dimension)${hint}; received ${items.length}: ${describe(clip)}`,
    );
  }
  const start: number[] = [];
  const end: number[] = [];
  items.forEach((item, d) => {
    if (typeof item === 'number') {
      start.push(clipValue(item, `[${d}]`));
      end.push(start[d]);
      return;
    }
    const pair = item as ArrayLike<unknown> | null;
    if (pair === null || typeof pair !== 'object' || pair.length !== 2) {
      throw typeError(
        ErrorCode.EDGE_CLIPPING,
        `edgeClipping[${d}] must be a number or a [start, end] pair; received ${describe(item)}`,
      );
    }
    start.push(clipValue(pair[0], `[${d}][0]`));
    end.push(clipValue(pair[1], `[${d}][1]`));
  });
  return { start, end };
}

/**
 * Moves `data`'s ArrayBuffer into a new one that only the builder holds (no
 * copy), so nothing can detach or free it while an update reads it; `data`
 * itself reads as empty afterwards. Only a view spanning its whole buffer is
 * taken: detaching a shared buffer (a subarray's parent, Node's Buffer pool)
 * would empty other arrays the caller never passed.
 */
export function takeBuffer(data: FloatArray): FloatArray {
  // Read before the transfer: a detached view reports offset and length 0.
  const { byteOffset, length, byteLength } = data;
  if (byteOffset !== 0 || byteLength !== data.buffer.byteLength) {
    throw typeError(
      ErrorCode.BUFFER,
      `transfer: true needs batch.data to span its whole ArrayBuffer; received a view of ${byteLength} bytes at offset ${byteOffset} into ${data.buffer.byteLength} bytes (call without transfer to copy it)`,
    );
  }
  let moved: ArrayBuffer;
  try {
    moved = structuredClone(data.buffer as ArrayBuffer, { transfer: [data.buffer as ArrayBuffer] });
  } catch (e) {
    throw typeError(
      ErrorCode.BUFFER,
      `batch.data's buffer cannot be transferred (${(e as Error).message}); call updateBatchAsync without transfer: true`,
    );
  }
  const Ctor = data.constructor as { new (buffer: ArrayBuffer, byteOffset: number, length: number): FloatArray };
  return new Ctor(moved, 0, length);
}
