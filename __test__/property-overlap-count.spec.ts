// Property: the overlap counter sums to the total area of the clipped,
// upscaled tile footprints, and matches a brute-force count pixel by pixel,
// on both backends.
import fc from 'fast-check';
import { MaskBuilder, type MeanResult } from '../src-ts/index';
import { batchArgs, scenarioArb } from './helpers/arbitraries';
import { oracleCounts, oracleGeometry } from './helpers/oracle';
import { BACKENDS, captureWarnings, PROPERTY_RUNS, PROPERTY_SEED } from './helpers/robust';

test('total overlap count equals the sum of clipped tile areas', () => {
  fc.assert(
    fc.property(scenarioArb(), fc.constantFrom('uint16' as const, 'uint32' as const), (s, counterDtype) => {
      const g = oracleGeometry(s.config);
      let area = 0;
      for (const batch of s.batches) {
        const footprint = batch.clipping.reduce(
          (a, [start, end], d) => a * (s.config.outputTileExtent[d] - start - end) * g.upscaleFactor[d],
          1,
        );
        area += footprint * batch.tiles.length;
      }
      const counts = oracleCounts(s.config, s.batches);
      for (const backend of BACKENDS) {
        const b = captureWarnings(() => new MaskBuilder({ ...s.config, dtype: s.dtype, counterDtype, backend } as any)).result;
        for (const batch of s.batches) b.updateBatch(...(batchArgs(s, batch) as [any, any, any]));
        const { overlapCounter } = b.finalize() as MeanResult;
        expect(Array.from(overlapCounter.data).reduce((a, k) => a + k, 0)).toBe(area);
        expect(Buffer.compare(Buffer.from(Uint32Array.from(overlapCounter.data).buffer), Buffer.from(counts.buffer))).toBe(0);
        b.cleanup();
      }
    }),
    { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS },
  );
});
