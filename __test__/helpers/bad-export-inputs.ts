// Bad inputs of the exports (writeOmeZarr, writeOmeTiff, toGeoJSON), with
// what they must get. The export spec runs each and checks nothing was
// written; the README's bad-input table lists them (a spec checks that).
import { join } from 'node:path';
import { toGeoJSON, writeOmeTiff, writeOmeZarr } from '../../src-ts/index';
import type { Expected } from './robust';

export interface BadExport {
  what: string;
  call: 'writeOmeZarr' | 'writeOmeTiff' | 'toGeoJSON';
  /** Runs the call, writing (if at all) into `dir`. */
  run: (dir: string) => unknown;
  expected: Expected;
}

const type = (code: string, ...message: (string | RegExp)[]): Expected => ({ type: 'TypeError', code, message });
const range = (code: string, ...message: (string | RegExp)[]): Expected => ({ type: 'RangeError', code, message });

const mask = () => ({ data: new Float32Array(2 * 6 * 8), shape: [2, 6, 8], dtype: 'float32' });
const labels = () => ({ data: new Uint8Array(6 * 8), shape: [6, 8], dtype: 'uint8' });
const zarr = (dir: string) => join(dir, 'out.ome.zarr');
const tif = (dir: string) => join(dir, 'out.ome.tif');

export const BAD_EXPORTS: BadExport[] = [
  {
    what: 'export of a number',
    call: 'writeOmeZarr',
    run: (d) => writeOmeZarr(5 as any, zarr(d)),
    expected: type('ERR_WSI_IMAGE_TYPE', 'mask must be a finalize() result', 'received 5'),
  },
  {
    what: 'export of a 3-D mask',
    call: 'writeOmeZarr',
    run: (d) => writeOmeZarr({ data: new Float32Array(8), shape: [1, 2, 2, 2], dtype: 'float32' }, zarr(d)),
    expected: range('ERR_WSI_IMAGE_SHAPE', 'exports are 2-D', 'received [1, 2, 2, 2]'),
  },
  {
    what: 'export of an int32 mask',
    call: 'writeOmeZarr',
    run: (d) => writeOmeZarr({ data: new Int32Array(4), shape: [2, 2], dtype: 'int32' }, zarr(d)),
    expected: type('ERR_WSI_DTYPE', 'float32 or float64', "received 'int32'"),
  },
  {
    what: 'export whose data is shorter than its shape',
    call: 'writeOmeZarr',
    run: (d) => writeOmeZarr({ data: new Float32Array(10), shape: [2, 6, 8], dtype: 'float32' }, zarr(d)),
    expected: range('ERR_WSI_IMAGE_SHAPE', 'holds 10 values', 'needs 96'),
  },
  {
    what: 'export path not a string',
    call: 'writeOmeZarr',
    run: () => writeOmeZarr(mask(), 42 as any),
    expected: type('ERR_WSI_OPTION_TYPE', 'path must be a non-empty string', 'received 42'),
  },
  {
    what: 'unknown export option',
    call: 'writeOmeZarr',
    run: (d) => writeOmeZarr(mask(), zarr(d), { chunks: 512 } as any),
    expected: type('ERR_WSI_UNKNOWN_OPTION', "unknown option 'chunks'", 'known options'),
  },
  {
    what: 'odd OME-Zarr chunk',
    call: 'writeOmeZarr',
    run: (d) => writeOmeZarr(mask(), zarr(d), { chunk: 15 }),
    expected: range('ERR_WSI_OPTION_RANGE', 'chunk[0] must be an even integer', 'received 15'),
  },
  {
    what: 'unknown NGFF version',
    call: 'writeOmeZarr',
    run: (d) => writeOmeZarr(mask(), zarr(d), { ngffVersion: '0.3' as any }),
    expected: type('ERR_WSI_OPTION_TYPE', "ngffVersion must be one of '0.4', '0.5'", "received '0.3'"),
  },
  {
    what: 'zstd level out of range',
    call: 'writeOmeZarr',
    run: (d) => writeOmeZarr(mask(), zarr(d), { level: 30 }),
    expected: range('ERR_WSI_OPTION_RANGE', 'level must be an integer from 1 to 22', 'received 30'),
  },
  {
    what: 'one channel name for two channels',
    call: 'writeOmeZarr',
    run: (d) => writeOmeZarr(mask(), zarr(d), { channelNames: ['tumour'] }),
    expected: range('ERR_WSI_OPTION_RANGE', 'channelNames must name each of the 2 channels', 'received 1 names'),
  },
  {
    what: 'non-positive mpp',
    call: 'writeOmeZarr',
    run: (d) => writeOmeZarr(mask(), zarr(d), { mpp: 0 }),
    expected: range('ERR_WSI_OPTION_RANGE', 'mpp[0] must be a positive number', 'received 0'),
  },
  {
    what: 'OME-TIFF tile not a multiple of 16',
    call: 'writeOmeTiff',
    run: (d) => writeOmeTiff(mask(), tif(d), { tile: 100 }),
    expected: range('ERR_WSI_OPTION_RANGE', 'tile[0] must be a multiple of 16', 'received 100'),
  },
  {
    what: 'unknown OME-TIFF compression',
    call: 'writeOmeTiff',
    run: (d) => writeOmeTiff(mask(), tif(d), { compression: 'lzw' as any }),
    expected: type('ERR_WSI_OPTION_TYPE', "compression must be one of 'deflate', 'zstd', 'none'", "received 'lzw'"),
  },
  {
    what: 'deflate level out of range',
    call: 'writeOmeTiff',
    run: (d) => writeOmeTiff(mask(), tif(d), { level: 12 }),
    expected: range('ERR_WSI_OPTION_RANGE', 'level must be an integer from 0 to 9 for deflate', 'received 12'),
  },
  {
    what: 'bigTiff not a boolean',
    call: 'writeOmeTiff',
    run: (d) => writeOmeTiff(mask(), tif(d), { bigTiff: 'yes' as any }),
    expected: type('ERR_WSI_OPTION_TYPE', 'bigTiff must be a boolean', "received 'yes'"),
  },
  {
    what: 'GeoJSON channel beyond the mask',
    call: 'toGeoJSON',
    run: () => toGeoJSON(mask(), { channel: 2 }),
    expected: range('ERR_WSI_OPTION_RANGE', 'channel must be an integer from 0 to 1', 'received 2'),
  },
  {
    what: 'GeoJSON threshold not a number',
    call: 'toGeoJSON',
    run: () => toGeoJSON(mask(), { threshold: '0.5' as any }),
    expected: type('ERR_WSI_OPTION_TYPE', 'threshold must be a number', "received '0.5'"),
  },
  {
    what: 'negative minArea',
    call: 'toGeoJSON',
    run: () => toGeoJSON(mask(), { minArea: -1 }),
    expected: range('ERR_WSI_OPTION_RANGE', 'minArea must be a non-negative number', 'received -1'),
  },
  {
    what: 'negative GeoJSON simplify',
    call: 'toGeoJSON',
    run: () => toGeoJSON(mask(), { simplify: -1 }),
    expected: range('ERR_WSI_OPTION_RANGE', 'simplify must be a non-negative number of slide pixels', 'received -1'),
  },
  {
    what: 'NaN GeoJSON simplify',
    call: 'toGeoJSON',
    run: () => toGeoJSON(mask(), { simplify: Number.NaN }),
    expected: range('ERR_WSI_OPTION_RANGE', 'simplify must be a non-negative number of slide pixels', 'received NaN'),
  },
  {
    what: 'infinite GeoJSON simplify',
    call: 'toGeoJSON',
    run: () => toGeoJSON(mask(), { simplify: Number.POSITIVE_INFINITY }),
    expected: range('ERR_WSI_OPTION_RANGE', 'simplify must be a non-negative number of slide pixels', 'received Infinity'),
  },
  {
    what: 'GeoJSON simplify not a number',
    call: 'toGeoJSON',
    run: () => toGeoJSON(mask(), { simplify: '1' as any }),
    expected: type('ERR_WSI_OPTION_TYPE', 'simplify must be a number', "received '1'"),
  },
  {
    what: 'a threshold for a label map',
    call: 'toGeoJSON',
    run: () => toGeoJSON(labels(), { threshold: 0.5 }),
    expected: type('ERR_WSI_OPTION_TYPE', 'is a label map', 'pass classes'),
  },
  {
    what: 'label class colour out of range',
    call: 'toGeoJSON',
    run: () => toGeoJSON(labels(), { classes: { 1: { name: 'Tumor', color: [300, 0, 0] } } }),
    expected: range('ERR_WSI_OPTION_RANGE', 'classes[1].color must be [r, g, b]', 'received [300, 0, 0]'),
  },
];
