/** Reading and writing NPY files from JavaScript (little-endian, C order). */

import { closeSync, constants, fstatSync, openSync, readSync, writeFileSync } from 'node:fs';
import { describe, ErrorCode, rangeError, typeError } from './errors';
import { refuseIfMapped } from './native-backend';
import { ARRAY_TYPES, type ArrayDtype, type NdArray, type NumericArray, product } from './ndarray';
import { DESCR_OF, NPY_TYPES } from './npy-dtypes';

const MAGIC = '\x93NUMPY';
export interface NpyHeader {
  version: [number, number];
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  dataOffset: number;
}

function formatError(message: string): RangeError {
  return rangeError(ErrorCode.NPY_FORMAT, message);
}

/** Parses the header at the start of `bytes`. */
export function parseNpyHeader(bytes: Uint8Array): NpyHeader {
  const magic = String.fromCharCode(...bytes.subarray(0, 6));
  if (bytes.length < 10 || magic !== MAGIC) throw formatError('not an NPY file (missing the \\x93NUMPY magic)');
  const [major, minor] = [bytes[6], bytes[7]];
  if (![1, 2, 3].includes(major) || minor !== 0) throw formatError(`unsupported NPY version ${major}.${minor}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenSize = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenSize) throw formatError('truncated NPY header');
  const headerLength = lenSize === 2 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = 8 + lenSize;
  if (bytes.length < start + headerLength) throw formatError('truncated NPY header');
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLength));
  // A key given twice counts once, with its last value: numpy's rule (a Python dict literal), and the core's.
  const last = (pattern: RegExp) => [...text.matchAll(pattern)].pop()?.[1];
  const descr = last(/'descr':\s*'([^']*)'/g);
  const fortran = last(/'fortran_order':\s*(True|False)/g);
  const shapeText = last(/'shape':\s*\(([^)]*)\)/g);
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw formatError("the NPY header lacks 'descr', 'fortran_order' or 'shape'");
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim().replace(/L$/, ''))
    .filter((s) => s.length > 0)
    .map((s) => {
      const v = Number(s);
      if (!Number.isSafeInteger(v) || v < 0) throw formatError(`bad NPY shape entry '${s}'`);
      return v;
    });
  return { version: [major, minor], descr, fortranOrder: fortran === 'True', shape, dataOffset: start + headerLength };
}

/**
 * Opens `path` for reading, refusing anything but a regular file up front (a FIFO would block every
 * read, a device has no size). Returns the descriptor.
 */
export function openRegularFile(path: string): number {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const stat = fstatSync(fd);
  if (!stat.isFile()) {
    closeSync(fd);
    const kind = stat.isDirectory() ? 'a directory' : 'not a regular file (a FIFO, socket or device)';
    throw typeError(ErrorCode.NPY_FORMAT, `${path} is ${kind}; pass an NPY file`);
  }
  return fd;
}

/** The message for Fortran-order files, with the numpy call that rewrites one in C order. */
export function fortranOrderMessage(path: string): string {
  return `${path} is in Fortran order; only C order is supported. Rewrite it in C order with numpy: np.save(path, np.ascontiguousarray(np.load(path)))`;
}

function readWhole(path: string): Buffer {
  const fd = openRegularFile(path);
  try {
    const bytes = Buffer.alloc(fstatSync(fd).size);
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(fd, bytes, done, bytes.length - done, done);
      if (n === 0) break;
      done += n;
    }
    return bytes.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

/** Reads a whole NPY file (C order, little-endian float32/float64/uint8/uint16/uint32/int32; int64 as Float64Array). */
export function readNpy(path: string): NdArray<NumericArray> & { header: NpyHeader } {
  const bytes = readWhole(path);
  const header = parseNpyHeader(bytes);
  if (header.fortranOrder) throw formatError(fortranOrderMessage(path));
  const count = product(header.shape);
  const body = bytes.subarray(header.dataOffset);
  if (header.descr === '<i8') {
    if (body.length < count * 8) throw formatError(`${path}: NPY data truncated`);
    const dv = new DataView(body.buffer, body.byteOffset, count * 8);
    const data = new Float64Array(count);
    for (let i = 0; i < count; i++) data[i] = Number(dv.getBigInt64(i * 8, true));
    return { data, shape: header.shape, dtype: 'float64', header };
  }
  // int64 was converted above; every other type is read as its own array.
  const dtype = NPY_TYPES[header.descr]?.dtype as ArrayDtype | undefined;
  if (!dtype) throw formatError(`${path}: unsupported NPY dtype '${header.descr}'`);
  const ctor = ARRAY_TYPES[dtype];
  const size = (ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  if (body.length < count * size) throw formatError(`${path}: NPY data truncated (${body.length} of ${count * size} bytes)`);
  // Copy into an aligned buffer of exactly the data.
  const aligned = new Uint8Array(count * size);
  aligned.set(body.subarray(0, count * size));
  return { data: new ctor(aligned.buffer) as NumericArray, shape: header.shape, dtype, header };
}

/** Encodes an NPY header whose data starts on a 64-byte boundary. */
export function encodeNpyHeader(descr: string, shape: readonly number[], version: 1 | 2 | 3 = 1): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const prefix = 8 + (version === 1 ? 2 : 4);
  const total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  const out = new Uint8Array(total);
  out.set([0x93, ...Array.from('NUMPY', (c) => c.charCodeAt(0)), version, 0]);
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, total - prefix, true);
  else dv.setUint32(8, total - prefix, true);
  const padded = `${dict.padEnd(total - prefix - 1, ' ')}\n`;
  out.set(
    Array.from(padded, (c) => c.charCodeAt(0)),
    prefix,
  );
  return out;
}

/** Writes `array` as an NPY file. */
export function writeNpy(path: string, array: NdArray<NumericArray>, version: 1 | 2 | 3 = 1): void {
  if (typeof path !== 'string' || path.length === 0) {
    throw typeError(ErrorCode.OPTION_TYPE, `writeNpy: path must be a non-empty string; received ${describe(path)}`);
  }
  if (array === null || typeof array !== 'object') {
    throw typeError(ErrorCode.OPTION_TYPE, `writeNpy: array must be { data, shape }; received ${describe(array)}`);
  }
  const dtype = Object.entries(ARRAY_TYPES).find(([, c]) => array.data instanceof c)?.[0] as ArrayDtype | undefined;
  if (!dtype) {
    throw typeError(
      ErrorCode.OPTION_TYPE,
      `writeNpy: array.data must be a Float32Array, Float64Array, Uint8Array, Uint16Array, Uint32Array or Int32Array; received ${describe(array.data)}`,
    );
  }
  const shape: unknown = array.shape;
  if (!Array.isArray(shape)) {
    throw typeError(ErrorCode.OPTION_TYPE, `writeNpy: array.shape must be an array of integers; received ${describe(shape)}`);
  }
  shape.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw rangeError(
        ErrorCode.OPTION_RANGE,
        `writeNpy: array.shape[${i}] must be a non-negative integer; received ${describe(d)}`,
      );
    }
  });
  if (product(shape) !== array.data.length) {
    throw rangeError(
      ErrorCode.DIMS_MISMATCH,
      `writeNpy: array.shape [${shape.join(', ')}] holds ${product(shape)} elements but array.data has ${array.data.length}`,
    );
  }
  if (version !== 1 && version !== 2 && version !== 3) {
    throw rangeError(ErrorCode.OPTION_RANGE, `writeNpy: version must be 1, 2 or 3; received ${describe(version)}`);
  }
  const header = encodeNpyHeader(DESCR_OF[dtype], array.shape, version);
  const body = new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  const out = new Uint8Array(header.length + body.length);
  out.set(header);
  out.set(body, header.length);
  refuseIfMapped(path);
  writeFileSync(path, out);
}
