// Property: when every tile holds one constant per channel, the mean is
// that constant wherever a tile landed and 0 elsewhere, on both backends.
// Constants are eighths (exact in float32), so the check is exact.
import fc from 'fast-check';
import { MaskBuilder, type MeanResult } from '../src-ts/index';
import { batchArgs, scenarioArb } from './helpers/arbitraries';
import { BACKENDS, captureWarnings, PROPERTY_RUNS, PROPERTY_SEED } from './helpers/robust';

test('the mean of constant tiles is that constant wherever covered', () => {
  fc.assert(
    fc.property(scenarioArb(), fc.array(fc.integer({ min: -800, max: 800 }), { minLength: 3, maxLength: 3 }), (s, eighths) => {
      const constants = eighths.map((k) => k / 8);
      // Every tile value becomes its channel's constant.
      const tilePlane = s.config.outputTileExtent.reduce((a, e) => a * e, 1);
      for (const batch of s.batches) {
        const perChannel = batch.scalar ? 1 : tilePlane;
        for (const tile of batch.tiles) {
          for (let i = 0; i < tile.values.length; i++) tile.values[i] = constants[Math.floor(i / perChannel)];
        }
      }
      for (const backend of BACKENDS) {
        const b = captureWarnings(() => new MaskBuilder({ ...s.config, dtype: s.dtype, backend } as any)).result;
        for (const batch of s.batches) b.updateBatch(...(batchArgs(s, batch) as [any, any, any]));
        const { mask, overlapCounter } = b.finalize() as MeanResult;
        const plane = overlapCounter.data.length;
        for (let c = 0; c < s.config.nChannels; c++) {
          for (let p = 0; p < plane; p++) {
            const expected = overlapCounter.data[p] > 0 ? constants[c] : 0;
            if (mask.data[c * plane + p] !== expected) {
              throw new Error(`${backend}: channel ${c} pixel ${p} is ${mask.data[c * plane + p]}, expected ${expected}`);
            }
          }
        }
        b.cleanup();
      }
    }),
    { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS },
  );
});
