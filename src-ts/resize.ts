/**
 * `resizeToSource`: a 2-D mask `[C, H_mask, W_mask]` back at slide resolution,
 * `[H_source, W_source, C]` interleaved, in memory or streamed into an NPY file.
 * The resampling runs in the Rust core (fast_image_resize).
 */

import { constants as bufferConstants } from 'node:buffer';
import { describe, ErrorCode, list, rangeError, typeError } from './errors';
import { floatImage } from './image-input';
import { type NpyVersion, resolveNpyVersion } from './limits';
import { requireNative } from './native-backend';

export type ResizeKernel = 'nearest' | 'bilinear' | 'cubic' | 'mitchell' | 'lanczos3';
const KERNELS: readonly ResizeKernel[] = ['nearest', 'bilinear', 'cubic', 'mitchell', 'lanczos3'];

/** Extents `[y, x]` of a resize. */
export interface ResizeGeometry {
  /** The output is cropped to this. */
  sourceExtents: readonly number[];
  maskExtents: readonly number[];
  /**
   * Source pixels the mask covers (a builder's `span`). Defaults to
   * `sourceExtents`, which reproduces the reference's scaling.
   */
  span?: readonly number[];
}

export interface ResizeOptions {
  /** Default `'lanczos3'`, as in libvips. */
  kernel?: ResizeKernel;
  /** Stream the result into this NPY file (`<f4`, `[H, W, C]`) instead of returning it. */
  filename?: string;
  /**
   * Replace an existing `filename` (default false: an existing file is refused with `EEXIST`). The new
   * file is written under a temporary name and renamed into place only when complete, so the old one
   * survives any failure; a symlink is replaced, never its target. A file this process has mapped (a
   * memmap builder's storage, an `openNpy` array) is always refused (`ERR_WSI_FILE_MAPPED`).
   */
  overwrite?: boolean;
  /** NPY format version of `filename`. Default 3. */
  npyVersion?: NpyVersion;
  /** Largest in-memory result in bytes. Default: the largest ArrayBuffer this runtime holds. */
  maxInMemoryBytes?: number;
}

/** A resized mask in memory: `[H_source, W_source, C]`, channels interleaved. */
export interface ResizedImage {
  data: Float32Array;
  shape: [number, number, number];
  dtype: 'float32';
}

/** A resized mask written to an NPY file. */
export interface ResizedFile {
  filename: string;
  shape: [number, number, number];
  dtype: 'float32';
}

const KNOWN_OPTIONS = new Set(['kernel', 'filename', 'overwrite', 'npyVersion', 'maxInMemoryBytes']);

function extents(name: string, value: unknown): [number, number] {
  if (!Array.isArray(value) && !(ArrayBuffer.isView(value) && !(value instanceof DataView))) {
    throw typeError(ErrorCode.OPTION_TYPE, `${name} must be an array [y, x]; received ${describe(value)}`);
  }
  const values = Array.from(value as ArrayLike<unknown>);
  if (values.length !== 2) {
    throw rangeError(
      ErrorCode.DIMS_MISMATCH,
      `${name} must have 2 entries [y, x] (resizing is 2-D); received ${values.length} entries`,
    );
  }
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > 0xffffffff) {
      throw rangeError(ErrorCode.OPTION_RANGE, `${name}[${i}] must be a positive integer below 2^32; received ${describe(v)}`);
    }
  });
  return values as [number, number];
}

function resolveOptions(options: unknown) {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw typeError(ErrorCode.OPTION_TYPE, `options must be an object; received ${describe(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw typeError(ErrorCode.UNKNOWN_OPTION, `unknown option '${key}'; known options: ${[...KNOWN_OPTIONS].join(', ')}`);
    }
  }
  const kernel = o.kernel ?? 'lanczos3';
  if (!KERNELS.includes(kernel as ResizeKernel)) {
    throw typeError(ErrorCode.OPTION_TYPE, `kernel must be one of ${KERNELS.join(', ')}; received ${describe(kernel)}`);
  }
  if (o.filename !== undefined && (typeof o.filename !== 'string' || o.filename.length === 0)) {
    throw typeError(ErrorCode.OPTION_TYPE, `filename must be a non-empty string; received ${describe(o.filename)}`);
  }
  const overwrite = o.overwrite ?? false;
  if (typeof overwrite !== 'boolean') {
    throw typeError(ErrorCode.OPTION_TYPE, `overwrite must be a boolean; received ${describe(overwrite)}`);
  }
  const npyVersion = resolveNpyVersion(o.npyVersion);
  const maxBytes = o.maxInMemoryBytes ?? bufferConstants.MAX_LENGTH;
  if (typeof maxBytes !== 'number' || !Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw rangeError(ErrorCode.OPTION_RANGE, `maxInMemoryBytes must be a non-negative integer; received ${describe(maxBytes)}`);
  }
  return {
    kernel: kernel as ResizeKernel,
    filename: o.filename as string | undefined,
    overwrite,
    npyVersion,
    maxBytes,
  };
}

/**
 * Resizes a 2-D mask `image` (`{ data, shape: [C, H_mask, W_mask] }` or
 * `[H_mask, W_mask]`, float32 or float64) to source resolution. A mask pixel
 * covers `span / maskExtents` source pixels per axis; the mask is scaled by
 * exactly that and cropped to `sourceExtents`. Returns `{ data, shape: [H, W, C] }`
 * (float32, channels interleaved), or with `options.filename` streams it into
 * an NPY file band by band and returns `{ filename, shape, dtype }`.
 */
export function resizeToSource(
  image: unknown,
  geometry: ResizeGeometry,
  options: ResizeOptions & { filename: string },
): ResizedFile;
export function resizeToSource(image: unknown, geometry: ResizeGeometry, options?: ResizeOptions): ResizedImage;
export function resizeToSource(image: unknown, geometry: ResizeGeometry, options?: ResizeOptions): ResizedImage | ResizedFile {
  if (geometry === null || typeof geometry !== 'object') {
    throw typeError(
      ErrorCode.OPTION_TYPE,
      `geometry must be { sourceExtents, maskExtents, span? }; received ${describe(geometry)}`,
    );
  }
  const sourceExtents = extents('sourceExtents', geometry.sourceExtents);
  const maskExtents = extents('maskExtents', geometry.maskExtents);
  const span = geometry.span === undefined ? sourceExtents : extents('span', geometry.span);
  span.forEach((s, d) => {
    if (s < sourceExtents[d]) {
      throw rangeError(
        ErrorCode.OPTION_RANGE,
        `span[${d}] must be at least sourceExtents[${d}]; received span ${list(span)} and sourceExtents ${list(sourceExtents)}`,
      );
    }
  });
  const { kernel, filename, overwrite, npyVersion, maxBytes } = resolveOptions(options);
  const input = floatImage('image', image);
  if (input.shape.length === 2) input.shape = [1, ...input.shape];
  if (input.shape.length !== 3 || input.shape[1] !== maskExtents[0] || input.shape[2] !== maskExtents[1]) {
    throw rangeError(
      ErrorCode.IMAGE_SHAPE,
      `image.shape must be [C, ${maskExtents.join(', ')}] (channels, then the mask extents); received ${list(input.shape)}`,
    );
  }
  const channels = input.shape[0];
  const shape: [number, number, number] = [sourceExtents[0], sourceExtents[1], channels];
  const binding = requireNative('resizeToSource');
  const nativeGeometry = { maskExtents, span, sourceExtents };
  if (filename !== undefined) {
    binding.resizeToSourceFile(input.data, channels, nativeGeometry, kernel, filename, npyVersion, overwrite);
    return { filename, shape, dtype: 'float32' };
  }
  const bytes = shape[0] * shape[1] * shape[2] * 4;
  if (bytes > maxBytes) {
    throw rangeError(
      ErrorCode.OUTPUT_TOO_LARGE,
      `the resized image ${list(shape)} float32 takes ${bytes} bytes, more than one typed array may hold here (${maxBytes}); ` +
        'pass options.filename to stream it into an NPY file',
    );
  }
  const data = new Float32Array(shape[0] * shape[1] * shape[2]);
  binding.resizeToSource(input.data, channels, nativeGeometry, kernel, data);
  return { data, shape, dtype: 'float32' };
}
