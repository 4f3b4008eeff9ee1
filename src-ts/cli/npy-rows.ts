/**
 * Reading an NPY file a block of rows at a time, so files larger than memory
 * (tile predictions, masks) can be processed with bounded memory.
 */

import { closeSync, fstatSync, readSync } from 'node:fs';
import { ErrorCode, rangeError } from '../errors';
import { fortranOrderMessage, type NpyHeader, openRegularFile, parseNpyHeader } from '../npy';
import { NPY_TYPES, type NpyArray, type NpyType } from '../npy-dtypes';

export type RowArray = NpyArray;

/** An open NPY file: its header, and reads of rows (entries of the first axis) or of flat element ranges. */
export class NpyRows {
  readonly header: NpyHeader;
  readonly shape: number[];
  /** numpy's name for the element type. */
  readonly dtype: string;
  /** Elements per row (the product of all axes but the first). */
  readonly rowLength: number;
  readonly length: number;
  readonly #fd: number;
  readonly #type: NpyType;

  constructor(readonly path: string) {
    this.#fd = openRegularFile(path);
    try {
      const head = Buffer.alloc(Math.min(1 << 16, fstatSync(this.#fd).size));
      readSync(this.#fd, head, 0, head.length, 0);
      this.header = parseNpyHeader(head);
      const type = NPY_TYPES[this.header.descr];
      if (!type) {
        throw rangeError(
          ErrorCode.NPY_FORMAT,
          `${path}: unsupported NPY dtype '${this.header.descr}' (little-endian float32/float64/int32/int64/uint8/uint16/uint32)`,
        );
      }
      if (this.header.fortranOrder) throw rangeError(ErrorCode.NPY_FORMAT, fortranOrderMessage(path));
      this.#type = type;
      this.dtype = type.dtype;
      this.shape = this.header.shape;
      this.length = this.shape.reduce((a, d) => a * d, 1);
      this.rowLength = this.shape.slice(1).reduce((a, d) => a * d, 1);
      const needed = this.header.dataOffset + this.length * type.ctor.BYTES_PER_ELEMENT;
      const size = fstatSync(this.#fd).size;
      if (size < needed) throw rangeError(ErrorCode.NPY_FORMAT, `${path}: NPY data truncated (${size} of ${needed} bytes)`);
    } catch (e) {
      closeSync(this.#fd);
      throw e;
    }
  }

  /** Elements `[start, start + count)` in C order. */
  read(start: number, count: number): RowArray {
    const size = this.#type.ctor.BYTES_PER_ELEMENT;
    const buffer = new ArrayBuffer(count * size);
    const bytes = new Uint8Array(buffer);
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(this.#fd, bytes, done, bytes.length - done, this.header.dataOffset + start * size + done);
      if (n === 0) throw rangeError(ErrorCode.NPY_FORMAT, `${this.path}: unexpected end of file`);
      done += n;
    }
    return new this.#type.ctor(buffer);
  }

  /** Rows `[first, first + count)`. */
  readRows(first: number, count: number): RowArray {
    return this.read(first * this.rowLength, count * this.rowLength);
  }

  close(): void {
    closeSync(this.#fd);
  }
}
