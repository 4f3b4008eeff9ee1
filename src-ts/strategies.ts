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
  /** With `weights`: the sum of the weights per pixel, `[1, ...maskExtents]`. */
  weightSum?: TypedNdArray<T>;
}

/** What the sum aggregation returns: the (weighted) sums, not divided. */
export type SumResult = MeanResult;

export interface VarianceResult<T extends FloatArray = FloatArray, K extends CounterArray = CounterArray> {
  mean: NdArray<T>;
  /** Population variance (numpy's `var`, ddof 0) over the tiles covering each pixel; 0 where none did. */
  variance: NdArray<T>;
  overlapCounter: NdArray<K>;
}

export interface ArgmaxResult<T extends FloatArray = FloatArray> {
  /** `[1, ...maskExtents]`: uint8 for up to 256 classes, else uint16. */
  labels: NdArray<Uint8Array | Uint16Array>;
  /** `[1, ...maskExtents]`: the winning class's (weighted) mean; 0 where no tile landed. */
  confidence: NdArray<T>;
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

/** Keeps the minimum of overlapping tiles; pixels no tile reached read 0. */
export class MinAggregator extends Aggregator<NdArray> {
  constructor(storage: NdArray, context: AggregatorContext) {
    super(storage, context);
    storage.data.fill(Infinity);
  }

  update(accumulator: NdArray, sample: NdArray, coords: number[]): void {
    const acc = accumulator.data;
    const src = sample.data;
    forEachSampleRow(accumulator, sample, coords, (_c, accOffset, sampleOffset, length) => {
      for (let i = 0; i < length; i++) {
        const v = src[sampleOffset + i];
        if (v < acc[accOffset + i] || v !== v) acc[accOffset + i] = v;
      }
    });
  }

  /** Turns pixels no tile reached into 0; the builder calls it once. */
  finalize(accumulator: NdArray): NdArray {
    const acc = accumulator.data;
    for (let i = 0; i < acc.length; i++) if (acc[i] === Infinity) acc[i] = 0;
    return accumulator;
  }
}

/** Sums overlapping tiles without dividing, counting overlaps. */
export class SumAggregator extends Aggregator<SumResult> {
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

  finalize(accumulator: NdArray): SumResult {
    return { mask: accumulator as TypedNdArray, overlapCounter: this.overlapCounter as TypedNdArray<CounterArray> };
  }
}

/** Running mean and variance per pixel (Welford), counting overlaps. */
export class VarianceAggregator extends Aggregator<VarianceResult> {
  readonly overlapCounter: NdArray<CounterArray>;
  readonly m2: NdArray;

  constructor(storage: NdArray, context: AggregatorContext) {
    super(storage, context);
    this.overlapCounter = context.allocate([1, ...storage.shape.slice(1)], context.counterDtype) as NdArray<CounterArray>;
    this.m2 = context.allocate([...storage.shape], storage.dtype as 'float32' | 'float64') as NdArray;
  }

  update(accumulator: NdArray, sample: NdArray, coords: number[]): void {
    const mean = accumulator.data;
    const m2 = this.m2.data;
    const src = sample.data;
    const counter = this.overlapCounter.data;
    const plane = counter.length;
    forEachSampleRow(accumulator, sample, coords, (c, accOffset, sampleOffset, length) => {
      for (let i = 0; i < length; i++) {
        const j = accOffset + i;
        const n = counter[j % plane] + 1;
        const v = src[sampleOffset + i];
        const delta = v - mean[j];
        mean[j] += delta / n;
        m2[j] += delta * (v - mean[j]);
      }
      if (c === sample.shape[0] - 1) for (let i = 0; i < length; i++) counter[(accOffset + i) % plane]++;
    });
  }

  /** Turns the squared deviations into variances; the builder calls it once. */
  finalize(accumulator: NdArray): VarianceResult {
    const counts = this.overlapCounter.data;
    const plane = counts.length;
    const m2 = this.m2.data;
    for (let i = 0; i < m2.length; i++) {
      const n = counts[i % plane];
      m2[i] = n === 0 ? 0 : m2[i] / n;
    }
    return { mean: accumulator, variance: this.m2, overlapCounter: this.overlapCounter };
  }
}

/** Averages class scores per pixel and returns the winning class and its mean. */
export class ArgmaxAggregator extends Aggregator<ArgmaxResult> {
  private readonly mean: MeanAggregator;

  constructor(storage: NdArray, context: AggregatorContext) {
    super(storage, context);
    this.mean = new MeanAggregator(storage, context);
  }

  update(accumulator: NdArray, sample: NdArray, coords: number[]): void {
    this.mean.update(accumulator, sample, coords);
  }

  /** Divides, then labels each pixel with its highest class (ties: the lowest); the builder calls it once. */
  finalize(accumulator: NdArray): ArgmaxResult {
    const { overlapCounter } = this.mean.finalize(accumulator);
    const channels = accumulator.shape[0];
    const plane = overlapCounter.data.length;
    const labels = channels <= 256 ? new Uint8Array(plane) : new Uint16Array(plane);
    const confidence = accumulator.data.slice(0, plane) as FloatArray;
    for (let c = 1; c < channels; c++) {
      for (let i = 0; i < plane; i++) {
        const v = accumulator.data[c * plane + i];
        if (v > confidence[i] || (confidence[i] !== confidence[i] && v === v)) {
          confidence[i] = v;
          labels[i] = c;
        }
      }
    }
    for (let i = 0; i < plane; i++) if (overlapCounter.data[i] === 0) confidence[i] = 0;
    const shape = [1, ...accumulator.shape.slice(1)];
    return {
      labels: { data: labels, shape, dtype: channels <= 256 ? 'uint8' : 'uint16' },
      confidence: { data: confidence, shape, dtype: accumulator.dtype },
    };
  }
}

/** An aggregator class the builder can construct. */
export type AggregatorClass<R = unknown> = new (storage: NdArray, context: AggregatorContext) => Aggregator<R>;
