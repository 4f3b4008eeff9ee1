/** `MaskBuilder`: the public class. Validates arguments, then hands typed arrays to a backend. */

import type { Backend, Geometry, StorageFile } from './backend';
import { describe, ErrorCode, list, rangeError, stateError, typeError } from './errors';
import {
  type Batch,
  type Clipping,
  type CoordsInput,
  type CoordsScratch,
  type CoordsTable,
  type EdgeClippingInput,
  normalizeBatch,
  normalizeCoords,
  normalizeEdgeClipping,
  takeBuffer,
} from './inputs';
import { JsBackend } from './js/js-backend';
import { loadNative, NativeBackend, nativeLoadError } from './native-backend';
import type { CounterArray, FloatArray, NdArray } from './ndarray';
import {
  type MaskBuilderOptions,
  type ResolvedOptions,
  resolveOptions,
  resolveUpdateAsyncOptions,
  storageBytes,
  type UpdateAsyncOptions,
} from './options';
import { type ResizedFile, type ResizedImage, type ResizeOptions, resizeToSource } from './resize';
import type { AggregatorClass, MaxAggregator, MeanAggregator, MeanResult } from './strategies';

/** What `finalize()` returns for an aggregation option. */
export type ResultOf<A> = A extends typeof MaxAggregator | 'max'
  ? NdArray
  : A extends typeof MeanAggregator | 'mean' | undefined
    ? MeanResult
    : A extends AggregatorClass<infer R>
      ? R
      : unknown;

/** Masks with this many more pixels than the source get a warning. */
const INFLATION_WARNING_RATIO = 4;

let warnedFallback = false;

function chooseBackend(options: ResolvedOptions): Backend {
  const custom = typeof options.aggregation === 'function' || typeof options.storage === 'function';
  if (options.backend === 'js' || custom) return new JsBackend(options);
  const native = loadNative();
  if (native) return new NativeBackend(options, native);
  if (!warnedFallback) {
    warnedFallback = true;
    // The generated loader's own message is about npm's optional-dependency
    // bug; the cause it carries says what actually failed.
    const error = nativeLoadError() as (Error & { cause?: unknown }) | undefined;
    const cause = error?.cause instanceof Error ? error.cause.message : error?.message;
    process.emitWarning(
      `wsi-mask-builder: no native binary for ${process.platform}-${process.arch} could be loaded (${String(cause).split('\n')[0]}); ` +
        "using the pure-JavaScript backend (pass backend: 'js' to choose it explicitly)",
      {
        code: 'WSI_MASK_NATIVE_UNAVAILABLE',
      },
    );
  }
  return new JsBackend(options);
}

function warnIfInflated(g: Geometry, options: ResolvedOptions): void {
  const maskPixels = g.maskExtents.reduce((a, e) => a * e, 1);
  const sourcePixels = g.sourceExtents.reduce((a, e) => a * e, 1);
  if (maskPixels > INFLATION_WARNING_RATIO * sourcePixels) {
    const { total: bytes, counter: counterBytes } = storageBytes(options, maskPixels);
    process.emitWarning(
      `wsi-mask-builder: the mask ${list(g.maskExtents)} has ${(maskPixels / sourcePixels).toFixed(1)}x as many pixels as the source ${list(g.sourceExtents)} ` +
        `(tile ${list(g.sourceTileExtent)} and stride x output ${list(g.stride.map((s, d) => s * g.outputTileExtent[d]))} share little common factor); ` +
        `the accumulator${counterBytes ? ' and overlap counter need' : ' needs'} about ${bytes} bytes`,
      { code: 'WSI_MASK_INFLATED' },
    );
  }
}

/**
 * Assembles a mask from batches of tiles: scales source coordinates to mask
 * coordinates, clips tile borders, and merges overlaps with the aggregation.
 */
export class MaskBuilder<A extends MaskBuilderOptions['aggregation'] = typeof MeanAggregator> {
  readonly #options: ResolvedOptions;
  readonly #backend: Backend;

  constructor(options: MaskBuilderOptions & { aggregation?: A }) {
    this.#options = resolveOptions(options);
    this.#backend = chooseBackend(this.#options);
    warnIfInflated(this.#backend.geometry, this.#options);
  }

  /** `'native'` or `'js'`: which implementation runs this builder. */
  get backend(): 'native' | 'js' {
    return this.#backend.name;
  }

  get sourceExtents(): number[] {
    return [...this.#backend.geometry.sourceExtents];
  }
  get sourceTileExtent(): number[] {
    return [...this.#backend.geometry.sourceTileExtent];
  }
  get outputTileExtent(): number[] {
    return [...this.#backend.geometry.outputTileExtent];
  }
  get stride(): number[] {
    return [...this.#backend.geometry.stride];
  }
  /** Source pixels covered by the tile grid (at least `sourceExtents`). */
  get span(): number[] {
    return [...this.#backend.geometry.span];
  }
  get maskExtents(): number[] {
    return [...this.#backend.geometry.maskExtents];
  }
  get maskStride(): number[] {
    return [...this.#backend.geometry.maskStride];
  }
  get upscaleFactor(): number[] {
    return [...this.#backend.geometry.upscaleFactor];
  }
  get nChannels(): number {
    return this.#options.nChannels;
  }
  get dtype(): 'float32' | 'float64' {
    return this.#options.dtype;
  }
  /** Updates accepted by `updateBatchAsync` and not yet applied. */
  get pending(): number {
    return this.#backend.state === 'cleanedUp' ? 0 : this.#backend.pending;
  }

  /** Live `{ data, shape, dtype }` view of the accumulator `[C, ...maskExtents]`. */
  get storage(): NdArray {
    this.#check('storage', false);
    return this.#backend.storage();
  }

  /** Files backing `storage: 'memmap'` (mask first, then the overlap counter); empty otherwise. */
  get files(): StorageFile[] {
    this.#check('files', false);
    return this.#backend.files();
  }

  /**
   * A copy of one channel's window `start`..`start + extent` (mask pixels, per
   * spatial dimension) of the mask, or of the overlap counter with
   * `{ array: 'overlapCounter' }`. Serves masks of any size, including those
   * too large for one ArrayBuffer.
   */
  readRegion(
    channel: number,
    start: readonly number[],
    extent: readonly number[],
    options: { array?: 'mask' | 'overlapCounter' } = {},
  ): NdArray<any> {
    this.#check('readRegion', false);
    const array = options.array ?? 'mask';
    if (array !== 'mask' && array !== 'overlapCounter') {
      throw typeError(ErrorCode.REGION, `options.array must be 'mask' or 'overlapCounter'; received ${describe(array)}`);
    }
    const ints = (name: string, v: unknown) => {
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) {
        throw typeError(ErrorCode.REGION, `${name} must be an array of integers; received ${describe(v)}`);
      }
      v.forEach((x, d) => {
        if (!Number.isSafeInteger(x) || x < 0)
          throw rangeError(ErrorCode.REGION, `${name}[${d}] must be a non-negative integer; received ${x}`);
      });
      return v as number[];
    };
    if (typeof channel !== 'number' || !Number.isSafeInteger(channel) || channel < 0) {
      throw rangeError(ErrorCode.REGION, `channel must be a non-negative integer; received ${describe(channel)}`);
    }
    return this.#backend.readRegion(array, channel, ints('start', start), ints('extent', extent));
  }

  /** Live view of the mean overlap counter `[1, ...maskExtents]`; null for other aggregations. */
  get overlapCounter(): NdArray<CounterArray> | null {
    this.#check('overlapCounter', false);
    return this.#backend.overlapCounter();
  }

  /** The backend's lifecycle decides; checked before the arguments, so a call in the wrong state says so. */
  #check(call: string, mustBeBuilding: boolean): void {
    this.#backend.check(call, mustBeBuilding);
  }

  /** Coordinates given as rows are copied here (read before each call returns). */
  readonly #coordsScratch: CoordsScratch = { buffer: new Float64Array(0) };

  #arguments(batch: unknown, coords: unknown, edgeClipping: unknown) {
    return [
      normalizeBatch(batch, this.#options.dtype),
      normalizeCoords(coords, this.#options.sourceExtents.length, this.#coordsScratch),
      normalizeEdgeClipping(edgeClipping, this.#options.sourceExtents.length),
    ] as const;
  }

  /**
   * Adds a batch of tiles. `batch` is `{ data, shape: [B, C] }` (one value per
   * tile) or `[B, C, ...outputTileExtent]`; `coords` the top-left `[y, x, ...]`
   * of each tile in source pixels; `edgeClipping` output-tile pixels to drop
   * (a number, one per dimension, or `[start, end]` pairs). A rejected batch
   * changes nothing.
   */
  updateBatch(
    batch: { data: FloatArray; shape?: readonly number[]; dims?: readonly number[] },
    coords: CoordsInput,
    edgeClipping?: EdgeClippingInput,
  ): void {
    let args: readonly [Batch, CoordsTable, Clipping];
    try {
      args = this.#arguments(batch, coords, edgeClipping);
    } catch (error) {
      // A call in the wrong state says so before what is wrong with its arguments.
      this.#check('updateBatch', true);
      throw error;
    }
    // The backend refuses a call in the wrong state itself (one crossing per call, not two).
    this.#backend.updateBatch(...args);
  }

  /**
   * Like `updateBatch`, but the kernel runs off the main thread (native
   * backend). Updates apply in call order; a rejected batch rejects only its
   * own promise. The batch is validated and copied before this returns, so
   * its buffer may be reused at once. With `{ transfer: true }` nothing is
   * copied: once the batch passes validation its ArrayBuffer (which
   * `batch.data` must span whole) is transferred to the builder, and
   * `batch.data` reads as empty afterwards; the promise then resolves with
   * the data, yours again, so a pipeline can recycle its buffers.
   */
  updateBatchAsync(
    batch: { data: FloatArray; shape?: readonly number[]; dims?: readonly number[] },
    coords: CoordsInput,
    edgeClipping: EdgeClippingInput | undefined,
    options: UpdateAsyncOptions & { transfer: true },
  ): Promise<FloatArray>;
  updateBatchAsync(
    batch: { data: FloatArray; shape?: readonly number[]; dims?: readonly number[] },
    coords: CoordsInput,
    edgeClipping?: EdgeClippingInput,
    options?: UpdateAsyncOptions,
  ): Promise<void>;
  async updateBatchAsync(
    batch: { data: FloatArray; shape?: readonly number[]; dims?: readonly number[] },
    coords: CoordsInput,
    edgeClipping?: EdgeClippingInput,
    options?: UpdateAsyncOptions,
    // biome-ignore lint/suspicious/noConfusingVoidType: the implementation of overloads returning Promise<void> and Promise<FloatArray>.
  ): Promise<FloatArray | void> {
    this.#check('updateBatchAsync', true);
    const transfer = resolveUpdateAsyncOptions(options);
    const [data, table, clipping] = this.#arguments(batch, coords, edgeClipping);
    if (!transfer) {
      await this.#backend.updateBatchAsync(data, table, clipping, false);
      return undefined;
    }
    // Refuse a bad batch before taking the caller's buffer.
    this.#backend.checkBatch(data, table, clipping);
    const moved = takeBuffer(data.data);
    // Only this closure can reach `moved` until the update has run: nothing
    // else can transfer or free it meanwhile.
    await this.#backend.updateBatchAsync({ ...data, data: moved }, table, clipping, true);
    return moved;
  }

  /**
   * Finishes the mask, after any pending updates: the mean divides by the
   * overlap count, the max turns pixels no tile reached into 0. Returns
   * `{ mask, overlapCounter }` for mean, the mask for max, or what a custom
   * aggregator returns. Calling it again returns the same result.
   */
  finalize(): ResultOf<A> {
    this.#check('finalize', false);
    return this.#backend.finalize() as ResultOf<A>;
  }

  /** `finalize()` without blocking the event loop while pending updates finish. */
  async finalizeAsync(): Promise<ResultOf<A>> {
    this.#check('finalizeAsync', false);
    const cleaned = () => this.#backend.state === 'cleanedUp';
    let result: unknown;
    try {
      result = await this.#backend.finalizeAsync();
    } catch (error) {
      throw cleaned() ? this.#cleanedBeforeFinalized() : error;
    }
    if (cleaned()) throw this.#cleanedBeforeFinalized();
    return result as ResultOf<A>;
  }

  #cleanedBeforeFinalized(): Error {
    return stateError(
      ErrorCode.CLEANED_UP,
      'finalizeAsync: cleanup() was called before finalization finished; the mask was released',
    );
  }

  /**
   * A 2-D mask `image` (`{ data, shape: [C, ...maskExtents] }`, e.g. the
   * finalized mask) at source resolution, `[H, W, C]`: each mask pixel covers
   * `span / maskExtents` source pixels, and the result is cropped to
   * `sourceExtents`. See `resizeToSource` for the options.
   */
  resizeToSource(image: unknown, options: ResizeOptions & { filename: string }): ResizedFile;
  resizeToSource(image: unknown, options?: ResizeOptions): ResizedImage;
  resizeToSource(image: unknown, options?: ResizeOptions): ResizedImage | ResizedFile {
    const g = this.#backend.geometry;
    return resizeToSource(image, { sourceExtents: g.sourceExtents, maskExtents: g.maskExtents, span: g.span }, options);
  }

  /**
   * Waits for pending updates and releases the storage. Views obtained
   * earlier read as empty afterwards (native) or keep their data (js).
   * Calling it again does nothing.
   */
  cleanup(): void {
    this.#backend.cleanup();
  }

  /**
   * `cleanup()`, so that `using builder = new MaskBuilder(...)` releases the storage (and a memmap
   * builder's disk reservation) when the block ends.
   */
  [Symbol.dispose](): void {
    this.cleanup();
  }
}
