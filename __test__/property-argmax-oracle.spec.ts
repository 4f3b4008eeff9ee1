// Properties: argmax (the aggregation, plain and weighted, and finalize's
// { argmax: true } on a mean) labels each pixel with its highest class mean,
// ties to the lowest class, background where no tile landed; threshold and
// quantize reduce the mean as their formulas say. Oracles are brute force;
// both backends must match them bit for bit.
import fc from 'fast-check';
import { MaskBuilder } from '../src-ts/index';
import { batchArgs, type Scenario, scenarioArb, weightMapArb } from './helpers/arbitraries';
import { footprintOf, oracleArgmax, oracleWeightedMean } from './helpers/oracle';
import { BACKENDS, captureWarnings, PROPERTY_RUNS, PROPERTY_SEED } from './helpers/robust';

/** Scenarios with 2 or 3 classes. */
const classScenarios = () => scenarioArb(undefined, 2);

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

test("aggregation: 'argmax' gives the winning class and its mean, background where no tile landed", () => {
  fc.assert(
    fc.property(
      classScenarios().chain((s) =>
        fc.record({
          s: fc.constant(s),
          background: fc.integer({ min: 0, max: s.config.nChannels - 1 }),
          map: fc.option(weightMapArb(footprintOf(s.config)), { nil: undefined }),
        }),
      ),
      ({ s, background, map }) => {
        const expected = oracleArgmax(s.config, s.batches, s.dtype, background, map);
        const weights = map && { data: map, shape: footprintOf(s.config) };
        for (const backend of BACKENDS) {
          const b = build(s, backend, { aggregation: 'argmax', background, ...(weights && { weights }) });
          const { labels, confidence } = b.finalize();
          expect(labels.dtype).toBe('uint8');
          expect(labels.shape).toEqual([1, ...b.maskExtents]);
          expectEqual(`${backend} labels`, labels.data, expected.labels);
          expectEqual(`${backend} confidence`, confidence.data, expected.confidence);
          b.cleanup();
        }
      },
    ),
    { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS / 4 },
  );
});

test('finalize reductions of a mean: { argmax: true }, { threshold }, { quantize: "uint8" }', () => {
  fc.assert(
    fc.property(
      classScenarios().chain((s) =>
        fc.record({
          s: fc.constant(s),
          background: fc.integer({ min: 0, max: s.config.nChannels - 1 }),
          threshold: fc.integer({ min: -64, max: 64 }).map((k) => k / 2),
        }),
      ),
      ({ s, background, threshold }) => {
        const mean = oracleWeightedMean(s.config, s.batches, s.dtype).mask;
        const expected = oracleArgmax(s.config, s.batches, s.dtype, background);
        for (const backend of BACKENDS) {
          const b = build(s, backend, {});
          const { labels, confidence } = b.finalize({ argmax: true, background });
          expectEqual(`${backend} labels`, labels.data, expected.labels);
          expectEqual(`${backend} confidence`, confidence.data, expected.confidence);
          const thresholded = b.finalize({ threshold });
          expect(thresholded.dtype).toBe('uint8');
          expectEqual(
            `${backend} threshold`,
            thresholded.data,
            mean.map((v) => (v >= threshold ? 1 : 0)),
          );
          const quantized = b.finalize({ quantize: 'uint8' });
          expectEqual(
            `${backend} quantize`,
            quantized.data,
            mean.map((v) => Math.round(Math.min(Math.max(v, 0), 1) * 255)),
          );
          // The float mask is still there, unchanged.
          expectEqual(`${backend} mask`, b.finalize().mask.data, mean);
          b.cleanup();
        }
      },
    ),
    { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS / 4 },
  );
});
