// A process killed mid-build leaves NPY files numpy can still open.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy } from '../src-ts/index';
import { python } from './helpers/python';
import { scratchDir } from './helpers/scratch';

const scratch = scratchDir('memmap-killed');
afterAll(() => scratch.remove());

test('SIGKILL during updates leaves a readable header and the sums written so far (and no counter file)', async () => {
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

  // A mean keeps its overlap counts as tile rectangles until finalize: the
  // killed build leaves the sums and no counter file.
  expect(existsSync(join(scratch.dir, 'partial.overlaps.npy'))).toBe(false);
  const out = python(
    `
import sys, numpy as np
m = np.load(sys.argv[1], mmap_mode='r')
assert m.shape == (2, 512, 512) and m.dtype == np.float32
# Every pixel holds 1.5 per tile that covered it (sums, not yet divided).
for ch in (0, 1):
    k = np.asarray(m[ch]) / 1.5
    assert np.allclose(k, np.round(k), atol=1e-3) and k.min() >= 0
print(bool((np.asarray(m) > 0).any()))
`,
    [filename],
  );
  expect(out).toBe('True');
  expect(readNpy(filename).shape).toEqual([2, 512, 512]);
});
