// One rule for output files: `assemble` (in memory and --memmap) and `render` refuse an existing -o unless --force;
// `render -o x.jpg` writes JPEG (it wrote PNG bytes), and an extension it cannot write is refused.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { readNpy, writeNpy } from '../src-ts/npy';
import { runCli } from './helpers/cli';
import { smooth } from './helpers/resize';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsi-cli-overwrite-'));
  writeNpy(join(dir, 'tiles.npy'), { data: Float32Array.of(1, 2, 3, 4), shape: [4, 1], dtype: 'float32' });
  writeNpy(join(dir, 'coords.npy'), { data: Int32Array.of(0, 0, 0, 8, 8, 0, 8, 8), shape: [4, 2], dtype: 'int32' });
  writeNpy(join(dir, 'mask.npy'), { data: smooth(1, 30, 40), shape: [1, 30, 40], dtype: 'float32' });
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
  ['assemble in memory', [...assemble, '-o', 'out-a.npy'], 'out-a.npy'],
  ['assemble --memmap', [...assemble, '--memmap', '-o', 'out-b.npy'], 'out-b.npy'],
  ['render', ['render', 'mask.npy', '-o', 'out-c.png'], 'out-c.png'],
])('%s refuses an existing output unless --force, which replaces it', (_name, args, output) => {
  writeFileSync(join(dir, output), 'precious');
  const refused = runCli(args, dir);
  expect(refused.status).toBe(1);
  expect(refused.stderr).toBe(
    `wsi-mask-builder: ${output} exists; refusing to overwrite it (pass --force to replace it) [EEXIST]\n`,
  );
  expect(readFileSync(join(dir, output), 'utf8')).toBe('precious');
  const forced = runCli([...args, '--force'], dir);
  expect(forced.stderr).toBe('');
  expect(forced.status).toBe(0);
  expect(readFileSync(join(dir, output)).subarray(0, 8).toString('latin1')).not.toBe('precious');
});

test('assemble --memmap --force also replaces the overlap counter beside the output', () => {
  expect(runCli([...assemble, '--memmap', '-o', 'twice.npy'], dir).status).toBe(0);
  const again = runCli([...assemble, '--memmap', '--force', '-o', 'twice.npy'], dir);
  expect(again.stderr).toBe('');
  expect(Array.from(readNpy(join(dir, 'twice.npy')).data)).toEqual([1, 2, 3, 4]);
  expect(Array.from(readNpy(join(dir, 'twice.overlaps.npy')).data)).toEqual([1, 1, 1, 1]);
});

test('render -o x.jpg writes a JPEG', async () => {
  const run = runCli(['render', 'mask.npy', '-o', 'heat.jpg'], dir);
  expect(run.stdout).toBe('wrote 40 x 30 jpeg heatmap of channel 0 -> heat.jpg\n');
  const bytes = readFileSync(join(dir, 'heat.jpg'));
  expect([bytes[0], bytes[1]]).toEqual([0xff, 0xd8]);
  expect((await sharp(bytes).metadata()).format).toBe('jpeg');
});

test('render -o x.bmp is refused: no image is written under a name of another format', () => {
  const run = runCli(['render', 'mask.npy', '-o', 'heat.bmp'], dir);
  expect(run.status).toBe(1);
  expect(run.stderr).toMatch(/'heat\.bmp' ends in '\.bmp', which is not an image format this writes/);
});
