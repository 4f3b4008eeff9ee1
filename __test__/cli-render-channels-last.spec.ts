// Regression: `render` drew an [H, W, C] NPY (what resizeToSource writes) as if it were [C, H, W] ("wrote 1 x 4000
// png heatmap"). It now takes info's rule, and refuses a shape that does not decide, naming --layout.
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
  dir = mkdtempSync(join(tmpdir(), 'wsi-cli-hwc-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('render draws an [H, W, 1] file as an H x W heatmap, as info reads it', async () => {
  const image = { data: smooth(1, 60, 80), shape: [60, 80, 1], dtype: 'float32' };
  writeNpy(join(dir, 'at-source.npy'), image);
  expect(runCli(['info', 'at-source.npy'], dir).stdout).toContain('(channels last)');
  const run = runCli(['render', 'at-source.npy', '-o', 'at-source.png'], dir);
  expect(run.stderr).toBe('');
  expect(run.stdout).toBe('wrote 80 x 60 png heatmap of channel 0 -> at-source.png\n');
  const decoded = await sharp(join(dir, 'at-source.png')).raw().toBuffer();
  expect(decoded.equals(Buffer.from(colorize(image, { layout: 'hwc' }).data))).toBe(true);
});

test('render picks channel c of an [H, W, C] file', async () => {
  const image = { data: smooth(3, 40, 50), shape: [40, 50, 3], dtype: 'float32' };
  writeNpy(join(dir, 'three.npy'), image);
  const run = runCli(['render', 'three.npy', '-o', 'three.png', '--channel', '2'], dir);
  expect(run.stdout).toBe('wrote 50 x 40 png heatmap of channel 2 -> three.png\n');
  const decoded = await sharp(join(dir, 'three.png')).raw().toBuffer();
  expect(decoded.equals(Buffer.from(colorize(image, { layout: 'hwc', channel: 2 }).data))).toBe(true);
});

test('render refuses a shape that does not say where the channels are, naming --layout; the flag decides', () => {
  writeNpy(join(dir, 'cube.npy'), { data: smooth(4, 4, 4), shape: [4, 4, 4], dtype: 'float32' });
  const run = runCli(['render', 'cube.npy', '-o', 'cube.png'], dir);
  expect(run.status).toBe(1);
  expect(run.stderr).toMatch(
    /cube\.npy has shape \[4, 4, 4\], which does not say which axis holds the channels; pass --layout chw/,
  );
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(runCli(['render', 'cube.npy', '-o', 'cube.png', '--layout', 'hwc'], dir).status).toBe(0);
  expect(runCli(['info', 'cube.npy'], dir).stdout).toContain('the shape does not say: pass --channel-axis');
});
