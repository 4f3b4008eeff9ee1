// Property: on random geometries (1-3 dimensions, random tiles, strides,
// output tiles, clipping, channels, dtypes, aggregations and batches, some
// of them bad), the native and pure-JS backends hold bit-identical storage
// and counter after every call, throw the same errors, and finalize alike.
import fc from 'fast-check';
import { MaskBuilder } from '../src-ts/index';
import { anyValues, batchArgs, scenarioArb } from './helpers/arbitraries';
import { captureWarnings, expectUnchanged, PROPERTY_RUNS, PROPERTY_SEED, snapshot } from './helpers/robust';

/** What to break in a batch, if anything. */
const corruption = fc.constantFrom('none', 'none', 'none', 'none', 'none', 'outside', 'clip-all', 'channels', 'negative');

function corrupt(args: ReturnType<typeof batchArgs>, kind: string, outputTileExtent: number[]) {
  const [batch, coords, clipping] = args;
  switch (kind) {
    case 'outside':
      if (coords.data.length > 0) coords.data[0] = 1e9;
      return args;
    case 'negative':
      if (coords.data.length > 0) coords.data[coords.data.length - 1] = -1;
      return args;
    case 'clip-all':
      return [batch, coords, outputTileExtent.map((o) => [o, 0] as [number, number])] as const;
    case 'channels':
      return [
        { data: batch.data, shape: [batch.shape[0], batch.shape[1] + 1, ...batch.shape.slice(2)] },
        coords,
        clipping,
      ] as const;
    default:
      return args;
  }
}

const outcome = (run: () => void) => {
  try {
    run();
    return 'ok';
  } catch (e) {
    const error = e as Error & { code?: string };
    return `${error.name} ${error.code}: ${error.message}`;
  }
};

test('native and js backends agree bit for bit', () => {
  fc.assert(
    fc.property(
      scenarioArb(anyValues),
      fc.constantFrom('mean' as const, 'max' as const),
      fc.array(corruption, { minLength: 3, maxLength: 3 }),
      (s, aggregation, corruptions) => {
        const [native, js] = captureWarnings(() =>
          (['native', 'js'] as const).map(
            (backend) => new MaskBuilder({ ...s.config, dtype: s.dtype, aggregation, backend } as any),
          ),
        ).result;
        expect(native.maskExtents).toEqual(js.maskExtents);
        s.batches.forEach((batch, i) => {
          const outcomes = [native, js].map((b) =>
            outcome(() =>
              b.updateBatch(...(corrupt(batchArgs(s, batch), corruptions[i], s.config.outputTileExtent) as [any, any, any])),
            ),
          );
          expect(outcomes[0]).toBe(outcomes[1]);
          expectUnchanged(native, snapshot(js));
        });
        native.finalize();
        js.finalize();
        expectUnchanged(native, snapshot(js));
        native.cleanup();
        js.cleanup();
      },
    ),
    { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS },
  );
});
