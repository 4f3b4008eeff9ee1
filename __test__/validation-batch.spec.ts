// Bad batches: a clear error at updateBatch (and a rejection from
// updateBatchAsync), the same class and code on both backends, and not one
// bit of storage or counter changed.
import type { MaskBuilder } from '../src-ts/index';
import { BAD_BATCHES } from './helpers/bad-inputs';
import {
  BACKENDS,
  denseBatch,
  diagonalCoords,
  expectRefused,
  expectRejected,
  makeBuilder,
  seededBuilder,
  snapshot,
} from './helpers/robust';

const cases = BAD_BATCHES.map((c) => [c.what, c] as const);

describe.each(BACKENDS)('bad batches (%s backend)', (backend) => {
  test.each(cases)('%s', (_what, c) => {
    expectRefused(seededBuilder(backend), (b) => b.updateBatch(c.batch() as any, c.coords() as any), c.expected);
  });

  test.each(cases)('%s (async: rejects, writes nothing)', async (_what, c) => {
    await expectRejected(seededBuilder(backend), (b) => b.updateBatchAsync(c.batch() as any, c.coords() as any), c.expected);
  });

  test('Float32Array data for a float64 builder', () => {
    expectRefused(
      seededBuilder(backend, { dtype: 'float64' }),
      (b) => b.updateBatch(denseBatch(1, Float32Array), diagonalCoords(1)),
      {
        type: 'TypeError',
        code: 'ERR_WSI_BATCH_TYPE',
        message: ["batch.data must be a Float64Array for dtype 'float64'", 'Float32Array'],
      },
    );
  });

  test('after a refused batch the builder still takes good ones', () => {
    const b = seededBuilder(backend);
    expect(() => b.updateBatch({ data: new Float32Array(3), shape: [1, 3] }, [[0, 0]])).toThrow();
    b.updateBatch(denseBatch(1), diagonalCoords(1));
    const reference = seededBuilder(backend);
    reference.updateBatch(denseBatch(1), diagonalCoords(1));
    expect(snapshot(b)).toEqual(snapshot(reference));
  });
});

describe.each(BACKENDS)('accepted batch forms (%s backend)', (backend) => {
  const canonical = (): MaskBuilder<any> => {
    const b = makeBuilder(backend);
    b.updateBatch(denseBatch(2), diagonalCoords(2));
    return b;
  };

  test('dims instead of shape (onnxruntime tensors)', () => {
    const b = makeBuilder(backend);
    b.updateBatch({ data: denseBatch(2).data, dims: [2, 2, 4, 4] }, diagonalCoords(2));
    expect(snapshot(b)).toEqual(snapshot(canonical()));
  });

  test('a view with a byte offset into a larger buffer', () => {
    const b = makeBuilder(backend);
    const { data } = denseBatch(2);
    const big = new Float32Array(data.length + 7);
    big.set(data, 5);
    b.updateBatch({ data: big.subarray(5, 5 + data.length), shape: [2, 2, 4, 4] }, diagonalCoords(2));
    expect(snapshot(b)).toEqual(snapshot(canonical()));
  });

  test('an empty batch writes nothing', () => {
    const b = makeBuilder(backend);
    const before = snapshot(b);
    b.updateBatch({ data: new Float32Array(0), shape: [0, 2, 4, 4] }, { data: new Int32Array(0), shape: [0, 2] });
    b.updateBatch({ data: new Float32Array(0), shape: [0, 2] }, []);
    expect(snapshot(b)).toEqual(before);
  });
});
