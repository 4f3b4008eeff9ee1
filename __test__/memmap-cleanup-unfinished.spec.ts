// cleanup() without finalize() on a persisted memmap mask used to leave a numpy-readable file of raw sums without a
// word. It now warns (WSI_MASK_UNFINISHED) and marks the file unfinished in <filename>.json; finalized masks,
// temporaries and in-memory builders get neither.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MaskBuilder } from '../src-ts/index';
import { captureWarnings } from './helpers/robust';
import { scratchDir } from './helpers/scratch';

const scratch = scratchDir('unfinished');
afterAll(() => scratch.remove());
const geometry = { sourceExtents: [32, 32], sourceTileExtent: 16, outputTileExtent: 1, stride: 16, storage: 'memmap' } as const;

function warningsOf(run: () => void): { message: string; code?: string }[] {
  return captureWarnings(run).warnings.filter((w) => w.code === 'WSI_MASK_UNFINISHED');
}

test.each(['mean', 'max'] as const)(
  'cleanup() before finalize() warns and marks a persisted %s mask unfinished',
  (aggregation) => {
    const filename = join(scratch.dir, `raw-${aggregation}.npy`);
    const warnings = warningsOf(() => {
      const b = new MaskBuilder({ ...geometry, aggregation, filename });
      b.updateBatch({ data: Float32Array.of(2, 4, 6, 8), shape: [4, 1] }, b.tileOrigins());
      b.cleanup();
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0].message).toContain(`left ${filename} unfinished`);
    expect(warnings[0].message).toContain(aggregation === 'mean' ? 'not yet divided by the overlap counter' : '-Infinity');
    expect(warnings[0].message).toContain('Call finalize()');
    const sidecar = JSON.parse(readFileSync(`${filename}.json`, 'utf8'));
    expect(sidecar).toMatchObject({ mask: `raw-${aggregation}.npy`, finished: false, aggregation });
    if (aggregation === 'mean') expect(sidecar.overlapCounter).toBe(`raw-${aggregation}.overlaps.npy`);
  },
);

test('a finalized persisted mask, a temporary memmap mask and an in-memory builder are not marked', () => {
  const filename = join(scratch.dir, 'done.npy');
  const warnings = warningsOf(() => {
    const done = new MaskBuilder({ ...geometry, filename });
    done.finalize();
    done.cleanup();
    new MaskBuilder(geometry).cleanup();
    new MaskBuilder({ ...geometry, storage: 'inmemory' }).cleanup();
  });
  expect(warnings).toEqual([]);
  // A finished persisted mask has at most its geometry sidecar (written at finalize), never marked unfinished.
  const sidecar = existsSync(`${filename}.json`) ? JSON.parse(readFileSync(`${filename}.json`, 'utf8')) : {};
  expect(sidecar.finished).not.toBe(false);
});

test("cleanup({ unfinished: 'remove' }) deletes an abandoned persisted mask and its counter, without a warning", () => {
  const filename = join(scratch.dir, 'abandoned.npy');
  const warnings = warningsOf(() => {
    const b = new MaskBuilder({ ...geometry, filename });
    expect(existsSync(filename)).toBe(true);
    b.cleanup({ unfinished: 'remove' });
  });
  expect(warnings).toEqual([]);
  expect(existsSync(filename)).toBe(false);
  expect(existsSync(join(scratch.dir, 'abandoned.overlaps.npy'))).toBe(false);
  expect(existsSync(`${filename}.json`)).toBe(false);
});

test("cleanup({ unfinished: 'remove' }) after finalize() keeps the finished files", () => {
  const filename = join(scratch.dir, 'kept.npy');
  const b = new MaskBuilder({ ...geometry, filename });
  b.finalize();
  b.cleanup({ unfinished: 'remove' });
  expect(existsSync(filename)).toBe(true);
});

test('the CLI removes its --memmap output when the build fails', () => {
  const { runCli } = require('./helpers/cli');
  const { writeNpy } = require('../src-ts/npy');
  writeNpy(join(scratch.dir, 'tiles.npy'), { data: new Float32Array(2), shape: [2, 1], dtype: 'float32' });
  writeNpy(join(scratch.dir, 'coords.npy'), { data: Int32Array.of(0, 0, 400, 0), shape: [2, 2], dtype: 'int32' });
  const args = ['--tiles', 'tiles.npy', '--coords', 'coords.npy', '--source', '32,32', '--tile', '16', '--stride', '16'];
  const run = runCli(['assemble', ...args, '--memmap', '--batch-size', '1', '-o', 'failed.npy'], scratch.dir);
  expect(run.status).toBe(1);
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(existsSync(join(scratch.dir, 'failed.npy'))).toBe(false);
  expect(existsSync(join(scratch.dir, 'failed.overlaps.npy'))).toBe(false);
});
