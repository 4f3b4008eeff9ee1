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

  /**
   * Calls `visit(maskOffset, tileOffset, footprintOffset)` for each row of tile `t`'s box; `footprintOffset`
   * is the row's first element in the batch's clipped footprint (row-major), where a weight map is read.
   */
  forEach(
    t: number,
    visit: (maskOffset: number, tileOffset: number, footprintOffset: number) => void,
    origin: ArrayLike<number> = originOf(this.plan, t),
  ): void {
    const { plan, g, r, maskStrides, tileStrides } = this;
    const n = plan.footprint.length;
    const last = n - 1;
    const [skip, extent] = this.box(t);
    for (let d = 0; d < n; d++) if (extent[d] === 0) return;
    const tileLast = plan.clipStart[last] + Math.floor(skip[last] / g.upscaleFactor[last]);
    if (n === 1) {
      visit(origin[0], tileLast, skip[0]);
      return;
    }
    r.fill(0);
    for (;;) {
      let maskOffset = origin[last];
      let tileOffset = tileLast;
      let footprintOffset = 0;
      for (let d = 0; d < last; d++) {
        maskOffset += (origin[d] + r[d]) * maskStrides[d];
        tileOffset += (plan.clipStart[d] + Math.floor((skip[d] + r[d]) / g.upscaleFactor[d])) * tileStrides[d];
        footprintOffset = footprintOffset * plan.footprint[d] + skip[d] + r[d];
      }
      visit(maskOffset, tileOffset, footprintOffset * plan.footprint[last] + skip[last]);
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

/** How a batch updates the accumulator (the mirror of the core's `Update`). */
export type Update =
  | { kind: 'sum' | 'max' | 'min' | 'welford' }
  /** `weights`: the batch's clipped footprint map; `aux` holds the weight sum. */
  | { kind: 'weighted'; weights: FloatArray };

export interface Accumulator {
  mask: FloatArray;
  counter: CounterArray | null;
  /** The weight sum plane, or one plane of squared deviations per channel. */
  aux: FloatArray | null;
  planeLength: number;
}

const identity = (x: number) => x;

/**
 * Applies a planned batch. Sum, max and mean go through `applySumOrMax`; the
 * rest round every intermediate to the accumulator's type (`Math.fround`
 * for float32) so results equal the core's bit for bit.
 */
export function applyUpdate(
  g: Geometry,
  plan: BatchPlan,
  data: FloatArray,
  acc: Accumulator,
  update: Update,
  extents: readonly number[] = g.maskExtents,
): void {
  if (update.kind === 'sum' || update.kind === 'max') {
    applyBatch(g, plan, data, acc.mask, acc.counter, acc.planeLength, update.kind === 'max', extents);
    return;
  }
  const { mask, counter, aux, planeLength } = acc;
  const round = mask instanceof Float32Array ? Math.fround : identity;
  const n = g.maskExtents.length;
  const upscale = g.upscaleFactor[n - 1];
  const tilePlane = plan.tileLength / plan.channels;
  const walker = new RowWalker(extents, g, plan);
  for (let t = 0; t < plan.tiles; t++) {
    const tileBase = t * plan.tileLength;
    const [skip, extent] = walker.box(t);
    const rowLength = extent[n - 1];
    const phase = skip[n - 1] % upscale;
    // Source index of mask pixel `i` of a row (scalar tiles read one value).
    const source = (c: number, tileOffset: number, i: number) =>
      plan.scalar ? tileBase + c : tileBase + c * tilePlane + tileOffset + Math.floor((phase + i) / upscale);
    walker.forEach(t, (maskOffset, tileOffset, footprintOffset) => {
      if (update.kind === 'min') {
        for (let c = 0; c < plan.channels; c++) {
          const dst = c * planeLength + maskOffset;
          for (let i = 0; i < rowLength; i++) {
            const v = data[source(c, tileOffset, i)];
            if (v < mask[dst + i] || v !== v) mask[dst + i] = v;
          }
        }
      } else if (update.kind === 'weighted') {
        const w = update.weights;
        const wBase = footprintOffset;
        for (let c = 0; c < plan.channels; c++) {
          const dst = c * planeLength + maskOffset;
          for (let i = 0; i < rowLength; i++) mask[dst + i] += round(data[source(c, tileOffset, i)] * w[wBase + i]);
        }
        const sums = aux as FloatArray;
        for (let i = 0; i < rowLength; i++) sums[maskOffset + i] += w[wBase + i];
      } else {
        const counts = counter as CounterArray;
        const m2 = aux as FloatArray;
        for (let c = 0; c < plan.channels; c++) {
          const dst = c * planeLength + maskOffset;
          for (let i = 0; i < rowLength; i++) {
            const j = dst + i;
            const count = counts[maskOffset + i] + 1;
            const v = data[source(c, tileOffset, i)];
            const delta = round(v - mask[j]);
            mask[j] += round(delta / count);
            m2[j] += round(delta * round(v - mask[j]));
          }
        }
      }
      if (counter) for (let i = maskOffset, end = maskOffset + rowLength; i < end; i++) counter[i]++;
    });
  }
}

/** Adds (mean) or maximizes (max) a planned batch into `mask`; counts overlaps in `counter`. */
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

/** `mask /= weightSum` per channel where the sum is positive, else 0. */
export function divideBySums(mask: FloatArray, sums: FloatArray, planeLength: number): void {
  for (let c = 0; c < mask.length; c += planeLength) {
    for (let i = 0; i < planeLength; i++) {
      const s = sums[i];
      mask[c + i] = s > 0 ? mask[c + i] / s : 0;
    }
  }
}

/** Sums of squared deviations into population variances; 0 where no tile landed. */
export function varianceFromM2(m2: FloatArray, counter: CounterArray, planeLength: number): void {
  for (let c = 0; c < m2.length; c += planeLength) {
    for (let i = 0; i < planeLength; i++) {
      const n = counter[i];
      m2[c + i] = n === 0 ? 0 : m2[c + i] / n;
    }
  }
}

/** Argmax over the class planes (ties go low, NaN never wins); `background` where the count is 0. */
export function argmaxPlanes(
  mask: FloatArray,
  channels: number,
  counter: CounterArray | null,
  background: number,
): { labels: Uint8Array | Uint16Array; confidence: FloatArray } {
  const plane = mask.length / channels;
  const labels = channels <= 256 ? new Uint8Array(plane) : new Uint16Array(plane);
  const confidence = mask.slice(0, plane) as FloatArray;
  for (let c = 1; c < channels; c++) {
    const base = c * plane;
    for (let i = 0; i < plane; i++) {
      const v = mask[base + i];
      const best = confidence[i];
      if (v > best || (best !== best && v === v)) {
        confidence[i] = v;
        labels[i] = c;
      }
    }
  }
  if (counter) {
    for (let i = 0; i < plane; i++) {
      if (counter[i] === 0) {
        labels[i] = background;
        confidence[i] = 0;
      }
    }
  }
  return { labels, confidence };
}

/** uint8 `v >= threshold` (NaN reads 0). */
export function thresholdValues(values: FloatArray, threshold: number): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] >= threshold ? 1 : 0;
  return out;
}

/** uint8 `round(clamp(v, 0, 1) * 255)` (NaN reads 0). */
export function quantizeValues(values: FloatArray): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = v !== v ? 0 : Math.round(Math.min(Math.max(v, 0), 1) * 255);
  }
  return out;
}

/**
 * Combines `channels` planes of a source window `src` (extents `srcExtent`)
 * into `dst` (extents `dstExtent`) at `offset`, row by row: the mirror of the
 * core's merge kernels (sum for mean, sum and argmax; NaN-sticky max and min).
 */
export function mergeValues(
  dst: FloatArray,
  dstExtent: readonly number[],
  src: FloatArray,
  srcExtent: readonly number[],
  offset: readonly number[],
  channels: number,
  combine: 'sum' | 'max' | 'min',
): void {
  const dstPlane = dstExtent.reduce((a, e) => a * e, 1);
  const srcPlane = srcExtent.reduce((a, e) => a * e, 1);
  for (let c = 0; c < channels; c++) {
    forEachPlacedRow(dstExtent, srcExtent, offset, (d, s, length) => {
      const db = c * dstPlane + d;
      const sb = c * srcPlane + s;
      if (combine === 'max') {
        for (let i = 0; i < length; i++) {
          const v = src[sb + i];
          if (v > dst[db + i] || v !== v) dst[db + i] = v;
        }
      } else if (combine === 'min') {
        for (let i = 0; i < length; i++) {
          const v = src[sb + i];
          if (v < dst[db + i] || v !== v) dst[db + i] = v;
        }
      } else {
        for (let i = 0; i < length; i++) dst[db + i] += src[sb + i];
      }
    });
  }
}

/**
 * Combines variance states (count, mean, M2) of a source window per pixel
 * (Chan et al.), the mirror of the core's `welford_merge_row`: `counts`
 * already holds the merged counts n, `srcCounts` the source's nb.
 */
export function mergeWelford(
  mean: FloatArray,
  m2: FloatArray,
  counts: CounterArray,
  srcMean: FloatArray,
  srcM2: FloatArray,
  srcCounts: CounterArray,
  dstExtent: readonly number[],
  srcExtent: readonly number[],
  offset: readonly number[],
  channels: number,
): void {
  const round = mean instanceof Float32Array ? Math.fround : identity;
  const dstPlane = dstExtent.reduce((a, e) => a * e, 1);
  const srcPlane = srcExtent.reduce((a, e) => a * e, 1);
  for (let c = 0; c < channels; c++) {
    forEachPlacedRow(dstExtent, srcExtent, offset, (d, s, length) => {
      for (let i = 0; i < length; i++) {
        const nb = srcCounts[s + i];
        if (nb === 0) continue;
        const n = counts[d + i];
        const [j, k] = [c * dstPlane + d + i, c * srcPlane + s + i];
        if (n === nb) {
          mean[j] = srcMean[k];
          m2[j] = srcM2[k];
          continue;
        }
        const share = round(round(nb) / round(n));
        const delta = round(srcMean[k] - mean[j]);
        mean[j] = round(mean[j] + round(delta * share));
        m2[j] = round(round(m2[j] + srcM2[k]) + round(round(round(delta * delta) * round(n - nb)) * share));
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
