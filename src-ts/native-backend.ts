/** The native backend: the napi-rs binding, loaded once; typed arrays pass through without copying. */

import { constants as bufferConstants } from 'node:buffer';
import * as os from 'node:os';
import type { Backend, Geometry, PartialRef, StorageFile, TileCounts } from './backend';
import type { NativeAggregation, NativeMaskBuilder } from './binding';
import { ErrorCode, rangeError, stateError, typeError } from './errors';
import type { Batch, Clipping, CoordsTable } from './inputs';
import type { LifecycleState } from './js/lifecycle';
import { bytesPerElement, type CounterArray, type LargeNdArray, lazyArray, type NdArray, view } from './ndarray';
import type { MaskRegion, ResolvedFinalize, ResolvedOptions } from './options';

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

/**
 * Throws `ERR_WSI_FILE_MAPPED` if this process maps the file at `path` (writing it would kill the
 * process with SIGBUS). Without the native addon nothing of ours is mapped.
 */
export function refuseIfMapped(path: string): void {
  loadNative()?.refuseIfMapped(path);
}

/**
 * The binding, for a `feature` that cannot run without it: the one way such
 * features refuse, with `ERR_WSI_NATIVE_UNAVAILABLE` and the load failure.
 */
export function requireNative(feature: string): Binding {
  const native = loadNative();
  if (native) return native;
  const reason = loadError instanceof Error ? loadError.message.split('\n')[0] : 'unknown';
  throw stateError(
    ErrorCode.NATIVE_UNAVAILABLE,
    `${feature} needs the native addon, which did not load (${reason}); build it with 'npm run build:native'`,
  );
}

export function nativeLoadError(): unknown {
  return loadError;
}

interface CachedView {
  buffer: ArrayBuffer;
  live: boolean;
}

/** Largest ArrayBuffer this runtime holds (Node 20: 4 GiB); larger views are never asked for. */
export const RUNTIME_MAX_VIEW_BYTES = bufferConstants.MAX_LENGTH;

// Memory-mapped builders still open at exit are cleaned up, so files are
// written through and temporaries removed (on Unix they are never visible).
const openAtExit = new Set<WeakRef<NativeMaskBuilder>>();
let exitHooked = false;

function trackForExit(native: NativeMaskBuilder): void {
  openAtExit.add(new WeakRef(native));
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', () => {
      for (const ref of openAtExit) {
        try {
          ref.deref()?.cleanup();
        } catch {
          // Exiting: nothing more can be reported.
        }
      }
    });
  }
}

function nativeWeights(options: ResolvedOptions) {
  const w = options.weights;
  if (w.kind === 'uniform') return undefined;
  return {
    kind: w.kind,
    symmetric: 'symmetric' in w ? w.symmetric : false,
    sigmaScale: w.kind === 'gaussian' ? w.sigmaScale : [],
    map: w.kind === 'map' ? w.map : undefined,
    mapShape: w.kind === 'map' ? w.mapShape : undefined,
  };
}

export class NativeBackend implements Backend {
  readonly name = 'native' as const;
  readonly geometry: Geometry;
  readonly region: MaskRegion;
  private readonly native: NativeMaskBuilder;
  private maskView: CachedView | null = null;
  private counterView: CachedView | null | undefined;
  private readonly maxViewBytes: number;
  /** The finalized result's views, made once. */
  private finished: unknown;

  constructor(
    private readonly options: ResolvedOptions,
    native: Binding,
  ) {
    this.maxViewBytes = Math.min(options.maxViewBytes ?? RUNTIME_MAX_VIEW_BYTES, RUNTIME_MAX_VIEW_BYTES);
    this.native = new native.NativeMaskBuilder({
      sourceExtents: options.sourceExtents,
      sourceTileExtent: options.sourceTileExtent,
      outputTileExtent: options.outputTileExtent,
      stride: options.stride,
      nChannels: options.nChannels,
      aggregation: options.aggregation as NativeAggregation,
      background: options.aggregation === 'argmax' ? options.background : undefined,
      weights: nativeWeights(options),
      dtype: options.dtype,
      counterDtype: options.counterDtype,
      maxInMemoryBytes: options.maxInMemoryBytes,
      maxViewBytes: this.maxViewBytes,
      storage: options.storage as 'inmemory' | 'memmap',
      filename: options.filename,
      overlapCounterFilename: options.overlapCounterFilename,
      npyVersion: options.npyVersion,
      tempDir: options.tempDir ?? os.tmpdir(),
      region: options.region,
    });
    this.geometry = this.native.geometry;
    this.region = this.native.region;
    if (options.storage === 'memmap') trackForExit(this.native);
  }

  get pending(): number {
    return this.native.pending;
  }

  get state(): LifecycleState {
    return this.native.state;
  }

  check(call: string, building: boolean): void {
    this.native.checkState(call, building);
  }

  /** A view that stays live; where the runtime copies instead, a fresh copy each time. */
  private fresh(cached: CachedView | null | undefined, make: () => CachedView | null): CachedView | null {
    if (cached?.live) return cached;
    return make();
  }

  /** The whole array when it fits one ArrayBuffer; otherwise a lazy array with per-channel views. */
  private array<D extends 'float32' | 'float64' | 'uint16' | 'uint32'>(
    what: 'mask' | 'overlapCounter',
    dtype: D,
    channels: number,
    whole: () => ArrayBufferLike,
    channel: (c: number) => ArrayBufferLike,
  ): NdArray<any> {
    const extents = this.region.extent;
    const planeBytes = extents.reduce((a, e) => a * e, bytesPerElement(dtype));
    const shape = [channels, ...extents];
    if (planeBytes * channels <= this.maxViewBytes) return view(whole(), shape, dtype);
    const tooLarge = (bytes: number, instead: string) => () =>
      rangeError(
        ErrorCode.VIEW_TOO_LARGE,
        `the ${what} [${shape.join(', ')}] ${dtype} takes ${bytes} bytes, more than the ${this.maxViewBytes} one view may hold (maxViewBytes); ${instead}`,
      );
    const region = `read windows with builder.readRegion(channel, start, extent${what === 'mask' ? '' : ", { array: 'overlapCounter' }"})`;
    const large = lazyArray<any>(
      shape,
      dtype,
      null,
      tooLarge(planeBytes * channels, `use ${what}.channels[c] or ${region}`),
    ) as LargeNdArray<any>;
    large.channels = Array.from({ length: channels }, (_, c) =>
      lazyArray<any>(
        [1, ...extents],
        dtype,
        planeBytes <= this.maxViewBytes ? () => view(channel(c), [1, ...extents], dtype).data : null,
        tooLarge(planeBytes, region),
      ),
    );
    return large;
  }

  storage(): NdArray {
    return this.array(
      'mask',
      this.options.dtype,
      this.options.nChannels,
      () => {
        this.maskView = this.fresh(this.maskView, () => this.native.maskBuffer());
        return this.maskView!.buffer;
      },
      (c) => this.native.maskBuffer(c).buffer,
    );
  }

  overlapCounter(): NdArray<CounterArray> | null {
    const aggregation = this.options.aggregation;
    if (aggregation === 'max' || aggregation === 'min') return null;
    const whole = () => {
      this.counterView = this.fresh(this.counterView, () => this.native.counterBuffer());
      return this.counterView!.buffer;
    };
    return this.array('overlapCounter', this.options.counterDtype, 1, whole, whole);
  }

  readRegion(array: 'mask' | 'overlapCounter', channel: number, start: number[], extent: number[]): NdArray<any> {
    const data = this.native.readRegion(array, channel, start, extent);
    return { data, shape: [...extent], dtype: array === 'mask' ? this.options.dtype : this.options.counterDtype };
  }

  files(): StorageFile[] {
    return this.native.files;
  }

  /**
   * The shapes and the clipping packed into one reused `Uint32Array`
   * (`[rank, ...batch.shape, ...coords.shape, ...clipping.start, ...clipping.end]`):
   * one typed array crosses into the binding per call, and nothing is allocated.
   */
  private dims(batch: Batch, coords: CoordsTable, clipping: Clipping): Uint32Array {
    const rank = batch.shape.length;
    const n = clipping.start.length;
    const length = 1 + rank + 2 + 2 * n;
    let dims = this.packed.get(length);
    if (dims === undefined) {
      dims = new Uint32Array(length);
      // Only the valid ranks ([B, C] and [B, C, ...outputTileExtent]) are kept.
      if (rank === 2 || rank === 2 + n) this.packed.set(length, dims);
    }
    dims[0] = rank;
    for (let i = 0; i < rank; i++) dims[1 + i] = batch.shape[i];
    dims[1 + rank] = coords.shape[0];
    dims[2 + rank] = coords.shape[1];
    for (let d = 0; d < n; d++) {
      dims[3 + rank + d] = clipping.start[d];
      dims[3 + rank + n + d] = clipping.end[d];
    }
    return dims;
  }

  private readonly packed = new Map<number, Uint32Array>();

  updateBatch(batch: Batch, coords: CoordsTable, clipping: Clipping): void {
    this.native.updateBatch(batch.data, coords.data, this.dims(batch, coords, clipping));
  }

  checkBatch(batch: Batch, coords: CoordsTable, clipping: Clipping): void {
    this.native.checkBatch(batch.data, coords.data, this.dims(batch, coords, clipping));
  }

  updateBatchAsync(batch: Batch, coords: CoordsTable, clipping: Clipping, transferred: boolean): Promise<void> {
    return this.native.updateBatchAsync(batch.data, coords.data, this.dims(batch, coords, clipping), transferred);
  }

  /**
   * A view of an array beside the mask (weight sum, variances, reductions),
   * whole; past maxViewBytes a lazy array whose `data` throws, saying where
   * to read it instead (`file`: the NPY file it was written to).
   */
  private extra(
    what: string,
    buffer: () => { buffer: ArrayBuffer; live: boolean } | null,
    channels: number,
    dtype: 'float32' | 'float64' | 'uint8' | 'uint16',
    file?: string,
  ): NdArray<any> {
    const shape = [channels, ...this.region.extent];
    const bytes = shape.reduce((a, e) => a * e, bytesPerElement(dtype));
    if (bytes > this.maxViewBytes) {
      const instead = file
        ? `it is in ${file}: open it with openNpy('${file}') (numpy: np.load(path, mmap_mode='r'))`
        : 'read the finalized mask in windows with builder.readRegion(channel, start, extent)';
      return lazyArray<any>(shape, dtype, null, () =>
        rangeError(
          ErrorCode.VIEW_TOO_LARGE,
          `the ${what} [${shape.join(', ')}] ${dtype} takes ${bytes} bytes, more than the ${this.maxViewBytes} one view may hold (maxViewBytes); ${instead}`,
        ),
      );
    }
    const made = buffer();
    if (!made) throw rangeError(ErrorCode.INTERNAL, `the native builder returned no ${what}`);
    return view(made.buffer, shape, dtype);
  }

  /** The reduced values finalize would make: labels (argmax) or uint8 per channel. */
  private reducedValues(request: ResolvedFinalize): { what: string; shape: number[]; dtype: 'uint8' | 'uint16' } | null {
    const channels = this.options.nChannels;
    const extents = this.region.extent;
    if (this.options.aggregation === 'argmax' || request.reduction === 'argmax') {
      return { what: 'labels', shape: [1, ...extents], dtype: channels <= 256 ? 'uint8' : 'uint16' };
    }
    if (request.reduction) return { what: request.reduction, shape: [channels, ...extents], dtype: 'uint8' };
    return null;
  }

  /**
   * Refuses, before anything changes, a reduction whose values would not fit
   * one view and have no file to go to: `outputFilename` writes them into an
   * NPY file band by band instead.
   */
  private checkReductionFits(request: ResolvedFinalize): void {
    const a = this.options.aggregation;
    // Reductions the aggregation does not take are refused by the core, with their own message.
    if (request.reduction && (a === 'variance' || a === 'argmax' || typeof a === 'function')) return;
    const values = this.reducedValues(request);
    if (!values || request.outputFilename) return;
    const bytes = values.shape.reduce((a, e) => a * e, bytesPerElement(values.dtype));
    if (bytes <= this.maxViewBytes) return;
    throw rangeError(
      ErrorCode.VIEW_TOO_LARGE,
      `the ${values.what} [${values.shape.join(', ')}] ${values.dtype} would take ${bytes} bytes, more than the ${this.maxViewBytes} one view may hold (maxViewBytes); pass outputFilename to finalize to write them into an NPY file band by band (then open it with openNpy()); nothing was changed`,
    );
  }

  /** What finalize returns: the reduction asked for (made anew each call), or the finalized result (made once). */
  private result(request: ResolvedFinalize): unknown {
    const aggregation = this.options.aggregation;
    const { nChannels: channels, dtype } = this.options;
    if (aggregation === 'argmax' || request.reduction === 'argmax') {
      return {
        labels: this.extra(
          'labels',
          () => this.native.reducedBuffer('values'),
          1,
          channels <= 256 ? 'uint8' : 'uint16',
          request.outputFilename,
        ),
        confidence: this.extra('confidence', () => this.native.reducedBuffer('confidence'), 1, dtype),
      };
    }
    if (request.reduction) {
      return this.extra(request.reduction, () => this.native.reducedBuffer('values'), channels, 'uint8', request.outputFilename);
    }
    if (this.finished === undefined) this.finished = this.finishedResult();
    return this.finished;
  }

  private finishedResult(): unknown {
    const aggregation = this.options.aggregation;
    const { nChannels: channels, dtype } = this.options;
    const mask = this.storage();
    if (aggregation === 'max' || aggregation === 'min') return mask;
    if (aggregation === 'variance') {
      return {
        mean: mask,
        variance: this.extra('variance', () => this.native.auxBuffer(), channels, dtype),
        overlapCounter: this.overlapCounter(),
      };
    }
    if (this.options.weights.kind !== 'uniform') {
      return {
        mask,
        weightSum: this.extra('weight sum', () => this.native.auxBuffer(), 1, dtype),
        overlapCounter: this.counterResult(),
      };
    }
    return { mask, overlapCounter: this.counterResult() };
  }

  /**
   * The finalized uniform mean's counter, its data made on first read: the core derives it from the
   * tiles' rectangles then, so a build that never reads it never holds the counter in memory.
   */
  private counterResult(): NdArray<CounterArray> | null {
    const dtype = this.options.counterDtype;
    const extents = this.region.extent;
    if (extents.reduce((a, e) => a * e, bytesPerElement(dtype)) > this.maxViewBytes) return this.overlapCounter();
    const data = () => (this.overlapCounter() as NdArray<CounterArray>).data;
    return lazyArray<CounterArray>([1, ...extents], dtype, data, () => new RangeError('the overlap counter is too large'));
  }

  finalize(request: ResolvedFinalize = {}): unknown {
    this.checkReductionFits(request);
    this.native.finalize(request);
    return this.result(request);
  }

  async finalizeAsync(request: ResolvedFinalize = {}): Promise<unknown> {
    this.checkReductionFits(request);
    await this.native.finalizeAsync(request);
    return this.result(request);
  }

  prepareRelease(): void {
    this.native.prepareRelease();
  }

  cleanup(abandon = false): void {
    this.native.cleanup(abandon);
    this.finished = undefined;
    for (const ref of openAtExit) if (ref.deref() === this.native) openAtExit.delete(ref);
  }

  tileCounts(): TileCounts {
    return this.native.tileCounts();
  }

  writePartialArrays(dir: string): TileCounts {
    return this.native.writePartialArrays(dir);
  }

  writePartialArraysAsync(dir: string): Promise<TileCounts> {
    return this.native.writePartialArraysAsync(dir);
  }

  mergePartials(partials: PartialRef[]): void {
    this.native.mergePartials(partials.map(toNative));
  }

  async mergePartialsAsync(partials: PartialRef[]): Promise<void> {
    await this.native.mergePartialsAsync(partials.map(toNative));
  }

  mergeFrom(other: Backend): void {
    this.native.mergeFrom(nativeOf(other));
  }

  async mergeFromAsync(other: Backend): Promise<void> {
    await this.native.mergeFromAsync(nativeOf(other));
  }
}

function toNative(p: PartialRef) {
  return { dir: p.dir, region: p.region, tilesApplied: p.tilesApplied, tilesSkipped: p.tilesSkipped };
}

function nativeOf(other: Backend): NativeMaskBuilder {
  if (!(other instanceof NativeBackend)) {
    throw typeError(
      ErrorCode.PARTIAL_MISMATCH,
      "mergeFrom: the other builder runs on the 'js' backend and this one on the native backend; merge builders of one backend, or go through savePartial() and MaskBuilder.loadPartials()",
    );
  }
  return (other as unknown as { native: NativeMaskBuilder }).native;
}
