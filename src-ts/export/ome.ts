/**
 * `writeOmeZarr` and `writeOmeTiff`: multiscale images for viewers
 * (QuPath, napari, vizarr, OMERO), written chunk by chunk in the Rust core.
 */

import { describe, ErrorCode, rangeError, typeError } from '../errors';
import { type ExportInput, exportSource, namesOf } from './input';
import { nativeFor } from './native';

interface CommonOptions {
  /** Micrometres per source pixel: a number or `[y, x]`. Default: what the mask's geometry carries. */
  mpp?: number | number[];
  /** One name per channel. Default: the sidecar's, else `channel 0`, ... */
  channelNames?: string[];
  /** Image name in the metadata. Default `'mask'`. */
  name?: string;
  /** Replace an earlier export at `path`. Default false: an existing path is refused. */
  overwrite?: boolean;
}

export interface OmeZarrOptions extends CommonOptions {
  /** Chunk `[y, x]` (or one number) of every level; even. Default 1024. */
  chunk?: number | number[];
  /** `'0.4'` (Zarr v2; default, what every OME-Zarr reader opens) or `'0.5'` (Zarr v3). */
  ngffVersion?: '0.4' | '0.5';
  /** `'zstd'` (default) or `'none'`. */
  compression?: 'zstd' | 'none';
  /** zstd level 1..22. Default 3. */
  level?: number;
}

export interface OmeTiffOptions extends CommonOptions {
  /** Tile `[y, x]` (or one number), multiples of 16. Default 512. */
  tile?: number | number[];
  /** `'deflate'` (default; every reader), `'zstd'` or `'none'`. */
  compression?: 'deflate' | 'zstd' | 'none';
  /** Deflate 0..9 (default 6) or zstd 1..22 (default 3). */
  level?: number;
  /** Force BigTIFF on or off. Default: BigTIFF when the file may pass 4 GiB. */
  bigTiff?: boolean;
}

/** What an export wrote. */
export interface ExportedImage {
  path: string;
  /** `[H, W]` of every level, full resolution first. */
  levels: [number, number][];
  dtype: 'float32' | 'uint8' | 'uint16';
}

const COMMON = ['mpp', 'channelNames', 'name', 'overwrite'];

function checkKeys(call: string, options: unknown, known: string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw typeError(ErrorCode.OPTION_TYPE, `${call}: options must be an object; received ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw typeError(ErrorCode.UNKNOWN_OPTION, `${call}: unknown option '${key}'; known options: ${known.join(', ')}`);
    }
  }
  return options as Record<string, unknown>;
}

function pathArgument(call: string, path: unknown): string {
  if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) {
    throw typeError(ErrorCode.OPTION_TYPE, `${call}: path must be a non-empty string; received ${describe(path)}`);
  }
  return path;
}

function pair(name: string, value: unknown, fallback: number): [number, number] {
  const v = value ?? fallback;
  const values = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(values) || values.length !== 2 || !values.every((x) => typeof x === 'number')) {
    throw typeError(ErrorCode.OPTION_TYPE, `${name} must be a number or [y, x]; received ${describe(value)}`);
  }
  values.forEach((x, d) => {
    if (!Number.isSafeInteger(x) || x < 1 || x > 65536) {
      throw rangeError(ErrorCode.OPTION_RANGE, `${name}[${d}] must be an integer from 1 to 65536; received ${describe(x)}`);
    }
  });
  return values as [number, number];
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (value === undefined) return allowed[0];
  if (!allowed.includes(value as T)) {
    throw typeError(
      ErrorCode.OPTION_TYPE,
      `${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}; received ${describe(value)}`,
    );
  }
  return value as T;
}

function common(call: string, o: Record<string, unknown>) {
  if (o.name !== undefined && typeof o.name !== 'string') {
    throw typeError(ErrorCode.OPTION_TYPE, `${call}: name must be a string; received ${describe(o.name)}`);
  }
  if (o.overwrite !== undefined && typeof o.overwrite !== 'boolean') {
    throw typeError(ErrorCode.OPTION_TYPE, `${call}: overwrite must be a boolean; received ${describe(o.overwrite)}`);
  }
  return { name: (o.name as string | undefined) ?? 'mask', overwrite: (o.overwrite as boolean | undefined) ?? false };
}

function level(value: unknown, fallback: number, min: number, max: number, what: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw rangeError(
      ErrorCode.OPTION_RANGE,
      `level must be an integer from ${min} to ${max} for ${what}; received ${describe(value)}`,
    );
  }
  return value;
}

function outputDtype(dtype: string): ExportedImage['dtype'] {
  return dtype === 'uint8' || dtype === 'uint16' ? dtype : 'float32';
}

type Native = ReturnType<typeof nativeFor>;

/** The checked arguments of the native `writeOmeZarr`, for its sync or async form. */
function omeZarrRequest(call: string, mask: ExportInput, path: string, options: OmeZarrOptions | undefined) {
  const o = checkKeys(call, options, [...COMMON, 'chunk', 'ngffVersion', 'compression', 'level']);
  const target = pathArgument(call, path);
  const source = exportSource(mask, o);
  const chunk = pair('chunk', o.chunk, 1024);
  const ngffVersion = oneOf('ngffVersion', o.ngffVersion, ['0.4', '0.5'] as const);
  const compression = oneOf('compression', o.compression, ['zstd', 'none'] as const);
  const { name, overwrite } = common(call, o);
  const args: Parameters<Native['writeOmeZarr']> = [
    source.planes,
    { extents: source.extents, file: source.file },
    { scale: source.geometry.scale, mpp: source.geometry.mpp },
    target,
    {
      chunk,
      ngffVersion: ngffVersion as any,
      compression: compression as any,
      level: level(o.level, 3, 1, 22, 'zstd'),
      channelNames: namesOf(source),
      name,
      overwrite,
    },
  ];
  const exported = (levels: number[][]): ExportedImage => ({
    path: target,
    levels: levels as [number, number][],
    dtype: outputDtype(source.dtype),
  });
  return { args, exported };
}

/** The checked arguments of the native `writeOmeTiff`, for its sync or async form. */
function omeTiffRequest(call: string, mask: ExportInput, path: string, options: OmeTiffOptions | undefined) {
  const o = checkKeys(call, options, [...COMMON, 'tile', 'compression', 'level', 'bigTiff']);
  const target = pathArgument(call, path);
  const source = exportSource(mask, o);
  const tile = pair('tile', o.tile, 512);
  const compression = oneOf('compression', o.compression, ['deflate', 'zstd', 'none'] as const);
  if (o.bigTiff !== undefined && typeof o.bigTiff !== 'boolean') {
    throw typeError(ErrorCode.OPTION_TYPE, `bigTiff must be a boolean; received ${describe(o.bigTiff)}`);
  }
  const { name, overwrite } = common(call, o);
  const compressionLevel = compression === 'zstd' ? level(o.level, 3, 1, 22, 'zstd') : level(o.level, 6, 0, 9, 'deflate');
  const args: Parameters<Native['writeOmeTiff']> = [
    source.planes,
    { extents: source.extents, file: source.file },
    { scale: source.geometry.scale, mpp: source.geometry.mpp },
    target,
    {
      tile,
      compression: compression as any,
      level: compressionLevel,
      bigTiff: o.bigTiff as boolean | undefined,
      channelNames: namesOf(source),
      name,
      overwrite,
    },
  ];
  const exported = (levels: number[][]): ExportedImage => ({
    path: target,
    levels: levels as [number, number][],
    dtype: outputDtype(source.dtype),
  });
  return { args, exported };
}

/**
 * Writes a 2-D mask (`finalize()` result, `{ data, shape, dtype }` or an
 * `openNpy()` file) as an OME-Zarr image at `path`: levels halved until the
 * smallest fits one chunk (mean for float masks, nearest for uint8/uint16
 * labels), axes and coordinate transformations in source pixels (or
 * micrometres with `mpp`), zstd chunks. Needs the native addon.
 */
export function writeOmeZarr(mask: ExportInput, path: string, options?: OmeZarrOptions): ExportedImage {
  const call = 'writeOmeZarr';
  const { args, exported } = omeZarrRequest(call, mask, path, options);
  return exported(nativeFor(call).writeOmeZarr(...args));
}

/**
 * `writeOmeZarr` on the libuv thread pool: the event loop keeps turning while
 * it writes. In-memory masks are copied first (change them freely meanwhile);
 * NPY files are streamed on the pool. The same store as `writeOmeZarr`.
 */
export async function writeOmeZarrAsync(mask: ExportInput, path: string, options?: OmeZarrOptions): Promise<ExportedImage> {
  const call = 'writeOmeZarrAsync';
  const { args, exported } = omeZarrRequest(call, mask, path, options);
  return exported(await nativeFor(call).writeOmeZarrAsync(...args));
}

/**
 * Writes a 2-D mask as a tiled OME-TIFF pyramid at `path`: one IFD per
 * channel with the reduced levels as SubIFDs, OME-XML with
 * PhysicalSizeX/Y when `mpp` is known, BigTIFF when needed. Opens in QuPath,
 * tifffile and libvips. Needs the native addon.
 */
export function writeOmeTiff(mask: ExportInput, path: string, options?: OmeTiffOptions): ExportedImage {
  const call = 'writeOmeTiff';
  const { args, exported } = omeTiffRequest(call, mask, path, options);
  return exported(nativeFor(call).writeOmeTiff(...args));
}

/** `writeOmeTiff` on the libuv thread pool (in-memory masks copied first); the same file as `writeOmeTiff`. */
export async function writeOmeTiffAsync(mask: ExportInput, path: string, options?: OmeTiffOptions): Promise<ExportedImage> {
  const call = 'writeOmeTiffAsync';
  const { args, exported } = omeTiffRequest(call, mask, path, options);
  return exported(await nativeFor(call).writeOmeTiffAsync(...args));
}
