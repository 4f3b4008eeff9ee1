/**
 * Error codes and constructors shared by both backends. Every error names
 * the argument, what was expected and what was received; `code` is stable.
 */

export const ErrorCode = {
  /** An option of the wrong type or an unknown option name. */
  OPTION_TYPE: 'ERR_WSI_OPTION_TYPE',
  UNKNOWN_OPTION: 'ERR_WSI_UNKNOWN_OPTION',
  /** A non-positive, non-integer or otherwise out-of-range option. */
  OPTION_RANGE: 'ERR_WSI_OPTION_RANGE',
  DIMS_MISMATCH: 'ERR_WSI_DIMS_MISMATCH',
  DTYPE: 'ERR_WSI_DTYPE',
  MASK_TOO_LARGE: 'ERR_WSI_MASK_TOO_LARGE',
  BATCH_TYPE: 'ERR_WSI_BATCH_TYPE',
  BATCH_SHAPE: 'ERR_WSI_BATCH_SHAPE',
  /** A SharedArrayBuffer-backed or detached buffer. */
  BUFFER: 'ERR_WSI_BUFFER',
  COORDS_TYPE: 'ERR_WSI_COORDS_TYPE',
  COORDS_SHAPE: 'ERR_WSI_COORDS_SHAPE',
  COORDS_VALUE: 'ERR_WSI_COORDS_VALUE',
  TILE_OUTSIDE_MASK: 'ERR_WSI_TILE_OUTSIDE_MASK',
  EDGE_CLIPPING: 'ERR_WSI_EDGE_CLIPPING',
  COUNTER_OVERFLOW: 'ERR_WSI_COUNTER_OVERFLOW',
  FINALIZED: 'ERR_WSI_FINALIZED',
  CLEANED_UP: 'ERR_WSI_CLEANED_UP',
  VIEW_TOO_LARGE: 'ERR_WSI_VIEW_TOO_LARGE',
  STORAGE: 'ERR_WSI_STORAGE',
  NPY_FORMAT: 'ERR_WSI_NPY_FORMAT',
  /** A bad readRegion window or channel, or a bad `region` option. */
  REGION: 'ERR_WSI_REGION',
  /** A partial state (or builder to merge) of another geometry, aggregation, dtype or format. */
  PARTIAL_MISMATCH: 'ERR_WSI_PARTIAL_MISMATCH',
  /** A saved partial whose manifest or arrays are missing, malformed or truncated. */
  PARTIAL_CORRUPT: 'ERR_WSI_PARTIAL_CORRUPT',
  /** An image argument that is not `{ data: Float32Array | Float64Array, shape }`. */
  IMAGE_TYPE: 'ERR_WSI_IMAGE_TYPE',
  /** An image whose shape does not match the data or the geometry. */
  IMAGE_SHAPE: 'ERR_WSI_IMAGE_SHAPE',
  /** A result too large for one typed array; stream it into a file instead. */
  OUTPUT_TOO_LARGE: 'ERR_WSI_OUTPUT_TOO_LARGE',
  FILE_MAPPED: 'ERR_WSI_FILE_MAPPED',
  /** A feature that needs the native addon, which did not load. */
  NATIVE_UNAVAILABLE: 'ERR_WSI_NATIVE_UNAVAILABLE',
  /** Image encoding needs the optional dependency sharp, which is not installed. */
  SHARP_MISSING: 'ERR_WSI_SHARP_MISSING',
  /** A bug in the native code, caught instead of crashing the process. */
  INTERNAL: 'ERR_WSI_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error thrown by this package: a TypeError, RangeError or Error with `code`. */
export type MaskBuilderError = Error & { code: ErrorCode | string };

function withCode<E extends Error>(error: E, code: string): E & { code: string } {
  Object.defineProperty(error, 'code', { value: code, enumerable: true, configurable: true, writable: true });
  return error as E & { code: string };
}

export function typeError(code: ErrorCode, message: string): TypeError & { code: string } {
  return withCode(new TypeError(message), code);
}

export function rangeError(code: ErrorCode, message: string): RangeError & { code: string } {
  return withCode(new RangeError(message), code);
}

export function stateError(code: ErrorCode, message: string): Error & { code: string } {
  return withCode(new Error(message), code);
}

/** A short description of a received value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}...` : value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (ArrayBuffer.isView(value))
    return `a ${value.constructor.name} of length ${(value as unknown as { length?: number }).length ?? value.byteLength}`;
  if (Array.isArray(value)) {
    const shown = value.slice(0, 6).map((v) => (Array.isArray(v) ? `[${v.map(describe).join(', ')}]` : describe(v)));
    return `[${shown.join(', ')}${value.length > 6 ? ', ...' : ''}]`;
  }
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

/** `[a, b, c]` for messages. */
export function list(values: ArrayLike<number>): string {
  return `[${Array.from(values).join(', ')}]`;
}
