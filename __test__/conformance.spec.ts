// Every case produced by the reference implementation, on both backends.
import { MaskBuilder, type MeanResult, type NdArray } from '../src-ts/index';
import { clippingLeavesNothing, loadCases } from './helpers/conformance';

const cases = loadCases();

function closeTo(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number): string | null {
  if (actual.length !== expected.length) return `length ${actual.length} != ${expected.length}`;
  for (let i = 0; i < actual.length; i++) {
    const tol = rel * Math.max(1, Math.abs(expected[i]));
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) return `[${i}] ${actual[i]} != ${expected[i]}`;
  }
  return null;
}

describe.each(['native', 'js'] as const)('conformance with the reference (%s backend)', (backend) => {
  test('all vendored cases are present', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  test.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const builder = new MaskBuilder({ ...c.config, aggregation: c.config.aggregation, backend });
    expect(builder.backend).toBe(backend);
    expect(builder.maskExtents).toEqual(c.expect.maskExtents);
    expect(builder.maskStride).toEqual(c.expect.maskStride);
    expect(builder.upscaleFactor).toEqual(c.expect.upscaleFactor);
    expect(builder.span).toEqual(c.expect.span);
    const Float = c.config.dtype === 'float64' ? Float64Array : Float32Array;
    for (const b of c.batches) {
      const batch = { data: Float.from(b.batch.data as ArrayLike<number>), shape: b.batch.shape };
      const coords = { data: Float64Array.from(b.coords.data as ArrayLike<number>), shape: b.coords.shape };
      if (clippingLeavesNothing(c.config.outputTileExtent, b.edgeClipping)) {
        // The reference writes nothing here; we refuse the batch, which also writes nothing.
        expect(() => builder.updateBatch(batch, coords, b.edgeClipping)).toThrow(
          expect.objectContaining({ code: 'ERR_WSI_EDGE_CLIPPING' }),
        );
        continue;
      }
      builder.updateBatch(batch, coords, b.edgeClipping);
    }
    const result = builder.finalize();
    const mask = (c.config.aggregation === 'mean' ? (result as MeanResult).mask : (result as unknown as NdArray)) as NdArray;
    expect(mask.shape).toEqual(c.expect.mask.shape);
    expect(mask.dtype).toBe(c.config.dtype);
    expect(closeTo(mask.data, c.expect.mask.data, 1e-5)).toBeNull();
    if (c.config.aggregation === 'mean') {
      const counter = (result as MeanResult).overlapCounter;
      expect(counter.dtype).toBe('uint16');
      expect(counter.data).toBeInstanceOf(Uint16Array);
      expect(Array.from(counter.data)).toEqual(Array.from(c.expect.overlapCounter!.data));
    }
    builder.cleanup();
  });
});
