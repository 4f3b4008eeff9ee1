// Property: the variance aggregation's mean and population variance equal a
// two-pass float64 oracle within rounding, and the two backends agree bit for
// bit (the JavaScript backend rounds every Welford step to the dtype).
import fc from 'fast-check';
import { MaskBuilder } from '../src-ts/index';
import { batchArgs, scenarioArb } from './helpers/arbitraries';
import { oracleCounts, oracleVariance } from './helpers/oracle';
import { BACKENDS, captureWarnings, PROPERTY_RUNS, PROPERTY_SEED } from './helpers/robust';

test('variance gives the per-pixel mean and population variance (Welford)', () => {
  fc.assert(
    fc.property(scenarioArb(), (s) => {
      const expected = oracleVariance(s.config, s.batches);
      const counts = oracleCounts(s.config, s.batches);
      // Welford over at most a dozen quarter values in [-64, 64]: a few ulps of 64^2.
      const tolerance = s.dtype === 'float32' ? 4096 * 2 ** -20 : 4096 * 2 ** -48;
      const results = BACKENDS.map((backend) => {
        const b = captureWarnings(() => new MaskBuilder({ ...s.config, dtype: s.dtype, aggregation: 'variance', backend } as any))
          .result as MaskBuilder<any>;
        for (const batch of s.batches) b.updateBatch(...(batchArgs(s, batch) as [any, any, any]));
        const { mean, variance, overlapCounter } = b.finalize();
        for (const [what, actual, oracle] of [
          ['mean', mean.data, expected.mean],
          ['variance', variance.data, expected.variance],
        ] as const) {
          for (let i = 0; i < oracle.length; i++) {
            if (!(Math.abs(actual[i] - oracle[i]) <= tolerance)) {
              throw new Error(`${backend} ${what}: value ${i} is ${actual[i]}, the oracle says ${oracle[i]}`);
            }
          }
        }
        expect(Array.from(overlapCounter.data)).toEqual(Array.from(counts));
        const copy = { mean: Array.from(mean.data as Float32Array), variance: Array.from(variance.data as Float32Array) };
        b.cleanup();
        return copy;
      });
      expect(results[0]).toEqual(results[1]);
    }),
    { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS / 4 },
  );
});
