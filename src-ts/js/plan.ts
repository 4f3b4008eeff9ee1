/**
 * Validation and placement of a batch in the pure-JS backend (the same rules
 * and error codes as the Rust core's `plan` module). Nothing is written here.
 */

import type { Geometry } from '../backend';
import { ErrorCode, list, rangeError } from '../errors';
import type { Batch, Clipping, CoordsTable } from '../inputs';

export interface BatchPlan {
  tiles: number;
  channels: number;
  scalar: boolean;
  /** Mask-space extent of each clipped, upscaled footprint. */
  footprint: number[];
  clipStart: number[];
  /** Mask-space origins, row-major `[tiles, ndim]`. */
  origins: Float64Array;
  /** Elements per tile in the batch data. */
  tileLength: number;
  /**
   * For a builder holding a region: per tile, where the kept part starts in
   * its footprint and its extent, `[tiles, 2 * ndim]` (extent 0 outside).
   * Null: every tile whole.
   */
  boxes: Float64Array | null;
  /** Tiles wholly outside the builder's region. */
  skipped: number;
}

function coordinate(coords: CoordsTable, i: number): number | string {
  const v = coords.data[i];
  if (typeof v === 'bigint') {
    return v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : String(v);
  }
  return Number.isSafeInteger(v) && v >= 0 ? v : String(v);
}

export function planBatch(g: Geometry, channels: number, batch: Batch, coords: CoordsTable, clipping: Clipping): BatchPlan {
  const n = g.maskExtents.length;
  const out = g.outputTileExtent;
  const shape = batch.shape;
  let scalar: boolean;
  if (shape.length === 2) scalar = true;
  else if (shape.length === 2 + n) scalar = false;
  else {
    throw rangeError(
      ErrorCode.BATCH_SHAPE,
      `batch must have shape [B, C] or [B, C, ${out.join(', ')}] (rank 2 or ${2 + n}); received shape ${list(shape)} (rank ${shape.length})`,
    );
  }
  const tiles = shape[0];
  if (shape[1] !== channels) {
    throw rangeError(
      ErrorCode.BATCH_SHAPE,
      `batch shape[1] (channels) must be nChannels = ${channels}; received ${shape[1]} in shape ${list(shape)}`,
    );
  }
  if (!scalar && out.some((o, d) => shape[2 + d] !== o)) {
    throw rangeError(
      ErrorCode.BATCH_SHAPE,
      `batch tile extent must equal outputTileExtent ${list(out)}; received shape ${list(shape)}`,
    );
  }
  const [rows, cols] = coords.shape;
  if (cols !== n) {
    throw rangeError(
      ErrorCode.COORDS_SHAPE,
      `coords must have shape [B, ${n}] (one [y, x, ...] row per tile); received shape ${list(coords.shape)}`,
    );
  }
  if (rows !== tiles) {
    throw rangeError(
      ErrorCode.COORDS_SHAPE,
      `coords must have one row per tile: batch has B = ${tiles}, coords has ${rows} rows`,
    );
  }
  if (clipping.start.length !== n || clipping.end.length !== n) {
    throw rangeError(ErrorCode.EDGE_CLIPPING, `edgeClipping must give ${n} dimensions; received ${clipping.start.length}`);
  }
  const footprint: number[] = [];
  for (let d = 0; d < n; d++) {
    const kept = out[d] - clipping.start[d] - clipping.end[d];
    if (kept <= 0) {
      throw rangeError(
        ErrorCode.EDGE_CLIPPING,
        `edgeClipping [${clipping.start[d]}, ${clipping.end[d]}] on dimension ${d} leaves no pixel of the ${out[d]}-pixel output tile; start + end must be less than ${out[d]}`,
      );
    }
    footprint.push(kept * g.upscaleFactor[d]);
  }
  const origins = new Float64Array(tiles * n);
  for (let t = 0; t < tiles; t++) {
    for (let d = 0; d < n; d++) {
      const c = coordinate(coords, t * n + d);
      if (typeof c === 'string') {
        throw rangeError(
          ErrorCode.COORDS_VALUE,
          `coords[${t}][${d}] must be a non-negative integer no larger than 2^53 - 1; received ${c}`,
        );
      }
      // Off-grid coordinates are floored to the stride grid, as the reference does.
      const origin = Math.floor(c / g.stride[d]) * g.maskStride[d] + clipping.start[d] * g.upscaleFactor[d];
      if (!(origin + footprint[d] <= g.maskExtents[d])) throw outsideMask(g, clipping, footprint, coords, t);
      origins[t * n + d] = origin;
    }
  }
  const tileLength = scalar ? channels : channels * out.reduce((a, o) => a * o, 1);
  return { tiles, channels, scalar, footprint, clipStart: [...clipping.start], origins, tileLength, boxes: null, skipped: 0 };
}

function outsideMask(g: Geometry, clipping: Clipping, footprint: number[], coords: CoordsTable, t: number): RangeError {
  const n = g.maskExtents.length;
  const row = Array.from({ length: n }, (_, d) => String(coords.data[t * n + d]));
  const limit = g.maskExtents.map((extent, d) => {
    const room = extent - footprint[d] - clipping.start[d] * g.upscaleFactor[d];
    return Math.floor(room / g.maskStride[d]) * g.stride[d] + g.stride[d] - 1;
  });
  return rangeError(
    ErrorCode.TILE_OUTSIDE_MASK,
    `coords[${t}] = [${row.join(', ')}] places the tile outside the mask (source span ${list(g.span)}); each coordinate must be at most ${list(limit)}`,
  );
}
