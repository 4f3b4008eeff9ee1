// `wsi-mask-builder assemble`: predictions saved by a Python script become the same mask as MaskBuilder builds.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MaskBuilder, type MeanResult, type NdArray } from '../src-ts/index';
import { readNpy, writeNpy } from '../src-ts/npy';
import { runCli } from './helpers/cli';
import { python } from './helpers/python';
import { noise } from './helpers/resize';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsi-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Tile origins covering a [h, w] slide with tiles of `tile` every `stride`. */
function grid(h: number, w: number, tile: number, stride: number): number[][] {
  const out: number[][] = [];
  for (let y = 0; y <= Math.max(h - tile, 0) + stride - 1; y += stride) {
    for (let x = 0; x <= Math.max(w - tile, 0) + stride - 1; x += stride) out.push([y, x]);
  }
  return out;
}

test('scalar predictions and int64 coordinates written by numpy assemble into the mean mask', () => {
  const script = [
    'import numpy as np',
    'ys, xs = np.meshgrid(np.arange(0, 1000 - 256 + 128, 128), np.arange(0, 1500 - 256 + 128, 128), indexing="ij")',
    'coords = np.stack([ys.ravel(), xs.ravel()], axis=1).astype(np.int64)',
    'scores = (coords / [1000.0, 1500.0]).astype(np.float32)',
    'np.save("scores.npy", scores); np.save("coords.npy", coords)',
  ].join('\n');
  python(script, [], { cwd: dir });
  const run = runCli(
    [
      'assemble',
      '--tiles',
      'scores.npy',
      '--coords',
      'coords.npy',
      '--source',
      '1000,1500',
      '--tile',
      '256',
      '--stride',
      '128',
      '-o',
      'mask.npy',
    ],
    dir,
  );
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.stdout).toMatch(/^assembled 77 tiles in [\d.]+ s \(\d+ tiles\/s\): mask \[2, 8, 12\] float32 -> mask\.npy\n$/);

  const scores = readNpy(join(dir, 'scores.npy'));
  const coords = readNpy(join(dir, 'coords.npy'));
  const builder = new MaskBuilder({
    sourceExtents: [1000, 1500],
    sourceTileExtent: 256,
    outputTileExtent: 1,
    stride: 128,
    nChannels: 2,
  });
  builder.updateBatch(
    { data: scores.data as Float32Array, shape: scores.shape },
    { data: coords.data as Float64Array, shape: coords.shape },
  );
  const expected = (builder.finalize() as MeanResult).mask;
  const written = readNpy(join(dir, 'mask.npy'));
  expect(written.shape).toEqual(expected.shape);
  expect(Array.from(written.data)).toEqual(Array.from(expected.data));
  builder.cleanup();
});

test('dense tiles with --agg max and --clip, in several batches, match MaskBuilder', () => {
  const coords = grid(300, 420, 64, 32);
  const tiles = noise(coords.length * 8 * 8, 9);
  writeNpy(join(dir, 'dense.npy'), { data: tiles, shape: [coords.length, 1, 8, 8], dtype: 'float32' });
  writeNpy(join(dir, 'dense-coords.npy'), { data: Int32Array.from(coords.flat()), shape: [coords.length, 2], dtype: 'int32' });
  const args = ['--source', '300,420', '--tile', '64', '--stride', '32', '--agg', 'max', '--clip', '1', '--batch-size', '7'];
  const run = runCli(['assemble', '--tiles', 'dense.npy', '--coords', 'dense-coords.npy', ...args, '-o', 'dense-mask.npy'], dir);
  expect(run.status).toBe(0);

  const builder = new MaskBuilder({
    sourceExtents: [300, 420],
    sourceTileExtent: 64,
    outputTileExtent: 8,
    stride: 32,
    aggregation: 'max',
  });
  builder.updateBatch({ data: tiles, shape: [coords.length, 1, 8, 8] }, coords, 1);
  const expected = builder.finalize() as NdArray;
  const written = readNpy(join(dir, 'dense-mask.npy'));
  expect(written.shape).toEqual([1, ...builder.maskExtents]);
  expect(
    Buffer.from(written.data.buffer).equals(
      Buffer.from(expected.data.buffer, expected.data.byteOffset, expected.data.byteLength),
    ),
  ).toBe(true);
  builder.cleanup();
});

test('--memmap accumulates in the output file itself, which numpy then opens, and refuses an existing one', () => {
  const coords = grid(300, 420, 64, 32);
  const tiles = noise(coords.length * 2 * 8 * 8, 5);
  writeNpy(join(dir, 'mm.npy'), { data: tiles, shape: [coords.length, 2, 8, 8], dtype: 'float32' });
  writeNpy(join(dir, 'mm-coords.npy'), { data: Int32Array.from(coords.flat()), shape: [coords.length, 2], dtype: 'int32' });
  const args = ['--tiles', 'mm.npy', '--coords', 'mm-coords.npy', '--source', '300,420', '--tile', '64', '--stride', '32'];
  const run = runCli(['assemble', ...args, '--memmap', '--batch-size', '9', '-o', 'mm-mask.npy'], dir);
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);

  const builder = new MaskBuilder({
    sourceExtents: [300, 420],
    sourceTileExtent: 64,
    outputTileExtent: 8,
    stride: 32,
    nChannels: 2,
  });
  builder.updateBatch({ data: tiles, shape: [coords.length, 2, 8, 8] }, coords);
  const expected = (builder.finalize() as MeanResult).mask;
  const written = readNpy(join(dir, 'mm-mask.npy'));
  expect(written.header.version).toEqual([3, 0]);
  expect(Array.from(written.data)).toEqual(Array.from(expected.data));
  const counts = python(
    "import numpy as np; c = np.load('mm-mask.overlaps.npy', mmap_mode='r'); print(c.shape, int(c.sum()))",
    [],
    {
      cwd: dir,
    },
  );
  expect(counts.trim()).toBe(`(1, ${builder.maskExtents.join(', ')}) ${coords.length * 64}`);

  const again = runCli(['assemble', ...args, '--memmap', '-o', 'mm-mask.npy'], dir);
  expect(again.status).toBe(1);
  expect(again.stderr).toMatch(/EEXIST/);
  expect(again.stderr.trim().split('\n')).toHaveLength(1);
  builder.cleanup();
});

test('--progress draws a bar with tiles/s and ETA on stderr', () => {
  const coords = grid(200, 200, 64, 32);
  writeNpy(join(dir, 'p.npy'), { data: noise(coords.length * 3, 2), shape: [coords.length, 3], dtype: 'float32' });
  writeNpy(join(dir, 'p-coords.npy'), { data: Float64Array.from(coords.flat()), shape: [coords.length, 2], dtype: 'float64' });
  const run = runCli(
    [
      'assemble',
      '--tiles',
      'p.npy',
      '--coords',
      'p-coords.npy',
      '--source',
      '200,200',
      '--tile',
      '64',
      '--stride',
      '32',
      '--progress',
      '-o',
      'p-mask.npy',
    ],
    dir,
  );
  expect(run.status).toBe(0);
  expect(run.stderr).toMatch(new RegExp(`100% \\| ${coords.length}/${coords.length} tiles \\| \\d+ tiles/s \\| ETA`));
  expect(readNpy(join(dir, 'p-mask.npy')).shape).toEqual([3, 7, 7]);
});
