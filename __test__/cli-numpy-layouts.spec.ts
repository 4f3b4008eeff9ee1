// The CLI reads NPY files as numpy writes them: Fortran order (np.array([ys, xs]).T), float16 and 8/16-bit
// integer tiles, any integer coordinates, either byte order; what it cannot read is refused with the numpy call
// that fixes it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy } from '../src-ts/npy';
import { runCli } from './helpers/cli';
import { python } from './helpers/python';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsi-cli-layouts-'));
  python(
    [
      'import numpy as np',
      'ys, xs = np.meshgrid(np.arange(0, 300 - 64 + 1, 32), np.arange(0, 420 - 64 + 1, 32), indexing="ij")',
      'c = np.array([ys.ravel(), xs.ravel()]).T',
      'assert c.flags["F_CONTIGUOUS"] and not c.flags["C_CONTIGUOUS"]',
      'np.save("coords-fortran.npy", c)',
      'np.save("coords-int32.npy", np.ascontiguousarray(c, dtype=np.int32))',
      'np.save("coords-uint32.npy", c.astype(np.uint32))',
      'np.save("coords-int16.npy", c.astype(np.int16))',
      'np.save("coords-bigendian.npy", c.astype(">i8"))',
      'np.save("coords-float16.npy", c.astype(np.float16))',
      'rng = np.random.default_rng(3)',
      't = rng.random((len(c), 2, 8, 8)).astype(np.float16)',
      'np.save("tiles-float16.npy", t)',
      'np.save("tiles-float32.npy", t.astype(np.float32))',
      'np.save("tiles-fortran.npy", np.asfortranarray(t.astype(np.float32)))',
      'np.save("tiles-bigendian.npy", t.astype(">f4"))',
      'u = rng.integers(0, 255, (len(c), 1), dtype=np.uint8)',
      'np.save("scores-uint8.npy", u); np.save("scores-uint8-as-float32.npy", u.astype(np.float32))',
      'np.save("tiles-int32.npy", t.astype(np.int32))',
      'np.save("tiles-complex.npy", t.astype(np.complex64))',
    ].join('\n'),
    [],
    { cwd: dir },
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const geometry = ['--source', '300,420', '--tile', '64', '--stride', '32'];

function assemble(tiles: string, coords: string, output: string): Buffer {
  const run = runCli(['assemble', '--tiles', tiles, '--coords', coords, ...geometry, '-o', output], dir);
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return readFileSync(join(dir, output));
}

test('the plain float32 tiles and int32 coordinates build a mask', () => {
  assemble('tiles-float32.npy', 'coords-int32.npy', 'plain.npy');
  expect(readNpy(join(dir, 'plain.npy')).shape).toEqual([2, 40, 56]);
});

test.each([
  ['Fortran-order coordinates, as np.array([ys, xs]).T writes them', 'tiles-float32.npy', 'coords-fortran.npy'],
  ['uint32 coordinates', 'tiles-float32.npy', 'coords-uint32.npy'],
  ['int16 coordinates', 'tiles-float32.npy', 'coords-int16.npy'],
  ['big-endian int64 coordinates', 'tiles-float32.npy', 'coords-bigendian.npy'],
  ['float16 tiles (converted to float32 exactly)', 'tiles-float16.npy', 'coords-int32.npy'],
  ['Fortran-order tiles', 'tiles-fortran.npy', 'coords-fortran.npy'],
  ['big-endian float32 tiles', 'tiles-bigendian.npy', 'coords-int32.npy'],
])('%s give the same mask as float32 tiles and int32 coordinates', (_name, tiles, coords) => {
  const expected = assemble('tiles-float32.npy', 'coords-int32.npy', `expected-${tiles}-${coords}`);
  expect(assemble(tiles, coords, `got-${tiles}-${coords}`).equals(expected)).toBe(true);
});

test('uint8 scores are converted to float32 exactly', () => {
  const expected = assemble('scores-uint8-as-float32.npy', 'coords-int32.npy', 'u8-expected.npy');
  expect(assemble('scores-uint8.npy', 'coords-int32.npy', 'u8-got.npy').equals(expected)).toBe(true);
});

test.each([
  [
    'int32 predictions',
    'tiles-int32.npy',
    'coords-int32.npy',
    "np.save('tiles-int32.npy', np.load('tiles-int32.npy').astype(np.float32))",
  ],
  ['complex predictions', 'tiles-complex.npy', 'coords-int32.npy', '.astype(np.float32))'],
  ['float16 coordinates', 'tiles-float32.npy', 'coords-float16.npy', "np.load('coords-float16.npy').astype(np.int64))"],
])('%s are refused with the numpy call that converts them', (_name, tiles, coords, call) => {
  const run = runCli(['assemble', '--tiles', tiles, '--coords', coords, ...geometry, '-o', `never-${tiles}.npy`], dir);
  expect(run.status).toBe(1);
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(run.stderr).toContain(call);
});

test('info reads a Fortran-order file with the right per-channel statistics', () => {
  const expected = python(
    [
      'import numpy as np',
      't = np.load("tiles-fortran.npy").astype(np.float64)',
      'for c in range(2): print(f"{t[:, c].min():.6g} {t[:, c].max():.6g}")',
    ].join('\n'),
    [],
    { cwd: dir },
  ).split('\n');
  const run = runCli(['info', 'tiles-fortran.npy'], dir);
  expect(run.status).toBe(0);
  expect(run.stdout).toContain('Fortran order');
  for (const [c, line] of expected.entries()) {
    const [min, max] = line.split(' ').map(Number);
    const match = new RegExp(`channel ${c}: min=(\\S+)  max=(\\S+)`).exec(run.stdout);
    expect(match).not.toBeNull();
    expect(Number(match![1])).toBeCloseTo(min, 5);
    expect(Number(match![2])).toBeCloseTo(max, 5);
  }
});
