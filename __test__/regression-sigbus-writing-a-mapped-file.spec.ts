// Regression: resizeToSource({ filename }) onto a memmap builder's own file
// (or onto a file mapped by openNpy) truncated the mapped file: the process
// died with SIGBUS and the mask was left at 0 bytes. Every writer now
// refuses a file this process maps (ERR_WSI_FILE_MAPPED, compared by device
// and inode). Run in a child process so a SIGBUS fails this test, not jest.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { readNpy } from '../src-ts/npy';
import { scratchDir } from './helpers/scratch';

test('writers refuse files this process maps, and the mapped data survives', () => {
  const scratch = scratchDir('mapped-write');
  try {
    const child = spawnSync(
      process.execPath,
      ['-r', join(__dirname, 'helpers', 'register-ts.js'), join(__dirname, 'children', 'write-over-mapped-file.ts'), scratch.dir],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (child.signal !== null || child.status !== 0) {
      throw new Error(`the child ended with signal ${child.signal}, status ${child.status}:\n${child.stdout}\n${child.stderr}`);
    }
    expect(child.stdout.trim().split('\n')).toEqual([
      'builder-file ERR_WSI_FILE_MAPPED',
      'builder-file-overwrite ERR_WSI_FILE_MAPPED',
      'builder-counter-overwrite ERR_WSI_FILE_MAPPED',
      'writeNpy ERR_WSI_FILE_MAPPED',
      'openNpy-overwrite ERR_WSI_FILE_MAPPED',
      `mask-sum ${2 * 256 * 256}`,
      `opened-sum ${2 * 256 * 256}`,
      'done',
    ]);
    const onDisk = readNpy(join(scratch.dir, 'm.npy'));
    expect(onDisk.shape).toEqual([1, 256, 256]);
    expect((onDisk.data as Float32Array).every((v) => v === 2)).toBe(true);
  } finally {
    scratch.remove();
  }
});
