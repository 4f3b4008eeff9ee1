// Regression: a mapped file shrunk by another process (or fs.truncateSync)
// killed the process with SIGBUS at the next access. As with every
// mmap-based store this cannot be made fully safe (a view read after the
// truncation still faults; the README says so), but the calls that touch
// the file check its size first and throw, and persisted files carry an
// advisory lock while mapped so cooperating processes can see they are in
// use. The truncation runs in a child process so a SIGBUS fails this test.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { MaskBuilder, openNpy } from '../src-ts/index';
import { python } from './helpers/python';
import { scratchDir } from './helpers/scratch';

test('calls that touch a truncated mapped file throw instead of crashing', () => {
  const scratch = scratchDir('truncated');
  try {
    const child = spawnSync(
      process.execPath,
      ['-r', join(__dirname, 'helpers', 'register-ts.js'), join(__dirname, 'children', 'truncated-mapped-file.ts'), scratch.dir],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (child.signal !== null || child.status !== 0) {
      throw new Error(`the child ended with signal ${child.signal}, status ${child.status}:\n${child.stdout}\n${child.stderr}`);
    }
    expect(child.stdout.trim().split('\n')).toEqual([
      'updateBatch ERR_WSI_STORAGE',
      'finalize ERR_WSI_STORAGE',
      'openNpy-data ERR_WSI_STORAGE',
      'done',
    ]);
  } finally {
    scratch.remove();
  }
});

test('persisted mapped files hold an advisory lock that other processes see', () => {
  const scratch = scratchDir('flock');
  const tryLock = (path: string) =>
    python(
      `import fcntl, sys
f = open(sys.argv[1], 'rb')
try:
    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB); print('free')
except BlockingIOError:
    print('locked')`,
      [path],
    );
  try {
    const filename = join(scratch.dir, 'm.npy');
    const b = new MaskBuilder({
      sourceExtents: [64, 64],
      sourceTileExtent: 8,
      outputTileExtent: 8,
      stride: 8,
      storage: 'memmap',
      filename,
    });
    expect(tryLock(filename)).toBe('locked');
    b.finalize();
    b.cleanup();
    expect(tryLock(filename)).toBe('free');
    const opened = openNpy(filename);
    expect(tryLock(filename)).toBe('locked');
    opened.close();
    expect(tryLock(filename)).toBe('free');
  } finally {
    scratch.remove();
  }
});
