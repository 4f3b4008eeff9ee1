/**
 * `toGeoJSON` and `writeGeoJSON`: mask regions as QuPath annotations, traced
 * along pixel edges in the Rust core, in slide (source-pixel) coordinates.
 */

import { writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { describe, ErrorCode, rangeError, typeError } from '../errors';
import { type ExportInput, exportSource, namesOf } from './input';
import { nativeFor } from './native';

/** A QuPath classification: a name and an `[r, g, b]` colour. */
export interface RegionClass {
  name: string;
  color?: [number, number, number];
}

export interface GeoJsonOptions {
  /** Float masks: the channel to threshold. Default 0. */
  channel?: number;
  /** Float masks: pixels at or above this are inside (NaN never is). Default 0.5. */
  threshold?: number;
  /** Float masks: the regions' class. Default: the channel's name, in red. */
  classification?: RegionClass;
  /** Label maps (uint8/uint16): classes by label; unnamed non-zero labels are `label N`. */
  classes?: Record<number, RegionClass>;
  /** Drop regions smaller than this, in source pixels squared. Default 0. */
  minArea?: number;
  /**
   * Simplify outlines with tolerance `simplify` slide pixels (topology-preserving
   * Visvalingam-Whyatt: a vertex goes when the triangle it makes with its neighbours
   * is under `simplify²`, so one mask pixel's worth removes the one-pixel stairs).
   * Polygons stay valid with their holes inside; each polygon's area moves by at
   * most `dropped vertices × simplify²`. Default 0: the exact pixel-edge outlines.
   */
  simplify?: number;
  /** Micrometres per source pixel (adds `Area µm^2`). Default: what the mask's geometry carries. */
  mpp?: number | number[];
  channelNames?: string[];
}

export interface GeoJsonFeature {
  type: 'Feature';
  geometry: { type: 'Polygon'; coordinates: [number, number][][] };
  properties: {
    objectType: 'annotation';
    classification: { name: string; color: [number, number, number] };
    measurements: Record<string, number>;
    label?: number;
  };
}

export interface GeoJsonFeatureCollection {
  type: 'FeatureCollection';
  features: GeoJsonFeature[];
}

const KNOWN = ['channel', 'threshold', 'classification', 'classes', 'minArea', 'simplify', 'mpp', 'channelNames'];
const RED: [number, number, number] = [200, 0, 0];

function regionClass(name: string, value: unknown, label?: number) {
  if (value === null || typeof value !== 'object' || typeof (value as RegionClass).name !== 'string') {
    throw typeError(ErrorCode.OPTION_TYPE, `${name} must be { name, color? }; received ${describe(value)}`);
  }
  const c = value as RegionClass;
  const color = c.color ?? RED;
  if (!Array.isArray(color) || color.length !== 3 || !color.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) {
    throw rangeError(
      ErrorCode.OPTION_RANGE,
      `${name}.color must be [r, g, b] with integers 0 to 255; received ${describe(c.color)}`,
    );
  }
  return { label, name: c.name, color: [...color] };
}

type Native = ReturnType<typeof nativeFor>;

/** The checked arguments of the native `toGeoJson`, ready for its sync or async form. */
function request(call: string, mask: ExportInput, options: GeoJsonOptions | undefined): Parameters<Native['toGeoJson']> {
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    throw typeError(ErrorCode.OPTION_TYPE, `${call}: options must be an object; received ${describe(options)}`);
  }
  const o = (options ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN.includes(key)) {
      throw typeError(ErrorCode.UNKNOWN_OPTION, `${call}: unknown option '${key}'; known options: ${KNOWN.join(', ')}`);
    }
  }
  const source = exportSource(mask, o);
  const labels = source.dtype === 'uint8' || source.dtype === 'uint16';
  const channel = o.channel ?? 0;
  if (typeof channel !== 'number' || !Number.isSafeInteger(channel) || channel < 0 || channel >= source.channels) {
    throw rangeError(
      ErrorCode.OPTION_RANGE,
      `channel must be an integer from 0 to ${source.channels - 1}; received ${describe(channel)}`,
    );
  }
  const threshold = o.threshold ?? 0.5;
  if (typeof threshold !== 'number' || Number.isNaN(threshold)) {
    throw typeError(ErrorCode.OPTION_TYPE, `threshold must be a number; received ${describe(threshold)}`);
  }
  const minArea = o.minArea ?? 0;
  if (typeof minArea !== 'number' || !Number.isFinite(minArea) || minArea < 0) {
    throw rangeError(
      ErrorCode.OPTION_RANGE,
      `minArea must be a non-negative number (source pixels squared); received ${describe(minArea)}`,
    );
  }
  const simplify = o.simplify ?? 0;
  if (typeof simplify !== 'number') {
    throw typeError(
      ErrorCode.OPTION_TYPE,
      `simplify must be a number (a tolerance in slide pixels, 0 for exact outlines); received ${describe(simplify)}`,
    );
  }
  if (!Number.isFinite(simplify) || simplify < 0) {
    throw rangeError(
      ErrorCode.OPTION_RANGE,
      `simplify must be a non-negative number of slide pixels (e.g. 1; 0 keeps the exact outlines); received ${describe(simplify)}`,
    );
  }
  let classes: ReturnType<typeof regionClass>[];
  if (labels) {
    if (o.threshold !== undefined || o.classification !== undefined) {
      throw typeError(
        ErrorCode.OPTION_TYPE,
        `${call}: a ${source.dtype} mask is a label map: pass classes, not threshold or classification`,
      );
    }
    const given = o.classes ?? {};
    if (given === null || typeof given !== 'object') {
      throw typeError(
        ErrorCode.OPTION_TYPE,
        `classes must be an object { label: { name, color? } }; received ${describe(given)}`,
      );
    }
    classes = Object.entries(given).map(([key, value]) => {
      const label = Number(key);
      if (!Number.isInteger(label) || label < 1 || label > 65535) {
        throw rangeError(ErrorCode.OPTION_RANGE, `classes keys must be labels 1 to 65535; received '${key}'`);
      }
      return regionClass(`classes[${key}]`, value, label);
    });
  } else {
    if (o.classes !== undefined) {
      throw typeError(
        ErrorCode.OPTION_TYPE,
        `${call}: classes is for uint8/uint16 label maps; for a ${source.dtype} mask pass threshold and classification`,
      );
    }
    classes = [regionClass('classification', o.classification ?? { name: namesOf(source)[channel] })];
  }
  return [
    source.planes,
    { extents: source.extents, file: source.file },
    { scale: source.geometry.scale, mpp: source.geometry.mpp },
    { labels, channel, threshold, classes, minArea, simplify },
  ];
}

function pathArgument(call: string, path: unknown): string {
  if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) {
    throw typeError(ErrorCode.OPTION_TYPE, `${call}: path must be a non-empty string; received ${describe(path)}`);
  }
  return path;
}

function written(path: string, text: string): { path: string; features: number } {
  writeFileSync(path, text);
  return { path, features: (JSON.parse(text) as GeoJsonFeatureCollection).features.length };
}

/**
 * Traces the regions of a 2-D mask (a channel at or above `threshold`, or
 * each label of a uint8/uint16 label map) into a GeoJSON FeatureCollection of
 * QuPath annotations: polygons with holes, in slide coordinates (mask pixel
 * corners times the mask's scale), with classification and measured area.
 * Traced along pixel edges, so areas are exact (`simplify` trades vertices for
 * a bounded area change). Needs the native addon; tracing holds the plane in
 * memory: about 10 bytes per mask pixel (8 for a label map).
 */
export function toGeoJSON(mask: ExportInput, options?: GeoJsonOptions): GeoJsonFeatureCollection {
  const call = 'toGeoJSON';
  const args = request(call, mask, options);
  return JSON.parse(nativeFor(call).toGeoJson(...args));
}

/**
 * `toGeoJSON` on the libuv thread pool: the event loop keeps turning while it
 * traces. In-memory masks are copied first (change them freely meanwhile);
 * NPY files are read on the pool. Same features as `toGeoJSON`.
 */
export async function toGeoJSONAsync(mask: ExportInput, options?: GeoJsonOptions): Promise<GeoJsonFeatureCollection> {
  const call = 'toGeoJSONAsync';
  const args = request(call, mask, options);
  return JSON.parse(await nativeFor(call).toGeoJsonAsync(...args));
}

/** `toGeoJSON` written to `path` (QuPath: File > Import objects). Returns the number of features. */
export function writeGeoJSON(mask: ExportInput, path: string, options?: GeoJsonOptions): { path: string; features: number } {
  const call = 'writeGeoJSON';
  const target = pathArgument(call, path);
  const args = request(call, mask, options);
  return written(target, nativeFor(call).toGeoJson(...args));
}

/** `writeGeoJSON` with the tracing on the libuv thread pool and an asynchronous write; the same bytes. */
export async function writeGeoJSONAsync(
  mask: ExportInput,
  path: string,
  options?: GeoJsonOptions,
): Promise<{ path: string; features: number }> {
  const call = 'writeGeoJSONAsync';
  const target = pathArgument(call, path);
  const args = request(call, mask, options);
  const text = await nativeFor(call).toGeoJsonAsync(...args);
  await writeFile(target, text);
  return { path: target, features: (JSON.parse(text) as GeoJsonFeatureCollection).features.length };
}
