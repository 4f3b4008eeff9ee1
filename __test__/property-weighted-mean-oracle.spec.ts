// Property: the weighted mean equals a brute-force oracle (sum(w * v) / sum(w)
// pixel by pixel, with the weight map indexed over each tile's clipped
// footprint), bit for bit on both backends for custom maps of quarter values
// (exact arithmetic). The gaussian is checked against MONAI's formula written
// out here, within rounding (exp may differ in the last bit between V8 and libm).
import fc from 'fast-check';
import { MaskBuilder } from '../src-ts/index';
import { batchArgs, type Scenario, scenarioArb, weightMapArb } from './helpers/arbitraries';
import { footprintOf, oracleCounts, oracleWeightedMean } from './helpers/oracle';
import { BACKENDS, captureWarnings, PROPERTY_RUNS, PROPERTY_SEED } from './helpers/robust';

function build(s: Scenario, backend: (typeof BACKENDS)[number], weights: unknown) {
  const b = captureWarnings(() => new MaskBuilder({ ...s.config, dtype: s.dtype, weights, backend } as any))
    .result as MaskBuilder<any>;
  for (const batch of s.batches) b.updateBatch(...(batchArgs(s, batch) as [any, any, any]));
  return b;
}

function expectEqual(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>) {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) throw new Error(`${what}: value ${i} is ${actual[i]}, the oracle says ${expected[i]}`);
  }
}

test('a custom weight map gives sum(w * v) / sum(w), bit for bit on both backends', () => {
  fc.assert(
    fc.property(
      scenarioArb().chain((s) => fc.record({ s: fc.constant(s), map: weightMapArb(footprintOf(s.config)) })),
      ({ s, map }) => {
        const expected = oracleWeightedMean(s.config, s.batches, s.dtype, map);
        const counts = oracleCounts(s.config, s.batches);
        for (const backend of BACKENDS) {
          const b = build(s, backend, { data: map, shape: footprintOf(s.config) });
          const { mask, weightSum, overlapCounter } = b.finalize();
          expectEqual(`${backend} mask`, mask.data, expected.mask);
          expectEqual(`${backend} weightSum`, weightSum.data, expected.weightSum);
          expectEqual(`${backend} overlapCounter`, overlapCounter.data, counts);
          b.cleanup();
        }
      },
    ),
    { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS / 2 },
  );
});

/** MONAI's compute_importance_map(mode='gaussian') over a footprint, row-major. */
function monaiGaussian(footprint: number[], sigmaScale = 0.125): Float64Array {
  const factors = footprint.map((n) => {
    const sigma = sigmaScale * n;
    return Array.from({ length: n }, (_, i) => Math.exp(-((i - (n - 1) / 2) ** 2) / (2 * sigma * sigma)));
  });
  let map = [1];
  for (const f of factors) map = map.flatMap((m) => f.map((v) => m * v));
  const floor = Math.max(Math.min(...map), 1e-3);
  return Float64Array.from(map, (v) => Math.max(v, floor));
}

test("weights: 'gaussian' is MONAI's importance map, within rounding, on both backends", () => {
  fc.assert(
    fc.property(scenarioArb(), (s) => {
      const map = monaiGaussian(footprintOf(s.config));
      const expected = oracleWeightedMean(s.config, s.batches, 'float64', map);
      const tolerance = s.dtype === 'float32' ? 2e-5 : 1e-12;
      for (const backend of BACKENDS) {
        const b = build(s, backend, 'gaussian');
        const { mask, weightSum } = b.finalize();
        for (let i = 0; i < expected.mask.length; i++) {
          const scale = 1 + Math.abs(expected.mask[i]);
          if (!(Math.abs(mask.data[i] - expected.mask[i]) <= tolerance * 64 * scale)) {
            throw new Error(`${backend} mask: value ${i} is ${mask.data[i]}, MONAI's formula says ${expected.mask[i]}`);
          }
        }
        for (let i = 0; i < expected.weightSum.length; i++) {
          if (!(Math.abs(weightSum.data[i] - expected.weightSum[i]) <= tolerance * (1 + expected.weightSum[i]))) {
            throw new Error(`${backend} weightSum: value ${i} is ${weightSum.data[i]}, the oracle says ${expected.weightSum[i]}`);
          }
        }
        b.cleanup();
      }
    }),
    { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS / 4 },
  );
});
