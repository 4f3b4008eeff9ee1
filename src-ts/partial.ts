/**
 * Saved partial states: the manifest (geometry, options, region, tile
 * counts, format version) written beside a builder's un-normalized NPY
 * arrays, and the checks that decide whether states may merge. Shared by
 * both backends; the arrays themselves are written and checked by the
 * backend (the Rust core's `partial` module, or the JS mirror).
 */

import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { PartialRef, TileCounts } from './backend';
import { describe, ErrorCode, list, rangeError, typeError } from './errors';
import type { CounterDtype, FloatDtype } from './ndarray';
import type { MaskRegion } from './options';
import { ACCUMULATOR_FILE, COUNTER_FILE, MANIFEST_FILE } from './partial-files';

export const PARTIAL_FORMAT = 'wsi-mask-builder-partial';
/** Bumped whenever the arrays or the manifest change meaning; other versions are refused. */
export const PARTIAL_FORMAT_VERSION = 1;

/** What must agree between two states for them to merge. */
export interface BuildIdentity {
  sourceExtents: number[];
  sourceTileExtent: number[];
  outputTileExtent: number[];
  stride: number[];
  nChannels: number;
  aggregation: 'mean' | 'max';
  dtype: FloatDtype;
  /** The mean's counter type; null for max. */
  counterDtype: CounterDtype | null;
}

/** The manifest of a saved partial (`manifest.json`). */
export interface PartialManifest extends BuildIdentity {
  format: typeof PARTIAL_FORMAT;
  formatVersion: number;
  maskExtents: number[];
  region: MaskRegion;
  tilesApplied: number;
  tilesSkipped: number;
  files: { accumulator: string; overlapCounter: string | null };
  /** What the arrays hold, for a reader with numpy. */
  state: string;
}

const IDENTITY_FIELDS = [
  'sourceExtents',
  'sourceTileExtent',
  'outputTileExtent',
  'stride',
  'nChannels',
  'aggregation',
  'dtype',
  'counterDtype',
] as const;

const show = (v: unknown) => (Array.isArray(v) ? list(v) : String(v));

/** Refuses `theirs` unless it is the same build as `mine`, naming the first field that differs. */
export function checkSameBuild(mine: BuildIdentity, theirs: BuildIdentity, what: string): void {
  for (const field of IDENTITY_FIELDS) {
    if (show(mine[field]) !== show(theirs[field])) {
      throw rangeError(
        ErrorCode.PARTIAL_MISMATCH,
        `${field}: ${what} has ${field} ${show(theirs[field])}, this builder ${show(mine[field])}; only states of the same slide, geometry and options merge`,
      );
    }
  }
}

export function manifestOf(
  identity: BuildIdentity,
  maskExtents: number[],
  region: MaskRegion,
  counts: TileCounts,
): PartialManifest {
  return {
    format: PARTIAL_FORMAT,
    formatVersion: PARTIAL_FORMAT_VERSION,
    ...identity,
    maskExtents: [...maskExtents],
    region: { start: [...region.start], extent: [...region.extent] },
    tilesApplied: counts.applied,
    tilesSkipped: counts.skipped,
    files: { accumulator: ACCUMULATOR_FILE, overlapCounter: identity.counterDtype ? COUNTER_FILE : null },
    state:
      identity.aggregation === 'mean'
        ? 'accumulator: per-pixel sums of tile values (not divided); overlap_counter: tiles per pixel'
        : 'accumulator: per-pixel maxima, -Infinity where no tile landed',
  };
}

/** Refuses an existing target before anything is written. */
export function checkPartialTarget(dir: unknown): string {
  if (typeof dir !== 'string' || dir.length === 0 || dir.includes('\0')) {
    throw typeError(ErrorCode.OPTION_TYPE, `dir must be a non-empty path string; received ${describe(dir)}`);
  }
  if (existsSync(dir)) {
    throw Object.assign(new Error(`${dir} already exists; refusing to overwrite it (savePartial writes a new directory)`), {
      code: 'EEXIST',
    });
  }
  return dir;
}

function temporarySibling(dir: string): string {
  mkdirSync(dirname(dir), { recursive: true });
  const tmp = join(dirname(dir), `.${basename(dir)}.partial-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
  mkdirSync(tmp);
  return tmp;
}

/** Writes the manifest last, then renames the finished directory into place. */
function complete(tmp: string, dir: string, manifest: PartialManifest): void {
  const fd = openSync(join(tmp, MANIFEST_FILE), 'wx');
  try {
    writeSync(fd, `${JSON.stringify(manifest, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, dir);
}

/**
 * Writes a partial atomically: the arrays and the manifest go into a fresh
 * sibling directory that is renamed to `dir` once complete, so a process
 * killed mid-save never leaves a `dir` that looks whole.
 */
export function writePartialSync(dir: string, writeArrays: (tmp: string) => PartialManifest): void {
  const tmp = temporarySibling(dir);
  try {
    complete(tmp, dir, writeArrays(tmp));
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

export async function writePartialAsync(dir: string, writeArrays: (tmp: string) => Promise<PartialManifest>): Promise<void> {
  const tmp = temporarySibling(dir);
  try {
    complete(tmp, dir, await writeArrays(tmp));
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

function corrupt(path: string, message: string): Error {
  return rangeError(ErrorCode.PARTIAL_CORRUPT, `${path}: ${message}`);
}

function intArray(path: string, name: string, v: unknown, min: number): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= min)) {
    throw corrupt(path, `manifest field ${name} must be an array of integers >= ${min}; found ${describe(v)}`);
  }
  return v as number[];
}

/** Reads and checks one partial's manifest (form, format and version; not its arrays). */
export function readManifest(dir: unknown): PartialManifest & { dir: string } {
  if (typeof dir !== 'string' || dir.length === 0) {
    throw typeError(ErrorCode.OPTION_TYPE, `each partial must be a directory path string; received ${describe(dir)}`);
  }
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw Object.assign(
      new Error(
        `${path}: cannot read the partial's manifest (${(e as Error).message}); a directory without one is not a complete partial`,
      ),
      { code: code ?? 'EIO' },
    );
  }
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw corrupt(path, `the manifest is not valid JSON (${(e as Error).message})`);
  }
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw corrupt(path, 'the manifest is not a JSON object');
  if (m.format !== PARTIAL_FORMAT) {
    throw corrupt(path, `manifest field format must be '${PARTIAL_FORMAT}'; found ${describe(m.format)}`);
  }
  if (m.formatVersion !== PARTIAL_FORMAT_VERSION) {
    throw rangeError(
      ErrorCode.PARTIAL_MISMATCH,
      `formatVersion: ${path} has formatVersion ${describe(m.formatVersion)}; this version of wsi-mask-builder reads ${PARTIAL_FORMAT_VERSION} only`,
    );
  }
  for (const key of ['sourceExtents', 'sourceTileExtent', 'outputTileExtent', 'stride', 'maskExtents']) {
    intArray(path, key, m[key], 1);
  }
  const positive = (key: string) => {
    if (typeof m[key] !== 'number' || !Number.isSafeInteger(m[key]) || (m[key] as number) < 0) {
      throw corrupt(path, `manifest field ${key} must be a non-negative integer; found ${describe(m[key])}`);
    }
  };
  positive('nChannels');
  positive('tilesApplied');
  positive('tilesSkipped');
  if (m.aggregation !== 'mean' && m.aggregation !== 'max') {
    throw corrupt(path, `manifest field aggregation must be 'mean' or 'max'; found ${describe(m.aggregation)}`);
  }
  if (m.dtype !== 'float32' && m.dtype !== 'float64') {
    throw corrupt(path, `manifest field dtype must be 'float32' or 'float64'; found ${describe(m.dtype)}`);
  }
  const counterOk =
    m.aggregation === 'mean' ? m.counterDtype === 'uint16' || m.counterDtype === 'uint32' : m.counterDtype === null;
  if (!counterOk) {
    throw corrupt(path, `manifest field counterDtype ${describe(m.counterDtype)} does not fit aggregation '${m.aggregation}'`);
  }
  const region = m.region as Record<string, unknown> | null;
  if (region === null || typeof region !== 'object') throw corrupt(path, 'manifest field region must be { start, extent }');
  const start = intArray(path, 'region.start', region.start, 0);
  const extent = intArray(path, 'region.extent', region.extent, 1);
  const n = (m.sourceExtents as number[]).length;
  if (start.length !== n || extent.length !== n) {
    throw corrupt(path, `manifest field region must have ${n} entries per side (one per spatial dimension)`);
  }
  return { ...(m as unknown as PartialManifest), dir };
}

export function identityOf(m: BuildIdentity): BuildIdentity {
  return {
    sourceExtents: m.sourceExtents,
    sourceTileExtent: m.sourceTileExtent,
    outputTileExtent: m.outputTileExtent,
    stride: m.stride,
    nChannels: m.nChannels,
    aggregation: m.aggregation,
    dtype: m.dtype,
    counterDtype: m.counterDtype,
  };
}

/** Reads every manifest and checks they are one build; returns them with the box they cover. */
export function readManifests(dirs: unknown): { manifests: (PartialManifest & { dir: string })[]; cover: MaskRegion } {
  if (!Array.isArray(dirs) || dirs.length === 0) {
    throw typeError(ErrorCode.OPTION_TYPE, `dirs must be a non-empty array of partial directories; received ${describe(dirs)}`);
  }
  const manifests = dirs.map(readManifest);
  const first = manifests[0];
  for (const m of manifests.slice(1)) checkSameBuild(identityOf(first), identityOf(m), `the partial ${m.dir}`);
  const n = first.sourceExtents.length;
  const lo = new Array<number>(n).fill(Number.MAX_SAFE_INTEGER);
  const hi = new Array<number>(n).fill(0);
  for (const m of manifests) {
    for (let d = 0; d < n; d++) {
      lo[d] = Math.min(lo[d], m.region.start[d]);
      hi[d] = Math.max(hi[d], m.region.start[d] + m.region.extent[d]);
    }
  }
  return { manifests, cover: { start: lo, extent: hi.map((h, d) => h - lo[d]) } };
}

export function refOf(m: PartialManifest & { dir: string }): PartialRef {
  return { dir: m.dir, region: m.region, tilesApplied: m.tilesApplied, tilesSkipped: m.tilesSkipped };
}
