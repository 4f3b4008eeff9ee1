// Properties: min and sum (plain and weighted with a custom map) equal
// brute-force oracles, bit for bit on both backends. Quarter values and
// weights keep every sum exact in float32.
import fc from 'fast-check';
import { MaskBuilder } from '../src-ts/index';
import { batchArgs, type Scenario, scenarioArb, weightMapArb } from './helpers/arbitraries';
import { footprintOf, oracleCounts, oracleMin, oracleSum } from './helpers/oracle';
import { BACKENDS, captureWarnings, PROPERTY_RUNS, PROPERTY_SEED } from './helpers/robust';

function build(s: Scenario, backend: (typeof BACKENDS)[number], options: Record<string, unknown>) {
  const b = captureWarnings(() => new MaskBuilder({ ...s.config, dtype: s.dtype, ...options, backend } as any))
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

test('min equals the minimum over a brute-force oracle, 0 where no tile landed', () => {
  fc.assert(
    fc.property(scenarioArb(), (s) => {
      const expected = oracleMin(s.config, s.batches);
      for (const backend of BACKENDS) {
        const b = build(s, backend, { aggregation: 'min' });
        expectEqual(`${backend} min`, b.finalize().data, expected);
        expect(b.overlapCounter).toBeNull();
        b.cleanup();
      }
    }),
    { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS / 4 },
  );
});

test('sum adds the values without dividing, counting overlaps', () => {
  fc.assert(
    fc.property(scenarioArb(), (s) => {
      const expected = oracleSum(s.config, s.batches);
      for (const backend of BACKENDS) {
        const b = build(s, backend, { aggregation: 'sum' });
        const { mask, overlapCounter } = b.finalize();
        expectEqual(`${backend} sum`, mask.data, expected.mask);
        expectEqual(`${backend} overlapCounter`, overlapCounter.data, expected.counts);
        b.cleanup();
      }
    }),
    { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS / 4 },
  );
});

test('sum with a weight map adds w * v and keeps sum(w)', () => {
  fc.assert(
    fc.property(
      scenarioArb().chain((s) => fc.record({ s: fc.constant(s), map: weightMapArb(footprintOf(s.config)) })),
      ({ s, map }) => {
        const expected = oracleSum(s.config, s.batches, map);
        for (const backend of BACKENDS) {
          const b = build(s, backend, { aggregation: 'sum', weights: { data: map, shape: footprintOf(s.config) } });
          const { mask, weightSum, overlapCounter } = b.finalize();
          expectEqual(`${backend} weighted sum`, mask.data, expected.mask);
          expectEqual(`${backend} weightSum`, weightSum.data, expected.weightSum);
          expectEqual(`${backend} overlapCounter`, overlapCounter.data, oracleCounts(s.config, s.batches));
          b.cleanup();
        }
      },
    ),
    { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS / 4 },
  );
});
