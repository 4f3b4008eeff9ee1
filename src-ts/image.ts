/**
 * Images people look at: masks colored with a colormap (`colorize`), blended
 * over a slide-resolution RGB image (`overlay`), and encoded as PNG or tiled
 * pyramidal TIFF (`toImage`, `writeImage`) through the optional dependency
 * sharp, loaded only when an image is encoded.
 */

import { constants as bufferConstants } from 'node:buffer';
import { statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { withColorbar } from './colorbar';
import { COLORMAP_HEX } from './colormaps';
import { describe, ErrorCode, list, rangeError, typeError } from './errors';
import { type FloatImage, floatImage } from './image-input';
import { refuseIfMapped } from './native-backend';
import { loadSharp } from './sharp-loader';

export type ColormapName = 'viridis' | 'magma' | 'gray';
export type ImageFormat = 'png' | 'jpeg' | 'tiff';
/** `'chw'`: `[C, H, W]` (a builder's mask); `'hwc'`: `[H, W, C]` (what `resizeToSource` returns). */
export type MaskLayout = 'chw' | 'hwc';

/** An 8-bit RGB image, `[H, W, 3]`. */
export interface RgbImage {
  data: Uint8Array;
  shape: [number, number, 3];
  dtype: 'uint8';
}

export interface ColorizeOptions {
  /** Which channel to color. Default 0. */
  channel?: number;
  /** Default `'viridis'`. */
  colormap?: ColormapName;
  /** Values mapped to the two ends of the colormap (clamped outside). Default: the channel's finite minimum and maximum. */
  range?: readonly [number, number];
  /** Default `'chw'`; a 2-D `[H, W]` mask needs none. */
  layout?: MaskLayout;
}

export interface OverlayOptions extends ColorizeOptions {
  /** Weight of the heatmap color, 0 to 1. Default 0.5. */
  opacity?: number;
  /** Pixels whose value is below this (or NaN) keep the image's color. Default: none. */
  threshold?: number;
}

/** Options of `toImage`: coloring, encoding, and the colour bar. */
export interface HeatmapOptions {
  /** Add a band below the heatmap with the colormap from `range[0]` to `range[1]` and those two values printed. Default false. */
  colorbar?: boolean;
}

export interface EncodeOptions {
  /** Write here; without it the encoded bytes are returned. */
  filename?: string;
  /**
   * Default: from the filename's extension (`.png`, `.jpg`/`.jpeg`, `.tif`/`.tiff`; another extension is
   * refused); without one, `'png'` for images up to 16384 px a side and `'tiff'` (tiled, pyramidal) for larger ones.
   */
  format?: ImageFormat;
  /** TIFF only: tiled with a multi-resolution pyramid, for QuPath and OpenSeadragon. Default true. */
  pyramid?: boolean;
  /** TIFF tile edge in pixels. Default 512. */
  tileSize?: number;
  /** TIFF only: microns per pixel (`[y, x]` or one for both), recorded as the resolution. */
  mpp?: number | readonly [number, number];
}

export type ImageOptions = ColorizeOptions & EncodeOptions & HeatmapOptions;

/** What `toImage` and `writeImage` produced. */
export interface EncodedImage {
  format: ImageFormat;
  width: number;
  height: number;
  /** Where it was written, when `filename` was given. */
  filename?: string;
  /** The encoded bytes, when no `filename` was given. */
  data?: Uint8Array;
}

// ---------------------------------------------------------------------------
// Colormaps

const tables = new Map<ColormapName, Uint8Array>();

/** The 256 x RGB lookup table of a colormap. */
export function colormapTable(name: ColormapName): Uint8Array {
  let table = tables.get(name);
  if (!table) {
    table = new Uint8Array(256 * 3);
    if (name === 'gray') {
      for (let i = 0; i < 256; i++) table.fill(i, i * 3, i * 3 + 3);
    } else {
      const hex = COLORMAP_HEX[name];
      for (let i = 0; i < 256 * 3; i++) table[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
    }
    tables.set(name, table);
  }
  return table;
}

const COLORMAPS: readonly ColormapName[] = ['viridis', 'magma', 'gray'];

// ---------------------------------------------------------------------------
// Options

function checkKnown(options: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw typeError(ErrorCode.UNKNOWN_OPTION, `unknown option '${key}'; known options: ${known.join(', ')}`);
    }
  }
}

function optionsObject(options: unknown): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw typeError(ErrorCode.OPTION_TYPE, `options must be an object; received ${describe(options)}`);
  }
  return options as Record<string, unknown>;
}

interface Plane {
  height: number;
  width: number;
  /** Value of pixel `i` (row-major) of the chosen channel. */
  at: (i: number) => number;
}

/** The chosen channel of `mask` as a plane, for `layout`. */
function plane(mask: FloatImage, layout: unknown, channel: unknown): Plane {
  if (layout !== undefined && layout !== 'chw' && layout !== 'hwc') {
    throw typeError(ErrorCode.OPTION_TYPE, `layout must be 'chw' or 'hwc'; received ${describe(layout)}`);
  }
  const c = channel ?? 0;
  if (typeof c !== 'number' || !Number.isSafeInteger(c) || c < 0) {
    throw rangeError(ErrorCode.OPTION_RANGE, `channel must be a non-negative integer; received ${describe(c)}`);
  }
  const { data, shape } = mask;
  if (shape.length === 2) {
    if (c !== 0) throw rangeError(ErrorCode.OPTION_RANGE, `channel must be 0 for a 2-D mask ${list(shape)}; received ${c}`);
    return { height: shape[0], width: shape[1], at: (i) => data[i] };
  }
  if (shape.length !== 3) {
    throw rangeError(
      ErrorCode.IMAGE_SHAPE,
      `the mask must be 2-D [H, W] or 3-D [C, H, W] / [H, W, C]; received shape ${list(shape)}`,
    );
  }
  const hwc = (layout ?? 'chw') === 'hwc';
  const [height, width, channels] = hwc ? shape : [shape[1], shape[2], shape[0]];
  if (c >= channels) {
    throw rangeError(
      ErrorCode.OPTION_RANGE,
      `channel must be below ${channels}, the mask's channel count (shape ${list(shape)}, layout '${hwc ? 'hwc' : 'chw'}'); received ${c}`,
    );
  }
  if (hwc) return { height, width, at: (i) => data[i * channels + c] };
  const offset = c * height * width;
  return { height, width, at: (i) => data[offset + i] };
}

function resolveRange(range: unknown, p: Plane): [number, number] {
  if (range !== undefined) {
    if (!Array.isArray(range) || range.length !== 2 || !range.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw typeError(ErrorCode.OPTION_TYPE, `range must be [low, high], two finite numbers; received ${describe(range)}`);
    }
    if (!(range[0] < range[1])) {
      throw rangeError(ErrorCode.OPTION_RANGE, `range must have low < high; received ${list(range)}`);
    }
    return [range[0], range[1]];
  }
  let low = Number.POSITIVE_INFINITY;
  let high = Number.NEGATIVE_INFINITY;
  const n = p.height * p.width;
  for (let i = 0; i < n; i++) {
    const v = p.at(i);
    if (v < low) low = v;
    if (v > high) high = v;
  }
  // An empty or constant channel maps to the low end.
  return Number.isFinite(low) && Number.isFinite(high) ? [low, high > low ? high : low + 1] : [0, 1];
}

function resolveColormap(name: unknown): ColormapName {
  const colormap = name ?? 'viridis';
  if (!COLORMAPS.includes(colormap as ColormapName)) {
    throw typeError(ErrorCode.OPTION_TYPE, `colormap must be one of ${COLORMAPS.join(', ')}; received ${describe(colormap)}`);
  }
  return colormap as ColormapName;
}

function rgbBuffer(height: number, width: number): Uint8Array {
  const bytes = height * width * 3;
  if (bytes > bufferConstants.MAX_LENGTH) {
    throw rangeError(
      ErrorCode.OUTPUT_TOO_LARGE,
      `an RGB image of ${height} x ${width} takes ${bytes} bytes, more than one Buffer holds here (${bufferConstants.MAX_LENGTH}); ` +
        'color a downsampled mask instead',
    );
  }
  return new Uint8Array(bytes);
}

const COLORIZE_OPTIONS = ['channel', 'colormap', 'range', 'layout'] as const;

/** Lookup index (0..255) of value `v` for `range`; NaN maps to 0. */
function indexer([low, high]: [number, number]): (v: number) => number {
  const scale = 255 / (high - low);
  return (v) => {
    const t = (v - low) * scale;
    return t >= 255 ? 255 : t > 0 ? Math.round(t) : 0;
  };
}

// ---------------------------------------------------------------------------
// Public functions

/** One channel of `mask` as an RGB heatmap `[H, W, 3]`. */
export function colorize(mask: unknown, options?: ColorizeOptions): RgbImage {
  const o = optionsObject(options);
  checkKnown(o, COLORIZE_OPTIONS);
  const p = plane(floatImage('mask', mask), o.layout, o.channel);
  const table = colormapTable(resolveColormap(o.colormap));
  const index = indexer(resolveRange(o.range, p));
  const out = rgbBuffer(p.height, p.width);
  const n = p.height * p.width;
  for (let i = 0; i < n; i++) {
    const t = index(p.at(i)) * 3;
    out[i * 3] = table[t];
    out[i * 3 + 1] = table[t + 1];
    out[i * 3 + 2] = table[t + 2];
  }
  return { data: out, shape: [p.height, p.width, 3], dtype: 'uint8' };
}

/**
 * Blends a heatmap of `mask` over `image` (`{ data: Uint8Array, shape: [H, W, 3 | 4] }`,
 * slide resolution; alpha is ignored). The mask must have the image's height
 * and width; its layout defaults to `'hwc'`, as `resizeToSource` returns it.
 */
export function overlay(image: unknown, mask: unknown, options?: OverlayOptions): RgbImage {
  const o = optionsObject(options);
  checkKnown(o, [...COLORIZE_OPTIONS, 'opacity', 'threshold']);
  if (image === null || typeof image !== 'object') {
    throw typeError(
      ErrorCode.IMAGE_TYPE,
      `image must be { data: Uint8Array, shape: [H, W, 3 | 4] }; received ${describe(image)}`,
    );
  }
  const { data, shape } = image as { data?: unknown; shape?: unknown };
  if (!(data instanceof Uint8Array) && !(data instanceof Uint8ClampedArray)) {
    throw typeError(ErrorCode.IMAGE_TYPE, `image.data must be a Uint8Array or Uint8ClampedArray; received ${describe(data)}`);
  }
  const dims = Array.isArray(shape) ? (shape as unknown[]) : [];
  const valid =
    dims.length === 3 &&
    dims.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d > 0) &&
    (dims[2] === 3 || dims[2] === 4) &&
    (dims as number[]).reduce((a, d) => a * d, 1) === data.length;
  if (!valid) {
    throw rangeError(
      ErrorCode.IMAGE_SHAPE,
      `image.shape must be [H, W, 3] or [H, W, 4] and match image.data (${data.length} bytes); received ${describe(shape)}`,
    );
  }
  const [height, width, bands] = dims as number[];
  const p = plane(floatImage('mask', mask), o.layout ?? 'hwc', o.channel);
  if (p.height !== height || p.width !== width) {
    throw rangeError(
      ErrorCode.IMAGE_SHAPE,
      `the mask is ${p.height} x ${p.width} but the image is ${height} x ${width}; resize the mask with resizeToSource first ` +
        `(or pass layout: 'chw' for a [C, H, W] mask)`,
    );
  }
  const opacity = o.opacity ?? 0.5;
  if (typeof opacity !== 'number' || !(opacity >= 0 && opacity <= 1)) {
    throw rangeError(ErrorCode.OPTION_RANGE, `opacity must be a number from 0 to 1; received ${describe(opacity)}`);
  }
  const threshold = o.threshold ?? Number.NEGATIVE_INFINITY;
  if (typeof threshold !== 'number' || Number.isNaN(threshold)) {
    throw typeError(ErrorCode.OPTION_TYPE, `threshold must be a number; received ${describe(threshold)}`);
  }
  const table = colormapTable(resolveColormap(o.colormap));
  const index = indexer(resolveRange(o.range, p));
  const out = rgbBuffer(height, width);
  const n = height * width;
  for (let i = 0; i < n; i++) {
    const v = p.at(i);
    const src = i * bands;
    if (v >= threshold) {
      const t = index(v) * 3;
      for (let k = 0; k < 3; k++) out[i * 3 + k] = Math.round(data[src + k] * (1 - opacity) + table[t + k] * opacity);
    } else {
      out[i * 3] = data[src];
      out[i * 3 + 1] = data[src + 1];
      out[i * 3 + 2] = data[src + 2];
    }
  }
  return { data: out, shape: [height, width, 3], dtype: 'uint8' };
}

/** Images with a side above this default to TIFF: browsers and most PNG viewers give up beyond it. */
const LARGE_IMAGE_EDGE = 16384;

const EXTENSIONS: Record<string, ImageFormat> = {
  '.png': 'png',
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.tif': 'tiff',
  '.tiff': 'tiff',
};

function defaultFormat(filename: unknown, height: number, width: number): ImageFormat {
  const ext = typeof filename === 'string' ? extname(filename).toLowerCase() : '';
  if (ext in EXTENSIONS) return EXTENSIONS[ext];
  if (ext !== '') {
    throw rangeError(
      ErrorCode.OPTION_RANGE,
      `filename ${describe(filename)} ends in '${ext}', which is not an image format this writes (.png, .jpg, .jpeg, .tif, .tiff); rename it or pass format`,
    );
  }
  return Math.max(height, width) > LARGE_IMAGE_EDGE ? 'tiff' : 'png';
}

function resolveEncode(
  o: Record<string, unknown>,
  height: number,
  width: number,
): {
  format: ImageFormat;
  pyramid: boolean;
  tileSize: number;
  mpp?: [number, number];
} {
  const filename = o.filename;
  if (filename !== undefined && (typeof filename !== 'string' || filename.length === 0)) {
    throw typeError(ErrorCode.OPTION_TYPE, `filename must be a non-empty string; received ${describe(filename)}`);
  }
  const format = o.format ?? defaultFormat(filename, height, width);
  if (format !== 'png' && format !== 'jpeg' && format !== 'tiff') {
    throw typeError(ErrorCode.OPTION_TYPE, `format must be 'png', 'jpeg' or 'tiff'; received ${describe(format)}`);
  }
  const pyramid = o.pyramid ?? true;
  if (typeof pyramid !== 'boolean') {
    throw typeError(ErrorCode.OPTION_TYPE, `pyramid must be a boolean; received ${describe(pyramid)}`);
  }
  const tileSize = o.tileSize ?? 512;
  if (
    typeof tileSize !== 'number' ||
    !Number.isSafeInteger(tileSize) ||
    tileSize < 16 ||
    tileSize > 32768 ||
    tileSize % 16 !== 0
  ) {
    throw rangeError(
      ErrorCode.OPTION_RANGE,
      `tileSize must be a multiple of 16 from 16 to 32768; received ${describe(tileSize)}`,
    );
  }
  let mpp: [number, number] | undefined;
  if (o.mpp !== undefined) {
    const pair = typeof o.mpp === 'number' ? [o.mpp, o.mpp] : o.mpp;
    if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((v) => typeof v === 'number' && v > 0 && Number.isFinite(v))) {
      throw rangeError(ErrorCode.OPTION_RANGE, `mpp must be a positive number or [y, x]; received ${describe(o.mpp)}`);
    }
    mpp = [pair[0], pair[1]];
  }
  return { format, pyramid, tileSize, mpp };
}

const ENCODE_OPTIONS = ['filename', 'format', 'pyramid', 'tileSize', 'mpp'] as const;

async function encode(rgb: RgbImage, o: Record<string, unknown>): Promise<EncodedImage> {
  const [height, width] = rgb.shape;
  const { format, pyramid, tileSize, mpp } = resolveEncode(o, height, width);
  const sharp = loadSharp();
  const pipeline = sharp(rgb.data, { raw: { width, height, channels: 3 }, limitInputPixels: false });
  const encoder =
    format === 'png'
      ? pipeline.png({ compressionLevel: 6 })
      : format === 'jpeg'
        ? pipeline.jpeg({ quality: 90 })
        : pipeline.tiff({
            compression: 'deflate',
            tile: true,
            tileWidth: tileSize,
            tileHeight: tileSize,
            pyramid,
            // Classic TIFF offsets are 32-bit; large heatmaps need BigTIFF.
            bigtiff: width * height * 3 > 2 ** 31,
            // TIFF resolution is in pixels per millimetre.
            ...(mpp ? { xres: 1000 / mpp[1], yres: 1000 / mpp[0], resolutionUnit: 'cm' as const } : {}),
          });
  const filename = o.filename as string | undefined;
  if (filename !== undefined) {
    if (statSync(filename, { throwIfNoEntry: false })?.isDirectory()) {
      throw typeError(
        ErrorCode.OPTION_TYPE,
        `filename '${filename}' is a directory; pass the path of the image file to write, e.g. '${join(filename, `heatmap.${format}`)}'`,
      );
    }
    refuseIfMapped(filename);
    await encoder.toFile(filename);
    return { format, width, height, filename };
  }
  return { format, width, height, data: await encoder.toBuffer() };
}

/**
 * Writes a heatmap of one channel of `mask`: PNG for small masks, tiled
 * pyramidal TIFF (deflate, BigTIFF when large) that QuPath and OpenSeadragon
 * open for large ones or `.tif` names. Returns
 * the encoded bytes when no `filename` is given. Needs sharp.
 */
export async function toImage(mask: unknown, options?: ImageOptions): Promise<EncodedImage> {
  const o = optionsObject(options);
  checkKnown(o, [...COLORIZE_OPTIONS, ...ENCODE_OPTIONS, 'colorbar']);
  // Refuse bad encoding options before the coloring work.
  resolveEncode(o, 1, 1);
  const { channel, colormap, range, layout } = o as ColorizeOptions;
  const colorbar = o.colorbar ?? false;
  if (typeof colorbar !== 'boolean') {
    throw typeError(ErrorCode.OPTION_TYPE, `colorbar must be a boolean; received ${describe(colorbar)}`);
  }
  const rgb = colorize(mask, { channel, colormap, range, layout });
  if (!colorbar) return encode(rgb, o);
  const p = plane(floatImage('mask', mask), layout, channel);
  return encode(withColorbar(rgb, colormapTable(resolveColormap(colormap)), resolveRange(range, p)), o);
}

/** Encodes an RGB image (e.g. from `overlay` or `colorize`) as PNG or TIFF. Needs sharp. */
export async function writeImage(image: RgbImage, options?: EncodeOptions): Promise<EncodedImage> {
  const o = optionsObject(options);
  checkKnown(o, ENCODE_OPTIONS);
  const { data, shape } = (image ?? {}) as Partial<RgbImage>;
  const valid =
    data instanceof Uint8Array &&
    Array.isArray(shape) &&
    shape.length === 3 &&
    shape[2] === 3 &&
    shape[0] > 0 &&
    shape[1] > 0 &&
    shape[0] * shape[1] * 3 === data.length;
  if (!valid) {
    throw typeError(
      ErrorCode.IMAGE_TYPE,
      `image must be { data: Uint8Array, shape: [H, W, 3] } of matching size; received ${describe(image)}`,
    );
  }
  return encode(image, o);
}
