/**
 * Row kernels of the pure-JS backend: for every mask row a tile covers, each
 * channel row and the counter row are updated straight from the tile's row.
 * Clipping, scalar expansion and upscaling happen while writing.
 */

import type { Geometry } from '../backend';
import type { CounterArray, FloatArray } from '../ndarray';
import type { BatchPlan } from './plan';

/** Per-batch constants for walking the rows of tile footprints in a storage of `extents`. */
class RowWalker {
  private readonly maskStrides: number[];
  private readonly tileStrides: number[];
  private readonly r: number[];
  private readonly zeros: number[];

  constructor(
    extents: readonly number[],
    private readonly g: Geometry,
    private readonly plan: BatchPlan,
  ) {
    const n = extents.length;
    this.maskStrides = new Array<number>(n).fill(1);
    this.tileStrides = new Array<number>(n).fill(1);
    for (let d = n - 2; d >= 0; d--) {
      this.maskStrides[d] = this.maskStrides[d + 1] * extents[d + 1];
      this.tileStrides[d] = this.tileStrides[d + 1] * g.outputTileExtent[d + 1];
    }
    this.r = new Array<number>(Math.max(n - 1, 0)).fill(0);
    this.zeros = new Array<number>(n).fill(0);
  }

  /** `[skip, extent]` of tile `t`'s written box within its footprint. */
  box(t: number): [ArrayLike<number>, ArrayLike<number>] {
    const { plan } = this;
    const n = plan.footprint.length;
    if (!plan.boxes) return [this.zeros, plan.footprint];
    return [plan.boxes.subarray(t * 2 * n, t * 2 * n + n), plan.boxes.subarray(t * 2 * n + n, (t + 1) * 2 * n)];
  }

  /** Calls `visit(maskOffset, tileOffset)` for each row of tile `t`'s box. */
  forEach(
    t: number,
    visit: (maskOffset: number, tileOffset: number) => void,
    origin: ArrayLike<number> = originOf(this.plan, t),
  ): void {
    const { plan, g, r, maskStrides, tileStrides } = this;
    const n = plan.footprint.length;
    const last = n - 1;
    const [skip, extent] = this.box(t);
    for (let d = 0; d < n; d++) if (extent[d] === 0) return;
    const tileLast = plan.clipStart[last] + Math.floor(skip[last] / g.upscaleFactor[last]);
    if (n === 1) {
      visit(origin[0], tileLast);
      return;
    }
    r.fill(0);
    for (;;) {
      let maskOffset = origin[last];
      let tileOffset = tileLast;
      for (let d = 0; d < last; d++) {
        maskOffset += (origin[d] + r[d]) * maskStrides[d];
        tileOffset += (plan.clipStart[d] + Math.floor((skip[d] + r[d]) / g.upscaleFactor[d])) * tileStrides[d];
      }
      visit(maskOffset, tileOffset);
      let d = last - 1;
      for (;;) {
        if (++r[d] < extent[d]) break;
        if (d === 0) return;
        r[d--] = 0;
      }
    }
  }
}

const originOf = (plan: BatchPlan, t: number) =>
  plan.origins.subarray(t * plan.footprint.length, (t + 1) * plan.footprint.length);

/**
 * Adds (mean) or maximizes (max) a planned batch into `mask`, whose planes
 * have the storage's `extents`; counts overlaps in `counter`.
 */
export function applyBatch(
  g: Geometry,
  plan: BatchPlan,
  data: FloatArray,
  mask: FloatArray,
  counter: CounterArray | null,
  planeLength: number,
  max: boolean,
  extents: readonly number[] = g.maskExtents,
): void {
  const n = g.maskExtents.length;
  const upscale = g.upscaleFactor[n - 1];
  const tilePlane = plan.tileLength / plan.channels;
  const walker = new RowWalker(extents, g, plan);
  for (let t = 0; t < plan.tiles; t++) {
    const tileBase = t * plan.tileLength;
    const [skip, extent] = walker.box(t);
    const rowLength = extent[n - 1];
    const phase = skip[n - 1] % upscale;
    walker.forEach(t, (maskOffset, tileOffset) => {
      for (let c = 0; c < plan.channels; c++) {
        const dst = c * planeLength + maskOffset;
        if (plan.scalar) {
          const v = data[tileBase + c];
          if (max) {
            for (let i = dst, end = dst + rowLength; i < end; i++) if (v > mask[i] || v !== v) mask[i] = v;
          } else {
            for (let i = dst, end = dst + rowLength; i < end; i++) mask[i] += v;
          }
          continue;
        }
        const src = tileBase + c * tilePlane + tileOffset;
        if (upscale === 1) {
          if (max) {
            for (let i = 0; i < rowLength; i++) {
              const v = data[src + i];
              if (v > mask[dst + i] || v !== v) mask[dst + i] = v;
            }
          } else {
            for (let i = 0; i < rowLength; i++) mask[dst + i] += data[src + i];
          }
        } else {
          // Pixel i of the row reads source value (phase + i) / upscale.
          for (let i = 0; i < rowLength; i++) {
            const v = data[src + Math.floor((phase + i) / upscale)];
            const k = dst + i;
            if (max) {
              if (v > mask[k] || v !== v) mask[k] = v;
            } else {
              mask[k] += v;
            }
          }
        }
      }
      if (counter) for (let i = maskOffset, end = maskOffset + rowLength; i < end; i++) counter[i]++;
    });
  }
}

/** Highest count under each tile's footprint, walking the batch's geometry once. */
export function footprintPeaks(
  g: Geometry,
  plan: BatchPlan,
  counter: CounterArray,
  extents: readonly number[] = g.maskExtents,
): number[] {
  const walker = new RowWalker(extents, g, plan);
  return Array.from({ length: plan.tiles }, (_, t) => {
    let peak = 0;
    const rowLength = walker.box(t)[1][plan.footprint.length - 1];
    walker.forEach(t, (maskOffset) => {
      for (let i = maskOffset; i < maskOffset + rowLength; i++) if (counter[i] > peak) peak = counter[i];
    });
    return peak;
  });
}

/** Tile `t` clipped and upscaled into a `[C, ...footprint]` array, for user aggregators. */
export function materializeSample(g: Geometry, plan: BatchPlan, data: FloatArray, t: number): FloatArray {
  const n = g.maskExtents.length;
  const footprintLength = plan.footprint.reduce((a, f) => a * f, 1);
  const sample = new (data.constructor as { new (length: number): FloatArray })(plan.channels * footprintLength);
  const rowLength = plan.footprint[n - 1];
  const upscale = g.upscaleFactor[n - 1];
  const tilePlane = plan.tileLength / plan.channels;
  const tileBase = t * plan.tileLength;
  // The sample is the footprint itself, walked from origin 0.
  new RowWalker(plan.footprint, g, plan).forEach(
    t,
    (row, tileOffset) => {
      for (let c = 0; c < plan.channels; c++) {
        const dst = c * footprintLength + row;
        for (let i = 0; i < rowLength; i++) {
          sample[dst + i] = plan.scalar
            ? data[tileBase + c]
            : data[tileBase + c * tilePlane + tileOffset + Math.floor(i / upscale)];
        }
      }
    },
    new Array<number>(n).fill(0),
  );
  return sample;
}

export function divideByCounts(mask: FloatArray, counter: CounterArray, planeLength: number): void {
  for (let c = 0; c < mask.length; c += planeLength) {
    for (let i = 0; i < planeLength; i++) {
      const k = counter[i];
      mask[c + i] /= Math.max(k, 1);
    }
  }
}

/**
 * Combines `channels` planes of a source window `src` (extents `srcExtent`)
 * into `dst` (extents `dstExtent`) at `offset`, row by row: the mirror of the
 * core's merge kernels (sum for mean, NaN-sticky max for max).
 */
export function mergeValues(
  dst: FloatArray,
  dstExtent: readonly number[],
  src: FloatArray,
  srcExtent: readonly number[],
  offset: readonly number[],
  channels: number,
  max: boolean,
): void {
  const dstPlane = dstExtent.reduce((a, e) => a * e, 1);
  const srcPlane = srcExtent.reduce((a, e) => a * e, 1);
  for (let c = 0; c < channels; c++) {
    forEachPlacedRow(dstExtent, srcExtent, offset, (d, s, length) => {
      const db = c * dstPlane + d;
      const sb = c * srcPlane + s;
      if (max) {
        for (let i = 0; i < length; i++) {
          const v = src[sb + i];
          if (v > dst[db + i] || v !== v) dst[db + i] = v;
        }
      } else {
        for (let i = 0; i < length; i++) dst[db + i] += src[sb + i];
      }
    });
  }
}

/** Adds overlap counts of a source window; returns false, writing nothing, if any would exceed `max`. */
export function mergeCounts(
  dst: CounterArray,
  dstExtent: readonly number[],
  src: CounterArray,
  srcExtent: readonly number[],
  offset: readonly number[],
  max: number,
): boolean {
  let fits = true;
  forEachPlacedRow(dstExtent, srcExtent, offset, (d, s, length) => {
    for (let i = 0; i < length && fits; i++) if (dst[d + i] + src[s + i] > max) fits = false;
  });
  if (!fits) return false;
  forEachPlacedRow(dstExtent, srcExtent, offset, (d, s, length) => {
    for (let i = 0; i < length; i++) dst[d + i] += src[s + i];
  });
  return true;
}

/** Calls `visit(dstOffset, srcOffset, length)` for every row of the source window placed in the destination. */
function forEachPlacedRow(
  dstExtent: readonly number[],
  srcExtent: readonly number[],
  offset: readonly number[],
  visit: (dstOffset: number, srcOffset: number, length: number) => void,
): void {
  const n = dstExtent.length;
  const last = n - 1;
  const dstStrides = new Array<number>(n).fill(1);
  for (let d = n - 2; d >= 0; d--) dstStrides[d] = dstStrides[d + 1] * dstExtent[d + 1];
  const rows = srcExtent.slice(0, last).reduce((a, e) => a * e, 1);
  const index = new Array<number>(Math.max(last, 0)).fill(0);
  for (let row = 0; row < rows; row++) {
    let d0 = offset[last];
    for (let d = 0; d < last; d++) d0 += (offset[d] + index[d]) * dstStrides[d];
    visit(d0, row * srcExtent[last], srcExtent[last]);
    for (let d = last - 1; d >= 0; d--) {
      if (++index[d] < srcExtent[d]) break;
      index[d] = 0;
    }
  }
}
