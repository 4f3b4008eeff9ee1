// `wsi-mask-builder render` and `info`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { colorize } from '../src-ts/index';
import { writeNpy } from '../src-ts/npy';
import { runCli } from './helpers/cli';
import { smooth } from './helpers/resize';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsi-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('render writes the heatmap of the chosen channel', async () => {
  const mask = { data: smooth(2, 30, 50), shape: [2, 30, 50], dtype: 'float32' };
  writeNpy(join(dir, 'mask.npy'), mask);
  const run = runCli(['render', 'mask.npy', '-o', 'heat.png', '--channel', '1', '--colormap', 'magma', '--range', '0,1'], dir);
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.stdout).toBe('wrote 50 x 30 png heatmap of channel 1 -> heat.png\n');
  const decoded = await sharp(join(dir, 'heat.png')).raw().toBuffer();
  const expected = colorize(mask, { channel: 1, colormap: 'magma', range: [0, 1] });
  expect(decoded.equals(Buffer.from(expected.data))).toBe(true);
});

test('render writes a pyramidal TIFF for a .tif name', async () => {
  writeNpy(join(dir, 'big.npy'), { data: smooth(1, 700, 900), shape: [700, 900], dtype: 'float32' });
  const run = runCli(['render', 'big.npy', '-o', 'big.tif', '--tile-size', '256', '--mpp', '0.25'], dir);
  expect(run.status).toBe(0);
  const meta = await sharp(join(dir, 'big.tif')).metadata();
  expect([meta.format, meta.width, meta.height, meta.pages]).toEqual(['tiff', 900, 700, 3]);
});

test('info prints shape, dtype, version and per-channel statistics', () => {
  writeNpy(
    join(dir, 'small.npy'),
    { data: Float32Array.of(0, 1, 2, 3, 10, 20, 30, Number.NaN), shape: [2, 2, 2], dtype: 'float32' },
    3,
  );
  const run = runCli(['info', 'small.npy'], dir);
  expect(run.status).toBe(0);
  expect(run.stdout).toBe(
    [
      'small.npy',
      '  shape   [2, 2, 2] (channels first? the shape does not say: pass --channel-axis first or last)',
      '  dtype   float32',
      '  version NPY 3.0',
      '  channel 0: min=0  max=3  mean=1.50000',
      '  channel 1: min=10  max=30  mean=20  nan=1',
      '',
    ].join('\n'),
  );
});

test('info takes the channels last for a resized [H, W, C] image', () => {
  writeNpy(join(dir, 'hwc.npy'), { data: Float64Array.of(1, 100, 2, 200, 3, 300), shape: [3, 1, 2], dtype: 'float64' });
  const run = runCli(['info', 'hwc.npy'], dir);
  expect(run.stdout).toContain('(channels last)');
  expect(run.stdout).toContain('channel 0: min=1  max=3  mean=2\n');
  expect(run.stdout).toContain('channel 1: min=100  max=300  mean=200\n');
  const first = runCli(['info', 'hwc.npy', '--channel-axis', 'first'], dir);
  expect(first.stdout).toContain('channel 2: min=3  max=300  mean=151.500');
});
