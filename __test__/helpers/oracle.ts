// An independent, brute-force model of the builder for the property specs:
// the reference's geometry formulas, and every tile written pixel by pixel
// from its clipped, upscaled footprint. Slow and obvious on purpose.

export interface Config {
  sourceExtents: number[];
  sourceTileExtent: number[];
  outputTileExtent: number[];
  stride: number[];
  nChannels: number;
}

export interface OracleGeometry {
  numTiles: number[];
  maskExtents: number[];
  maskStride: number[];
  upscaleFactor: number[];
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

export function oracleGeometry(c: Config): OracleGeometry {
  const g: OracleGeometry = { numTiles: [], maskExtents: [], maskStride: [], upscaleFactor: [] };
  c.sourceExtents.forEach((s, d) => {
    const [t, o, st] = [c.sourceTileExtent[d], c.outputTileExtent[d], c.stride[d]];
    const numTiles = Math.ceil(Math.max(s - t, 0) / st) + 1;
    const span = (numTiles - 1) * st + t;
    const divisor = gcd(t, st * o);
    g.numTiles.push(numTiles);
    g.maskExtents.push((span * o) / divisor);
    g.maskStride.push((st * o) / divisor);
    g.upscaleFactor.push(t / divisor);
  });
  return g;
}

export interface Tile {
  /** Source coordinates [y, x, ...]. */
  coords: number[];
  /** `[C, ...outputTileExtent]` values, or `[C]` for a scalar tile. */
  values: Float64Array;
}

export interface OracleBatch {
  scalar: boolean;
  tiles: Tile[];
  /** [start, end] per dimension, in output-tile pixels. */
  clipping: [number, number][];
}

/**
 * Calls `visit(maskIndex, tileIndex, footprintIndex)` for every pixel of `tile`'s clipped footprint (flat
 * indices; the footprint index counts over the whole, unclipped footprint of `outputTileExtent * upscaleFactor`).
 */
export function forEachPixel(
  c: Config,
  g: OracleGeometry,
  batch: OracleBatch,
  tile: Tile,
  visit: (maskIndex: number, tileIndex: number, footprintIndex: number) => void,
): void {
  const n = c.sourceExtents.length;
  const lo: number[] = [];
  const hi: number[] = [];
  for (let d = 0; d < n; d++) {
    const origin = Math.floor(tile.coords[d] / c.stride[d]) * g.maskStride[d];
    const [start, end] = batch.clipping[d];
    lo.push(origin + start * g.upscaleFactor[d]);
    hi.push(origin + (c.outputTileExtent[d] - end) * g.upscaleFactor[d]);
  }
  const p = [...lo];
  for (;;) {
    let maskIndex = 0;
    let tileIndex = 0;
    let footprintIndex = 0;
    for (let d = 0; d < n; d++) {
      const origin = Math.floor(tile.coords[d] / c.stride[d]) * g.maskStride[d];
      maskIndex = maskIndex * g.maskExtents[d] + p[d];
      tileIndex = tileIndex * c.outputTileExtent[d] + Math.floor((p[d] - origin) / g.upscaleFactor[d]);
      footprintIndex = footprintIndex * c.outputTileExtent[d] * g.upscaleFactor[d] + (p[d] - origin);
    }
    visit(maskIndex, tileIndex, footprintIndex);
    let d = n - 1;
    while (d >= 0 && ++p[d] === hi[d]) {
      p[d] = lo[d];
      d--;
    }
    if (d < 0) return;
  }
}

const planeOf = (g: OracleGeometry) => g.maskExtents.reduce((a, e) => a * e, 1);
const tilePlaneOf = (c: Config) => c.outputTileExtent.reduce((a, e) => a * e, 1);

/** Overlap count per mask pixel. */
export function oracleCounts(c: Config, batches: OracleBatch[]): Uint32Array {
  const g = oracleGeometry(c);
  const counts = new Uint32Array(planeOf(g));
  for (const batch of batches) for (const tile of batch.tiles) forEachPixel(c, g, batch, tile, (m) => counts[m]++);
  return counts;
}

/** The max aggregation's result: the largest value per pixel, 0 where no tile landed. */
export function oracleMax(c: Config, batches: OracleBatch[]): Float64Array {
  const g = oracleGeometry(c);
  const plane = planeOf(g);
  const tilePlane = tilePlaneOf(c);
  const result = new Float64Array(plane * c.nChannels).fill(Number.NEGATIVE_INFINITY);
  for (const batch of batches) {
    for (const tile of batch.tiles) {
      forEachPixel(c, g, batch, tile, (m, k) => {
        for (let ch = 0; ch < c.nChannels; ch++) {
          const v = batch.scalar ? tile.values[ch] : tile.values[ch * tilePlane + k];
          result[ch * plane + m] = Math.max(result[ch * plane + m], v);
        }
      });
    }
  }
  return result.map((v) => (v === Number.NEGATIVE_INFINITY ? 0 : v));
}

/** The footprint of a tile in mask pixels per dimension (`outputTileExtent * upscaleFactor`). */
export function footprintOf(c: Config): number[] {
  const g = oracleGeometry(c);
  return c.outputTileExtent.map((o, d) => o * g.upscaleFactor[d]);
}

/** Rounds to the accumulator's type: what one float32 (or float64) operation yields. */
export const roundTo = (dtype: 'float32' | 'float64') => (dtype === 'float32' ? Math.fround : (x: number) => x);

/**
 * Per-channel sums of `w * v` and the weight sum per pixel, in float64; `weights` is a map over the
 * whole footprint (row-major), or undefined for uniform weights. Exact for quarter values and weights.
 */
function weightedSums(c: Config, batches: OracleBatch[], weights?: Float64Array) {
  const g = oracleGeometry(c);
  const plane = planeOf(g);
  const tilePlane = tilePlaneOf(c);
  const sums = new Float64Array(plane * c.nChannels);
  const weightSum = new Float64Array(plane);
  const counts = new Uint32Array(plane);
  for (const batch of batches) {
    for (const tile of batch.tiles) {
      forEachPixel(c, g, batch, tile, (m, k, f) => {
        const w = weights ? weights[f] : 1;
        weightSum[m] += w;
        counts[m]++;
        for (let ch = 0; ch < c.nChannels; ch++) {
          const v = batch.scalar ? tile.values[ch] : tile.values[ch * tilePlane + k];
          sums[ch * plane + m] += w * v;
        }
      });
    }
  }
  return { sums, weightSum, counts, plane };
}

/** The (weighted) mean: `sum(w * v) / sum(w)` where `sum(w) > 0`, else 0; one division in the dtype. */
export function oracleWeightedMean(c: Config, batches: OracleBatch[], dtype: 'float32' | 'float64', weights?: Float64Array) {
  const round = roundTo(dtype);
  const { sums, weightSum, counts, plane } = weightedSums(c, batches, weights);
  const mask = sums.map((s, i) => (weightSum[i % plane] > 0 ? round(round(s) / round(weightSum[i % plane])) : 0));
  return { mask, weightSum: weightSum.map(round), counts };
}

/** The (weighted) sum of the values per pixel. */
export function oracleSum(c: Config, batches: OracleBatch[], weights?: Float64Array) {
  const { sums, weightSum, counts } = weightedSums(c, batches, weights);
  return { mask: sums, weightSum, counts };
}

/** The min aggregation's result: the smallest value per pixel, 0 where no tile landed. */
export function oracleMin(c: Config, batches: OracleBatch[]): Float64Array {
  const negated = batches.map((b) => ({ ...b, tiles: b.tiles.map((t) => ({ ...t, values: t.values.map((v) => -v) })) }));
  return oracleMax(c, negated).map((v) => (v === 0 ? 0 : -v));
}

/** Per-pixel mean and population variance (two passes in float64), 0 where no tile landed. */
export function oracleVariance(c: Config, batches: OracleBatch[]) {
  const g = oracleGeometry(c);
  const plane = planeOf(g);
  const tilePlane = tilePlaneOf(c);
  const seen: number[][] = Array.from({ length: plane * c.nChannels }, () => []);
  for (const batch of batches) {
    for (const tile of batch.tiles) {
      forEachPixel(c, g, batch, tile, (m, k) => {
        for (let ch = 0; ch < c.nChannels; ch++) {
          seen[ch * plane + m].push(batch.scalar ? tile.values[ch] : tile.values[ch * tilePlane + k]);
        }
      });
    }
  }
  const mean = new Float64Array(seen.length);
  const variance = new Float64Array(seen.length);
  seen.forEach((values, i) => {
    if (values.length === 0) return;
    const mu = values.reduce((a, v) => a + v, 0) / values.length;
    mean[i] = mu;
    variance[i] = values.reduce((a, v) => a + (v - mu) ** 2, 0) / values.length;
  });
  return { mean, variance };
}

/**
 * Argmax over the (weighted) class means: the label of the largest mean (ties: the lowest class), its
 * mean as confidence; `background` and 0 where no tile landed.
 */
export function oracleArgmax(
  c: Config,
  batches: OracleBatch[],
  dtype: 'float32' | 'float64',
  background: number,
  weights?: Float64Array,
) {
  const { mask, counts } = oracleWeightedMean(c, batches, dtype, weights);
  const plane = counts.length;
  const labels = new Uint16Array(plane);
  const confidence = new Float64Array(plane);
  for (let i = 0; i < plane; i++) {
    if (counts[i] === 0) {
      labels[i] = background;
      continue;
    }
    let best = 0;
    for (let ch = 1; ch < c.nChannels; ch++) if (mask[ch * plane + i] > mask[best * plane + i]) best = ch;
    labels[i] = best;
    confidence[i] = mask[best * plane + i];
  }
  return { labels, confidence };
}
