// toImage and writeImage: PNG and tiled pyramidal TIFF through sharp.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { colorize, ErrorCode, overlay, toImage, writeImage } from '../src-ts/index';
import { smooth } from './helpers/resize';
import { TAG, tiffDirectories } from './helpers/tiff';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsi-image-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mask = { data: smooth(2, 40, 60), shape: [2, 40, 60] };

async function decode(input: string | Buffer) {
  const { data, info } = await sharp(input).raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), info };
}

test('a PNG file decodes to the colorized mask', async () => {
  const filename = join(dir, 'heat.png');
  const result = await toImage(mask, { filename, channel: 1, colormap: 'magma', range: [0, 1] });
  expect(result).toEqual({ format: 'png', width: 60, height: 40, filename });
  const { data, info } = await decode(filename);
  expect([info.width, info.height, info.channels]).toEqual([60, 40, 3]);
  expect(Buffer.from(data).equals(Buffer.from(colorize(mask, { channel: 1, colormap: 'magma', range: [0, 1] }).data))).toBe(true);
});

test('without a filename the encoded bytes are returned', async () => {
  const result = await toImage(mask, { format: 'png' });
  expect(result.data?.subarray(1, 4).toString()).toBe('PNG');
  expect(result.filename).toBeUndefined();
});

test('a TIFF is tiled, deflated and pyramidal, with the resolution from mpp', async () => {
  const big = { data: smooth(1, 600, 1000), shape: [600, 1000] };
  const filename = join(dir, 'heat.tiff');
  const result = await toImage(big, { filename, tileSize: 128, mpp: 0.5 });
  expect(result.format).toBe('tiff');
  const directories = tiffDirectories(readFileSync(filename));
  // 1000 x 600, halved until a level fits in one 128 px tile: 500, 250, 125.
  expect(directories.map((d) => [d.tags.get(TAG.ImageWidth), d.tags.get(TAG.ImageLength)])).toEqual([
    [1000, 600],
    [500, 300],
    [250, 150],
    [125, 75],
  ]);
  for (const d of directories) expect([d.tags.get(TAG.TileWidth), d.tags.get(TAG.TileLength)]).toEqual([128, 128]);
  const meta = await sharp(filename).metadata();
  expect(meta.pages).toBe(4);
  // 0.5 microns per pixel = 20000 pixels per centimetre.
  expect(meta.resolutionUnit).toBe('cm');
  expect(meta.density).toBeCloseTo(20000 * 2.54, 0);
  const { data } = await decode(filename);
  expect(Buffer.from(data).equals(Buffer.from(colorize(big).data))).toBe(true);
});

test('without a format or extension, masks wider than 16384 px become TIFF and smaller ones PNG', async () => {
  const wide = { data: new Float32Array(2 * 16385), shape: [2, 16385] };
  const large = await toImage(wide, { filename: join(dir, 'wide-heatmap'), tileSize: 256 });
  expect(large.format).toBe('tiff');
  expect((await sharp(join(dir, 'wide-heatmap')).metadata()).format).toBe('tiff');
  expect((await toImage({ data: new Float32Array(2 * 16384), shape: [2, 16384] })).format).toBe('png');
  expect((await toImage(wide, { filename: join(dir, 'wide.png') })).format).toBe('png');
});

test('pyramid: false writes a single tiled level', async () => {
  const filename = join(dir, 'flat.tif');
  await toImage(mask, { filename, pyramid: false });
  expect(tiffDirectories(readFileSync(filename))).toHaveLength(1);
});

test('writeImage encodes an overlay', async () => {
  const rgb = { data: new Uint8Array(40 * 60 * 3).fill(200), shape: [40, 60, 3] };
  const blended = overlay(rgb, mask, { layout: 'chw', opacity: 0.25 });
  const filename = join(dir, 'overlay.png');
  await writeImage(blended, { filename });
  const { data } = await decode(filename);
  expect(Buffer.from(data).equals(Buffer.from(blended.data))).toBe(true);
});

test.each([
  ['an unknown format', { format: 'webp' }, TypeError, ErrorCode.OPTION_TYPE, /format must be 'png', 'jpeg' or 'tiff'/],
  ['a filename extension of another format', { filename: 'x.webp' }, RangeError, ErrorCode.OPTION_RANGE, /ends in '\.webp'/],
  ['a tile size that is not a multiple of 16', { format: 'tiff', tileSize: 100 }, RangeError, ErrorCode.OPTION_RANGE, /tileSize/],
  ['a negative mpp', { mpp: -1 }, RangeError, ErrorCode.OPTION_RANGE, /mpp/],
  ['a non-boolean pyramid', { pyramid: 'yes' }, TypeError, ErrorCode.OPTION_TYPE, /pyramid/],
] as const)('%s is refused before anything is written', async (_name, options, Class, code, message) => {
  const promise = toImage(mask, options as never);
  await expect(promise).rejects.toBeInstanceOf(Class);
  await expect(promise).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
});

test('writeImage refuses what is not an RGB image', async () => {
  await expect(writeImage({ data: new Uint8Array(3), shape: [1, 2, 3] } as never)).rejects.toMatchObject({
    code: ErrorCode.IMAGE_TYPE,
  });
});
