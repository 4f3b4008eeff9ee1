/** The native backend: the napi-rs binding, loaded once; typed arrays pass through without copying. */

import { constants as bufferConstants } from 'node:buffer';
import type { Backend, Geometry } from './backend';
import type { NativeMaskBuilder } from './binding';
import type { Batch, Clipping, CoordsTable } from './inputs';
import { type CounterArray, type NdArray, view } from './ndarray';
import type { ResolvedOptions } from './options';

type Binding = typeof import('./binding');

let binding: Binding | null | undefined;
let loadError: unknown;

/** The native binding, or null (with the reason in `nativeLoadError()`) when no binary loads. */
export function loadNative(): Binding | null {
  if (binding === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      binding = require('./binding.js') as Binding;
    } catch (e) {
      binding = null;
      loadError = e;
    }
  }
  return binding;
}

export function nativeLoadError(): unknown {
  return loadError;
}

interface CachedView {
  buffer: ArrayBuffer;
  live: boolean;
}

export class NativeBackend implements Backend {
  readonly name = 'native' as const;
  readonly geometry: Geometry;
  private readonly native: NativeMaskBuilder;
  private maskView: CachedView | null = null;
  private counterView: CachedView | null | undefined;

  constructor(
    private readonly options: ResolvedOptions,
    native: Binding,
  ) {
    this.native = new native.NativeMaskBuilder({
      sourceExtents: options.sourceExtents,
      sourceTileExtent: options.sourceTileExtent,
      outputTileExtent: options.outputTileExtent,
      stride: options.stride,
      nChannels: options.nChannels,
      aggregation: options.aggregation as 'mean' | 'max',
      dtype: options.dtype,
      counterDtype: options.counterDtype,
      maxInMemoryBytes: options.maxInMemoryBytes,
      maxViewBytes: bufferConstants.MAX_LENGTH,
    });
    this.geometry = this.native.geometry;
  }

  get pending(): number {
    return this.native.pending;
  }

  /** A view that stays live; where the runtime copies instead, a fresh copy each time. */
  private fresh(cached: CachedView | null | undefined, make: () => CachedView | null): CachedView | null {
    if (cached?.live) return cached;
    return make();
  }

  storage(): NdArray {
    this.maskView = this.fresh(this.maskView, () => this.native.maskBuffer());
    return view(this.maskView!.buffer, [this.options.nChannels, ...this.geometry.maskExtents], this.options.dtype);
  }

  overlapCounter(): NdArray<CounterArray> | null {
    if (this.options.aggregation !== 'mean') return null;
    this.counterView = this.fresh(this.counterView, () => this.native.counterBuffer());
    return view(this.counterView!.buffer, [1, ...this.geometry.maskExtents], this.options.counterDtype);
  }

  updateBatch(batch: Batch, coords: CoordsTable, clipping: Clipping): void {
    this.native.updateBatch(batch.data, batch.shape, coords.data, coords.shape, clipping.start, clipping.end);
  }

  checkBatch(batch: Batch, coords: CoordsTable, clipping: Clipping): void {
    this.native.checkBatch(batch.data, batch.shape, coords.data, coords.shape, clipping.start, clipping.end);
  }

  updateBatchAsync(batch: Batch, coords: CoordsTable, clipping: Clipping, transferred: boolean): Promise<void> {
    const { data, shape } = batch;
    return this.native.updateBatchAsync(data, shape, coords.data, coords.shape, clipping.start, clipping.end, transferred);
  }

  private result(): unknown {
    const mask = this.storage();
    return this.options.aggregation === 'mean' ? { mask, overlapCounter: this.overlapCounter() } : mask;
  }

  finalize(): unknown {
    this.native.finalize();
    return this.result();
  }

  async finalizeAsync(): Promise<unknown> {
    await this.native.finalizeAsync();
    return this.result();
  }

  cleanup(): void {
    this.native.cleanup();
  }
}
