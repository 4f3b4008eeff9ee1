/**
 * Pluggable strategies, as in the reference: storage allocators and
 * aggregators. The built-in ones (`InMemory`, `MeanAggregator`,
 * `MaxAggregator`) run as row kernels in the selected backend; their
 * `update`/`finalize` methods here serve subclasses and user code, which the
 * builder drives one clipped, upscaled sample at a time (their row walk is
 * js/sample-rows.ts; checking what a factory returned is the JS backend's).
 */

import { forEachSampleRow } from './js/sample-rows';
import type { ArrayDtype, CounterArray, FloatArray, NdArray, TypedNdArray } from './ndarray';
import { zeros } from './ndarray';

/** Allocates the accumulator: `(shape, dtype, options) => NdArray` (zero-filled). */
export type StorageFactory = (shape: number[], dtype: ArrayDtype, options: Record<string, unknown>) => NdArray<any>;

/** Zero-filled typed arrays in the JavaScript heap. */
export const InMemory: StorageFactory = (shape, dtype) => zeros(shape, dtype);

/** What an aggregator's constructor receives besides the storage. */
export interface AggregatorContext {
  /** Allocates a further array with the builder's storage strategy. */
  allocate(shape: number[], dtype: ArrayDtype): NdArray<any>;
  /** `counterDtype` of the builder. */
  counterDtype: 'uint16' | 'uint32';
  /** `aggregationOptions` given to the builder. */
  options: Record<string, unknown>;
}

/** Base class of aggregation strategies. */
export abstract class Aggregator<R = unknown> {
  // biome-ignore lint/complexity/noUselessConstructor: declares what every aggregator is constructed with.
  constructor(_storage: NdArray, _context: AggregatorContext) {}

  /**
   * Merges one tile into the accumulator. `sample` is `[C, ...footprint]`,
   * already clipped and upscaled; `coords` its top-left corner in mask pixels.
   */
  abstract update(accumulator: NdArray, sample: NdArray, coords: number[]): void;

  /** Produces the result from the accumulator. */
  abstract finalize(accumulator: NdArray): R;

  /** Releases resources; optional. */
  cleanup(): void {}
}

export interface MeanResult<T extends FloatArray = FloatArray, K extends CounterArray = CounterArray> {
  mask: TypedNdArray<T>;
  overlapCounter: TypedNdArray<K>;
}

/** Averages overlapping tiles, tracking overlaps in a `[1, ...maskExtents]` counter. */
export class MeanAggregator extends Aggregator<MeanResult> {
  readonly overlapCounter: NdArray<CounterArray>;

  constructor(storage: NdArray, context: AggregatorContext) {
    super(storage, context);
    this.overlapCounter = context.allocate([1, ...storage.shape.slice(1)], context.counterDtype) as NdArray<CounterArray>;
  }

  update(accumulator: NdArray, sample: NdArray, coords: number[]): void {
    const acc = accumulator.data;
    const src = sample.data;
    const counter = this.overlapCounter.data;
    forEachSampleRow(accumulator, sample, coords, (c, accOffset, sampleOffset, length) => {
      for (let i = 0; i < length; i++) acc[accOffset + i] += src[sampleOffset + i];
      if (c === 0) for (let i = 0; i < length; i++) counter[accOffset + i]++;
    });
  }

  /** Divides by the overlap count; the builder calls it once. */
  finalize(accumulator: NdArray): MeanResult {
    const counts = this.overlapCounter.data;
    const plane = counts.length;
    const acc = accumulator.data;
    for (let i = 0; i < acc.length; i++) acc[i] /= Math.max(counts[i % plane], 1);
    // The accumulator and counter carry their real dtype names.
    return { mask: accumulator as TypedNdArray, overlapCounter: this.overlapCounter as TypedNdArray<CounterArray> };
  }
}

/** Keeps the maximum of overlapping tiles (negative values included). */
export class MaxAggregator extends Aggregator<NdArray> {
  constructor(storage: NdArray, context: AggregatorContext) {
    super(storage, context);
    storage.data.fill(-Infinity);
  }

  update(accumulator: NdArray, sample: NdArray, coords: number[]): void {
    const acc = accumulator.data;
    const src = sample.data;
    forEachSampleRow(accumulator, sample, coords, (_c, accOffset, sampleOffset, length) => {
      for (let i = 0; i < length; i++) {
        const v = src[sampleOffset + i];
        if (v > acc[accOffset + i] || v !== v) acc[accOffset + i] = v;
      }
    });
  }

  /** Turns pixels no tile reached into 0; the builder calls it once. */
  finalize(accumulator: NdArray): NdArray {
    const acc = accumulator.data;
    for (let i = 0; i < acc.length; i++) if (acc[i] === -Infinity) acc[i] = 0;
    return accumulator;
  }
}

/** An aggregator class the builder can construct. */
export type AggregatorClass<R = unknown> = new (storage: NdArray, context: AggregatorContext) => Aggregator<R>;
