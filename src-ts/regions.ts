/**
 * Planning region shards: split a mask into windows, say which tiles of the
 * grid each window needs (every tile whose clipped footprint reaches into
 * it, the halo included), and map source-space boxes to mask regions.
 */

import type { Geometry } from './backend';
import { describe, ErrorCode, list, rangeError, typeError } from './errors';
import { type EdgeClippingInput, normalizeEdgeClipping } from './inputs';
import { computeGeometry } from './js/geometry';
import { type MaskBuilderOptions, type MaskRegion, resolveOptions, resolveRegion } from './options';

/** How `planRegions` splits the mask. */
export interface RegionPlanOptions {
  /** Number of shards, as bands along dimension 0 (rows: each shard's storage and merge are contiguous). */
  shards?: number;
  /** Shards per dimension instead, e.g. `[2, 3]`; dimensions not given are not split. */
  grid?: readonly number[];
  /** The edgeClipping the batches will use: tiles whose kept part misses a region are not routed to it. */
  edgeClipping?: EdgeClippingInput;
}

/** One shard: its region and the box of grid positions whose tiles reach into it. */
export interface RegionShard {
  index: number;
  region: MaskRegion;
  /** Tile grid indices from `start` (inclusive) to `end` (exclusive) per dimension; tile `i` lies at source `i * stride`. */
  tiles: { start: number[]; end: number[] };
  /** Tiles in that box. */
  tileCount: number;
}

export interface RegionPlan {
  maskExtents: number[];
  /** Grid positions per dimension (tile `i` at source `i * stride`). */
  numTiles: number[];
  shards: RegionShard[];
  /** Indices of the shards a tile at source coordinates `coord` must be sent to. */
  shardsOf(coord: ArrayLike<number>): number[];
  /** Source coordinates `[K, N]` (row-major) of every grid tile shard `index` needs. */
  tileCoords(index: number): Float64Array;
}

function geometryOf(options: MaskBuilderOptions): Geometry {
  const { region: _region, ...rest } = options as MaskBuilderOptions & { region?: unknown };
  return computeGeometry(resolveOptions(rest));
}

function splits(extent: number, parts: number): number[] {
  return Array.from({ length: parts + 1 }, (_, i) => Math.round((i * extent) / parts));
}

/**
 * Splits the mask of a builder with `options` into shards and lists the
 * tiles each needs. Tiles on a shard border go to every shard they reach;
 * merging the shards' partials (or placing their regions) gives the mask of
 * one build over all tiles.
 */
export function planRegions(options: MaskBuilderOptions, plan: RegionPlanOptions = {}): RegionPlan {
  if (plan === null || typeof plan !== 'object') {
    throw typeError(ErrorCode.OPTION_TYPE, `planRegions options must be an object; received ${describe(plan)}`);
  }
  const g = geometryOf(options);
  const n = g.maskExtents.length;
  let grid: number[];
  if (plan.grid !== undefined) {
    if (!Array.isArray(plan.grid) || plan.grid.length > n || !plan.grid.every((v) => Number.isSafeInteger(v) && v > 0)) {
      throw rangeError(
        ErrorCode.OPTION_RANGE,
        `grid must be up to ${n} positive integers (shards per dimension); received ${describe(plan.grid)}`,
      );
    }
    grid = [...plan.grid, ...new Array<number>(n - plan.grid.length).fill(1)];
  } else {
    const shards = plan.shards ?? 1;
    if (!Number.isSafeInteger(shards) || shards < 1) {
      throw rangeError(ErrorCode.OPTION_RANGE, `shards must be a positive integer; received ${describe(shards)}`);
    }
    grid = [shards, ...new Array<number>(n - 1).fill(1)];
  }
  grid.forEach((parts, d) => {
    if (parts > g.maskExtents[d]) {
      throw rangeError(
        ErrorCode.OPTION_RANGE,
        `cannot split dimension ${d} of the mask ${list(g.maskExtents)} into ${parts} shards; at most ${g.maskExtents[d]}`,
      );
    }
  });
  const clipping = normalizeEdgeClipping(plan.edgeClipping, n);
  const numTiles = g.sourceExtents.map((s, d) => Math.ceil(Math.max(s - g.sourceTileExtent[d], 0) / g.stride[d]) + 1);
  const footprint = g.outputTileExtent.map((o, d) => (o - clipping.start[d] - clipping.end[d]) * g.upscaleFactor[d]);
  const lead = clipping.start.map((c, d) => c * g.upscaleFactor[d]);
  // Grid positions whose footprint [i * ms + lead, + footprint) meets [lo, hi).
  const tileRange = (d: number, lo: number, hi: number): [number, number] => {
    const ms = g.maskStride[d];
    const first = Math.max(0, Math.floor((lo - footprint[d] - lead[d]) / ms) + 1);
    const end = Math.min(numTiles[d], Math.max(0, Math.ceil((hi - lead[d]) / ms)));
    return [first, Math.max(first, end)];
  };
  const cuts = grid.map((parts, d) => splits(g.maskExtents[d], parts));
  const shards: RegionShard[] = [];
  const index = new Array<number>(n).fill(0);
  const total = grid.reduce((a, p) => a * p, 1);
  for (let k = 0; k < total; k++) {
    const start = index.map((i, d) => cuts[d][i]);
    const extent = index.map((i, d) => cuts[d][i + 1] - cuts[d][i]);
    const ranges = start.map((s, d) => tileRange(d, s, s + extent[d]));
    shards.push({
      index: k,
      region: { start, extent },
      tiles: { start: ranges.map((r) => r[0]), end: ranges.map((r) => r[1]) },
      tileCount: ranges.reduce((a, [lo, hi]) => a * (hi - lo), 1),
    });
    for (let d = n - 1; d >= 0; d--) {
      if (++index[d] < grid[d]) break;
      index[d] = 0;
    }
  }
  return {
    maskExtents: [...g.maskExtents],
    numTiles,
    shards,
    shardsOf(coord) {
      const cell = Array.from({ length: n }, (_, d) => Math.floor(Number(coord[d]) / g.stride[d]));
      return shards.filter((s) => cell.every((c, d) => c >= s.tiles.start[d] && c < s.tiles.end[d])).map((s) => s.index);
    },
    tileCoords(i) {
      const s = shards[i];
      if (!s) throw rangeError(ErrorCode.OPTION_RANGE, `shard index must be from 0 to ${shards.length - 1}; received ${i}`);
      const out = new Float64Array(s.tileCount * n);
      const at = [...s.tiles.start];
      for (let t = 0; t < s.tileCount; t++) {
        for (let d = 0; d < n; d++) out[t * n + d] = at[d] * g.stride[d];
        for (let d = n - 1; d >= 0; d--) {
          if (++at[d] < s.tiles.end[d]) break;
          at[d] = s.tiles.start[d];
        }
      }
      return out;
    },
  };
}

/**
 * The mask region covering a box of the source (slide pixels, `{ start,
 * extent }`), for a builder with `options`: every mask pixel the box
 * touches, cut to the mask.
 */
export function maskRegionOfSourceBox(
  options: MaskBuilderOptions,
  box: { start: readonly number[]; extent: readonly number[] },
): MaskRegion {
  const g = geometryOf(options);
  const source = resolveRegion('box', box, g.maskExtents.length);
  const start: number[] = [];
  const extent: number[] = [];
  g.maskExtents.forEach((e, d) => {
    // Mask pixels per source pixel: maskStride / stride (exactly, as integers).
    const [ms, st] = [BigInt(g.maskStride[d]), BigInt(g.stride[d])];
    const lo = Number((BigInt(source.start[d]) * ms) / st);
    const hi = Number((BigInt(source.start[d] + source.extent[d]) * ms + st - 1n) / st);
    const a = Math.min(lo, e);
    const b = Math.min(hi, e);
    if (b <= a) {
      throw rangeError(
        ErrorCode.REGION,
        `box start ${list(source.start)} extent ${list(source.extent)} lies outside the source span ${list(g.span)} (dimension ${d})`,
      );
    }
    start.push(a);
    extent.push(b - a);
  });
  return { start, extent };
}
