// Regression: `--clip 0,3` meant [start, end] on every dimension while the API's edgeClipping [0, 3] means 0 on y
// and 3 on x. Now --clip reads as edgeClipping; START:END is the pair form.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EdgeClippingInput, MaskBuilder } from '../src-ts/index';
import { readNpy, writeNpy } from '../src-ts/npy';
import { runCli } from './helpers/cli';
import { noise } from './helpers/resize';

let dir: string;
let tiles: Float32Array;
const options = { sourceExtents: [200, 260], sourceTileExtent: 64, outputTileExtent: 8, stride: 32 } as const;
let count: number;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsi-cli-clip-'));
  const b = new MaskBuilder(options);
  const coords = b.tileOrigins();
  count = coords.shape[0];
  tiles = noise(count * 64, 4);
  writeNpy(join(dir, 'tiles.npy'), { data: tiles, shape: [count, 1, 8, 8], dtype: 'float32' });
  writeNpy(join(dir, 'coords.npy'), { data: coords.data as Int32Array, shape: coords.shape, dtype: 'int32' });
  b.cleanup();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test.each<[string, EdgeClippingInput]>([
  ['2', 2],
  ['0,3', [0, 3]],
  ['3,1', [3, 1]],
  [
    '1:3',
    [
      [1, 3],
      [1, 3],
    ],
  ],
  [
    '0:2,3:0',
    [
      [0, 2],
      [3, 0],
    ],
  ],
  ['2,0:3', [2, [0, 3]]],
])('--clip %s builds the mask of edgeClipping %j', (clip, edgeClipping) => {
  const output = `clip-${clip.replace(/[,:]/g, '_')}.npy`;
  const run = runCli(
    [
      'assemble',
      '--tiles',
      'tiles.npy',
      '--coords',
      'coords.npy',
      '--source',
      '200,260',
      '--tile',
      '64',
      '--stride',
      '32',
      '--clip',
      clip,
      '-o',
      output,
    ],
    dir,
  );
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const b = new MaskBuilder(options);
  b.updateBatch({ data: tiles, shape: [count, 1, 8, 8] }, b.tileOrigins(), edgeClipping);
  const expected = b.finalize().mask;
  expect(Array.from(readNpy(join(dir, output)).data)).toEqual(Array.from(expected.data));
  b.cleanup();
});

test.each([
  ['three entries for two dimensions', '1,1,1', /--clip takes 1 entry or 2/],
  ['a malformed pair', '1:2:3', /expected N, Y,X \(per dimension\), START:END or Y0:Y1,X0:X1/],
  ['a negative entry', '-1', /expected N, Y,X/],
])('--clip with %s is refused in one line', (_name, clip, message) => {
  const run = runCli(
    [
      'assemble',
      '--tiles',
      'tiles.npy',
      '--coords',
      'coords.npy',
      '--source',
      '200,260',
      '--tile',
      '64',
      '--stride',
      '32',
      `--clip=${clip}`,
      '-o',
      'never.npy',
    ],
    dir,
  );
  expect(run.status).toBe(1);
  expect(run.stderr).toMatch(message);
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
});
