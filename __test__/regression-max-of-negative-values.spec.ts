// Regression: the reference starts its max accumulator at 0, so negative maxima become 0.
import { MaskBuilder, MaxAggregator } from '../src-ts/index';

test.each(['native', 'js'] as const)('max keeps negative maxima and reads 0 only where no tile landed (%s)', (backend) => {
  const b = new MaskBuilder({
    sourceExtents: [8, 8],
    sourceTileExtent: 4,
    outputTileExtent: 4,
    stride: 4,
    aggregation: MaxAggregator,
    backend,
  });
  const a = new Float32Array(16).fill(-5);
  const c = new Float32Array(16).fill(-2);
  b.updateBatch({ data: a, shape: [1, 1, 4, 4] }, [[0, 0]]);
  b.updateBatch({ data: c, shape: [1, 1, 4, 4] }, [[0, 0]]);
  b.updateBatch({ data: a, shape: [1, 1, 4, 4] }, [[4, 4]]);
  const mask = b.finalize();
  expect(mask.data[0]).toBe(-2);
  expect(mask.data[4 * 8 + 4]).toBe(-5);
  expect(mask.data[4]).toBe(0);
});
