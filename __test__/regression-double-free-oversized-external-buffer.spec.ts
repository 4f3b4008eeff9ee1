// Regression: views above 4 GiB aborted the process with "free(): double
// free detected": Node 20 refuses an external ArrayBuffer that large and
// runs its finalizer itself, and the binding then freed the finalizer's data
// again. Run in a child process so an abort fails this test, not jest.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { scratchDir } from './helpers/scratch';

test('views over 4 GiB are refused with a coded RangeError, never a double free', () => {
  const scratch = scratchDir('oversized');
  try {
    const child = spawnSync(
      process.execPath,
      [
        '--expose-gc',
        '-r',
        join(__dirname, 'helpers', 'register-ts.js'),
        join(__dirname, 'children', 'oversized-external-buffer.ts'),
        scratch.dir,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (child.signal !== null || child.status !== 0) {
      throw new Error(`the child ended with signal ${child.signal}, status ${child.status}:\n${child.stdout}\n${child.stderr}`);
    }
    expect(child.stdout.trim().split('\n')).toEqual([
      'openNpy ERR_WSI_VIEW_TOO_LARGE',
      'binding-npy ERR_WSI_VIEW_TOO_LARGE',
      'binding-mask ERR_WSI_VIEW_TOO_LARGE',
      'done',
    ]);
  } finally {
    scratch.remove();
  }
});
