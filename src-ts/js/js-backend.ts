/**
 * The pure-JavaScript backend: a complete second implementation over typed
 * arrays. It is the benchmark baseline, the test oracle, the fallback when
 * no native binary loads, and the home of user-defined strategies.
 */

import type { Backend, Geometry, StorageFile } from '../backend';
import { ErrorCode, rangeError, typeError } from '../errors';
import type { Batch, Clipping, CoordsTable } from '../inputs';
import { type ArrayDtype, type CounterArray, copyWindow, type FloatArray, type NdArray } from '../ndarray';
import { type ResolvedOptions, storageBytes } from '../options';
import { type Aggregator, type AggregatorContext, checkAllocated, InMemory, type MeanResult } from '../strategies';
import { computeGeometry, planeLength } from './geometry';
import { applyBatch, divideByCounts, footprintPeaks, materializeSample } from './kernels';
import { Lifecycle, type LifecycleState } from './lifecycle';
import { type BatchPlan, planBatch } from './plan';

/** Batches up to this size get an exact overlap count near the counter limit. */
const PAIRWISE_OVERLAP_LIMIT = 4096;

function footprintsOverlap(plan: BatchPlan, a: number, b: number): boolean {
  const n = plan.footprint.length;
  for (let d = 0; d < n; d++) {
    const x = plan.origins[a * n + d];
    const y = plan.origins[b * n + d];
    if (!(x < y + plan.footprint[d] && y < x + plan.footprint[d])) return false;
  }
  return true;
}

export class JsBackend implements Backend {
  readonly name = 'js' as const;
  readonly geometry: Geometry;
  readonly pending = 0;
  private readonly planeLength: number;
  private readonly mask: NdArray;
  private readonly counter: NdArray<CounterArray> | null = null;
  private readonly aggregator: Aggregator<unknown> | null = null;
  private tilesApplied = 0;
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
    this.planeLength = planeLength(g);
    const shape = [options.nChannels, ...g.maskExtents];
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
    } else if (options.aggregation === 'mean') {
      this.counter = allocate([1, ...g.maskExtents], options.counterDtype, 'overlap counter') as NdArray<CounterArray>;
    } else {
      // Start below every value so negative maxima survive; 0 where no tile lands.
      this.mask.data.fill(-Infinity);
    }
  }

  get state(): LifecycleState {
    return this.lifecycle.state;
  }

  check(call: string, building: boolean): void {
    this.lifecycle.check(call, building);
  }

  storage(): NdArray {
    return this.mask;
  }

  files(): StorageFile[] {
    return [];
  }

  readRegion(array: 'mask' | 'overlapCounter', channel: number, start: number[], extent: number[]): NdArray<any> {
    const source = array === 'mask' ? this.mask : this.counter;
    if (!source) throw rangeError(ErrorCode.REGION, 'this builder has no overlap counter (max aggregation)');
    const extents = this.geometry.maskExtents;
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
    const inside = extents.every((e, d) => extent[d] > 0 && start[d] + extent[d] <= e);
    if (!inside) {
      throw rangeError(
        ErrorCode.REGION,
        `the region start [${start.join(', ')}] extent [${extent.join(', ')}] must be non-empty and lie inside the mask extents [${extents.join(', ')}]`,
      );
    }
    const plane = source.data.subarray(channel * this.planeLength, (channel + 1) * this.planeLength);
    return { data: copyWindow(plane, extents, start, extent), shape: [...extent], dtype: source.dtype };
  }

  overlapCounter(): NdArray<CounterArray> | null {
    return this.counter;
  }

  private checkCounterCapacity(plan: BatchPlan): void {
    const counter = this.counter;
    if (!counter) return;
    const max = this.options.counterDtype === 'uint16' ? 0xffff : 0xffffffff;
    if (this.tilesApplied + plan.tiles <= max) return;
    const peaks = footprintPeaks(this.geometry, plan, counter.data);
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

  updateBatch(batch: Batch, coords: CoordsTable, clipping: Clipping): void {
    this.lifecycle.check('updateBatch', true);
    const plan = planBatch(this.geometry, this.options.nChannels, batch, coords, clipping);
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
      const max = this.options.aggregation === 'max';
      applyBatch(this.geometry, plan, batch.data, this.mask.data, this.counter?.data ?? null, this.planeLength, max);
    }
    this.tilesApplied += plan.tiles;
  }

  checkBatch(batch: Batch, coords: CoordsTable, clipping: Clipping): void {
    planBatch(this.geometry, this.options.nChannels, batch, coords, clipping);
  }

  /** Applies the batch at once (a transferred buffer is simply read); call order is kept trivially. */
  async updateBatchAsync(batch: Batch, coords: CoordsTable, clipping: Clipping, _transferred: boolean): Promise<void> {
    this.updateBatch(batch, coords, clipping);
  }

  finalize(): unknown {
    return this.lifecycle.finalize(() => {
      if (this.aggregator) return this.aggregator.finalize(this.mask);
      if (this.counter) {
        divideByCounts(this.mask.data as FloatArray, this.counter.data, this.planeLength);
        return { mask: this.mask, overlapCounter: this.counter } satisfies MeanResult;
      }
      const m = this.mask.data;
      for (let i = 0; i < m.length; i++) if (m[i] === -Infinity) m[i] = 0;
      return this.mask;
    });
  }

  async finalizeAsync(): Promise<unknown> {
    return this.finalize();
  }

  cleanup(): void {
    this.lifecycle.cleanup(() => this.aggregator?.cleanup());
  }
}
