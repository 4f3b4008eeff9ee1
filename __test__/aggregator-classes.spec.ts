// The exported Min/Sum/Variance/Argmax aggregator classes, run as user classes
// (a subclass is not recognized as the built-in, so it runs per sample on the
// JavaScript backend), give what the built-in kernels give on both backends.
import fc from 'fast-check';
import { ArgmaxAggregator, MaskBuilder, MinAggregator, SumAggregator, VarianceAggregator } from '../src-ts/index';
import { batchArgs, type Scenario, scenarioArb } from './helpers/arbitraries';
import { BACKENDS, captureWarnings, PROPERTY_SEED } from './helpers/robust';

class UserMin extends MinAggregator {}
class UserSum extends SumAggregator {}
class UserVariance extends VarianceAggregator {}
class UserArgmax extends ArgmaxAggregator {}

function run(s: Scenario, aggregation: unknown, backend: (typeof BACKENDS)[number] = 'js'): any {
  const b = captureWarnings(() => new MaskBuilder({ ...s.config, dtype: 'float64', aggregation, backend } as any))
    .result as MaskBuilder<any>;
  for (const batch of s.batches) b.updateBatch(...(batchArgs({ ...s, dtype: 'float64' }, batch) as [any, any, any]));
  const result = b.finalize();
  return result;
}

const values = (a: { data: ArrayLike<number> }) => Array.from(a.data);

test.each([
  ['min', UserMin, (r: any) => [values(r)]],
  ['sum', UserSum, (r: any) => [values(r.mask), values(r.overlapCounter)]],
  ['argmax', UserArgmax, (r: any) => [values(r.labels), values(r.confidence)]],
] as const)('a subclass of the %s aggregator gives what the built-in gives', (name, Class, pick) => {
  fc.assert(
    fc.property(scenarioArb(undefined, name === 'argmax' ? 2 : 1), (s) => {
      const user = pick(run(s, Class));
      for (const backend of BACKENDS) expect(pick(run(s, name, backend))).toEqual(user);
    }),
    { seed: PROPERTY_SEED, numRuns: 100 },
  );
});

test('a subclass of the variance aggregator gives the built-in mean and variance within rounding', () => {
  fc.assert(
    fc.property(scenarioArb(), (s) => {
      const user = run(s, UserVariance);
      for (const backend of BACKENDS) {
        const builtin = run(s, 'variance', backend);
        expect(values(builtin.overlapCounter)).toEqual(values(user.overlapCounter));
        for (const key of ['mean', 'variance'] as const) {
          const a = values(builtin[key]);
          const b = values(user[key]);
          const worst = Math.max(0, ...a.map((v, i) => Math.abs(v - b[i]) / (1 + Math.abs(b[i]))));
          expect(worst).toBeLessThanOrEqual(1e-9);
        }
      }
    }),
    { seed: PROPERTY_SEED, numRuns: 100 },
  );
});
