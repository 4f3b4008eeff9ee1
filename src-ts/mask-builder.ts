/** `MaskBuilder`: the public class. Validates arguments, then hands typed arrays to a backend. */

import { rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend, Geometry, StorageFile, TileCounts } from './backend';
import { describe, ErrorCode, list, rangeError, stateError, typeError } from './errors';
import { decorateResult } from './export/result';
import {
  type Batch,
  type Clipping,
  type CoordsInput,
  type CoordsScratch,
  type CoordsTable,
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
import { writeNpy } from './npy';
import {
  type FinalizeOptions,
  type MaskBuilderOptions,
  type MaskRegion,
  type ResolvedOptions,
  resolveFinalizeOptions,
  resolveOptions,
  resolveUpdateAsyncOptions,
  storageBytes,
  type UpdateAsyncOptions,
} from './options';
import {
  type BuildIdentity,
  checkPartialTarget,
  checkSameBuild,
  identityOf,
  manifestOf,
  partialWeights,
  readManifests,
  refOf,
  weightsOf,
  writePartialAsync,
  writePartialSync,
} from './partial';
import { WEIGHT_MAP_FILE } from './partial-files';
import { type ResizedFile, type ResizedImage, type ResizeOptions, resizeToSource } from './resize';
import type {
  AggregatorClass,
  ArgmaxAggregator,
  ArgmaxResult,
  MaxAggregator,
  MeanAggregator,
  MeanResult,
  MinAggregator,
  SumAggregator,
  VarianceAggregator,
  VarianceResult,
} from './strategies';
import { type TileOrigins, type TileOriginsOptions, tileOrigins } from './tile-grid';
import { markUnfinished } from './unfinished';

/**
 * What `finalize()` returns for an aggregation option, with the mask typed by
 * `dtype` (`D`) and the overlap counter by `counterDtype` (`K`).
 */
export type ResultOf<A, D extends FloatDtype = FloatDtype, K extends CounterDtype = CounterDtype> = A extends
  | typeof MaxAggregator
  | 'max'
  | typeof MinAggregator
  | 'min'
  ? TypedNdArray<ArrayOf<D>>
  : A extends typeof MeanAggregator | 'mean' | undefined
    ? MeanResult<ArrayOf<D>, ArrayOf<K>>
    : A extends typeof SumAggregator | 'sum'
      ? MeanResult<ArrayOf<D>, ArrayOf<K>>
      : A extends typeof VarianceAggregator | 'variance'
        ? VarianceResult<ArrayOf<D>, ArrayOf<K>>
        : A extends typeof ArgmaxAggregator | 'argmax'
          ? ArgmaxResult<ArrayOf<D>>
          : A extends AggregatorClass<infer R>
            ? R
            : unknown;

/** What `finalize(options)` returns for a reduction. */
export type ReducedResult<O> = O extends { argmax: true }
  ? ArgmaxResult
  : O extends { threshold: number } | { quantize: 'uint8' }
    ? NdArray<Uint8Array>
    : never;

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

  /** Built-in results carry `geometry` (and a persisted memmap mask its sidecar). */
  #decorate(result: unknown): unknown {
    if (typeof this.#options.aggregation !== 'function') {
      decorateResult(result, this.#backend.geometry, this.#options.mpp, this.#backend.files());
    }
    return result;
  }

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
  /** Micrometres per source pixel, per dimension, when given (`mpp` option). */
  get mpp(): number[] | undefined {
    return this.#options.mpp ? [...this.#options.mpp] : undefined;
  }

  /** The window of the mask this builder holds (`region` option); the whole mask by default. */
  get region(): MaskRegion {
    const r = this.#backend.region;
    return { start: [...r.start], extent: [...r.extent] };
  }

  /**
   * Tiles applied so far (at least partly inside the region, and those of
   * merged states) and tiles skipped for lying wholly outside the region.
   * Waits for pending asynchronous updates.
   */
  get tileCounts(): TileCounts {
    this.#check('tileCounts', false);
    return this.#backend.tileCounts();
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

  /**
   * Files backing `storage: 'memmap'` (mask first); empty otherwise. A uniform mean's overlap counter
   * file is created at `finalize()` (or when the counter is first read), and is listed from then on.
   */
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

  /** Coordinates given as rows are copied here (read before each call returns). */
  readonly #coordsScratch: CoordsScratch = { buffer: new Float64Array(0) };

  #arguments(batch: unknown, coords: unknown, edgeClipping: unknown) {
    const data = normalizeBatch(batch, this.#options.dtype);
    refuseChannelsLast(data.shape, this.#options);
    return [
      data,
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
  updateBatch(batch: BatchArgument, coords: CoordsInput, edgeClipping?: EdgeClippingInput): void {
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
  finalize(): ResultOf<A, D, K>;
  /**
   * With a reduction, the reduced mask instead, computed band by band from
   * the finalized accumulator (never a second full-size float array):
   * `{ argmax: true }` gives `{ labels, confidence }`, `{ threshold: t }` uint8
   * 0/1 per channel (`value >= t`), `{ quantize: 'uint8' }`
   * `round(clamp(value, 0, 1) * 255)`. With `outputFilename` (native) the
   * labels or bytes go into that NPY file. Mean, sum, max and min only.
   * Each call that asks for a reduction computes it anew from the mask.
   */
  finalize<O extends FinalizeOptions>(
    options: O,
  ): O extends { argmax: true } | { threshold: number } | { quantize: 'uint8' } ? ReducedResult<O> : ResultOf<A, D, K>;
  finalize(options?: FinalizeOptions): unknown {
    this.#check('finalize', false);
    return this.#decorate(this.#backend.finalize(resolveFinalizeOptions(options)));
  }

  /** `finalize()` without blocking the event loop while pending updates finish. */
  finalizeAsync(): Promise<ResultOf<A, D, K>>;
  finalizeAsync<O extends FinalizeOptions>(
    options: O,
  ): Promise<O extends { argmax: true } | { threshold: number } | { quantize: 'uint8' } ? ReducedResult<O> : ResultOf<A, D, K>>;
  async finalizeAsync(options?: FinalizeOptions): Promise<unknown> {
    this.#check('finalizeAsync', false);
    const request = resolveFinalizeOptions(options);
    const cleaned = () => this.#backend.state === 'cleanedUp';
    let result: unknown;
    try {
      result = await this.#backend.finalizeAsync(request);
    } catch (error) {
      throw cleaned() ? this.#cleanedBeforeFinalized() : error;
    }
    if (cleaned()) throw this.#cleanedBeforeFinalized();
    return this.#decorate(result) as ResultOf<A, D, K>;
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

  #identity(call: string): BuildIdentity {
    const o = this.#options;
    if (typeof o.aggregation === 'function') {
      throw typeError(
        ErrorCode.OPTION_TYPE,
        `${call} applies to the built-in aggregations ('mean', 'max', 'min', 'sum', 'variance', 'argmax'), not a custom Aggregator`,
      );
    }
    const counts = o.aggregation !== 'max' && o.aggregation !== 'min';
    return {
      sourceExtents: o.sourceExtents,
      sourceTileExtent: o.sourceTileExtent,
      outputTileExtent: o.outputTileExtent,
      stride: o.stride,
      nChannels: o.nChannels,
      aggregation: o.aggregation,
      dtype: o.dtype,
      counterDtype: counts ? o.counterDtype : null,
      weights: partialWeights(o.weights),
      background: o.aggregation === 'argmax' ? o.background : null,
    };
  }

  /** A custom weight map goes beside the arrays, so `loadPartials` can rebuild the builder with it. */
  #writeWeightMap(tmp: string): void {
    const w = this.#options.weights;
    if (w.kind === 'map') writeNpy(join(tmp, WEIGHT_MAP_FILE), { data: w.map, shape: w.mapShape, dtype: 'float64' });
  }

  /**
   * Saves the un-normalized state (after pending updates) into the new
   * directory `dir`: `accumulator.npy` (sums for mean, sum and argmax,
   * maxima or minima, running means for variance), `overlap_counter.npy`
   * (all but max and min), `weight_sum.npy` (weighted builders), `m2.npy`
   * (variance), `weight_map.npy` (a custom weight map) and `manifest.json`
   * (geometry, options, region, tile counts, format version). numpy opens
   * the arrays. The directory appears whole or not at all. The builder
   * keeps building.
   */
  savePartial(dir: string): void {
    this.#check('savePartial', true);
    const identity = this.#identity('savePartial');
    checkPartialTarget(dir);
    writePartialSync(dir, (tmp) => {
      const counts = this.#backend.writePartialArrays(tmp);
      this.#writeWeightMap(tmp);
      return manifestOf(identity, this.#backend.geometry.maskExtents, this.#backend.region, counts);
    });
  }

  /** `savePartial` with the arrays written off the main thread (native backend). */
  async savePartialAsync(dir: string): Promise<void> {
    this.#check('savePartialAsync', true);
    const identity = this.#identity('savePartialAsync');
    checkPartialTarget(dir);
    await writePartialAsync(dir, async (tmp) => {
      const counts = await this.#backend.writePartialArraysAsync(tmp);
      this.#writeWeightMap(tmp);
      return manifestOf(identity, this.#backend.geometry.maskExtents, this.#backend.region, counts);
    });
  }

  /**
   * Merges `other`'s state into this builder, after the pending updates of
   * both: same slide geometry, channels, aggregation, dtype and counter,
   * and a region inside this one's (a grid of shards merges into the whole
   * mask by placement). `other` is unchanged. Counts and maxima merge
   * exactly; sums as a single build would, to within float rounding.
   */
  mergeFrom(other: MaskBuilder<any>): void {
    this.#checkMerge(other);
    this.#backend.mergeFrom(other.#backend);
  }

  /** `mergeFrom` off the main thread (native backend). */
  async mergeFromAsync(other: MaskBuilder<any>): Promise<void> {
    this.#checkMerge(other);
    await this.#backend.mergeFromAsync(other.#backend);
  }

  #checkMerge(other: unknown): asserts other is MaskBuilder<any> {
    this.#check('mergeFrom', true);
    if (!(other instanceof MaskBuilder)) {
      throw typeError(ErrorCode.OPTION_TYPE, `mergeFrom needs another MaskBuilder; received ${describe(other)}`);
    }
    if (other === this) throw typeError(ErrorCode.PARTIAL_MISMATCH, 'mergeFrom: a builder cannot merge itself');
    other.#check('mergeFrom (the other builder)', true);
    checkSameBuild(this.#identity('mergeFrom'), other.#identity('mergeFrom'), 'the other builder');
  }

  /**
   * A builder in the building state holding the merge of saved partials
   * (`savePartial` directories of one slide and build). `options` choose
   * the storage (e.g. `{ storage: 'memmap', filename }`: merged file to file
   * without loading the partials into memory), the backend and the region
   * (default: the box the partials cover); geometry options, when given,
   * must match the partials'. Mismatched, corrupt or truncated partials are
   * refused before anything is merged, naming the field.
   */
  static loadPartials(
    dirs: readonly string[],
    options: Partial<MaskBuilderOptions> = {},
  ): MaskBuilder<any, FloatDtype, CounterDtype> {
    const { builder, refs } = MaskBuilder.#forPartials(dirs, options);
    try {
      builder.#backend.mergePartials(refs);
    } catch (e) {
      builder.#discard();
      throw e;
    }
    return builder;
  }

  /** `loadPartials` with the merge off the main thread (native backend). */
  static async loadPartialsAsync(
    dirs: readonly string[],
    options: Partial<MaskBuilderOptions> = {},
  ): Promise<MaskBuilder<any, FloatDtype, CounterDtype>> {
    const { builder, refs } = MaskBuilder.#forPartials(dirs, options);
    try {
      await builder.#backend.mergePartialsAsync(refs);
    } catch (e) {
      builder.#discard();
      throw e;
    }
    return builder;
  }

  static #forPartials(dirs: readonly string[], options: Partial<MaskBuilderOptions>) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw typeError(ErrorCode.OPTION_TYPE, `loadPartials options must be an object; received ${describe(options)}`);
    }
    const { manifests, cover } = readManifests(dirs);
    const first = identityOf(manifests[0]);
    const whole = cover.start.every((s) => s === 0) && cover.extent.every((e, d) => e === manifests[0].maskExtents[d]);
    const builder = new MaskBuilder({
      sourceExtents: first.sourceExtents,
      sourceTileExtent: first.sourceTileExtent,
      outputTileExtent: first.outputTileExtent,
      stride: first.stride,
      nChannels: first.nChannels,
      aggregation: first.aggregation,
      dtype: first.dtype,
      ...(first.counterDtype ? { counterDtype: first.counterDtype } : {}),
      ...(first.weights === 'uniform' ? {} : { weights: weightsOf(manifests[0]) }),
      ...(first.background === null ? {} : { background: first.background }),
      ...(whole ? {} : { region: cover }),
      ...options,
    } as MaskBuilderOptions);
    try {
      checkSameBuild(builder.#identity('loadPartials'), first, `the partial ${manifests[0].dir}`);
    } catch (e) {
      builder.#discard();
      throw e;
    }
    return { builder, refs: manifests.map(refOf) };
  }

  /** Releases a builder that failed to come into being, removing files it created. */
  #discard(): void {
    const persisted = this.#backend.files().filter((f) => !f.temporary);
    this.cleanup({ unfinished: 'remove' });
    for (const f of persisted) {
      try {
        unlinkSync(f.path);
      } catch {
        // Already gone.
      }
    }
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
    // Only a kept (marked) mask needs its counter file written first; a removed one does not.
    if (unfinished && unfinishedOption === 'mark') this.#backend.prepareRelease();
    const files = unfinished ? this.#backend.files() : [];
    this.#backend.cleanup(unfinished && unfinishedOption === 'remove');
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
