// fast-check generators for the property specs: small random geometries
// (1-3 dimensions) and valid batches for them (random tiles, off-grid
// coordinates, clipping, scalar or dense layout), kept small enough that a
// thousand runs take seconds.
import fc from 'fast-check';
import { type Config, type OracleBatch, oracleGeometry } from './oracle';

export interface Scenario {
  config: Config;
  dtype: 'float32' | 'float64';
  batches: OracleBatch[];
}

/** Largest mask (pixels x channels) a scenario may have. */
const MAX_MASK_VALUES = 20_000;

const dims = (ndim: number, maxSource: number, maxTile: number, maxOut: number) =>
  fc.record({
    sourceExtents: fc.array(fc.integer({ min: 1, max: maxSource }), { minLength: ndim, maxLength: ndim }),
    sourceTileExtent: fc.array(fc.integer({ min: 1, max: maxTile }), { minLength: ndim, maxLength: ndim }),
    outputTileExtent: fc.array(fc.integer({ min: 1, max: maxOut }), { minLength: ndim, maxLength: ndim }),
    stride: fc.array(fc.integer({ min: 1, max: maxTile }), { minLength: ndim, maxLength: ndim }),
    nChannels: fc.integer({ min: 1, max: 3 }),
  });

export const configArb: fc.Arbitrary<Config> = fc
  .oneof(dims(1, 40, 8, 6), dims(2, 20, 6, 4), dims(3, 8, 4, 3))
  .filter((c) => oracleGeometry(c).maskExtents.reduce((a, e) => a * e, c.nChannels) <= MAX_MASK_VALUES);

/** A value generator: what tile values look like. */
export type ValueArb = (channel: number) => fc.Arbitrary<number>;

/** Values exact in float32 (quarters in [-64, 64]), so sums and maxima compare exactly. */
export const quarterValues: ValueArb = () => fc.integer({ min: -256, max: 256 }).map((k) => k / 4);

/** Any float, with NaN, infinities and -0 now and then. */
export const anyValues: ValueArb = () =>
  fc.oneof(
    { weight: 9, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }) },
    { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0) },
  );

function batchArb(c: Config, values: ValueArb): fc.Arbitrary<OracleBatch> {
  const g = oracleGeometry(c);
  const n = c.sourceExtents.length;
  const tilePlane = c.outputTileExtent.reduce((a, e) => a * e, 1);
  const clipping = fc.tuple(
    ...c.outputTileExtent.map((o) =>
      fc
        .integer({ min: 0, max: o - 1 })
        .chain((start) => fc.tuple(fc.constant(start), fc.integer({ min: 0, max: o - 1 - start }))),
    ),
  ) as fc.Arbitrary<[number, number][]>;
  // Any grid position fits; an offset below the stride floors back onto it.
  const coords = fc.tuple(
    ...Array.from({ length: n }, (_, d) =>
      fc
        .tuple(fc.integer({ min: 0, max: g.numTiles[d] - 1 }), fc.integer({ min: 0, max: c.stride[d] - 1 }))
        .map(([grid, offset]) => grid * c.stride[d] + offset),
    ),
  );
  return fc.boolean().chain((scalar) => {
    const perChannel = scalar ? 1 : tilePlane;
    const tileValues = fc
      .tuple(
        ...Array.from({ length: c.nChannels }, (_, ch) => fc.array(values(ch), { minLength: perChannel, maxLength: perChannel })),
      )
      .map((channels) => Float64Array.from(channels.flat()));
    const tile = fc.record({ coords, values: tileValues });
    return fc.record({ scalar: fc.constant(scalar), tiles: fc.array(tile, { maxLength: 4 }), clipping });
  });
}

/** Scenarios of tiles with `values`; `minChannels` raises the channel count (argmax needs 2 classes). */
export function scenarioArb(values: ValueArb = quarterValues, minChannels = 1): fc.Arbitrary<Scenario> {
  const configs = minChannels > 1 ? configArb.map((c) => ({ ...c, nChannels: Math.max(minChannels, c.nChannels) })) : configArb;
  return configs.chain((config) =>
    fc.record({
      config: fc.constant(config),
      dtype: fc.constantFrom('float32' as const, 'float64' as const),
      batches: fc.array(batchArb(config, values), { minLength: 1, maxLength: 3 }),
    }),
  );
}

/** The batch as `updateBatch` arguments. */
export function batchArgs(s: Scenario, batch: OracleBatch) {
  const { config } = s;
  const Float = s.dtype === 'float64' ? Float64Array : Float32Array;
  const B = batch.tiles.length;
  const shape = batch.scalar ? [B, config.nChannels] : [B, config.nChannels, ...config.outputTileExtent];
  const data = new Float(batch.tiles.flatMap((t) => Array.from(t.values)));
  const coords = { data: Float64Array.from(batch.tiles.flatMap((t) => t.coords)), shape: [B, config.sourceExtents.length] };
  return [{ data, shape }, coords, batch.clipping] as const;
}

/** A weight map over a footprint: quarters from 0 to 4 (exact in float32), at least one of them positive. */
export function weightMapArb(footprint: number[]): fc.Arbitrary<Float64Array> {
  const n = footprint.reduce((a, e) => a * e, 1);
  return fc
    .array(fc.integer({ min: 0, max: 16 }), { minLength: n, maxLength: n })
    .map((ks) => Float64Array.from(ks, (k, i) => (i === 0 && ks.every((v) => v === 0) ? 1 : k / 4)));
}
