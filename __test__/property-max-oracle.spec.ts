// Property: the max aggregation equals a brute-force oracle that writes
// every tile pixel by pixel (geometry from the reference's formulas), on
// both backends. Values are quarters, exact in float32.
import fc from 'fast-check';
import { MaskBuilder, type NdArray } from '../src-ts/index';
import { batchArgs, scenarioArb } from './helpers/arbitraries';
import { oracleGeometry, oracleMax } from './helpers/oracle';
import { BACKENDS, captureWarnings, PROPERTY_RUNS, PROPERTY_SEED } from './helpers/robust';

test('max equals the maximum over a brute-force oracle', () => {
  fc.assert(
    fc.property(scenarioArb(), (s) => {
      const expected = oracleMax(s.config, s.batches);
      for (const backend of BACKENDS) {
        const b = captureWarnings(
          () => new MaskBuilder({ ...s.config, dtype: s.dtype, aggregation: 'max', backend } as any),
        ).result;
        const g = oracleGeometry(s.config);
        expect(b.maskExtents).toEqual(g.maskExtents);
        expect(b.maskStride).toEqual(g.maskStride);
        expect(b.upscaleFactor).toEqual(g.upscaleFactor);
        for (const batch of s.batches) b.updateBatch(...(batchArgs(s, batch) as [any, any, any]));
        const mask = b.finalize() as unknown as NdArray;
        expect(mask.data.length).toBe(expected.length);
        for (let i = 0; i < expected.length; i++) {
          if (mask.data[i] !== expected[i])
            throw new Error(`${backend}: value ${i} is ${mask.data[i]}, the oracle says ${expected[i]}`);
        }
        b.cleanup();
      }
    }),
    { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS },
  );
});
