/**
 * Row kernels of the pure-JS backend: for every mask row a tile covers, each
 * channel row and the counter row are updated straight from the tile's row.
 * Clipping, scalar expansion and upscaling happen while writing.
 */

import type { Geometry } from '../backend';
import type { CounterArray, FloatArray } from '../ndarray';
import type { BatchPlan } from './plan';

/** Per-batch constants for walking the rows of tile footprints in a mask of `extents`. */
class RowWalker {
  private readonly maskStrides: number[];
  private readonly tileStrides: number[];
  private readonly r: number[];

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
  }

  /** Calls `visit(maskOffset, tileOffset)` for each row of the footprint at `origin`. */
  forEach(origin: ArrayLike<number>, visit: (maskOffset: number, tileOffset: number) => void): void {
    const { plan, g, r, maskStrides, tileStrides } = this;
    const n = plan.footprint.length;
    const last = n - 1;
    if (n === 1) {
      visit(origin[0], plan.clipStart[0]);
      return;
    }
    r.fill(0);
    for (;;) {
      let maskOffset = origin[last];
      let tileOffset = plan.clipStart[last];
      for (let d = 0; d < last; d++) {
        maskOffset += (origin[d] + r[d]) * maskStrides[d];
        tileOffset += (plan.clipStart[d] + Math.floor(r[d] / g.upscaleFactor[d])) * tileStrides[d];
      }
      visit(maskOffset, tileOffset);
      let d = last - 1;
      for (;;) {
        if (++r[d] < plan.footprint[d]) break;
        if (d === 0) return;
        r[d--] = 0;
      }
    }
  }
}

const originOf = (plan: BatchPlan, t: number) =>
  plan.origins.subarray(t * plan.footprint.length, (t + 1) * plan.footprint.length);

/** Adds (mean) or maximizes (max) a planned batch into `mask`; counts overlaps in `counter`. */
export function applyBatch(
  g: Geometry,
  plan: BatchPlan,
  data: FloatArray,
  mask: FloatArray,
  counter: CounterArray | null,
  planeLength: number,
  max: boolean,
): void {
  const n = g.maskExtents.length;
  const rowLength = plan.footprint[n - 1];
  const upscale = g.upscaleFactor[n - 1];
  const srcLength = rowLength / upscale;
  const tilePlane = plan.tileLength / plan.channels;
  const walker = new RowWalker(g.maskExtents, g, plan);
  for (let t = 0; t < plan.tiles; t++) {
    const tileBase = t * plan.tileLength;
    walker.forEach(originOf(plan, t), (maskOffset, tileOffset) => {
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
          for (let j = 0; j < srcLength; j++) {
            const v = data[src + j];
            const block = dst + j * upscale;
            if (max) {
              for (let k = block; k < block + upscale; k++) if (v > mask[k] || v !== v) mask[k] = v;
            } else {
              for (let k = block; k < block + upscale; k++) mask[k] += v;
            }
          }
        }
      }
      if (counter) for (let i = maskOffset, end = maskOffset + rowLength; i < end; i++) counter[i]++;
    });
  }
}

/** Highest count under each tile's footprint, walking the batch's geometry once. */
export function footprintPeaks(g: Geometry, plan: BatchPlan, counter: CounterArray): number[] {
  const rowLength = plan.footprint[plan.footprint.length - 1];
  const walker = new RowWalker(g.maskExtents, g, plan);
  return Array.from({ length: plan.tiles }, (_, t) => {
    let peak = 0;
    walker.forEach(originOf(plan, t), (maskOffset) => {
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
  new RowWalker(plan.footprint, g, plan).forEach(new Array<number>(n).fill(0), (row, tileOffset) => {
    for (let c = 0; c < plan.channels; c++) {
      const dst = c * footprintLength + row;
      for (let i = 0; i < rowLength; i++) {
        sample[dst + i] = plan.scalar
          ? data[tileBase + c]
          : data[tileBase + c * tilePlane + tileOffset + Math.floor(i / upscale)];
      }
    }
  });
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
