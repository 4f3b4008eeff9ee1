// A process killed mid-build leaves NPY files numpy can still open.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { readNpy } from '../src-ts/index';
import { python } from './helpers/python';
import { scratchDir } from './helpers/scratch';

const scratch = scratchDir('memmap-killed');
afterAll(() => scratch.remove());

test('SIGKILL during updates leaves a readable header and the sums written so far', async () => {
  const filename = join(scratch.dir, 'partial.npy');
  const child = spawn(process.execPath, [join(__dirname, 'children', 'memmap-build-forever.js'), filename], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('building')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');

  const out = python(
    `
import sys, numpy as np
m = np.load(sys.argv[1], mmap_mode='r'); c = np.load(sys.argv[2], mmap_mode='r')
assert m.shape == (2, 512, 512) and m.dtype == np.float32
assert c.shape == (1, 512, 512) and c.dtype == np.uint32
covered = c[0] > 0
# Every covered pixel holds 1.5 per overlap (sums, not yet divided), except
# within the one tile being written when the kill landed, whose channel rows
# may be ahead of its counter rows by one update.
assert covered.any()
for ch in (0, 1):
    ahead = m[ch] - 1.5 * c[0]
    assert np.all(np.isclose(ahead, 0, atol=1e-3) | np.isclose(ahead, 1.5, atol=1e-3))
    assert np.isclose(ahead, 1.5, atol=1e-3).sum() <= 64 * 64
print(int(c.sum()) > 0)
`,
    [filename, join(scratch.dir, 'partial.overlaps.npy')],
  );
  expect(out).toBe('True');
  expect(readNpy(filename).shape).toEqual([2, 512, 512]);
});
