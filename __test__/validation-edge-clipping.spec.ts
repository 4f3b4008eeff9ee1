// edgeClipping: negatives, non-integers, wrong shapes and clipping that
// leaves no pixel (the reference silently writes nothing; we refuse) get
// clear errors; every unambiguous form is accepted and means the same.
import { MaskBuilder } from '../src-ts/index';
import { BAD_EDGE_CLIPPING, ONE_DIMENSIONAL_PAIR } from './helpers/bad-inputs';
import { BACKENDS, denseBatch, expectRefused, expectRejected, makeBuilder, seededBuilder, snapshot } from './helpers/robust';

const cases = BAD_EDGE_CLIPPING.map((c) => [c.what, c] as const);

describe.each(BACKENDS)('bad edgeClipping (%s backend)', (backend) => {
  test.each(cases)('%s', (_what, c) => {
    expectRefused(
      seededBuilder(backend),
      (b) => b.updateBatch(c.batch() as any, c.coords() as any, c.edgeClipping!() as any),
      c.expected,
    );
  });

  test.each(cases)('%s (async: rejects, writes nothing)', async (_what, c) => {
    await expectRejected(
      seededBuilder(backend),
      (b) => b.updateBatchAsync(c.batch() as any, c.coords() as any, c.edgeClipping!() as any),
      c.expected,
    );
  });

  test('[start, end] for a one-dimensional builder asks for [[start, end]]', () => {
    const b = new MaskBuilder({ sourceExtents: [64], sourceTileExtent: 8, outputTileExtent: 8, stride: 8, backend });
    b.updateBatch({ data: new Float32Array(8).fill(1), shape: [1, 1, 8] }, [[0]]);
    expectRefused(b, (x) => x.updateBatch({ data: new Float32Array(8), shape: [1, 1, 8] }, [[8]], [1, 2]), ONE_DIMENSIONAL_PAIR);
    b.updateBatch({ data: new Float32Array(8).fill(1), shape: [1, 1, 8] }, [[8]], [[1, 2]]);
  });
});

describe.each(BACKENDS)('accepted edgeClipping forms (%s backend)', (backend) => {
  const withClipping = (clip: unknown) => {
    const b = makeBuilder(backend);
    b.updateBatch(denseBatch(2), { data: new Int32Array([0, 0, 8, 12]), shape: [2, 2] }, clip as any);
    return snapshot(b);
  };

  test('a number, one per dimension, pairs, and typed arrays mean the same', () => {
    const pairs = withClipping([
      [1, 1],
      [1, 1],
    ]);
    for (const form of [
      1,
      [1, 1],
      Int32Array.of(1, 1),
      Float64Array.of(1, 1),
      [Uint8Array.of(1, 1), [1, 1]],
      [[1, 1], Int32Array.of(1, 1)],
    ]) {
      expect(withClipping(form)).toEqual(pairs);
    }
  });

  test('undefined, null, 0 and zero pairs mean no clipping', () => {
    const none = withClipping(undefined);
    for (const form of [
      null,
      0,
      [0, 0],
      [
        [0, 0],
        [0, 0],
      ],
    ])
      expect(withClipping(form)).toEqual(none);
  });

  test('asymmetric pairs clip each side on its own', () => {
    const a = withClipping([
      [0, 3],
      [2, 1],
    ]);
    expect(a).not.toEqual(withClipping(0));
    expect(a).not.toEqual(
      withClipping([
        [3, 0],
        [1, 2],
      ]),
    );
  });
});
