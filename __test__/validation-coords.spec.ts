// Bad coordinates: wrong form, rank or N, non-integers, negatives (the
// reference wraps them), values past 2^53 and tiles outside the mask (the
// reference throws broadcast errors). Clear errors, nothing written.

import { MaskBuilder } from '../src-ts/index';
import { BAD_COORDS } from './helpers/bad-inputs';
import {
  BACKENDS,
  captureWarnings,
  expectError,
  expectRefused,
  expectRejected,
  makeBuilder,
  seededBuilder,
  snapshot,
  thrownBy,
} from './helpers/robust';

const cases = BAD_COORDS.map((c) => [c.what, c] as const);

describe.each(BACKENDS)('bad coordinates (%s backend)', (backend) => {
  test.each(cases)('%s', (_what, c) => {
    expectRefused(seededBuilder(backend), (b) => b.updateBatch(c.batch() as any, c.coords() as any), c.expected);
  });

  test.each(cases)('%s (async: rejects, writes nothing)', async (_what, c) => {
    await expectRejected(seededBuilder(backend), (b) => b.updateBatchAsync(c.batch() as any, c.coords() as any), c.expected);
  });

  test('a huge coordinate times a large mask stride does not wrap into the mask', () => {
    // Mask stride 2048: (2^53 - 1) * 2048 + 2048 overflows 64 bits.
    const { result: b } = captureWarnings(
      () => new MaskBuilder({ sourceExtents: [10], sourceTileExtent: 1, outputTileExtent: 2048, stride: 1, backend }),
    );
    const before = snapshot(b);
    for (const coords of [[[2 ** 53 - 1]], { data: new BigInt64Array([2n ** 53n - 1n]), shape: [1, 1] }]) {
      const error = thrownBy(() => b.updateBatch({ data: new Float32Array(2048), shape: [1, 1, 2048] }, coords as any));
      expectError(error, { type: 'RangeError', code: 'ERR_WSI_TILE_OUTSIDE_MASK', message: ['at most [9]'] });
    }
    expect(snapshot(b)).toEqual(before);
  });
});

describe.each(BACKENDS)('accepted coordinate forms (%s backend)', (backend) => {
  test('Int32Array, BigInt64Array, Float64Array tables and rows agree; -0 is 0', () => {
    const forms = [
      { data: new Int32Array([4, 8, 12, 0]), shape: [2, 2] },
      { data: new BigInt64Array([4n, 8n, 12n, 0n]), shape: [2, 2] },
      { data: new Float64Array([4, 8, 12, -0]), shape: [2, 2] },
      { data: new Float64Array([4, 8, 12, 0]), dims: [2, 2] },
      [
        [4, 8],
        [12, 0],
      ],
      [Int32Array.of(4, 8), [12n, 0n]],
    ];
    const results = forms.map((coords) => {
      const b = makeBuilder(backend);
      b.updateBatch({ data: new Float32Array(4).fill(1.5), shape: [2, 2] }, coords as any);
      return snapshot(b);
    });
    for (const r of results) expect(r).toEqual(results[0]);
  });

  test('off-grid coordinates floor to the stride grid, as in the reference', () => {
    const onGrid = makeBuilder(backend);
    onGrid.updateBatch({ data: new Float32Array([1, 2]), shape: [1, 2] }, [[8, 4]]);
    const offGrid = makeBuilder(backend);
    offGrid.updateBatch({ data: new Float32Array([1, 2]), shape: [1, 2] }, [[11, 7]]);
    expect(snapshot(offGrid)).toEqual(snapshot(onGrid));
  });

  test('the last grid position fits exactly', () => {
    const b = makeBuilder(backend);
    expect(() => b.updateBatch({ data: new Float32Array([1, 2]), shape: [1, 2] }, [[27, 43]])).not.toThrow();
  });
});
