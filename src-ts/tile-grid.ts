/**
 * The tile grid a builder's geometry implies: the top-left source coordinates
 * `[y, x, ...]` of every tile, optionally only those over tissue in a
 * low-resolution mask of the slide. Pure geometry, the same for both backends.
 */

import type { Geometry } from './backend';
import { describe, ErrorCode, list, rangeError, typeError } from './errors';

export interface TileOriginsOptions {
  /** Yield the origins in batches of at most this many tiles (an iterator) instead of one array. */
  batchSize?: number;
  /**
   * A low-resolution mask of the slide, `{ data, shape: [h, w] }` (2-D builders), nonzero where there is
   * tissue (e.g. from `tissueMask(thumbnail)`): only tiles covering enough tissue are kept.
   */
  tissue?: { data: ArrayLike<number> & ArrayBufferView; shape: readonly number[] };
  /**
   * Source pixels per tissue-mask pixel: one number or one per dimension. Default: `sourceExtents / tissue.shape`
   * (a thumbnail of the whole slide).
   */
  tissueScale?: number | readonly number[];
  /** Fraction of a tile's tissue-mask pixels that must be tissue, 0 to 1. Default 0: any tissue pixel keeps the tile. */
  minTissueFraction?: number;
}

/** Origins `{ data, shape: [N, dims] }`, ready to pass as `coords`; Int32Array unless a coordinate reaches 2^31. */
export interface TileOrigins {
  data: Int32Array | Float64Array;
  shape: [number, number];
}

const KNOWN = ['batchSize', 'tissue', 'tissueScale', 'minTissueFraction'];

/** Above this many entries one array is refused in favour of batches. */
const MAX_ENTRIES = 2 ** 28;

interface Filter {
  /** Whether the tile at `origin` (source pixels) covers enough tissue. */
  keeps(origin: readonly number[]): boolean;
}

interface Plan {
  counts: number[];
  stride: number[];
  total: number;
  dims: number;
  wide: boolean;
  filter: Filter | null;
  batchSize: number | undefined;
}

function tissueFilter(o: TileOriginsOptions, g: Geometry): Filter | null {
  if (o.tissue === undefined) {
    if (o.tissueScale !== undefined || o.minTissueFraction !== undefined) {
      throw typeError(ErrorCode.OPTION_TYPE, 'tissueScale and minTissueFraction apply only with a tissue mask (options.tissue)');
    }
    return null;
  }
  const tissue = o.tissue as { data?: unknown; shape?: unknown };
  const data = tissue?.data;
  if (tissue === null || typeof tissue !== 'object' || !ArrayBuffer.isView(data) || data instanceof DataView) {
    throw typeError(
      ErrorCode.OPTION_TYPE,
      `tissue must be { data: Uint8Array, shape: [h, w] } (nonzero = tissue; tissueMask(thumbnail) makes one); received ${describe(tissue)}`,
    );
  }
  const values = data as unknown as ArrayLike<number | bigint>;
  const shape = tissue.shape;
  const n = g.sourceExtents.length;
  if (n !== 2) {
    throw rangeError(ErrorCode.OPTION_RANGE, `tissue filtering needs a 2-D builder; this one has ${n} dimensions`);
  }
  if (
    !Array.isArray(shape) ||
    shape.length !== 2 ||
    !shape.every((d) => Number.isSafeInteger(d) && d > 0) ||
    shape[0] * shape[1] !== values.length
  ) {
    throw rangeError(
      ErrorCode.IMAGE_SHAPE,
      `tissue.shape must be [h, w] matching tissue.data (${values.length} values); received ${describe(shape)}` +
        (Array.isArray(shape) && shape.length === 3 ? ' (an RGB thumbnail? make a mask with tissueMask(thumbnail))' : ''),
    );
  }
  const [h, w] = shape as number[];
  const scaleInput = o.tissueScale ?? [g.sourceExtents[0] / h, g.sourceExtents[1] / w];
  const scale = typeof scaleInput === 'number' ? [scaleInput, scaleInput] : Array.from(scaleInput as ArrayLike<unknown>);
  if (scale.length !== 2 || !scale.every((s) => typeof s === 'number' && Number.isFinite(s) && s > 0)) {
    throw rangeError(
      ErrorCode.OPTION_RANGE,
      `tissueScale must be a positive number or [y, x] (source pixels per tissue-mask pixel); received ${describe(o.tissueScale)}`,
    );
  }
  const fraction = o.minTissueFraction ?? 0;
  if (typeof fraction !== 'number' || !(fraction >= 0 && fraction <= 1)) {
    throw rangeError(ErrorCode.OPTION_RANGE, `minTissueFraction must be a number from 0 to 1; received ${describe(fraction)}`);
  }
  // Summed-area table: the tissue pixels of any tile footprint in four reads.
  const table = new Float64Array((h + 1) * (w + 1));
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      row += values[y * w + x] ? 1 : 0;
      table[(y + 1) * (w + 1) + x + 1] = table[y * (w + 1) + x + 1] + row;
    }
  }
  const [sy, sx] = scale as number[];
  const [ty, tx] = g.sourceTileExtent;
  return {
    keeps([oy, ox]) {
      // Tissue pixels the tile overlaps, clipped to the mask.
      const y0 = Math.min(h, Math.floor(oy / sy));
      const y1 = Math.min(h, Math.ceil((oy + ty) / sy));
      const x0 = Math.min(w, Math.floor(ox / sx));
      const x1 = Math.min(w, Math.ceil((ox + tx) / sx));
      const area = (y1 - y0) * (x1 - x0);
      if (area === 0) return false;
      const count = table[y1 * (w + 1) + x1] - table[y0 * (w + 1) + x1] - table[y1 * (w + 1) + x0] + table[y0 * (w + 1) + x0];
      return count > 0 && count >= fraction * area;
    },
  };
}

function plan(options: unknown, g: Geometry): Plan {
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    throw typeError(ErrorCode.OPTION_TYPE, `tileOrigins options must be an object; received ${describe(options)}`);
  }
  const o = (options ?? {}) as TileOriginsOptions;
  for (const key of Object.keys(o)) {
    if (!KNOWN.includes(key)) {
      throw typeError(ErrorCode.UNKNOWN_OPTION, `unknown tileOrigins option '${key}'. Known options: ${KNOWN.join(', ')}`);
    }
  }
  const batchSize = o.batchSize;
  if (batchSize !== undefined && !(typeof batchSize === 'number' && Number.isSafeInteger(batchSize) && batchSize > 0)) {
    throw rangeError(ErrorCode.OPTION_RANGE, `batchSize must be a positive integer; received ${describe(batchSize)}`);
  }
  // The builder's own grid: (span - tile) / stride + 1 tiles per dimension, exactly.
  const counts = g.span.map((s, d) => (s - g.sourceTileExtent[d]) / g.stride[d] + 1);
  const total = counts.reduce((a, c) => a * c, 1);
  const dims = counts.length;
  const wide = g.span.some((s, d) => s - g.sourceTileExtent[d] >= 2 ** 31);
  return { counts, stride: g.stride, total, dims, wide, filter: tissueFilter(o, g), batchSize };
}

/** Origins in C order of the grid (first dimension slowest), `count` at a time. */
function* batches(p: Plan, size: number): Generator<TileOrigins> {
  const Ctor = p.wide ? Float64Array : Int32Array;
  const index = new Array<number>(p.dims).fill(0);
  const origin = new Array<number>(p.dims).fill(0);
  let buffer = new Ctor(Math.min(size, p.total) * p.dims);
  let filled = 0;
  for (let t = 0; t < p.total; t++) {
    for (let d = 0; d < p.dims; d++) origin[d] = index[d] * p.stride[d];
    if (p.filter === null || p.filter.keeps(origin)) {
      buffer.set(origin, filled * p.dims);
      if (++filled === size) {
        yield { data: buffer, shape: [filled, p.dims] };
        buffer = new Ctor(Math.min(size, p.total - t - 1) * p.dims);
        filled = 0;
      }
    }
    for (let d = p.dims - 1; d >= 0; d--) {
      if (++index[d] < p.counts[d]) break;
      index[d] = 0;
    }
  }
  if (filled > 0) yield { data: buffer.slice(0, filled * p.dims), shape: [filled, p.dims] };
}

/** `builder.tileOrigins(options)`: one array, or an iterator of batches with `batchSize`. */
export function tileOrigins(g: Geometry, options: unknown): TileOrigins | IterableIterator<TileOrigins> {
  const p = plan(options, g);
  if (p.batchSize !== undefined) return batches(p, p.batchSize);
  if (p.total * p.dims > MAX_ENTRIES) {
    throw rangeError(
      ErrorCode.OUTPUT_TOO_LARGE,
      `the grid ${list(p.counts)} has ${p.total} tiles, too many for one array; pass batchSize to iterate over them`,
    );
  }
  const parts = [...batches(p, Math.max(p.total, 1))];
  if (parts.length === 0) return { data: new (p.wide ? Float64Array : Int32Array)(0), shape: [0, p.dims] };
  return parts[0];
}
