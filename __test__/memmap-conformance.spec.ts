// Every reference case also passes with memory-mapped storage.
import { MaskBuilder, type MeanResult, type NdArray } from '../src-ts/index';
import { clippingLeavesNothing, loadCases } from './helpers/conformance';
import { scratchDir } from './helpers/scratch';

const cases = loadCases();
const scratch = scratchDir('memmap-conformance');
afterAll(() => scratch.remove());

test.each(cases.map((c) => [c.name, c] as const))('%s with storage: memmap', (_name, c) => {
  const builder = new MaskBuilder({ ...c.config, storage: 'memmap', tempDir: scratch.dir });
  const Float = c.config.dtype === 'float64' ? Float64Array : Float32Array;
  for (const b of c.batches) {
    const batch = { data: Float.from(b.batch.data as ArrayLike<number>), shape: b.batch.shape };
    const coords = { data: Float64Array.from(b.coords.data as ArrayLike<number>), shape: b.coords.shape };
    if (clippingLeavesNothing(c.config.outputTileExtent, b.edgeClipping)) continue;
    builder.updateBatch(batch, coords, b.edgeClipping);
  }
  const result = builder.finalize();
  const mask = (c.config.aggregation === 'mean' ? (result as MeanResult).mask : result) as NdArray;
  const expected = c.expect.mask.data;
  expect(mask.shape).toEqual(c.expect.mask.shape);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(mask.data[i] - expected[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(expected[i])));
  }
  if (c.config.aggregation === 'mean') {
    expect(Array.from((result as MeanResult).overlapCounter.data)).toEqual(Array.from(c.expect.overlapCounter!.data));
  }
  builder.cleanup();
});
