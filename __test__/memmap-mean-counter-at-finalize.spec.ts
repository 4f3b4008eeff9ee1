// A memmap uniform mean keeps its overlap counts as the tiles' rectangles
// while it builds: no counter file exists until finalize writes it (band by
// band, fused with the division), holding what a per-pixel counter would.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MaskBuilder, readNpy } from '../src-ts/index';
import { clipping, oracle, overlapBatches, overlapGeometry } from './helpers/overlap-tiles';
import { scratchDir } from './helpers/scratch';

const scratch = scratchDir('memmap-counter-at-finalize');
afterAll(() => scratch.remove());
const batches = overlapBatches(12);

test.each(['uint16', 'uint32'] as const)('no counter file before finalize, the right one after (%s)', (counterDtype) => {
  const filename = join(scratch.dir, `heat-${counterDtype}.npy`);
  const counterFile = join(scratch.dir, `heat-${counterDtype}.overlaps.npy`);
  const b = new MaskBuilder({ ...overlapGeometry, storage: 'memmap', filename, counterDtype });
  for (const { batch, coords } of batches) {
    b.updateBatch(batch, coords, clipping);
    expect(existsSync(counterFile)).toBe(false);
  }
  expect(b.files.map((f) => f.path)).toEqual([filename]);
  const result = b.finalize() as any;
  expect(b.files.map((f) => f.path)).toEqual([filename, counterFile]);
  const want = oracle(batches, { counterDtype });
  expect(Array.from(result.overlapCounter.data)).toEqual(want.counter);
  expect(Array.from(result.mask.data)).toEqual(want.mask);
  b.cleanup();
  const counter = readNpy(counterFile);
  expect(counter.dtype).toBe(counterDtype);
  expect(counter.shape).toEqual([1, ...b.maskExtents]);
  expect(Array.from(counter.data)).toEqual(want.counter);
  expect(Array.from(readNpy(filename).data)).toEqual(want.mask);
});

test('async updates and finalizeAsync write the named counter file at finalize only', async () => {
  const filename = join(scratch.dir, 'async.npy');
  const overlapCounterFilename = join(scratch.dir, 'async-counts.npy');
  const b = new MaskBuilder({ ...overlapGeometry, storage: 'memmap', filename, overlapCounterFilename });
  await Promise.all(batches.map(({ batch, coords }) => b.updateBatchAsync(batch, coords, clipping)));
  expect(existsSync(overlapCounterFilename)).toBe(false);
  await b.finalizeAsync();
  b.cleanup();
  const want = oracle(batches);
  expect(Array.from(readNpy(overlapCounterFilename).data)).toEqual(want.counter);
  expect(Array.from(readNpy(filename).data)).toEqual(want.mask);
});
