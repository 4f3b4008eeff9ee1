/** Reading and writing NPY files from JavaScript (little-endian, C order). */

import { readFileSync, writeFileSync } from 'node:fs';
import { ErrorCode, rangeError } from './errors';
import { refuseIfMapped } from './native-backend';
import { ARRAY_TYPES, type ArrayDtype, type NdArray, type NumericArray, product } from './ndarray';

const MAGIC = '\x93NUMPY';
const DESCR: Record<string, ArrayDtype> = {
  '<f4': 'float32',
  '<f8': 'float64',
  '<u2': 'uint16',
  '<u4': 'uint32',
  '|u1': 'uint8',
  '<u1': 'uint8',
  '<i4': 'int32',
};
const DESCR_OF: Record<ArrayDtype, string> = {
  float32: '<f4',
  float64: '<f8',
  uint16: '<u2',
  uint32: '<u4',
  uint8: '|u1',
  int32: '<i4',
};

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
  const descr = /'descr':\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(text)?.[1];
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

/** Reads a whole NPY file (C order, little-endian float32/float64/uint8/uint16/uint32/int32; int64 as Float64Array). */
export function readNpy(path: string): NdArray<NumericArray> & { header: NpyHeader } {
  const bytes = readFileSync(path);
  const header = parseNpyHeader(bytes);
  if (header.fortranOrder) throw formatError(`${path} is in Fortran order; only C order is supported`);
  const count = product(header.shape);
  const body = bytes.subarray(header.dataOffset);
  if (header.descr === '<i8') {
    if (body.length < count * 8) throw formatError(`${path}: NPY data truncated`);
    const dv = new DataView(body.buffer, body.byteOffset, count * 8);
    const data = new Float64Array(count);
    for (let i = 0; i < count; i++) data[i] = Number(dv.getBigInt64(i * 8, true));
    return { data, shape: header.shape, dtype: 'float64', header };
  }
  const dtype = DESCR[header.descr];
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
  const dtype = Object.entries(ARRAY_TYPES).find(([, c]) => array.data instanceof c)?.[0] as ArrayDtype | undefined;
  if (!dtype) throw formatError('writeNpy supports float32/float64/uint8/uint16/uint32/int32 arrays');
  const header = encodeNpyHeader(DESCR_OF[dtype], array.shape, version);
  const body = new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  const out = new Uint8Array(header.length + body.length);
  out.set(header);
  out.set(body, header.length);
  refuseIfMapped(path);
  writeFileSync(path, out);
}
