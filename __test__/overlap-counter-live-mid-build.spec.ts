// The native uniform mean keeps tile rectangles instead of a per-pixel
// counter; reading the counter mid-build (live view, readRegion, savePartial,
// mergeFrom) makes it from them, and the build goes on per pixel. Every mix
// of such reads with further updates ends in the mask and counts the pure-JS
// backend (a per-pixel counter throughout) computes.
import { join } from 'node:path';
import { MaskBuilder } from '../src-ts/index';
import { clipping, type OverlapBatch, oracle, overlapBatches, overlapGeometry } from './helpers/overlap-tiles';
import { scratchDir } from './helpers/scratch';

const scratch = scratchDir('counter-live');
afterAll(() => scratch.remove());
const batches = overlapBatches(10);
const want = oracle(batches);
const wantHalf = oracle(batches.slice(0, 5));

function native(options: Record<string, unknown> = {}) {
  return new MaskBuilder({ ...overlapGeometry, ...options } as any);
}
function feed(b: MaskBuilder<any>, some: OverlapBatch[]) {
  for (const { batch, coords } of some) b.updateBatch(batch, coords, clipping);
}
function finish(b: MaskBuilder<any>) {
  const r = b.finalize() as any;
  return { mask: Array.from(r.mask.data as Float32Array), counter: Array.from(r.overlapCounter.data as Uint16Array) };
}

test('a live counter view taken mid-build shows the counts so far and follows later updates', () => {
  const b = native();
  feed(b, batches.slice(0, 5));
  const live = b.overlapCounter as any;
  expect(Array.from(live.data)).toEqual(wantHalf.counter);
  feed(b, batches.slice(5));
  expect(Array.from(live.data)).toEqual(want.counter);
  expect(finish(b)).toEqual(want);
});

test('readRegion of the counter mid-build, then more updates', () => {
  const b = native();
  feed(b, batches.slice(0, 5));
  const [h, w] = b.maskExtents;
  const window = b.readRegion(0, [10, 20], [h - 30, w - 40], { array: 'overlapCounter' });
  const expected: number[] = [];
  for (let y = 10; y < h - 20; y++) for (let x = 20; x < w - 20; x++) expected.push(wantHalf.counter[y * w + x]);
  expect(Array.from(window.data)).toEqual(expected);
  feed(b, batches.slice(5));
  expect(finish(b)).toEqual(want);
});

test('async updates around a counter read keep their order', async () => {
  const b = native();
  const first = batches.slice(0, 5).map(({ batch, coords }) => b.updateBatchAsync(batch, coords, clipping));
  await Promise.all(first);
  expect(Array.from(b.readRegion(0, [0, 0], b.maskExtents, { array: 'overlapCounter' }).data)).toEqual(wantHalf.counter);
  await Promise.all(batches.slice(5).map(({ batch, coords }) => b.updateBatchAsync(batch, coords, clipping)));
  await b.finalizeAsync();
  expect(Array.from(b.overlapCounter!.data)).toEqual(want.counter);
  expect(Array.from(b.storage.data)).toEqual(want.mask);
});

test('savePartial mid-build, more updates, and loadPartials of both halves', () => {
  const b = native();
  feed(b, batches.slice(0, 5));
  const first = join(scratch.dir, 'first');
  b.savePartial(first);
  feed(b, batches.slice(5));
  expect(finish(b)).toEqual(want);
  const rest = native();
  feed(rest, batches.slice(5));
  const second = join(scratch.dir, 'second');
  rest.savePartial(second);
  expect(finish(MaskBuilder.loadPartials([first, second]))).toEqual(want);
});

test('mergeFrom between builders that did and did not read their counters', () => {
  const parts = () => {
    const a = native();
    const c = native();
    feed(a, batches.slice(0, 5));
    feed(c, batches.slice(5));
    return [a, c];
  };
  // Neither read: rectangle lists join.
  const [a1, c1] = parts();
  a1.mergeFrom(c1);
  expect(finish(a1)).toEqual(want);
  // Only the source read its counter.
  const [a2, c2] = parts();
  void c2.overlapCounter;
  a2.mergeFrom(c2);
  expect(finish(a2)).toEqual(want);
  // Only the target read its counter, then takes further updates after the merge.
  const a3 = native();
  feed(a3, batches.slice(0, 3));
  void a3.overlapCounter;
  const c3 = native();
  feed(c3, batches.slice(3, 7));
  a3.mergeFrom(c3);
  feed(a3, batches.slice(7));
  expect(finish(a3)).toEqual(want);
});

test('a memmap mean read mid-build creates its counter file then and keeps it current', () => {
  const filename = join(scratch.dir, 'live.npy');
  const b = native({ storage: 'memmap', filename });
  feed(b, batches.slice(0, 5));
  expect(b.files).toHaveLength(1);
  expect(Array.from(b.readRegion(0, [0, 0], b.maskExtents, { array: 'overlapCounter' }).data)).toEqual(wantHalf.counter);
  expect(b.files.map((f) => f.path)).toEqual([filename, join(scratch.dir, 'live.overlaps.npy')]);
  feed(b, batches.slice(5));
  expect(finish(b)).toEqual(want);
  b.cleanup();
});
