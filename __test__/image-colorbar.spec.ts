// toImage({ colorbar: true }) (and `render --colorbar`): a band below the heatmap with the colormap from the low to
// the high end of the range and the two values printed, in a built-in pixel font.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { barLabel } from '../src-ts/colorbar';
import { colorize, colormapTable, toImage } from '../src-ts/index';
import { writeNpy } from '../src-ts/npy';
import { runCli } from './helpers/cli';
import { smooth } from './helpers/resize';

const mask = { data: smooth(1, 50, 320), shape: [1, 50, 320], dtype: 'float32' };

async function decode(data: Uint8Array) {
  const { data: pixels, info } = await sharp(data).raw().toBuffer({ resolveWithObject: true });
  return { pixels, width: info.width, height: info.height };
}

test('the heatmap keeps its pixels and gains a band with the colormap from low (left) to high (right)', async () => {
  const plain = await toImage(mask, { colormap: 'magma', range: [0, 1] });
  const barred = await toImage(mask, { colormap: 'magma', range: [0, 1], colorbar: true });
  const { pixels, width, height } = await decode(barred.data!);
  expect(width).toBe(320);
  expect(height).toBeGreaterThan(50 + 10);
  expect(barred.height).toBe(height);
  // The heatmap rows are the plain image's.
  expect(pixels.subarray(0, 50 * 320 * 3).equals(Buffer.from((await decode(plain.data!)).pixels))).toBe(true);
  expect(Buffer.from(colorize(mask, { colormap: 'magma', range: [0, 1] }).data).equals(pixels.subarray(0, 50 * 320 * 3))).toBe(
    true,
  );
  // Somewhere below, a row runs through the whole colormap.
  const table = colormapTable('magma');
  const rowAt = (y: number, x: number) => Array.from(pixels.subarray((y * width + x) * 3, (y * width + x) * 3 + 3));
  const barRow = Array.from({ length: height - 50 }, (_, i) => 50 + i).find(
    (y) => rowAt(y, 0).join() === Array.from(table.subarray(0, 3)).join(),
  );
  expect(barRow).toBeDefined();
  expect(rowAt(barRow!, width - 1)).toEqual(Array.from(table.subarray(255 * 3, 256 * 3)));
  expect(rowAt(barRow!, width >> 1)).toEqual(Array.from(table.subarray(128 * 3, 129 * 3)));
  // Below the bar: dark label pixels on white at both ends, none in the middle.
  const labelRows = Array.from({ length: height - barRow! - 1 }, (_, i) => barRow! + 1 + i);
  const dark = (x0: number, x1: number) =>
    labelRows.some((y) => Array.from({ length: x1 - x0 }, (_, i) => rowAt(y, x0 + i)).some((p) => p[0] === 0 && p[2] === 0));
  expect(dark(0, 40)).toBe(true);
  expect(dark(width - 40, width)).toBe(true);
  expect(dark(120, 200)).toBe(false);
});

test('the labels print the range compactly', () => {
  expect(barLabel(0)).toBe('0');
  expect(barLabel(1)).toBe('1');
  expect(barLabel(0.3)).toBe('0.3');
  expect(barLabel(-2.5)).toBe('-2.5');
  expect(barLabel(0.123456)).toBe('0.1235');
  expect(barLabel(1e-7)).toBe('1e-7');
  expect(barLabel(123456789)).toBe('1.23e+8');
});

test('colorbar must be a boolean', async () => {
  await expect(toImage(mask, { colorbar: 'yes' as never })).rejects.toMatchObject({ code: 'ERR_WSI_OPTION_TYPE' });
});

test('render --colorbar adds the band', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wsi-colorbar-'));
  try {
    writeNpy(join(dir, 'mask.npy'), mask);
    const run = runCli(['render', 'mask.npy', '-o', 'bar.png', '--colorbar', '--range', '0,1'], dir);
    expect(run.stderr).toBe('');
    const meta = await sharp(join(dir, 'bar.png')).metadata();
    expect(meta.width).toBe(320);
    expect(meta.height).toBeGreaterThan(60);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
