/**
 * Where a finished mask lies on its slide: the geometry carried by
 * `finalize()` results and by the JSON sidecar of persisted memmap masks.
 */

import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Geometry } from '../backend';
import { describe, ErrorCode, rangeError, typeError } from '../errors';

/** A mask's place on the slide, one entry per spatial dimension (`[y, x]` for slides). */
export interface MaskGeometry {
  sourceExtents: number[];
  /** Source pixels covered by the tile grid (at least `sourceExtents`). */
  span: number[];
  maskExtents: number[];
  /** Source pixels per mask pixel: `span / maskExtents`. */
  scale: number[];
  /** Micrometres per source pixel, when the builder was told (`mpp` option). */
  mpp?: number[];
}

/** What a sidecar file holds besides the geometry. */
interface Sidecar extends MaskGeometry {
  format: typeof SIDECAR_FORMAT;
  version: 1;
  channelNames?: string[];
}

const SIDECAR_FORMAT = 'wsi-mask-builder/mask-geometry';

/** The sidecar of an NPY mask: `mask.npy` -> `mask.npy.json`. */
export function sidecarPath(npyPath: string): string {
  return `${npyPath}.json`;
}

/** Validates the `mpp` option: one positive number for every dimension, or one per dimension. */
export function resolveMpp(value: unknown, ndim: number): number[] | undefined {
  if (value === undefined) return undefined;
  const values = typeof value === 'number' ? new Array<number>(ndim).fill(value) : value;
  if (!Array.isArray(values)) {
    throw typeError(
      ErrorCode.OPTION_TYPE,
      `mpp must be a number (micrometres per source pixel) or one per dimension; received ${describe(value)}`,
    );
  }
  if (values.length !== ndim) {
    throw rangeError(ErrorCode.DIMS_MISMATCH, `mpp must have ${ndim} entries (one per dimension); received ${values.length}`);
  }
  values.forEach((v, d) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw rangeError(ErrorCode.OPTION_RANGE, `mpp[${d}] must be a positive number of micrometres; received ${describe(v)}`);
    }
  });
  return [...values];
}

export function maskGeometry(g: Geometry, mpp: number[] | undefined): MaskGeometry {
  const geometry: MaskGeometry = {
    sourceExtents: [...g.sourceExtents],
    span: [...g.span],
    maskExtents: [...g.maskExtents],
    scale: g.span.map((s, d) => s / g.maskExtents[d]),
  };
  if (mpp) geometry.mpp = [...mpp];
  return geometry;
}

/** Gives `target` a read-only, non-enumerable `geometry` (so results compare and print as before). */
export function attachGeometry(target: object, geometry: MaskGeometry): void {
  if (Object.hasOwn(target, 'geometry')) return;
  Object.defineProperty(target, 'geometry', { value: geometry, enumerable: false, configurable: true, writable: false });
}

/** The geometry attached to a result, a mask or a mapped NPY file, if any. */
export function geometryOf(value: unknown): MaskGeometry | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const g = (value as { geometry?: unknown }).geometry;
  return g && typeof g === 'object' ? (g as MaskGeometry) : undefined;
}

/** Writes the sidecar beside a persisted NPY mask (atomically: a reader never sees half a file). */
export function writeSidecar(npyPath: string, geometry: MaskGeometry, channelNames?: string[]): void {
  const sidecar: Sidecar = { format: SIDECAR_FORMAT, version: 1, ...geometry };
  if (channelNames) sidecar.channelNames = channelNames;
  const path = sidecarPath(npyPath);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(sidecar, null, 2)}\n`);
  renameSync(temporary, path);
}

function numbers(path: string, name: string, value: unknown, ndim: number | undefined, positive: boolean): number[] {
  if (
    !Array.isArray(value) ||
    (ndim !== undefined && value.length !== ndim) ||
    !value.every((v) => typeof v === 'number' && Number.isFinite(v) && (positive ? v > 0 : v >= 0))
  ) {
    throw rangeError(
      ErrorCode.NPY_FORMAT,
      `${path}: '${name}' must be an array of ${positive ? 'positive' : 'non-negative'} numbers${ndim === undefined ? '' : ` with ${ndim} entries`}; found ${describe(value)}`,
    );
  }
  return value as number[];
}

/** Reads the sidecar of `npyPath`; undefined when there is none, a RangeError when it is malformed. */
export function readSidecar(npyPath: string): (MaskGeometry & { channelNames?: string[] }) | undefined {
  const path = sidecarPath(npyPath);
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw rangeError(ErrorCode.NPY_FORMAT, `${path} is not valid JSON (${(e as Error).message}); remove or fix it`);
  }
  const o = parsed as Partial<Sidecar>;
  if (o === null || typeof o !== 'object' || o.format !== SIDECAR_FORMAT || o.version !== 1) {
    throw rangeError(ErrorCode.NPY_FORMAT, `${path} is not a ${SIDECAR_FORMAT} version 1 sidecar`);
  }
  const maskExtents = numbers(path, 'maskExtents', o.maskExtents, undefined, true);
  const ndim = maskExtents.length;
  const geometry: MaskGeometry & { channelNames?: string[] } = {
    sourceExtents: numbers(path, 'sourceExtents', o.sourceExtents, ndim, true),
    span: numbers(path, 'span', o.span, ndim, true),
    maskExtents,
    scale: numbers(path, 'scale', o.scale, ndim, true),
  };
  if (o.mpp !== undefined) geometry.mpp = numbers(path, 'mpp', o.mpp, ndim, true);
  if (o.channelNames !== undefined) {
    if (!Array.isArray(o.channelNames) || !o.channelNames.every((n) => typeof n === 'string')) {
      throw rangeError(ErrorCode.NPY_FORMAT, `${path}: 'channelNames' must be an array of strings`);
    }
    geometry.channelNames = o.channelNames;
  }
  return geometry;
}
