/**
 * The pure-JavaScript backend: a complete second implementation over typed
 * arrays. It is the benchmark baseline, the test oracle, the fallback when
 * no native binary loads, and the home of user-defined strategies.
 */

import { join } from 'node:path';
import type { Backend, Geometry, PartialRef, StorageFile, TileCounts } from '../backend';
import { describe, ErrorCode, list, rangeError, typeError } from '../errors';
import type { Batch, Clipping, CoordsTable } from '../inputs';
import { ARRAY_TYPES, type ArrayDtype, type CounterArray, copyWindow, type FloatArray, type NdArray, product } from '../ndarray';
import { readNpy, writeNpy } from '../npy';
import { type MaskRegion, type ResolvedFinalize, type ResolvedOptions, storageBytes } from '../options';
import { ACCUMULATOR_FILE, COUNTER_FILE, M2_FILE, WEIGHT_SUM_FILE } from '../partial-files';
import { type Aggregator, type AggregatorContext, InMemory } from '../strategies';
import { computeGeometry, planeLength } from './geometry';
import {
  applyUpdate,
  argmaxPlanes,
  divideByCounts,
  divideBySums,
  footprintPeaks,
  materializeSample,
  mergeCounts,
  mergeValues,
  mergeWelford,
  quantizeValues,
  thresholdValues,
  type Update,
  varianceFromM2,
} from './kernels';
import { Lifecycle, type LifecycleState } from './lifecycle';
import { type BatchPlan, planBatch } from './plan';
import { clipMap, footprintWeights } from './weights';

/** Most classes argmax labels (uint16), as in the core. */
const MAX_ARGMAX_CLASSES = 1 << 16;

const TAKES_WEIGHTS = new Set(['mean', 'sum', 'argmax']);

/** Refuses option combinations the aggregation cannot honour (the core's `check_aggregation`). */
function checkAggregation(options: ResolvedOptions): void {
  const aggregation = options.aggregation as string;
  if (options.weights.kind !== 'uniform' && !TAKES_WEIGHTS.has(aggregation)) {
    throw typeError(
      ErrorCode.OPTION_TYPE,
      `weights apply to the mean, sum and argmax aggregations; aggregation is '${aggregation}'. Drop weights or use aggregation: 'mean'`,
    );
  }
  if (aggregation === 'argmax') {
    checkBackgroundLabel(options.background, 'background');
    if (options.nChannels < 2 || options.nChannels > MAX_ARGMAX_CLASSES) {
      throw rangeError(
        ErrorCode.OPTION_RANGE,
        `aggregation 'argmax' needs nChannels from 2 to ${MAX_ARGMAX_CLASSES} (one score per class); received nChannels ${options.nChannels}`,
      );
    }
    if (options.background >= options.nChannels) {
      throw rangeError(
        ErrorCode.OPTION_RANGE,
        `background must be a class label from 0 to ${options.nChannels - 1}; received ${options.background}`,
      );
    }
  }
}

/** The binding's u16 conversion of a background label. */
function checkBackgroundLabel(value: number, _what: string): void {
  if (value > 0xffff) {
    throw rangeError(ErrorCode.OPTION_RANGE, `background must be a class label from 0 to 65535; received ${value}`);
  }
}

/** Batches up to this size get an exact overlap count near the counter limit. */
const PAIRWISE_OVERLAP_LIMIT = 4096;

function footprintsOverlap(plan: BatchPlan, a: number, b: number): boolean {
  const n = plan.footprint.length;
  const extent = (t: number, d: number) => (plan.boxes ? plan.boxes[t * 2 * n + n + d] : plan.footprint[d]);
  for (let d = 0; d < n; d++) {
    const x = plan.origins[a * n + d];
    const y = plan.origins[b * n + d];
    if (!(extent(a, d) > 0 && extent(b, d) > 0 && x < y + extent(b, d) && y < x + extent(a, d))) return false;
  }
  return true;
}

/** Cuts every tile of `plan` to `region` (see the core's `clip_plan_to_region`). */
function clipPlanToRegion(plan: BatchPlan, region: MaskRegion): void {
  const n = plan.footprint.length;
  const boxes = new Float64Array(plan.tiles * 2 * n);
  let skipped = 0;
  for (let t = 0; t < plan.tiles; t++) {
    let outside = false;
    for (let d = 0; d < n; d++) {
      const lo = plan.origins[t * n + d];
      const hi = lo + plan.footprint[d];
      const clo = Math.max(lo, region.start[d]);
      const chi = Math.min(hi, region.start[d] + region.extent[d]);
      if (clo >= chi) {
        outside = true;
        break;
      }
      boxes[t * 2 * n + d] = clo - lo;
      boxes[t * 2 * n + n + d] = chi - clo;
      plan.origins[t * n + d] = clo - region.start[d];
    }
    if (outside) {
      skipped++;
      boxes.fill(0, t * 2 * n, (t + 1) * 2 * n);
      plan.origins.fill(0, t * n, (t + 1) * n);
    }
  }
  plan.boxes = boxes;
  plan.skipped = skipped;
}

/** A builder's un-normalized state, as merged into another. */
interface State {
  region: MaskRegion;
  mask: FloatArray;
  counter: CounterArray | null;
  /** The weight sum plane (weighted) or the M2 planes (variance). */
  aux: FloatArray | null;
  tilesApplied: number;
  tilesSkipped: number;
}

/** Checks what a storage factory returned. */
function checkAllocated(array: unknown, shape: number[], dtype: ArrayDtype, what: string): NdArray<any> {
  const a = array as NdArray<any> | undefined;
  const ctor = ARRAY_TYPES[dtype];
  if (!a || typeof a !== 'object' || !(a.data instanceof ctor) || a.data.length !== product(shape)) {
    throw typeError(
      ErrorCode.STORAGE,
      `the storage factory must return { data: ${ctor.name}(${product(shape)}), shape } for the ${what}; received ${describe(a?.data)}`,
    );
  }
  return { data: a.data, shape: [...shape], dtype };
}

export class JsBackend implements Backend {
  readonly name = 'js' as const;
  readonly geometry: Geometry;
  readonly pending = 0;
  private readonly planeLength: number;
  private readonly mask: NdArray;
  private readonly counter: NdArray<CounterArray> | null = null;
  /** The weight sum plane, or the squared deviations (variance). */
  private readonly aux: NdArray | null = null;
  private readonly weightMap: FloatArray | null = null;
  private clippedWeights: { key: string; map: FloatArray } | null = null;
  private readonly aggregator: Aggregator<unknown> | null = null;
  private tilesApplied = 0;
  private tilesSkipped = 0;
  readonly region: MaskRegion;
  /** Whether `region` was given (tiles are cut to it). */
  private readonly regional: boolean;
  private readonly lifecycle = new Lifecycle<unknown>();

  constructor(private readonly options: ResolvedOptions) {
    if (options.storage === 'memmap') {
      throw typeError(
        ErrorCode.STORAGE,
        "storage: 'memmap' needs the native addon (backend: 'native'); the pure-JavaScript backend keeps masks in memory",
      );
    }
    const g = computeGeometry(options);
    this.geometry = g;
    planeLength(g);
    this.regional = options.region !== undefined;
    this.region = options.region ?? { start: g.maskExtents.map(() => 0), extent: [...g.maskExtents] };
    checkRegion(this.region, g);
    this.planeLength = this.region.extent.reduce((a, e) => a * e, 1);
    if (typeof options.aggregation === 'string') checkAggregation(options);
    const builtin = typeof options.aggregation === 'string' ? options.aggregation : null;
    const weights = footprintWeights(options.weights, g.outputTileExtent, g.upscaleFactor);
    if (weights) this.weightMap = options.dtype === 'float32' ? Float32Array.from(weights) : weights;
    const shape = [options.nChannels, ...this.region.extent];
    const counts = builtin !== null && builtin !== 'max' && builtin !== 'min';
    const auxPlanes = builtin === 'variance' ? options.nChannels : this.weightMap ? 1 : 0;
    const bytes = storageBytes(options, this.planeLength).total;
    const limit = options.maxInMemoryBytes;
    if (options.storage === 'inmemory' && bytes > limit) {
      throw rangeError(
        ErrorCode.MASK_TOO_LARGE,
        `an in-memory mask of ${options.nChannels} x [${g.maskExtents.join(', ')}] ${options.dtype} needs ${(bytes / 2 ** 30).toFixed(2)} GiB with its counter, more than the ${(limit / 2 ** 30).toFixed(2)} GiB this machine allows; use storage: 'memmap'`,
      );
    }
    const factory = typeof options.storage === 'function' ? options.storage : InMemory;
    const allocate = (s: number[], dtype: ArrayDtype, what: string) => {
      try {
        return checkAllocated(factory(s, dtype, options.storageOptions), s, dtype, what);
      } catch (e) {
        if (e instanceof RangeError && !(e as { code?: string }).code) {
          throw rangeError(
            ErrorCode.MASK_TOO_LARGE,
            `cannot allocate the ${what} of shape [${s.join(', ')}] in the JavaScript heap (${e.message}); use the native backend or storage: 'memmap'`,
          );
        }
        throw e;
      }
    };
    this.mask = allocate(shape, options.dtype, 'mask') as NdArray;
    if (typeof options.aggregation === 'function') {
      const context: AggregatorContext = {
        allocate: (s, dtype) => allocate(s, dtype, 'aggregator array'),
        counterDtype: options.counterDtype,
        options: options.aggregationOptions,
      };
      this.aggregator = new options.aggregation(this.mask, context);
    } else {
      if (counts) {
        this.counter = allocate([1, ...this.region.extent], options.counterDtype, 'overlap counter') as NdArray<CounterArray>;
      }
      if (auxPlanes > 0) this.aux = allocate([auxPlanes, ...this.region.extent], options.dtype, 'mask') as NdArray;
      // Start beyond every value so negative maxima (positive minima) survive; 0 where no tile lands.
      if (builtin === 'max') this.mask.data.fill(-Infinity);
      if (builtin === 'min') this.mask.data.fill(Infinity);
    }
  }

  get state(): LifecycleState {
    return this.lifecycle.state;
  }

  check(call: string, building: boolean): void {
    this.lifecycle.check(call, building);
  }

  /** The weight map cut to the batch's clipping (kept while it stays the same). */
  private clipWeights(plan: BatchPlan): FloatArray {
    const map = this.weightMap as FloatArray;
    const key = `${plan.clipStart.join(',')}/${plan.footprint.join(',')}`;
    if (this.clippedWeights?.key !== key) {
      const g = this.geometry;
      const full = g.outputTileExtent.map((o, d) => o * g.upscaleFactor[d]);
      const start = plan.clipStart.map((c, d) => c * g.upscaleFactor[d]);
      this.clippedWeights = { key, map: clipMap(map, full, start, plan.footprint) };
    }
    return this.clippedWeights.map;
  }

  storage(): NdArray {
    return this.mask;
  }

  files(): StorageFile[] {
    return [];
  }

  readRegion(array: 'mask' | 'overlapCounter', channel: number, start: number[], extent: number[]): NdArray<any> {
    const source = array === 'mask' ? this.mask : this.counter;
    if (!source) throw rangeError(ErrorCode.REGION, 'this builder has no overlap counter (max and min aggregations)');
    const extents = this.region.extent;
    const held = this.region;
    const channels = source.shape[0];
    if (channel >= channels) {
      throw rangeError(
        ErrorCode.REGION,
        `channel must be an integer from 0 to ${channels - 1} for the ${array}; received ${channel}`,
      );
    }
    const n = extents.length;
    if (start.length !== n || extent.length !== n) {
      throw rangeError(
        ErrorCode.REGION,
        `start and extent must have ${n} entries (one per spatial dimension); received ${start.length} and ${extent.length}`,
      );
    }
    // The facade checked that every entry is a non-negative integer.
    const inside = extents.every(
      (e, d) => extent[d] > 0 && start[d] >= held.start[d] && start[d] + extent[d] <= held.start[d] + e,
    );
    if (!inside) {
      const where = this.regional
        ? `the region this builder holds (start ${list(held.start)} extent ${list(held.extent)})`
        : `the mask extents [${extents.join(', ')}]`;
      throw rangeError(
        ErrorCode.REGION,
        `the region start [${start.join(', ')}] extent [${extent.join(', ')}] must be non-empty and lie inside ${where}`,
      );
    }
    const plane = source.data.subarray(channel * this.planeLength, (channel + 1) * this.planeLength);
    const relative = start.map((s, d) => s - held.start[d]);
    return { data: copyWindow(plane, extents, relative, extent), shape: [...extent], dtype: source.dtype };
  }

  overlapCounter(): NdArray<CounterArray> | null {
    return this.counter;
  }

  private checkCounterCapacity(plan: BatchPlan): void {
    const counter = this.counter;
    if (!counter) return;
    const max = this.options.counterDtype === 'uint16' ? 0xffff : 0xffffffff;
    if (this.tilesApplied + plan.tiles <= max) return;
    const peaks = footprintPeaks(this.geometry, plan, counter.data, this.region.extent);
    for (let t = 0; t < plan.tiles; t++) {
      const peak = peaks[t];
      if (peak + plan.tiles <= max) continue;
      let overlapping = plan.tiles;
      if (plan.tiles <= PAIRWISE_OVERLAP_LIMIT) {
        overlapping = 0;
        for (let u = 0; u < plan.tiles; u++) if (footprintsOverlap(plan, t, u)) overlapping++;
      }
      if (peak + overlapping > max) {
        throw rangeError(
          ErrorCode.COUNTER_OVERFLOW,
          `tile ${t} of this batch would push the overlap counter past ${max} (${this.options.counterDtype} holds at most ${max} overlapping tiles per pixel); nothing was written. Build with counterDtype: 'uint32' for more overlaps`,
        );
      }
    }
  }

  private plan(batch: Batch, coords: CoordsTable, clipping: Clipping): BatchPlan {
    const plan = planBatch(this.geometry, this.options.nChannels, batch, coords, clipping);
    if (this.regional) clipPlanToRegion(plan, this.region);
    return plan;
  }

  updateBatch(batch: Batch, coords: CoordsTable, clipping: Clipping): void {
    this.lifecycle.check('updateBatch', true);
    const plan = this.plan(batch, coords, clipping);
    this.checkCounterCapacity(plan);
    if (this.aggregator) {
      const n = this.geometry.maskExtents.length;
      for (let t = 0; t < plan.tiles; t++) {
        const sample: NdArray = {
          data: materializeSample(this.geometry, plan, batch.data, t),
          shape: [plan.channels, ...plan.footprint],
          dtype: this.options.dtype,
        };
        this.aggregator.update(this.mask, sample, Array.from(plan.origins.subarray(t * n, (t + 1) * n)));
      }
    } else {
      const aggregation = this.options.aggregation;
      const update: Update =
        aggregation === 'max' || aggregation === 'min'
          ? { kind: aggregation }
          : aggregation === 'variance'
            ? { kind: 'welford' }
            : this.weightMap
              ? { kind: 'weighted', weights: this.clipWeights(plan) }
              : { kind: 'sum' };
      const acc = {
        mask: this.mask.data,
        counter: this.counter?.data ?? null,
        aux: this.aux?.data ?? null,
        planeLength: this.planeLength,
      };
      applyUpdate(this.geometry, plan, batch.data, acc, update, this.region.extent);
    }
    this.tilesApplied += plan.tiles - plan.skipped;
    this.tilesSkipped += plan.skipped;
  }

  checkBatch(batch: Batch, coords: CoordsTable, clipping: Clipping): void {
    this.plan(batch, coords, clipping);
  }

  /** Applies the batch at once (a transferred buffer is simply read); call order is kept trivially. */
  async updateBatchAsync(batch: Batch, coords: CoordsTable, clipping: Clipping, _transferred: boolean): Promise<void> {
    this.updateBatch(batch, coords, clipping);
  }

  /** The core's `check_finalize_request`: what a reduction needs; changes nothing. */
  private checkRequest(request: ResolvedFinalize): void {
    const aggregation = this.options.aggregation;
    if (request.outputFilename !== undefined) {
      throw typeError(
        ErrorCode.STORAGE,
        "finalize option outputFilename needs the native addon (backend: 'native'); the pure-JavaScript backend keeps results in memory",
      );
    }
    if (!request.reduction) return;
    if (typeof aggregation === 'function') {
      throw typeError(
        ErrorCode.OPTION_TYPE,
        `finalize option ${request.reduction} applies to the built-in aggregations, not to a custom aggregator`,
      );
    }
    if (aggregation === 'argmax' || aggregation === 'variance') {
      throw typeError(
        ErrorCode.OPTION_TYPE,
        `finalize option ${request.reduction} applies to the mean, sum, max and min aggregations; aggregation '${aggregation}' ${
          aggregation === 'argmax' ? 'already returns { labels, confidence }' : 'returns { mean, variance, overlapCounter }'
        }`,
      );
    }
    if (request.reduction === 'argmax') {
      const background = request.background ?? 0;
      checkBackgroundLabel(background, 'background');
      const channels = this.options.nChannels;
      if (channels < 2 || channels > MAX_ARGMAX_CLASSES) {
        throw rangeError(
          ErrorCode.OPTION_RANGE,
          `finalize option argmax needs nChannels from 2 to ${MAX_ARGMAX_CLASSES}; this mask has ${channels} channel(s)`,
        );
      }
      if (background >= channels) {
        throw rangeError(
          ErrorCode.OPTION_RANGE,
          `finalize option background must be a class label from 0 to ${channels - 1}; received ${background}`,
        );
      }
    }
  }

  /** Finishes the accumulator once (the core's `finalize_accumulator`). */
  private finishAccumulator(): void {
    const mask = this.mask.data as FloatArray;
    const aggregation = this.options.aggregation;
    if (aggregation === 'max' || aggregation === 'min') {
      const unreached = aggregation === 'max' ? -Infinity : Infinity;
      for (let i = 0; i < mask.length; i++) if (mask[i] === unreached) mask[i] = 0;
    } else if (aggregation === 'variance') {
      varianceFromM2(this.aux!.data, this.counter!.data, this.planeLength);
    } else if (aggregation !== 'sum') {
      if (this.weightMap) divideBySums(mask, this.aux!.data, this.planeLength);
      else divideByCounts(mask, this.counter!.data, this.planeLength);
    }
  }

  /**
   * Finishes the mask once (the lifecycle keeps the result), then computes the requested reduction from it
   * anew; a refused request changes nothing.
   */
  finalize(request: ResolvedFinalize = {}): unknown {
    this.lifecycle.check('finalize', false);
    this.checkRequest(request);
    const finished = this.lifecycle.finalize(() => this.finish());
    return this.reduce(request) ?? finished;
  }

  /** What the aggregation returns once the accumulator is finished. */
  private finish(): unknown {
    if (this.aggregator) return this.aggregator.finalize(this.mask);
    this.finishAccumulator();
    const aggregation = this.options.aggregation;
    if (aggregation === 'argmax') return this.argmax(this.options.background);
    if (aggregation === 'max' || aggregation === 'min') return this.mask;
    if (aggregation === 'variance') return { mean: this.mask, variance: this.aux, overlapCounter: this.counter };
    return this.aux
      ? { mask: this.mask, weightSum: this.aux, overlapCounter: this.counter }
      : { mask: this.mask, overlapCounter: this.counter };
  }

  private argmax(background: number): unknown {
    const shape = [1, ...this.region.extent];
    const mask = this.mask.data as FloatArray;
    const { labels, confidence } = argmaxPlanes(mask, this.options.nChannels, this.counter?.data ?? null, background);
    return {
      labels: { data: labels, shape, dtype: labels instanceof Uint8Array ? 'uint8' : 'uint16' },
      confidence: { data: confidence, shape, dtype: this.options.dtype },
    };
  }

  /** The reduction a request asks for, from the finished accumulator; undefined when it asks for none. */
  private reduce(request: ResolvedFinalize): unknown {
    const mask = this.mask.data as FloatArray;
    switch (request.reduction) {
      case 'argmax':
        return this.argmax(request.background ?? 0);
      case 'threshold':
        return { data: thresholdValues(mask, request.threshold as number), shape: [...this.mask.shape], dtype: 'uint8' };
      case 'quantize':
        return { data: quantizeValues(mask), shape: [...this.mask.shape], dtype: 'uint8' };
      default:
        return undefined;
    }
  }

  async finalizeAsync(request: ResolvedFinalize = {}): Promise<unknown> {
    return this.finalize(request);
  }

  prepareRelease(): void {
    // In memory only: nothing is persisted.
  }

  cleanup(): void {
    this.lifecycle.cleanup(() => this.aggregator?.cleanup());
  }

  tileCounts(): TileCounts {
    return { applied: this.tilesApplied, skipped: this.tilesSkipped };
  }

  private checkBuilding(call: string): void {
    this.lifecycle.check(call, true);
    if (this.aggregator) {
      throw typeError(
        ErrorCode.OPTION_TYPE,
        `${call} applies to the built-in aggregations ('mean', 'max', 'min', 'sum', 'variance', 'argmax'), not a custom Aggregator`,
      );
    }
  }

  writePartialArrays(dir: string): TileCounts {
    this.checkBuilding('savePartial');
    writeNpy(join(dir, ACCUMULATOR_FILE), this.mask as NdArray<FloatArray>);
    if (this.counter) writeNpy(join(dir, COUNTER_FILE), this.counter);
    if (this.aux) writeNpy(join(dir, this.auxFile()), this.aux as NdArray<FloatArray>);
    return this.tileCounts();
  }

  /** The weight sum (weighted) or M2 planes (variance): the core's `AuxFile`. */
  private auxFile(): string {
    return this.options.aggregation === 'variance' ? M2_FILE : WEIGHT_SUM_FILE;
  }

  async writePartialArraysAsync(dir: string): Promise<TileCounts> {
    return this.writePartialArrays(dir);
  }

  /** Reads and checks every partial's arrays before merging any (as the core's `OpenPartial`). */
  mergePartials(partials: PartialRef[]): void {
    this.checkBuilding('loadPartials');
    const states = partials.map((p) => this.readPartial(p));
    for (const state of states) this.mergeState(state);
  }

  async mergePartialsAsync(partials: PartialRef[]): Promise<void> {
    this.mergePartials(partials);
  }

  private readPartial(p: PartialRef): State {
    if (!regionContains(this.region, p.region)) {
      throw rangeError(
        ErrorCode.PARTIAL_MISMATCH,
        `region: the partial ${p.dir} holds a region outside the one this builder holds`,
      );
    }
    const read = (file: string, field: string, dtype: string, shape: number[]) => {
      const path = join(p.dir, file);
      let array: ReturnType<typeof readNpy>;
      try {
        array = readNpy(path);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code && !code.startsWith('ERR_WSI')) {
          // As the core: a partial whose array cannot be opened is not a whole partial.
          throw Object.assign(new Error(`${path}: cannot read the ${field} (${(e as Error).message})`), {
            code: ErrorCode.PARTIAL_CORRUPT,
          });
        }
        throw rangeError(ErrorCode.PARTIAL_CORRUPT, `${path}: ${field} is not a readable NPY array (${(e as Error).message})`);
      }
      if (array.dtype !== dtype || array.header.descr === '<i8') {
        throw rangeError(
          ErrorCode.PARTIAL_CORRUPT,
          `${path}: ${field} holds dtype '${array.header.descr}', but the manifest says ${dtype}`,
        );
      }
      if (array.shape.length !== shape.length || array.shape.some((e, d) => e !== shape[d])) {
        throw rangeError(
          ErrorCode.PARTIAL_CORRUPT,
          `${path}: ${field} has shape ${list(array.shape)}, but the manifest's region and nChannels say ${list(shape)}`,
        );
      }
      return array.data;
    };
    const mask = read(ACCUMULATOR_FILE, 'accumulator', this.options.dtype, [this.options.nChannels, ...p.region.extent]);
    const counter = this.counter
      ? read(COUNTER_FILE, 'overlapCounter', this.options.counterDtype, [1, ...p.region.extent])
      : null;
    const variance = this.options.aggregation === 'variance';
    const aux = this.aux
      ? read(this.auxFile(), variance ? 'm2' : 'weightSum', this.options.dtype, [this.aux.shape[0], ...p.region.extent])
      : null;
    return {
      region: p.region,
      mask: mask as FloatArray,
      counter: counter as CounterArray | null,
      aux: aux as FloatArray | null,
      tilesApplied: p.tilesApplied,
      tilesSkipped: p.tilesSkipped,
    };
  }

  /** Merges a state whose region lies inside this builder's; refuses, writing nothing, counts that would overflow. */
  private mergeState(state: State): void {
    if (!regionContains(this.region, state.region)) {
      throw rangeError(
        ErrorCode.PARTIAL_MISMATCH,
        `region: the merged state's region (start ${list(state.region.start)} extent ${list(state.region.extent)}) must lie inside the region this builder holds (start ${list(this.region.start)} extent ${list(this.region.extent)})`,
      );
    }
    const offset = state.region.start.map((s, d) => s - this.region.start[d]);
    if (this.counter && state.counter) {
      const max = this.options.counterDtype === 'uint16' ? 0xffff : 0xffffffff;
      if (!mergeCounts(this.counter.data, this.region.extent, state.counter, state.region.extent, offset, max)) {
        throw rangeError(
          ErrorCode.COUNTER_OVERFLOW,
          `merging would push the overlap counter past ${max} at some pixel; nothing was merged. Build with counterDtype: 'uint32' for more overlaps`,
        );
      }
    }
    const aggregation = this.options.aggregation;
    const channels = this.options.nChannels;
    if (aggregation === 'variance') {
      // The counter holds the merged counts now (the core's `merge_welford`).
      const [dst, src] = [this.region.extent, state.region.extent];
      const counts = [this.counter!.data, state.counter!];
      mergeWelford(this.mask.data, this.aux!.data, counts[0], state.mask, state.aux!, counts[1], dst, src, offset, channels);
    } else {
      const combine = aggregation === 'max' || aggregation === 'min' ? aggregation : 'sum';
      mergeValues(this.mask.data, this.region.extent, state.mask, state.region.extent, offset, channels, combine);
      if (this.aux && state.aux) mergeValues(this.aux.data, this.region.extent, state.aux, state.region.extent, offset, 1, 'sum');
    }
    this.tilesApplied += state.tilesApplied;
    this.tilesSkipped += state.tilesSkipped;
  }

  mergeFrom(other: Backend): void {
    this.checkBuilding('mergeFrom');
    if (!(other instanceof JsBackend)) {
      throw typeError(
        ErrorCode.PARTIAL_MISMATCH,
        "mergeFrom: the other builder runs on the native backend and this one on 'js'; merge builders of one backend, or go through savePartial() and MaskBuilder.loadPartials()",
      );
    }
    other.checkBuilding('mergeFrom (the other builder)');
    this.mergeState(other.snapshot());
  }

  async mergeFromAsync(other: Backend): Promise<void> {
    this.mergeFrom(other);
  }

  private snapshot(): State {
    return {
      region: this.region,
      mask: this.mask.data,
      counter: this.counter?.data ?? null,
      aux: this.aux?.data ?? null,
      tilesApplied: this.tilesApplied,
      tilesSkipped: this.tilesSkipped,
    };
  }
}

function regionContains(outer: MaskRegion, inner: MaskRegion): boolean {
  return outer.start.every((s, d) => inner.start[d] >= s && inner.start[d] + inner.extent[d] <= s + outer.extent[d]);
}

/** Refuses a region outside the mask (the core's `MaskRegion::check`). */
function checkRegion(region: MaskRegion, g: Geometry): void {
  g.maskExtents.forEach((e, d) => {
    if (region.extent[d] === 0 || region.start[d] + region.extent[d] > e) {
      throw rangeError(
        ErrorCode.REGION,
        `region start ${list(region.start)} extent ${list(region.extent)} must be non-empty and lie inside the mask extents ${list(g.maskExtents)} (dimension ${d})`,
      );
    }
  });
}
