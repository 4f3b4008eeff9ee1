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

/** Calls `visit(maskIndex, tileIndex)` for every pixel of `tile`'s clipped footprint (flat indices). */
export function forEachPixel(
  c: Config,
  g: OracleGeometry,
  batch: OracleBatch,
  tile: Tile,
  visit: (maskIndex: number, tileIndex: number) => void,
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
    for (let d = 0; d < n; d++) {
      const origin = Math.floor(tile.coords[d] / c.stride[d]) * g.maskStride[d];
      maskIndex = maskIndex * g.maskExtents[d] + p[d];
      tileIndex = tileIndex * c.outputTileExtent[d] + Math.floor((p[d] - origin) / g.upscaleFactor[d]);
    }
    visit(maskIndex, tileIndex);
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
