// Every failure of the command-line tool is one clear line on stderr and exit code 1; every command has --help.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeNpy } from '../src-ts/npy';
import { runCli } from './helpers/cli';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsi-cli-'));
  writeNpy(join(dir, 'tiles.npy'), { data: new Float32Array(4), shape: [4, 1], dtype: 'float32' });
  writeNpy(join(dir, 'coords.npy'), { data: Int32Array.of(0, 0, 0, 8, 8, 0, 8, 8), shape: [4, 2], dtype: 'int32' });
  writeNpy(join(dir, 'ints.npy'), { data: new Int32Array(4), shape: [4, 1], dtype: 'int32' });
  writeNpy(join(dir, 'mask.npy'), { data: new Float32Array(8), shape: [2, 2, 2], dtype: 'float32' });
  writeFileSync(join(dir, 'notes.txt'), 'not an array\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const assemble = [
  'assemble',
  '--tiles',
  'tiles.npy',
  '--coords',
  'coords.npy',
  '--source',
  '16,16',
  '--tile',
  '8',
  '--stride',
  '8',
];

test.each([
  [
    'a missing required option',
    ['assemble', '--tiles', 'tiles.npy', '-o', 'm.npy'],
    /required option '--coords <file>' not specified/,
  ],
  ['a malformed list', [...assemble.slice(0, 6), '16,x', '--tile', '8', '--stride', '8', '-o', 'm.npy'], /'16,x' is invalid/],
  [
    'an unknown aggregation',
    [...assemble, '--agg', 'median', '-o', 'm.npy'],
    /'median' is invalid. Allowed choices are mean, max/,
  ],
  ['a missing file', ['info', 'missing.npy'], /ENOENT: no such file or directory/],
  ['a file that is not NPY', ['info', 'notes.txt'], /not an NPY file \(missing the \\x93NUMPY magic\) \[ERR_WSI_NPY_FORMAT\]/],
  [
    'integer predictions',
    [...assemble.slice(0, 2), 'ints.npy', ...assemble.slice(3), '-o', 'm.npy'],
    /must hold float32 or float64 predictions/,
  ],
  [
    'coordinates of another count',
    [...assemble.slice(0, 4), 'tiles.npy', ...assemble.slice(5), '-o', 'm.npy'],
    /must have shape \[4, 2\]/,
  ],
  [
    'a tile outside the slide',
    [...assemble.slice(0, 6), '8,8', '--tile', '8', '--stride', '8', '-o', 'm.npy'],
    /ERR_WSI_TILE_OUTSIDE_MASK/,
  ],
  ['--output-tile that contradicts the tiles', [...assemble, '--output-tile', '4', '-o', 'm.npy'], /does not match the tiles/],
  [
    'a channel the mask lacks',
    ['render', 'mask.npy', '-o', 'x.png', '--layout', 'chw', '--channel', '3'],
    /channel must be below 2/,
  ],
  ['an unknown colormap', ['render', 'mask.npy', '-o', 'x.png', '--colormap', 'jet'], /Allowed choices are viridis, magma, gray/],
  ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
])('%s', (_name, args, message) => {
  const run = runCli(args, dir);
  expect(run.status).toBe(1);
  expect(run.stdout).toBe('');
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^wsi-mask-builder: /);
  expect(lines[0]).toMatch(message);
  // One line: no stack trace, no usage dump.
  expect(lines).toHaveLength(1);
});

test.each([[[]], [['assemble']], [['render']], [['info']]])('--help of %j', (command) => {
  const run = runCli([...command, '--help'], dir);
  expect(run.status).toBe(0);
  expect(run.stdout).toMatch(/^Usage: wsi-mask-builder/);
});
