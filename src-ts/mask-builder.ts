/** `MaskBuilder`: the public class. Validates arguments, then hands typed arrays to a backend. */

import { rmSync } from 'node:fs';
import type { Backend, Geometry, StorageFile } from './backend';
import { describe, ErrorCode, list, rangeError, stateError, typeError } from './errors';
import {
  type CoordsInput,
  type EdgeClippingInput,
  isShared,
  normalizeBatch,
  normalizeCoords,
  normalizeEdgeClipping,
  type TensorLike,
  takeBuffer,
} from './inputs';
import { JsBackend } from './js/js-backend';
import { loadNative, NativeBackend, nativeLoadError } from './native-backend';
import { fallbackWarning } from './native-package';
import type { ArrayOf, CounterDtype, FloatArray, FloatDtype, NdArray, TypedNdArray } from './ndarray';
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
import { type TileOrigins, type TileOriginsOptions, tileOrigins } from './tile-grid';
import { markUnfinished } from './unfinished';

/**
 * What `finalize()` returns for an aggregation option, with the mask typed by
 * `dtype` (`D`) and the overlap counter by `counterDtype` (`K`).
 */
export type ResultOf<A, D extends FloatDtype = FloatDtype, K extends CounterDtype = CounterDtype> = A extends
  | typeof MaxAggregator
  | 'max'
  ? TypedNdArray<ArrayOf<D>>
  : A extends typeof MeanAggregator | 'mean' | undefined
    ? MeanResult<ArrayOf<D>, ArrayOf<K>>
    : A extends AggregatorClass<infer R>
      ? R
      : unknown;

/** A batch as `updateBatch` takes it: `{ data, shape }`, or a tensor with `dims`. */
export type BatchArgument = { data: FloatArray; shape?: readonly number[]; dims?: readonly number[] } | TensorLike;

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
    process.emitWarning(fallbackWarning(nativeLoadError()), { code: 'WSI_MASK_NATIVE_UNAVAILABLE' });
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
 * A dense batch laid out `[B, ...outputTileExtent, C]` (what a channels-last
 * model returns) is refused with the transpose that fixes it; the backends
 * would only say that shape[1] is not the channel count.
 */
function refuseChannelsLast(shape: readonly number[], options: ResolvedOptions): void {
  const out = options.outputTileExtent;
  const n = out.length;
  const channels = options.nChannels;
  if (shape.length !== n + 2 || shape[1] === channels) return;
  if (shape[n + 1] !== channels || out.some((o, d) => shape[1 + d] !== o)) return;
  const axes = [0, n + 1, ...out.map((_, d) => d + 1)];
  throw rangeError(
    ErrorCode.BATCH_SHAPE,
    `batch shape ${list(shape)} looks channels-last [B, ${out.join(', ')}, C]; the builder takes [B, C, ${out.join(', ')}] ` +
      `(nChannels = ${channels}): transpose it first (numpy: a.transpose(${axes.join(', ')}); onnxruntime: export the model channels-first)`,
  );
}

/** The EEXIST of a counter path the user never named says which option names it. */
function explainCounterPath(error: unknown, options: ResolvedOptions): unknown {
  const e = error as Error & { code?: unknown };
  if (
    e?.code === 'EEXIST' &&
    options.storage === 'memmap' &&
    options.filename !== undefined &&
    options.overlapCounterFilename === undefined &&
    typeof e.message === 'string' &&
    !e.message.startsWith(`${options.filename} `)
  ) {
    e.message += ` (it is the overlap counter's path, derived from filename; choose another with overlapCounterFilename, or remove it)`;
  }
  return error;
}

/**
 * Assembles a mask from batches of tiles: scales source coordinates to mask
 * coordinates, clips tile borders, and merges overlaps with the aggregation.
 */
export class MaskBuilder<
  A extends MaskBuilderOptions['aggregation'] = typeof MeanAggregator,
  D extends FloatDtype = 'float32',
  K extends CounterDtype = 'uint16',
> {
  readonly #options: ResolvedOptions;
  readonly #backend: Backend;

  /**
   * Checks every option (see `MaskBuilderOptions`). The result types follow
   * `aggregation`, `dtype` and `counterDtype`; declare an options object
   * before the call with `satisfies MaskBuilderOptions` to keep them.
   */
  constructor(options: MaskBuilderOptions & { aggregation?: A; dtype?: D; counterDtype?: K }) {
    this.#options = resolveOptions(options);
    try {
      this.#backend = chooseBackend(this.#options);
    } catch (error) {
      throw explainCounterPath(error, this.#options);
    }
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
  get dtype(): D {
    return this.#options.dtype as D;
  }
  /** Updates accepted by `updateBatchAsync` and not yet applied. */
  get pending(): number {
    return this.#backend.state === 'cleanedUp' ? 0 : this.#backend.pending;
  }

  /** Live `{ data, shape, dtype }` view of the accumulator `[C, ...maskExtents]`. */
  get storage(): TypedNdArray<ArrayOf<D>> {
    this.#check('storage', false);
    return this.#backend.storage() as TypedNdArray<ArrayOf<D>>;
  }

  /** Files backing `storage: 'memmap'` (mask first, then the overlap counter); empty otherwise. */
  get files(): StorageFile[] {
    this.#check('files', false);
    return this.#backend.files();
  }

  /**
   * The `[y, x, ...]` source origins of the tiles the geometry implies
   * (`(span - sourceTileExtent) / stride + 1` per dimension, first dimension
   * slowest), as `{ data, shape: [N, dims] }` ready to pass as `coords`. With
   * `batchSize`, an iterator of batches of at most that many; with `tissue`
   * (a low-resolution mask of the slide, see `tissueMask`), only tiles over
   * tissue.
   */
  tileOrigins(options: TileOriginsOptions & { batchSize: number }): IterableIterator<TileOrigins>;
  tileOrigins(options?: TileOriginsOptions): TileOrigins;
  tileOrigins(options?: TileOriginsOptions): TileOrigins | IterableIterator<TileOrigins> {
    return tileOrigins(this.#backend.geometry, options);
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
  get overlapCounter(): TypedNdArray<ArrayOf<K>> | null {
    this.#check('overlapCounter', false);
    return this.#backend.overlapCounter() as TypedNdArray<ArrayOf<K>> | null;
  }

  /** The backend's lifecycle decides; checked before the arguments, so a call in the wrong state says so. */
  #check(call: string, mustBeBuilding: boolean): void {
    this.#backend.check(call, mustBeBuilding);
  }

  #arguments(batch: unknown, coords: unknown, edgeClipping: unknown) {
    const data = normalizeBatch(batch, this.#options.dtype);
    refuseChannelsLast(data.shape, this.#options);
    return [
      data,
      normalizeCoords(coords, this.#options.sourceExtents.length),
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
  updateBatch(batch: BatchArgument, coords: CoordsInput, edgeClipping?: EdgeClippingInput): void {
    this.#check('updateBatch', true);
    this.#backend.updateBatch(...this.#arguments(batch, coords, edgeClipping));
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
    batch: BatchArgument,
    coords: CoordsInput,
    edgeClipping: EdgeClippingInput | undefined,
    options: UpdateAsyncOptions & { transfer: true },
  ): Promise<FloatArray>;
  updateBatchAsync(
    batch: BatchArgument,
    coords: CoordsInput,
    edgeClipping?: EdgeClippingInput,
    options?: UpdateAsyncOptions,
  ): Promise<void>;
  async updateBatchAsync(
    batch: BatchArgument,
    coords: CoordsInput,
    edgeClipping?: EdgeClippingInput,
    options?: UpdateAsyncOptions,
    // biome-ignore lint/suspicious/noConfusingVoidType: the implementation of overloads returning Promise<void> and Promise<FloatArray>.
  ): Promise<FloatArray | void> {
    this.#check('updateBatchAsync', true);
    const transfer = resolveUpdateAsyncOptions(options);
    if (transfer && isShared((batch as { data?: unknown } | null)?.data)) {
      throw typeError(
        ErrorCode.BUFFER,
        'transfer: true cannot take batch.data: it lives in a SharedArrayBuffer, which is never transferred; call without transfer: true (the batch is copied), or post plain ArrayBuffers between workers',
      );
    }
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
  finalize(): ResultOf<A, D, K> {
    this.#check('finalize', false);
    return this.#backend.finalize() as ResultOf<A, D, K>;
  }

  /** `finalize()` without blocking the event loop while pending updates finish. */
  async finalizeAsync(): Promise<ResultOf<A, D, K>> {
    this.#check('finalizeAsync', false);
    const cleaned = () => this.#backend.state === 'cleanedUp';
    let result: unknown;
    try {
      result = await this.#backend.finalizeAsync();
    } catch (error) {
      throw cleaned() ? this.#cleanedBeforeFinalized() : error;
    }
    if (cleaned()) throw this.#cleanedBeforeFinalized();
    return result as ResultOf<A, D, K>;
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
   * Calling it again does nothing. A persisted memmap mask (`filename`)
   * released before `finalize()` keeps raw accumulator values: it is marked
   * unfinished in `<filename>.json` and a `WSI_MASK_UNFINISHED` warning says so;
   * `{ unfinished: 'remove' }` deletes its files instead (an abandoned build).
   */
  cleanup(options?: { unfinished?: 'mark' | 'remove' }): void {
    const unfinishedOption = options?.unfinished ?? 'mark';
    if (
      options !== undefined &&
      (options === null || typeof options !== 'object' || !['mark', 'remove'].includes(unfinishedOption))
    ) {
      throw typeError(
        ErrorCode.OPTION_TYPE,
        `cleanup options must be { unfinished: 'mark' | 'remove' }; received ${describe(options === null || typeof options !== 'object' ? options : unfinishedOption)}`,
      );
    }
    if (this.#backend.state === 'cleanedUp') return;
    const o = this.#options;
    const unfinished = this.#backend.state === 'building' && o.storage === 'memmap' && o.filename !== undefined;
    const files = unfinished ? this.#backend.files() : [];
    this.#backend.cleanup();
    if (!unfinished) return;
    if (unfinishedOption === 'remove') {
      for (const file of files) if (!file.temporary) rmSync(file.path, { force: true });
    } else {
      markUnfinished(o.filename as string, typeof o.aggregation === 'string' ? o.aggregation : 'custom', files);
    }
  }
}

// `using builder = new MaskBuilder(...)` releases the storage (and a memmap builder's disk reservation)
// when the block ends. Assigned here rather than declared in the class: a `[Symbol.dispose]` member in
// the shipped declarations breaks TypeScript consumers whose lib predates esnext.disposable.
if (typeof Symbol.dispose === 'symbol') {
  Object.defineProperty(MaskBuilder.prototype, Symbol.dispose, {
    value(this: MaskBuilder) {
      this.cleanup();
    },
    writable: true,
    configurable: true,
  });
}
