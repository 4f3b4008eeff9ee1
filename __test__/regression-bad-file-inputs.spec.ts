// Regressions for files and paths that were mishandled: writeNpy wrote
// shapes numpy cannot load (and let a shape string inject header keys),
// `info` ran out of heap on a 128-byte file of shape (400000000, 0,
// 400000001), FIFOs hung openNpy and info, duplicate header keys were read
// differently by readNpy and openNpy, a too-long file name said EIO,
// toImage to a directory threw an uncoded multi-line error, and Fortran-order
// files were mapped as C order.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MaskBuilder, openNpy, resizeToSource, toImage } from '../src-ts/index';
import { readNpy, writeNpy } from '../src-ts/npy';
import { runCli } from './helpers/cli';
import { python } from './helpers/python';
import { scratchDir } from './helpers/scratch';

let scratch: ReturnType<typeof scratchDir>;
beforeEach(() => {
  scratch = scratchDir('bad-files');
});
afterEach(() => scratch.remove());

/** An NPY 1.0 file with header dictionary `dict` followed by `dataBytes` zero bytes. */
function npyWithDict(path: string, dict: string, dataBytes: number): void {
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const header = Buffer.alloc(total, 0x20);
  header.write('\x93NUMPY', 0, 'latin1');
  header[6] = 1;
  header[7] = 0;
  header.writeUInt16LE(total - 10, 8);
  header.write(dict, 10, 'latin1');
  header[total - 1] = 0x0a;
  writeFileSync(path, Buffer.concat([header, Buffer.alloc(dataBytes)]));
}

test.each([
  ['a shape holding more elements than the data', [100], 'ERR_WSI_DIMS_MISMATCH', 'holds 100 elements but array.data has 4'],
  ['a negative extent', [-4], 'ERR_WSI_OPTION_RANGE', 'array.shape[0] must be a non-negative integer; received -4'],
  ['a NaN extent', [Number.NaN], 'ERR_WSI_OPTION_RANGE', 'received NaN'],
  ['fractional extents', [2.5, 1.6], 'ERR_WSI_OPTION_RANGE', 'array.shape[0]'],
  ['a string that injects a descr key', ["4), 'descr': '<f8', 'x': (1"], 'ERR_WSI_OPTION_RANGE', 'array.shape[0]'],
  ['a missing shape', undefined, 'ERR_WSI_OPTION_TYPE', 'array.shape must be an array'],
])('writeNpy refuses %s and writes nothing', (_what, shape, code, message) => {
  const path = join(scratch.dir, 'out.npy');
  expect(() => writeNpy(path, { data: new Float32Array(4), shape } as any)).toThrow(
    expect.objectContaining({ code, message: expect.stringContaining(message) }),
  );
  expect(existsSync(path)).toBe(false);
});

test('info on a file of no elements with huge axes answers at once', () => {
  const path = join(scratch.dir, 'empty.npy');
  npyWithDict(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (400000000, 0, 400000001), }", 0);
  const run = runCli(['info', path], scratch.dir);
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.stdout).toContain('[400000000, 0, 400000001]');
  expect(run.stdout).toContain('no elements');
});

(process.platform === 'win32' ? test.skip : test)('FIFOs are refused at once by openNpy, readNpy and info', () => {
  const fifo = join(scratch.dir, 'pipe.npy');
  expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
  // In a child with a timeout: before the fix these calls never returned.
  const child = spawnSync(
    process.execPath,
    [
      '-r',
      join(__dirname, 'helpers', 'register-ts.js'),
      '-e',
      `const { openNpy, readNpy } = require(${JSON.stringify(join(__dirname, '..', 'src-ts', 'index.ts'))});
       for (const f of [openNpy, readNpy]) {
         try { f(process.argv[1]); console.log('no-error'); } catch (e) { console.log(e.code, e.message); }
       }`,
      fifo,
    ],
    { encoding: 'utf8', timeout: 20_000 },
  );
  expect(child.signal).toBeNull();
  const lines = child.stdout.trim().split('\n');
  expect(lines).toHaveLength(2);
  for (const line of lines) expect(line).toMatch(/^ERR_WSI_NPY_FORMAT .*pipe\.npy is not a regular file/);
  const run = runCli(['info', fifo], scratch.dir);
  expect(run.status).toBe(1);
  expect(run.stderr).toContain('is not a regular file');
});

test('a header giving descr twice reads as numpy reads it (the last one) everywhere', () => {
  const path = join(scratch.dir, 'twice.npy');
  npyWithDict(path, "{'descr': '<f8', 'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 16);
  expect(python('import numpy as np, sys; print(np.load(sys.argv[1]).dtype)', [path])).toBe('float32');
  expect(readNpy(path).dtype).toBe('float32');
  const mapped = openNpy(path);
  expect(mapped.dtype).toBe('float32');
  mapped.close();
  expect(runCli(['info', path], scratch.dir).stdout).toContain('dtype   float32');
});

test('a file name longer than the file system allows says ENAMETOOLONG', () => {
  const filename = join(scratch.dir, `${'x'.repeat(300)}.npy`);
  const options = { sourceExtents: [64, 64], sourceTileExtent: 8, outputTileExtent: 8, stride: 8, storage: 'memmap', filename };
  expect(() => new MaskBuilder(options as any)).toThrow(expect.objectContaining({ code: 'ENAMETOOLONG' }));
  expect(() =>
    resizeToSource({ data: new Float32Array(4), shape: [1, 2, 2] }, { sourceExtents: [4, 4], maskExtents: [2, 2] }, { filename }),
  ).toThrow(expect.objectContaining({ code: 'ENAMETOOLONG' }));
  expect(readdirSync(scratch.dir)).toEqual([]);
});

test('toImage to a directory is a coded one-line TypeError', async () => {
  const dir = join(scratch.dir, 'images');
  mkdirSync(dir);
  const error = await toImage({ data: new Float32Array(16), shape: [1, 4, 4] }, { filename: dir }).catch((e) => e);
  expect(error).toEqual(expect.objectContaining({ name: 'TypeError', code: 'ERR_WSI_OPTION_TYPE' }));
  expect(error.message).toContain('is a directory');
  expect(error.message).not.toContain('\n');
  expect(readdirSync(dir)).toEqual([]);
});

test('openNpy and readNpy refuse Fortran-order files with the numpy call that rewrites them; the CLI reads them', () => {
  const path = join(scratch.dir, 'fortran.npy');
  npyWithDict(path, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24);
  const fix = 'np.save(path, np.ascontiguousarray(np.load(path)))';
  for (const read of [() => openNpy(path), () => readNpy(path)]) {
    expect(read).toThrow(expect.objectContaining({ code: 'ERR_WSI_NPY_FORMAT', message: expect.stringContaining(fix) }));
  }
  // The CLI reads Fortran order (cli-numpy-layouts.spec.ts checks the values).
  const info = runCli(['info', path], scratch.dir);
  expect(info.stderr).toBe('');
  expect(info.stdout).toContain('version NPY 1.0, Fortran order');
});
