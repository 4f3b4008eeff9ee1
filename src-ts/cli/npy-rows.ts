/**
 * Reading an NPY file a block of rows at a time, so files larger than memory
 * (tile predictions, masks) can be processed with bounded memory. Files as
 * numpy writes them: either byte order, C or Fortran order (rows come back in
 * C order), and the numeric dtypes. The package's own types (`NPY_TYPES`) are
 * used as read; the others (float16, int8, int16, uint64, big-endian) are
 * decoded element by element to the nearest JavaScript array, for the CLI to
 * convert.
 */

import { closeSync, fstatSync, readSync } from 'node:fs';
import { ErrorCode, rangeError } from '../errors';
import { type NpyHeader, openRegularFile, parseNpyHeader } from '../npy';
import { NPY_TYPES } from '../npy-dtypes';

export type RowArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

interface Decoder {
  /** numpy's name. */
  dtype: string;
  bytes: number;
  Ctor: { new (length: number): RowArray };
  /** Decodes the file's bytes, `count` elements. */
  decode(bytes: Uint8Array, count: number): RowArray;
}

type Getter = (view: DataView, offset: number, littleEndian: boolean) => number | bigint;

function decoder(dtype: string, bytes: number, Ctor: { new (length: number): RowArray }, get: Getter, little: boolean): Decoder {
  return {
    dtype,
    bytes,
    Ctor,
    decode(raw, count) {
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const out = new Ctor(count);
      const values = out as unknown as { [i: number]: number | bigint };
      for (let i = 0; i < count; i++) values[i] = get(view, i * bytes, little);
      return out;
    },
  };
}

/** IEEE 754 binary16 to a number (exact in float32). */
function half(view: DataView, offset: number, little: boolean): number {
  const h = view.getUint16(offset, little);
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

const KINDS: Record<string, [string, number, { new (length: number): RowArray }, Getter]> = {
  f2: ['float16', 2, Float32Array, half],
  f4: ['float32', 4, Float32Array, (v, o, l) => v.getFloat32(o, l)],
  f8: ['float64', 8, Float64Array, (v, o, l) => v.getFloat64(o, l)],
  i1: ['int8', 1, Int8Array, (v, o) => v.getInt8(o)],
  u1: ['uint8', 1, Uint8Array, (v, o) => v.getUint8(o)],
  b1: ['bool', 1, Uint8Array, (v, o) => v.getUint8(o)],
  i2: ['int16', 2, Int16Array, (v, o, l) => v.getInt16(o, l)],
  u2: ['uint16', 2, Uint16Array, (v, o, l) => v.getUint16(o, l)],
  i4: ['int32', 4, Int32Array, (v, o, l) => v.getInt32(o, l)],
  u4: ['uint32', 4, Uint32Array, (v, o, l) => v.getUint32(o, l)],
  i8: ['int64', 8, BigInt64Array, (v, o, l) => v.getBigInt64(o, l)],
  u8: ['uint64', 8, BigUint64Array, (v, o, l) => v.getBigUint64(o, l)],
};

/** The decoder of an NPY `descr` (`'<f4'`, `'>i2'`, `'|u1'`, ...), or undefined. */
function decoderOf(descr: string): Decoder | undefined {
  const own = NPY_TYPES[descr];
  if (own) {
    // Little-endian data of one of the package's types is used as it is read.
    return {
      dtype: own.dtype,
      bytes: own.ctor.BYTES_PER_ELEMENT,
      Ctor: own.ctor as unknown as { new (length: number): RowArray },
      decode: (raw) => new own.ctor(raw.buffer),
    };
  }
  const match = /^([<>|=])([a-z]\d+)$/.exec(descr);
  const kind = match && KINDS[match[2]];
  if (!kind) return undefined;
  const [dtype, bytes, Ctor, get] = kind;
  return decoder(dtype, bytes, Ctor, get, match[1] !== '>');
}

/** An open NPY file: its header, and reads of rows (entries of the first axis) or of flat element ranges. */
export class NpyRows {
  readonly header: NpyHeader;
  readonly shape: number[];
  /** numpy's name for the element type. */
  readonly dtype: string;
  /** Elements per row (the product of all axes but the first). */
  readonly rowLength: number;
  readonly length: number;
  /** Whether the file stores the array in Fortran (column-major) order. */
  readonly fortranOrder: boolean;
  readonly #fd: number;
  readonly #decoder: Decoder;

  constructor(readonly path: string) {
    this.#fd = openRegularFile(path);
    try {
      const head = Buffer.alloc(Math.min(1 << 16, fstatSync(this.#fd).size));
      readSync(this.#fd, head, 0, head.length, 0);
      this.header = parseNpyHeader(head);
      const decoder = decoderOf(this.header.descr);
      if (!decoder) {
        throw rangeError(
          ErrorCode.NPY_FORMAT,
          `${path}: NPY dtype '${this.header.descr}' cannot be read (numeric dtypes only); ` +
            `convert it with numpy: np.save('${path}', np.load('${path}').astype(np.float32))`,
        );
      }
      this.#decoder = decoder;
      this.dtype = decoder.dtype;
      this.fortranOrder = this.header.fortranOrder;
      this.shape = this.header.shape;
      this.length = this.shape.reduce((a, d) => a * d, 1);
      this.rowLength = this.shape.slice(1).reduce((a, d) => a * d, 1);
      const needed = this.header.dataOffset + this.length * decoder.bytes;
      const size = fstatSync(this.#fd).size;
      if (size < needed) throw rangeError(ErrorCode.NPY_FORMAT, `${path}: NPY data truncated (${size} of ${needed} bytes)`);
    } catch (e) {
      closeSync(this.#fd);
      throw e;
    }
  }

  /** Elements `[start, start + count)` in the file's order (C, or Fortran when `fortranOrder`). */
  read(start: number, count: number): RowArray {
    const size = this.#decoder.bytes;
    const bytes = new Uint8Array(count * size);
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(this.#fd, bytes, done, bytes.length - done, this.header.dataOffset + start * size + done);
      if (n === 0) throw rangeError(ErrorCode.NPY_FORMAT, `${this.path}: unexpected end of file`);
      done += n;
    }
    return this.#decoder.decode(bytes, count);
  }

  /** Rows `[first, first + count)`, C order. */
  readRows(first: number, count: number): RowArray {
    if (!this.fortranOrder || this.shape.length < 2) return this.read(first * this.rowLength, count * this.rowLength);
    // Fortran order keeps each of a row's elements in its own column of N
    // values: read the rows' stretch of every column, then interleave.
    const n = this.shape[0];
    const rest = this.shape.slice(1);
    const out = new this.#decoder.Ctor(count * this.rowLength);
    const target = out as unknown as { [i: number]: number | bigint };
    const index = new Array<number>(rest.length).fill(0);
    for (let column = 0; column < this.rowLength; column++) {
      // The C-order position, within a row, of the column's element (first rest axis fastest in Fortran order).
      let c = 0;
      for (let d = 0; d < rest.length; d++) c = c * rest[d] + index[d];
      const values = this.read(column * n + first, count) as unknown as { [i: number]: number | bigint };
      for (let i = 0; i < count; i++) target[i * this.rowLength + c] = values[i];
      for (let d = 0; d < rest.length; d++) {
        if (++index[d] < rest[d]) break;
        index[d] = 0;
      }
    }
    return out;
  }

  close(): void {
    closeSync(this.#fd);
  }
}
