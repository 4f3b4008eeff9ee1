/**
 * Saved partial states: the manifest (geometry, options, region, tile
 * counts, format version) written beside a builder's un-normalized NPY
 * arrays, and the checks that decide whether states may merge. Shared by
 * both backends; the arrays themselves are written and checked by the
 * backend (the Rust core's `partial` module, or the JS mirror).
 */

import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { PartialRef, TileCounts } from './backend';
import { describe, ErrorCode, list, rangeError, typeError } from './errors';
import { WINDOW_NAMES } from './js/weights';
import type { CounterDtype, FloatDtype } from './ndarray';
import { readNpy } from './npy';
import type { BuiltinAggregation, MaskRegion, ResolvedWeights, WeightsInput } from './options';
import { ACCUMULATOR_FILE, COUNTER_FILE, M2_FILE, MANIFEST_FILE, WEIGHT_MAP_FILE, WEIGHT_SUM_FILE } from './partial-files';

export const PARTIAL_FORMAT = 'wsi-mask-builder-partial';
/**
 * Bumped whenever the arrays or the manifest change meaning. Version 2 added
 * every built-in aggregation, `weights`, `background` and the weight sum and
 * M2 arrays; version 1 partials (mean and max, uniform weights) still load.
 */
export const PARTIAL_FORMAT_VERSION = 2;
const READABLE_VERSIONS = [1, 2];

const AGGREGATIONS: readonly BuiltinAggregation[] = ['mean', 'max', 'min', 'sum', 'variance', 'argmax'];

/** `weights` as a manifest records it; a custom map by shape and digest (its values are saved beside the arrays). */
export type PartialWeights =
  | 'uniform'
  | { type: 'gaussian'; sigmaScale: number[] }
  | { type: Exclude<(typeof WINDOW_NAMES)[number], 'gaussian'>; symmetric: boolean }
  | { type: 'map'; shape: number[]; sha256: string };

export function partialWeights(w: ResolvedWeights): PartialWeights {
  switch (w.kind) {
    case 'uniform':
      return 'uniform';
    case 'gaussian':
      return { type: 'gaussian', sigmaScale: [...w.sigmaScale] };
    case 'map':
      return {
        type: 'map',
        shape: [...w.mapShape],
        sha256: createHash('sha256')
          .update(new Uint8Array(w.map.buffer, w.map.byteOffset, w.map.byteLength))
          .digest('hex'),
      };
    default:
      return { type: w.kind, symmetric: w.symmetric };
  }
}

/** What must agree between two states for them to merge. */
export interface BuildIdentity {
  sourceExtents: number[];
  sourceTileExtent: number[];
  outputTileExtent: number[];
  stride: number[];
  nChannels: number;
  aggregation: BuiltinAggregation;
  dtype: FloatDtype;
  /** The counter type; null for max and min, which count no overlaps. */
  counterDtype: CounterDtype | null;
  weights: PartialWeights;
  /** argmax's label for pixels no tile reached; null for the other aggregations. */
  background: number | null;
}

/** The manifest of a saved partial (`manifest.json`). */
export interface PartialManifest extends BuildIdentity {
  format: typeof PARTIAL_FORMAT;
  formatVersion: number;
  maskExtents: number[];
  region: MaskRegion;
  tilesApplied: number;
  tilesSkipped: number;
  files: {
    accumulator: string;
    overlapCounter: string | null;
    weightSum: string | null;
    m2: string | null;
    weightMap: string | null;
  };
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
  'weights',
  'background',
] as const;

const show = (v: unknown) => (Array.isArray(v) ? list(v) : v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v));

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
    files: {
      accumulator: ACCUMULATOR_FILE,
      overlapCounter: identity.counterDtype ? COUNTER_FILE : null,
      weightSum: identity.weights !== 'uniform' && identity.aggregation !== 'variance' ? WEIGHT_SUM_FILE : null,
      m2: identity.aggregation === 'variance' ? M2_FILE : null,
      weightMap: typeof identity.weights === 'object' && identity.weights.type === 'map' ? WEIGHT_MAP_FILE : null,
    },
    state: STATES[identity.aggregation] + (identity.weights === 'uniform' ? '' : WEIGHTED_STATE),
  };
}

const STATES: Record<BuiltinAggregation, string> = {
  mean: 'accumulator: per-pixel sums of tile values (not divided); overlap_counter: tiles per pixel',
  sum: 'accumulator: per-pixel sums of tile values; overlap_counter: tiles per pixel',
  argmax: 'accumulator: per-pixel sums of class scores (not divided); overlap_counter: tiles per pixel',
  max: 'accumulator: per-pixel maxima, -Infinity where no tile landed',
  min: 'accumulator: per-pixel minima, Infinity where no tile landed',
  variance:
    'accumulator: per-pixel running means (Welford); m2: sums of squared deviations from them; overlap_counter: tiles per pixel (variance = m2 / count)',
};
const WEIGHTED_STATE =
  ' (sums weighted by the weight map); weight_sum: per-pixel sums of weights; weight_map.npy, if present: the custom map';

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
  if (!READABLE_VERSIONS.includes(m.formatVersion as number)) {
    throw rangeError(
      ErrorCode.PARTIAL_MISMATCH,
      `formatVersion: ${path} has formatVersion ${describe(m.formatVersion)}; this version of wsi-mask-builder reads ${READABLE_VERSIONS.join(' and ')}`,
    );
  }
  if (m.formatVersion === 1) {
    // Version 1: mean and max with uniform weights, no auxiliary arrays.
    m.weights = 'uniform';
    m.background = null;
    const files = (m.files ?? {}) as Record<string, unknown>;
    m.files = { ...files, weightSum: null, m2: null, weightMap: null };
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
  const readable = m.formatVersion === 1 ? ['mean', 'max'] : AGGREGATIONS;
  if (!readable.includes(m.aggregation as BuiltinAggregation)) {
    throw corrupt(
      path,
      `manifest field aggregation must be one of ${readable.map((a) => `'${a}'`).join(', ')}; found ${describe(m.aggregation)}`,
    );
  }
  if (m.dtype !== 'float32' && m.dtype !== 'float64') {
    throw corrupt(path, `manifest field dtype must be 'float32' or 'float64'; found ${describe(m.dtype)}`);
  }
  const counts = m.aggregation !== 'max' && m.aggregation !== 'min';
  const counterOk = counts ? m.counterDtype === 'uint16' || m.counterDtype === 'uint32' : m.counterDtype === null;
  if (!counterOk) {
    throw corrupt(path, `manifest field counterDtype ${describe(m.counterDtype)} does not fit aggregation '${m.aggregation}'`);
  }
  checkWeights(path, m.weights, m.aggregation as BuiltinAggregation);
  const backgroundOk =
    m.aggregation === 'argmax'
      ? typeof m.background === 'number' && Number.isSafeInteger(m.background) && m.background >= 0
      : m.background === null;
  if (!backgroundOk) {
    throw corrupt(path, `manifest field background ${describe(m.background)} does not fit aggregation '${m.aggregation}'`);
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

/** Checks the form of a manifest's `weights` (the values of a map are checked when the builder is made). */
function checkWeights(path: string, w: unknown, aggregation: BuiltinAggregation): void {
  const bad = () => corrupt(path, `manifest field weights ${describe(w)} is not a weights record of wsi-mask-builder`);
  if (w === 'uniform') return;
  if (aggregation !== 'mean' && aggregation !== 'sum' && aggregation !== 'argmax') {
    throw corrupt(path, `manifest field weights must be 'uniform' for aggregation '${aggregation}'; found ${describe(w)}`);
  }
  if (w === null || typeof w !== 'object' || Array.isArray(w)) throw bad();
  const o = w as Record<string, unknown>;
  const numbers = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (o.type === 'gaussian' && numbers(o.sigmaScale)) return;
  if (o.type === 'map' && numbers(o.shape) && typeof o.sha256 === 'string') return;
  if ((WINDOW_NAMES as readonly unknown[]).includes(o.type) && o.type !== 'gaussian' && typeof o.symmetric === 'boolean') return;
  throw bad();
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
    weights: m.weights,
    background: m.background,
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

/** The `weights` option a manifest records (a custom map read back from `weight_map.npy` and checked against its digest). */
export function weightsOf(m: PartialManifest & { dir: string }): WeightsInput {
  const w = m.weights;
  if (w === 'uniform') return 'uniform';
  if (w.type === 'gaussian') return { type: 'gaussian', sigmaScale: w.sigmaScale };
  if (w.type !== 'map') return { type: w.type, symmetric: w.symmetric };
  const path = join(m.dir, WEIGHT_MAP_FILE);
  let map: ReturnType<typeof readNpy>;
  try {
    map = readNpy(path);
  } catch (e) {
    throw corrupt(path, `the custom weight map is not a readable NPY array (${(e as Error).message})`);
  }
  const data = map.data;
  if (!(data instanceof Float64Array) || list(map.shape) !== list(w.shape)) {
    throw corrupt(
      path,
      `the custom weight map must be float64 of shape ${list(w.shape)}; found ${map.header.descr} ${list(map.shape)}`,
    );
  }
  const digest = partialWeights({ kind: 'map', map: data, mapShape: map.shape });
  if (typeof digest === 'object' && digest.type === 'map' && digest.sha256 !== w.sha256) {
    throw corrupt(path, 'the custom weight map does not match the digest its manifest records (weights.sha256)');
  }
  return { data, shape: map.shape };
}

export function refOf(m: PartialManifest & { dir: string }): PartialRef {
  return { dir: m.dir, region: m.region, tilesApplied: m.tilesApplied, tilesSkipped: m.tilesSkipped };
}
