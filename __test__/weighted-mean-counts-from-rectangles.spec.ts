// A weighted mean divides by its weight sum, so it keeps its overlap counts
// as the tiles' rectangles too: the counter is made only when read (in
// memory) or written at finalize (memmap), and equals the per-pixel counter
// of the pure-JS backend; the mask is bit-identical to it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MaskBuilder, readNpy } from '../src-ts/index';
import { clipping, oracle, overlapBatches, overlapGeometry } from './helpers/overlap-tiles';
import { scratchDir } from './helpers/scratch';

const scratch = scratchDir('weighted-counts-from-rects');
afterAll(() => scratch.remove());
const batches = overlapBatches(12);

test.each(['gaussian', 'hann'] as const)('in memory, %s: counter and mask as the JS backend has them', (weights) => {
  const want = oracle(batches, { weights });
  const b = new MaskBuilder({ ...overlapGeometry, weights });
  for (const { batch, coords } of batches) b.updateBatch(batch, coords, clipping);
  const result = b.finalize() as any;
  expect(Array.from(result.mask.data)).toEqual(want.mask);
  expect(Array.from(result.overlapCounter.data)).toEqual(want.counter);
  b.cleanup();
});

test('memmap, gaussian: no counter file before finalize, the right one after', () => {
  const filename = join(scratch.dir, 'weighted.npy');
  const counterFile = join(scratch.dir, 'weighted.overlaps.npy');
  const want = oracle(batches, { weights: 'gaussian' });
  const b = new MaskBuilder({ ...overlapGeometry, weights: 'gaussian', storage: 'memmap', filename });
  for (const { batch, coords } of batches) {
    b.updateBatch(batch, coords, clipping);
    expect(existsSync(counterFile)).toBe(false);
  }
  const result = b.finalize() as any;
  expect(Array.from(result.mask.data)).toEqual(want.mask);
  expect(Array.from(result.overlapCounter.data)).toEqual(want.counter);
  b.cleanup();
  expect(Array.from(readNpy(counterFile).data)).toEqual(want.counter);
});

test('the live counter read mid-build, then more tiles: still the per-pixel counts', () => {
  const half = batches.length / 2;
  const want = oracle(batches, { weights: 'gaussian' });
  const b = new MaskBuilder({ ...overlapGeometry, weights: 'gaussian' });
  for (const { batch, coords } of batches.slice(0, half)) b.updateBatch(batch, coords, clipping);
  const live = Array.from(b.overlapCounter!.data);
  expect(live).toEqual(oracle(batches.slice(0, half), { weights: 'gaussian' }).counter);
  for (const { batch, coords } of batches.slice(half)) b.updateBatch(batch, coords, clipping);
  const result = b.finalize() as any;
  expect(Array.from(result.mask.data)).toEqual(want.mask);
  expect(Array.from(result.overlapCounter.data)).toEqual(want.counter);
  b.cleanup();
});
