/**
 * `toGeoJSON` and `writeGeoJSON`: mask regions as QuPath annotations, traced
 * along pixel edges in the Rust core, in slide (source-pixel) coordinates.
 */

import { writeFileSync } from 'node:fs';
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

const KNOWN = ['channel', 'threshold', 'classification', 'classes', 'minArea', 'mpp', 'channelNames'];
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

function traced(call: string, mask: ExportInput, options: GeoJsonOptions | undefined): string {
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
  return nativeFor(call).toGeoJson(
    source.planes,
    { extents: source.extents, file: source.file },
    { scale: source.geometry.scale, mpp: source.geometry.mpp },
    { labels, channel, threshold, classes, minArea },
  );
}

/**
 * Traces the regions of a 2-D mask (a channel at or above `threshold`, or
 * each label of a uint8/uint16 label map) into a GeoJSON FeatureCollection of
 * QuPath annotations: polygons with holes, in slide coordinates (mask pixel
 * corners times the mask's scale), with classification and measured area.
 * Traced along pixel edges, so areas are exact. Needs the native addon; the
 * mask is held in memory while tracing (5 bytes per mask pixel besides it).
 */
export function toGeoJSON(mask: ExportInput, options?: GeoJsonOptions): GeoJsonFeatureCollection {
  return JSON.parse(traced('toGeoJSON', mask, options));
}

/** `toGeoJSON` written to `path` (QuPath: File > Import objects). Returns the number of features. */
export function writeGeoJSON(mask: ExportInput, path: string, options?: GeoJsonOptions): { path: string; features: number } {
  if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) {
    throw typeError(ErrorCode.OPTION_TYPE, `writeGeoJSON: path must be a non-empty string; received ${describe(path)}`);
  }
  const text = traced('writeGeoJSON', mask, options);
  writeFileSync(path, text);
  return { path, features: (JSON.parse(text) as GeoJsonFeatureCollection).features.length };
}
