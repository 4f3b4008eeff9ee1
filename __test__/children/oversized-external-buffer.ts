// Child process for regression-double-free-oversized-external-buffer.spec.ts:
// asks for views above 4 GiB (the most one ArrayBuffer holds in Node 20)
// through every public path. Node refuses such an external buffer and runs
// its finalizer itself; the binding must not free the finalizer's data a
// second time. Prints one line per case (`<case> <error code>`), then `done`.
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { openNpy } from '../../src-ts/index';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const native = require('../../src-ts/binding.js');

const [dir] = process.argv.slice(2);
const FOUR_GIB = 2 ** 32;

/** A sparse NPY file of float32 holding 4 GiB + 4 bytes of data: no disk blocks used. */
function sparseNpy(path: string, elements: number): void {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${elements},), }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const header = Buffer.alloc(total, 0x20);
  header.write('\x93NUMPY', 0, 'latin1');
  header[6] = 1;
  header[7] = 0;
  header.writeUInt16LE(total - 10, 8);
  header.write(dict, 10, 'latin1');
  header[total - 1] = 0x0a;
  const fd = openSync(path, 'wx', 0o600);
  writeSync(fd, header);
  ftruncateSync(fd, total + elements * 4);
  closeSync(fd);
}

function attempt(name: string, f: () => unknown): void {
  try {
    f();
    console.log(`${name} no-error`);
  } catch (e) {
    console.log(`${name} ${(e as { code?: string }).code ?? String(e)}`);
  }
}

const path = join(dir, 'big.npy');
sparseNpy(path, FOUR_GIB / 4 + 1);

attempt('openNpy', () => openNpy(path, { maxViewBytes: 2 ** 33 }).array.data);
attempt('binding-npy', () => native.NativeNpyFile.open(path, 2 ** 33).buffer());
attempt('binding-mask', () => {
  const b = new native.NativeMaskBuilder({
    sourceExtents: [32768, 32769],
    sourceTileExtent: [256, 256],
    outputTileExtent: [256, 256],
    stride: [256, 256],
    nChannels: 1,
    aggregation: 'mean',
    dtype: 'float32',
    counterDtype: 'uint16',
    maxInMemoryBytes: 2 ** 34,
    maxViewBytes: 2 ** 33,
    storage: 'inmemory',
    tempDir: dir,
  });
  try {
    return b.maskBuffer();
  } finally {
    b.cleanup();
  }
});
(globalThis as { gc?: () => void }).gc?.();
console.log('done');
