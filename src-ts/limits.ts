/**
 * Limits the TypeScript side checks form against. They are the Rust core's
 * (crates/core/src/limits.rs, exported by the binding as `limits()`); a spec
 * checks that the two agree, and the pure-JS backend, which runs without the
 * addon, reads them from here.
 */

import { describe, ErrorCode, rangeError } from './errors';

/** Spatial dimensions above this are refused. */
export const MAX_DIMS = 16;
/** Channels above this are refused. */
export const MAX_CHANNELS = 1 << 20;
/** NPY format versions written: 1, 2 or 3 (3 by default, as the reference). */
export type NpyVersion = 1 | 2 | 3;

/** The one check of an `npyVersion` option (builder and resize): 1, 2 or 3, default 3. */
export function resolveNpyVersion(value: unknown): NpyVersion {
  const version = value ?? 3;
  if (version !== 1 && version !== 2 && version !== 3) {
    throw rangeError(ErrorCode.OPTION_RANGE, `npyVersion must be 1, 2 or 3; received ${describe(version)}`);
  }
  return version;
}
