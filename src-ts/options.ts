/** Builder options: the public shape and their validation, shared by both backends. */

import { totalmem } from 'node:os';
import { describe, ErrorCode, rangeError, typeError } from './errors';
import { resolveMpp } from './export/geometry';
import { MAX_CHANNELS, MAX_DIMS, type NpyVersion, resolveNpyVersion } from './limits';
import { bytesPerElement, type CounterDtype, type FloatDtype } from './ndarray';
import { Aggregator, type AggregatorClass, InMemory, MaxAggregator, MeanAggregator, type StorageFactory } from './strategies';

export { MAX_CHANNELS, MAX_DIMS } from './limits';

export type BackendName = 'native' | 'js';

export interface MaskBuilderOptions {
  /** Source (slide) extents `[H, W, ...]`; any number of spatial dimensions. */
  sourceExtents: readonly number[];
  /** Model input tile extent in source pixels: one number for every dimension, or one per dimension. */
  sourceTileExtent: number | readonly number[];
  /** Model output tile extent; `1` (or all ones) for one scalar per tile. */
  outputTileExtent: number | readonly number[];
  /** Distance between tiles in source pixels. */
  stride: number | readonly number[];
  /** Channels of the mask. Default 1. */
  nChannels?: number;
  /**
   * `'inmemory'` (default), `'memmap'` (NPY files mapped into memory; native backend), or a
   * factory `(shape, dtype, options) => NdArray`.
   */
  storage?: 'inmemory' | 'memmap' | StorageFactory;
  /** Memmap: NPY path of the mask, kept after `cleanup()`; must not exist. Temporary file when absent. */
  filename?: string;
  /** Memmap: NPY path of the overlap counter. Default: `filename` with `.overlaps` before its suffix. */
  overlapCounterFilename?: string;
  /** Memmap: NPY format version written, 1, 2 or 3. Default 3 (as the reference). */
  npyVersion?: NpyVersion;
  /** Memmap: directory for temporary files. Default `os.tmpdir()`. */
  tempDir?: string;
  /** `MeanAggregator` (default), `MaxAggregator`, `'mean'`, `'max'`, or a class extending `Aggregator`. */
  aggregation?: AggregatorClass<any> | 'mean' | 'max';
  /** Accumulator type. Default `'float32'`. */
  dtype?: FloatDtype;
  /** Overlap counter type for mean. Default `'uint16'` (at most 65535 overlaps per pixel). */
  counterDtype?: CounterDtype;
  /** `'native'` (default; falls back to `'js'` when no binary loads) or `'js'`. Also `WSI_MASK_BUILDER_BACKEND`. */
  backend?: BackendName;
  /** Largest in-memory accumulator plus counter, in bytes (both backends). Default: the machine's total memory. */
  maxInMemoryBytes?: number;
  /** Largest single view handed out, in bytes. Default: the runtime's ArrayBuffer limit (`buffer.constants.MAX_LENGTH`). */
  maxViewBytes?: number;
  /** Passed to a custom storage factory. */
  storageOptions?: Record<string, unknown>;
  /** Passed to a custom aggregator's constructor (as `context.options`). */
  aggregationOptions?: Record<string, unknown>;
  /**
   * Micrometres per source pixel (one number, or one per dimension). Carried by
   * `finalize()` results and sidecars into the exports' physical pixel sizes.
   */
  mpp?: number | readonly number[];
  /**
   * Hold only this window of the mask, `{ start, extent }` in mask pixels
   * (see `maskRegionOfSourceBox` and `planRegions`): tiles are cut to it,
   * tiles wholly outside are skipped and counted (`tileCounts`). Storage,
   * views and partials have the region's extent.
   */
  region?: MaskRegionInput;
}

/** A window of the mask in mask pixels, one entry per spatial dimension. */
export interface MaskRegion {
  start: number[];
  extent: number[];
}

export interface MaskRegionInput {
  start: readonly number[];
  extent: readonly number[];
}

/** Options after validation, one entry per dimension. */
export interface ResolvedOptions {
  sourceExtents: number[];
  sourceTileExtent: number[];
  outputTileExtent: number[];
  stride: number[];
  nChannels: number;
  dtype: FloatDtype;
  counterDtype: CounterDtype;
  /** A built-in aggregation, run as kernels, or a user class run per sample. */
  aggregation: 'mean' | 'max' | AggregatorClass<any>;
  /** A built-in storage, or a user factory. */
  storage: 'inmemory' | 'memmap' | StorageFactory;
  filename: string | undefined;
  overlapCounterFilename: string | undefined;
  npyVersion: NpyVersion;
  tempDir: string | undefined;
  backend: BackendName;
  maxInMemoryBytes: number;
  maxViewBytes: number | undefined;
  storageOptions: Record<string, unknown>;
  aggregationOptions: Record<string, unknown>;
  mpp: number[] | undefined;
  region: MaskRegion | undefined;
}

const KNOWN = new Set([
  'sourceExtents',
  'sourceTileExtent',
  'outputTileExtent',
  'stride',
  'nChannels',
  'storage',
  'aggregation',
  'dtype',
  'counterDtype',
  'backend',
  'maxInMemoryBytes',
  'maxViewBytes',
  'storageOptions',
  'aggregationOptions',
  'filename',
  'overlapCounterFilename',
  'npyVersion',
  'tempDir',
  'mpp',
  'region',
]);

/**
 * Validates the form of a region (`{ start, extent }`, non-negative integers,
 * positive extents, one per dimension); the backend checks it lies inside the mask.
 */
export function resolveRegion(name: string, value: unknown, ndim: number): MaskRegion {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw typeError(ErrorCode.REGION, `${name} must be an object { start, extent } in mask pixels; received ${describe(value)}`);
  }
  const r = value as Record<string, unknown>;
  const unknown = Object.keys(r).find((k) => k !== 'start' && k !== 'extent');
  if (unknown !== undefined) {
    throw typeError(ErrorCode.REGION, `unknown ${name} key '${unknown}'; a region is { start, extent }`);
  }
  const ints = (key: 'start' | 'extent', min: number): number[] => {
    const v = r[key];
    if (!Array.isArray(v) && !(ArrayBuffer.isView(v) && !(v instanceof DataView))) {
      throw typeError(ErrorCode.REGION, `${name}.${key} must be an array of integers; received ${describe(v)}`);
    }
    const values = Array.from(v as ArrayLike<unknown>);
    if (values.length !== ndim) {
      throw rangeError(
        ErrorCode.REGION,
        `${name}.${key} must have ${ndim} entries (one per spatial dimension); received ${values.length}`,
      );
    }
    values.forEach((x, d) => {
      if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min) {
        throw rangeError(
          ErrorCode.REGION,
          `${name}.${key}[${d}] must be ${min === 0 ? 'a non-negative' : 'a positive'} integer; received ${describe(x)}`,
        );
      }
    });
    return values as number[];
  };
  return { start: ints('start', 0), extent: ints('extent', 1) };
}

const MEMMAP_ONLY = ['filename', 'overlapCounterFilename', 'npyVersion', 'tempDir'] as const;

function optionalPath(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.includes('\0')) {
    throw typeError(ErrorCode.OPTION_TYPE, `${name} must be a non-empty path string; received ${describe(value)}`);
  }
  return value;
}

const INTEGER_DTYPES = new Set(['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'bool']);

function isPositiveInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

function positiveIntegers(name: string, value: unknown, ndim?: number): number[] {
  const broadcast = typeof value === 'number' && ndim !== undefined;
  const values = broadcast ? new Array<number>(ndim).fill(value as number) : value;
  if (!Array.isArray(values) && !(ArrayBuffer.isView(values) && !(values instanceof DataView))) {
    throw typeError(
      ErrorCode.OPTION_TYPE,
      `${name} must be ${ndim === undefined ? 'an array of' : 'a number or an array of'} positive integers; received ${describe(value)}`,
    );
  }
  const list = Array.from(values as ArrayLike<unknown>);
  if (ndim !== undefined && list.length !== ndim) {
    throw rangeError(
      ErrorCode.DIMS_MISMATCH,
      `${name} must have one entry per spatial dimension (${ndim}, like sourceExtents); received ${list.length} entries`,
    );
  }
  list.forEach((v, i) => {
    if (typeof v !== 'number') {
      throw typeError(ErrorCode.OPTION_TYPE, `${name}[${i}] must be a number; received ${describe(v)}`);
    }
    if (!isPositiveInteger(v)) {
      throw rangeError(ErrorCode.OPTION_RANGE, `${name}[${i}] must be a positive integer no larger than 2^53 - 1; received ${v}`);
    }
  });
  return list as number[];
}

function optionalRecord(name: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw typeError(ErrorCode.OPTION_TYPE, `${name} must be an object; received ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function resolveAggregation(value: unknown): ResolvedOptions['aggregation'] {
  if (value === undefined || value === MeanAggregator || value === 'mean') return 'mean';
  if (value === MaxAggregator || value === 'max') return 'max';
  if (typeof value === 'function' && value.prototype instanceof Aggregator) return value as AggregatorClass<any>;
  throw typeError(
    ErrorCode.OPTION_TYPE,
    `aggregation must be MeanAggregator, MaxAggregator, 'mean', 'max' or a class extending Aggregator; received ${describe(value)}`,
  );
}

function resolveDtype(value: unknown, aggregation: ResolvedOptions['aggregation']): FloatDtype {
  if (value === undefined) return 'float32';
  if (value === 'float32' || value === 'float64') return value;
  if (typeof value === 'string' && INTEGER_DTYPES.has(value)) {
    throw typeError(
      ErrorCode.DTYPE,
      aggregation === 'mean'
        ? `dtype '${value}' cannot hold a mean (the reference fails only at finalize); use 'float32' or 'float64'`
        : `dtype must be 'float32' or 'float64'; received '${value}' (integer accumulators are not supported)`,
    );
  }
  throw typeError(ErrorCode.DTYPE, `dtype must be 'float32' or 'float64'; received ${describe(value)}`);
}

export function defaultBackend(): BackendName {
  const env = typeof process !== 'undefined' ? process.env.WSI_MASK_BUILDER_BACKEND : undefined;
  return env === 'js' ? 'js' : 'native';
}

/** Validates user options; throws a TypeError or RangeError naming the option. */
export function resolveOptions(options: unknown): ResolvedOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw typeError(ErrorCode.OPTION_TYPE, `options must be an object; received ${describe(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) {
      throw typeError(
        ErrorCode.UNKNOWN_OPTION,
        `unknown option '${key}' (the reference silently ignores unknown options; we do not). Known options: ${[...KNOWN].join(', ')}`,
      );
    }
  }
  for (const key of ['sourceExtents', 'sourceTileExtent', 'outputTileExtent', 'stride']) {
    if (o[key] === undefined) {
      const expected = key === 'sourceExtents' ? 'an array of positive integers' : 'a positive integer or one per dimension';
      throw typeError(ErrorCode.OPTION_TYPE, `${key} is required (${expected}); received undefined`);
    }
  }
  const sourceExtents = positiveIntegers('sourceExtents', o.sourceExtents);
  if (sourceExtents.length === 0 || sourceExtents.length > MAX_DIMS) {
    throw rangeError(
      ErrorCode.DIMS_MISMATCH,
      `sourceExtents must have between 1 and ${MAX_DIMS} dimensions; received ${sourceExtents.length}`,
    );
  }
  const ndim = sourceExtents.length;
  const nChannels = o.nChannels ?? 1;
  if (typeof nChannels !== 'number') {
    throw typeError(ErrorCode.OPTION_TYPE, `nChannels must be a number; received ${describe(nChannels)}`);
  }
  if (!isPositiveInteger(nChannels) || nChannels > MAX_CHANNELS) {
    throw rangeError(ErrorCode.OPTION_RANGE, `nChannels must be an integer from 1 to ${MAX_CHANNELS}; received ${nChannels}`);
  }
  const aggregation = resolveAggregation(o.aggregation);
  const storage = o.storage ?? 'inmemory';
  if (storage !== 'inmemory' && storage !== 'memmap' && typeof storage !== 'function') {
    throw typeError(
      ErrorCode.OPTION_TYPE,
      `storage must be 'inmemory', 'memmap' or a factory (shape, dtype, options) => NdArray; received ${describe(storage)}`,
    );
  }
  if (storage !== 'memmap') {
    const misplaced = MEMMAP_ONLY.find((key) => o[key] !== undefined);
    if (misplaced) {
      throw typeError(ErrorCode.OPTION_TYPE, `${misplaced} applies to storage: 'memmap' only; storage is ${describe(storage)}`);
    }
  }
  const npyVersion = resolveNpyVersion(o.npyVersion);
  const counterDtype = o.counterDtype ?? 'uint16';
  if (counterDtype !== 'uint16' && counterDtype !== 'uint32') {
    throw typeError(ErrorCode.DTYPE, `counterDtype must be 'uint16' or 'uint32'; received ${describe(counterDtype)}`);
  }
  const backend = o.backend ?? defaultBackend();
  if (backend !== 'native' && backend !== 'js') {
    throw typeError(ErrorCode.OPTION_TYPE, `backend must be 'native' or 'js'; received ${describe(backend)}`);
  }
  const maxInMemoryBytes = o.maxInMemoryBytes ?? totalmem();
  if (typeof maxInMemoryBytes !== 'number') {
    throw typeError(ErrorCode.OPTION_TYPE, `maxInMemoryBytes must be a number; received ${describe(maxInMemoryBytes)}`);
  }
  if (!isPositiveInteger(maxInMemoryBytes)) {
    throw rangeError(
      ErrorCode.OPTION_RANGE,
      `maxInMemoryBytes must be a positive integer; received ${describe(maxInMemoryBytes)}`,
    );
  }
  const maxViewBytes = o.maxViewBytes;
  if (maxViewBytes !== undefined && !isPositiveInteger(maxViewBytes)) {
    throw rangeError(ErrorCode.OPTION_RANGE, `maxViewBytes must be a positive integer; received ${describe(maxViewBytes)}`);
  }
  return {
    sourceExtents,
    maxViewBytes,
    sourceTileExtent: positiveIntegers('sourceTileExtent', o.sourceTileExtent, ndim),
    outputTileExtent: positiveIntegers('outputTileExtent', o.outputTileExtent, ndim),
    stride: positiveIntegers('stride', o.stride, ndim),
    nChannels,
    dtype: resolveDtype(o.dtype, aggregation),
    counterDtype,
    aggregation,
    storage: storage === InMemory ? 'inmemory' : (storage as ResolvedOptions['storage']),
    backend,
    maxInMemoryBytes,
    filename: optionalPath('filename', o.filename),
    overlapCounterFilename: optionalPath('overlapCounterFilename', o.overlapCounterFilename),
    npyVersion,
    tempDir: optionalPath('tempDir', o.tempDir),
    storageOptions: optionalRecord('storageOptions', o.storageOptions),
    aggregationOptions: optionalRecord('aggregationOptions', o.aggregationOptions),
    mpp: resolveMpp(o.mpp, ndim),
    region: resolveBuilderRegion(o.region, ndim, aggregation),
  };
}

function resolveBuilderRegion(value: unknown, ndim: number, aggregation: ResolvedOptions['aggregation']): MaskRegion | undefined {
  if (value === undefined) return undefined;
  if (typeof aggregation === 'function') {
    throw typeError(
      ErrorCode.OPTION_TYPE,
      "region applies to the built-in aggregations ('mean', 'max'); a custom Aggregator sees whole tiles",
    );
  }
  return resolveRegion('region', value, ndim);
}

/** Bytes of the accumulator and (for mean) the overlap counter, for `planeLength` pixels per channel. */
export function storageBytes(options: ResolvedOptions, planeLength: number): { total: number; counter: number } {
  const counter = options.aggregation === 'mean' ? planeLength * bytesPerElement(options.counterDtype) : 0;
  return { total: planeLength * options.nChannels * bytesPerElement(options.dtype) + counter, counter };
}

/** Options of `updateBatchAsync`. */
export interface UpdateAsyncOptions {
  /**
   * Transfer the batch's ArrayBuffer to the builder instead of copying it
   * (`batch.data` must span the whole buffer; it is detached once the batch
   * passes validation).
   */
  transfer?: boolean;
}

/** Validates `updateBatchAsync` options; returns whether to transfer. */
export function resolveUpdateAsyncOptions(options: unknown): boolean {
  if (options === undefined) return false;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw typeError(ErrorCode.OPTION_TYPE, `updateBatchAsync options must be an object; received ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (key !== 'transfer') {
      throw typeError(ErrorCode.UNKNOWN_OPTION, `unknown updateBatchAsync option '${key}'. Known options: transfer`);
    }
  }
  const transfer = (options as UpdateAsyncOptions).transfer ?? false;
  if (typeof transfer !== 'boolean') {
    throw typeError(ErrorCode.OPTION_TYPE, `updateBatchAsync option transfer must be a boolean; received ${describe(transfer)}`);
  }
  return transfer;
}
