/** Builder options: the public shape and their validation, shared by both backends. */

import { totalmem } from 'node:os';
import { describe, ErrorCode, rangeError, typeError } from './errors';
import { resolveMpp } from './export/geometry';
import { DEFAULT_SIGMA_SCALE, WINDOW_NAMES, type WindowName } from './js/weights';
import { MAX_CHANNELS, MAX_DIMS, type NpyVersion, resolveNpyVersion } from './limits';
import { bytesPerElement, type CounterDtype, type FloatDtype } from './ndarray';
import {
  Aggregator,
  type AggregatorClass,
  ArgmaxAggregator,
  InMemory,
  MaxAggregator,
  MeanAggregator,
  MinAggregator,
  type StorageFactory,
  SumAggregator,
  VarianceAggregator,
} from './strategies';

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
  /**
   * `MeanAggregator` (default), `MaxAggregator`, `MinAggregator`, `SumAggregator`, `VarianceAggregator`,
   * `ArgmaxAggregator`, their names (`'mean'`, `'max'`, `'min'`, `'sum'`, `'variance'`, `'argmax'`), or a class
   * extending `Aggregator`.
   */
  aggregation?: AggregatorClass<any> | BuiltinAggregation;
  /**
   * Weights of the mean, sum and argmax: `'uniform'` (default), `'gaussian'` (MONAI's importance map),
   * `'hann'`, `'hamming'`, `'triang'`, `'bartlett'`, `'blackman'` (scipy's periodic windows),
   * `{ type, sigmaScale?, symmetric? }`, or a custom map (`NdArray` or typed array of the footprint's or
   * `outputTileExtent`'s shape).
   */
  weights?: WeightsInput;
  /** Argmax: the label of pixels no tile reached. Default 0. */
  background?: number;
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

export type BuiltinAggregation = 'mean' | 'max' | 'min' | 'sum' | 'variance' | 'argmax';

/** `weights` as given. */
export type WeightsInput =
  | 'uniform'
  | WindowName
  | { type: WindowName | 'uniform'; sigmaScale?: number | readonly number[]; symmetric?: boolean }
  | { data: ArrayLike<number>; shape: readonly number[] }
  | Float32Array
  | Float64Array;

/** `weights` after validation of its form; values are checked by the backend. */
export type ResolvedWeights =
  | { kind: 'uniform' }
  | { kind: 'gaussian'; sigmaScale: number[] }
  | { kind: Exclude<WindowName, 'gaussian'>; symmetric: boolean }
  | { kind: 'map'; map: Float64Array; mapShape: number[] };

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
  aggregation: BuiltinAggregation | AggregatorClass<any>;
  weights: ResolvedWeights;
  background: number;
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
  'weights',
  'background',
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

const BUILTIN_CLASSES = new Map<unknown, BuiltinAggregation>([
  [MeanAggregator, 'mean'],
  [MaxAggregator, 'max'],
  [MinAggregator, 'min'],
  [SumAggregator, 'sum'],
  [VarianceAggregator, 'variance'],
  [ArgmaxAggregator, 'argmax'],
]);

function resolveAggregation(value: unknown): ResolvedOptions['aggregation'] {
  if (value === undefined) return 'mean';
  const builtin = BUILTIN_CLASSES.get(value);
  if (builtin) return builtin;
  if (typeof value === 'string' && [...BUILTIN_CLASSES.values()].includes(value as BuiltinAggregation)) {
    return value as BuiltinAggregation;
  }
  if (typeof value === 'function' && value.prototype instanceof Aggregator) return value as AggregatorClass<any>;
  throw typeError(
    ErrorCode.OPTION_TYPE,
    `aggregation must be 'mean', 'max', 'min', 'sum', 'variance', 'argmax', one of their classes (MeanAggregator, ...) or a class extending Aggregator; received ${describe(value)}`,
  );
}

const WEIGHT_NAMES = ['uniform', ...WINDOW_NAMES] as const;
const WEIGHT_CHOICES = `'uniform', ${WINDOW_NAMES.map((n) => `'${n}'`).join(', ')}`;

/** Checks the form of `weights`; the backend checks the values. */
function resolveWeights(value: unknown, ndim: number, outputTileExtent: number[]): ResolvedWeights {
  if (value === undefined) return { kind: 'uniform' };
  const named = (name: unknown, sigmaScale: unknown, symmetric: unknown): ResolvedWeights => {
    if (typeof name !== 'string' || !(WEIGHT_NAMES as readonly string[]).includes(name)) {
      throw typeError(
        ErrorCode.OPTION_TYPE,
        `weights must be ${WEIGHT_CHOICES}, { type, sigmaScale?, symmetric? } or a map of the footprint's shape; received ${describe(name)}`,
      );
    }
    if (symmetric !== undefined && typeof symmetric !== 'boolean') {
      throw typeError(ErrorCode.OPTION_TYPE, `weights.symmetric must be a boolean; received ${describe(symmetric)}`);
    }
    if (name === 'uniform') return { kind: 'uniform' };
    if (name === 'gaussian') {
      const scale = sigmaScale ?? DEFAULT_SIGMA_SCALE;
      const list = typeof scale === 'number' ? new Array<number>(ndim).fill(scale) : scale;
      if (!Array.isArray(list) || !list.every((s) => typeof s === 'number')) {
        throw typeError(
          ErrorCode.OPTION_TYPE,
          `weights.sigmaScale must be a number or one number per spatial dimension; received ${describe(scale)}`,
        );
      }
      return { kind: 'gaussian', sigmaScale: [...list] };
    }
    if (sigmaScale !== undefined) {
      throw typeError(ErrorCode.OPTION_TYPE, `weights.sigmaScale applies to the gaussian only; weights.type is '${name}'`);
    }
    return { kind: name as Exclude<WindowName, 'gaussian'>, symmetric: symmetric === true };
  };
  if (typeof value === 'string') return named(value, undefined, undefined);
  if (value instanceof Float32Array || value instanceof Float64Array) {
    return { kind: 'map', map: Float64Array.from(value), mapShape: [...outputTileExtent] };
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    if ('type' in o) {
      const unknown = Object.keys(o).find((k) => !['type', 'sigmaScale', 'symmetric'].includes(k));
      if (unknown) {
        throw typeError(ErrorCode.UNKNOWN_OPTION, `unknown weights option '${unknown}'. Known: type, sigmaScale, symmetric`);
      }
      return named(o.type, o.sigmaScale, o.symmetric);
    }
    if ('data' in o && 'shape' in o) {
      const { data, shape } = o;
      const isArrayLike = ArrayBuffer.isView(data) && !(data instanceof DataView) && !(data instanceof BigInt64Array);
      if (!(isArrayLike || Array.isArray(data)) || !Array.isArray(shape) || !shape.every(isPositiveInteger)) {
        throw typeError(
          ErrorCode.OPTION_TYPE,
          `a weights map must be { data: Float32Array | Float64Array | number[], shape: number[] }; received ${describe(value)}`,
        );
      }
      const values = Float64Array.from(data as ArrayLike<number>);
      const expected = shape.reduce((a: number, b: number) => a * b, 1);
      if (values.length !== expected) {
        throw rangeError(
          ErrorCode.OPTION_RANGE,
          `a weights map of shape [${shape.join(', ')}] must hold ${expected} values; received ${values.length}`,
        );
      }
      return { kind: 'map', map: values, mapShape: [...(shape as number[])] };
    }
  }
  throw typeError(
    ErrorCode.OPTION_TYPE,
    `weights must be ${WEIGHT_CHOICES}, { type, sigmaScale?, symmetric? } or a map of the footprint's shape; received ${describe(value)}`,
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
  if (o.weights !== undefined && typeof aggregation === 'function') {
    throw typeError(
      ErrorCode.OPTION_TYPE,
      'weights apply to the built-in mean, sum and argmax aggregations, not to a custom aggregator',
    );
  }
  const background = o.background ?? 0;
  if (o.background !== undefined && aggregation !== 'argmax') {
    throw typeError(
      ErrorCode.OPTION_TYPE,
      `background applies to aggregation: 'argmax' only; aggregation is ${describe(o.aggregation ?? 'mean')}`,
    );
  }
  if (typeof background !== 'number' || !Number.isSafeInteger(background) || background < 0) {
    throw rangeError(
      ErrorCode.OPTION_RANGE,
      `background must be a non-negative integer class label; received ${describe(background)}`,
    );
  }
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
  const outputTileExtent = positiveIntegers('outputTileExtent', o.outputTileExtent, ndim);
  return {
    sourceExtents,
    maxViewBytes,
    sourceTileExtent: positiveIntegers('sourceTileExtent', o.sourceTileExtent, ndim),
    outputTileExtent,
    weights: resolveWeights(o.weights, ndim, outputTileExtent),
    background,
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

/** Options of `finalize`: reduce the mask instead of returning the float accumulator. */
export interface FinalizeOptions {
  /** `{ labels, confidence }`: the class with the highest value per pixel (ties go to the lowest index). */
  argmax?: boolean;
  /** uint8 0/1 per channel: `value >= threshold`. */
  threshold?: number;
  /** `'uint8'`: `round(clamp(value, 0, 1) * 255)` per channel. */
  quantize?: 'uint8';
  /** Argmax: the label of pixels no tile reached. Default 0. */
  background?: number;
  /** Native backend: the NPY file the reduction is written into, band by band; must not exist. */
  outputFilename?: string;
}

/** `finalize` options as the backends take them. */
export interface ResolvedFinalize {
  reduction?: 'argmax' | 'threshold' | 'quantize';
  threshold?: number;
  background?: number;
  outputFilename?: string;
}

const FINALIZE_KEYS = ['argmax', 'threshold', 'quantize', 'background', 'outputFilename'];

/** Checks the form of `finalize` options. */
export function resolveFinalizeOptions(options: unknown): ResolvedFinalize {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw typeError(ErrorCode.OPTION_TYPE, `finalize options must be an object; received ${describe(options)}`);
  }
  const o = options as Record<string, unknown>;
  const unknown = Object.keys(o).find((k) => !FINALIZE_KEYS.includes(k));
  if (unknown) {
    throw typeError(ErrorCode.UNKNOWN_OPTION, `unknown finalize option '${unknown}'. Known options: ${FINALIZE_KEYS.join(', ')}`);
  }
  if (o.argmax !== undefined && typeof o.argmax !== 'boolean') {
    throw typeError(ErrorCode.OPTION_TYPE, `finalize option argmax must be a boolean; received ${describe(o.argmax)}`);
  }
  if (o.threshold !== undefined && (typeof o.threshold !== 'number' || Number.isNaN(o.threshold))) {
    throw typeError(ErrorCode.OPTION_TYPE, `finalize option threshold must be a number; received ${describe(o.threshold)}`);
  }
  if (o.quantize !== undefined && o.quantize !== 'uint8') {
    throw typeError(ErrorCode.OPTION_TYPE, `finalize option quantize must be 'uint8'; received ${describe(o.quantize)}`);
  }
  const chosen = (['argmax', 'threshold', 'quantize'] as const).filter((k) => o[k] !== undefined && o[k] !== false);
  if (chosen.length > 1) {
    throw typeError(ErrorCode.OPTION_TYPE, `finalize takes one reduction; received ${chosen.join(' and ')}`);
  }
  const background = o.background;
  if (background !== undefined) {
    if (chosen[0] !== 'argmax') {
      throw typeError(ErrorCode.OPTION_TYPE, 'finalize option background applies to argmax only');
    }
    if (typeof background !== 'number' || !Number.isSafeInteger(background) || background < 0) {
      throw rangeError(
        ErrorCode.OPTION_RANGE,
        `finalize option background must be a non-negative integer class label; received ${describe(background)}`,
      );
    }
  }
  return {
    reduction: chosen[0],
    threshold: o.threshold as number | undefined,
    background: background as number | undefined,
    outputFilename: optionalPath('outputFilename', o.outputFilename),
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

/**
 * Bytes of the accumulator with its auxiliary planes (the weight sum of weighted builders, the M2 planes of
 * variance) and the overlap counter (every aggregation but max and min), for `planeLength` pixels per channel.
 */
export function storageBytes(options: ResolvedOptions, planeLength: number): { total: number; counter: number } {
  const a = options.aggregation;
  const counts = typeof a === 'string' && a !== 'max' && a !== 'min';
  const counter = counts ? planeLength * bytesPerElement(options.counterDtype) : 0;
  const auxPlanes = a === 'variance' ? options.nChannels : options.weights.kind !== 'uniform' ? 1 : 0;
  return { total: planeLength * (options.nChannels + auxPlanes) * bytesPerElement(options.dtype) + counter, counter };
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
