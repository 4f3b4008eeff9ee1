// Regression: the reference divides again on a second finalize; we return the same values.
import { MaskBuilder } from '../src-ts/index';

test.each(['native', 'js'] as const)('a second finalize returns the same result (%s)', (backend) => {
  const b = new MaskBuilder({ sourceExtents: [8, 8], sourceTileExtent: 4, outputTileExtent: 4, stride: 2, backend });
  for (const [y, x] of [
    [0, 0],
    [2, 2],
    [2, 0],
  ]) {
    b.updateBatch({ data: new Float32Array(16).fill(6), shape: [1, 1, 4, 4] }, [[y, x]]);
  }
  const first = b.finalize();
  const values = Array.from(first.mask.data);
  const second = b.finalize();
  expect(second).toBe(first);
  expect(Array.from(second.mask.data)).toEqual(values);
  expect(values.filter((v) => v !== 0).every((v) => v === 6)).toBe(true);
});
