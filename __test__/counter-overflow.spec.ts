// The uint16 overlap counter would wrap past 65535 (the reference wraps
// silently). A batch that could push any pixel past it is refused whole,
// naming counterDtype: 'uint32', which widens the counter.
import { MaskBuilder, type NdArray } from '../src-ts/index';
import { BACKENDS, type Backend, type Expected, expectError, expectRefused, expectUnchanged, snapshot } from './helpers/robust';

const U16_MAX = 65535;
const OVERFLOW: Expected = {
  type: 'RangeError',
  code: 'ERR_WSI_COUNTER_OVERFLOW',
  message: [
    'past 65535',
    'uint16 holds at most 65535 overlapping tiles per pixel',
    'nothing was written',
    "counterDtype: 'uint32'",
  ],
};

/** Mask [1, 2]: tiles at x = 0 land on pixel 0, at x = 4 on pixel 1. */
function twoPixels(backend: Backend, options: Record<string, unknown> = {}) {
  return new MaskBuilder({
    sourceExtents: [4, 8],
    sourceTileExtent: 4,
    outputTileExtent: 1,
    stride: 4,
    backend,
    ...options,
  } as any);
}

/** `tiles` scalar tiles of `value`, all at source x. */
function stack(tiles: number, x: number, value = 0.5) {
  const coords = new Int32Array(2 * tiles);
  for (let t = 0; t < tiles; t++) coords[2 * t + 1] = x;
  return [
    { data: new Float32Array(tiles).fill(value), shape: [tiles, 1] },
    { data: coords, shape: [tiles, 2] },
  ] as const;
}

describe.each(BACKENDS)('uint16 counter overflow (%s backend)', (backend) => {
  test('65535 overlaps fit exactly; one more is refused and nothing changes', () => {
    const b = twoPixels(backend);
    b.updateBatch(...stack(U16_MAX, 0));
    expect(Array.from(b.overlapCounter!.data)).toEqual([U16_MAX, 0]);
    expectRefused(b, (x) => x.updateBatch(...stack(1, 0)), OVERFLOW);
    const { mask, overlapCounter } = b.finalize();
    expect(Array.from(overlapCounter.data)).toEqual([U16_MAX, 0]);
    expect(mask.data[0]).toBe(0.5);
  });

  test('a single batch of 65536 overlapping tiles is refused on a fresh builder', () => {
    const b = twoPixels(backend);
    expectRefused(b, (x) => x.updateBatch(...stack(U16_MAX + 1, 0)), OVERFLOW);
    expect(Array.from(b.overlapCounter!.data)).toEqual([0, 0]);
  });

  test('a batch crossing the limit is refused whole; the rest still fits', () => {
    const b = twoPixels(backend);
    b.updateBatch(...stack(65000, 0));
    expectRefused(b, (x) => x.updateBatch(...stack(600, 0)), OVERFLOW);
    b.updateBatch(...stack(535, 0));
    expect(Array.from(b.overlapCounter!.data)).toEqual([U16_MAX, 0]);
  });

  test('the check is per pixel: a full pixel does not block its neighbour', () => {
    const b = twoPixels(backend);
    b.updateBatch(...stack(U16_MAX, 0));
    b.updateBatch(...stack(1000, 4));
    expect(Array.from(b.overlapCounter!.data)).toEqual([U16_MAX, 1000]);
    // A batch mixing both pixels is refused because of pixel 0 alone.
    const coords = { data: new Int32Array([0, 4, 0, 0]), shape: [2, 2] };
    expectRefused(b, (x) => x.updateBatch({ data: new Float32Array(2), shape: [2, 1] }, coords), {
      ...OVERFLOW,
      message: ['tile 1 of this batch', "counterDtype: 'uint32'"],
    });
  });

  test("counterDtype: 'uint32' counts past 65535", () => {
    const b = twoPixels(backend, { counterDtype: 'uint32' });
    b.updateBatch(...stack(70000, 0, 0.25));
    b.updateBatch(...stack(70000, 0, 0.75));
    const { mask, overlapCounter } = b.finalize();
    expect(overlapCounter.data).toBeInstanceOf(Uint32Array);
    expect(Array.from(overlapCounter.data)).toEqual([140000, 0]);
    expect(mask.data[0]).toBe(0.5);
  });

  test('max has no counter and no limit', () => {
    const b = twoPixels(backend, { aggregation: 'max' });
    b.updateBatch(...stack(70000, 0, 0.25));
    expect(b.overlapCounter).toBeNull();
    expect((b.finalize() as unknown as NdArray).data[0]).toBe(0.25);
  });

  test('async: only the overflowing batch rejects; the others apply in order', async () => {
    const b = twoPixels(backend);
    await b.updateBatchAsync(...stack(U16_MAX - 10, 0));
    const results = await Promise.allSettled([
      b.updateBatchAsync(...stack(20, 0)),
      b.updateBatchAsync(...stack(10, 4, 2)),
      b.updateBatchAsync(...stack(10, 0)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expectError((results[0] as PromiseRejectedResult).reason, OVERFLOW);
    // Bit for bit what the accepted batches alone give.
    const reference = twoPixels(backend);
    reference.updateBatch(...stack(U16_MAX - 10, 0));
    reference.updateBatch(...stack(10, 4, 2));
    reference.updateBatch(...stack(10, 0));
    expectUnchanged(b, snapshot(reference));
    expect(Array.from(b.overlapCounter!.data)).toEqual([U16_MAX, 10]);
  });
});
