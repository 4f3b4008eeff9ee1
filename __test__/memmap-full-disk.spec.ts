// A full disk is an ENOSPC error at construction, not a SIGBUS later.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { MaskBuilder } from '../src-ts/index';
import { scratchDir } from './helpers/scratch';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const scratch = scratchDir('memmap-enospc');
const mountPoint = join(scratch.dir, 'tiny');
let mounted = false;

beforeAll(() => {
  if (!isRoot) return;
  mkdirSync(mountPoint);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint], { encoding: 'utf8' });
  mounted = r.status === 0;
  if (!mounted) console.warn(`could not mount a 1 MiB tmpfs (${r.stderr.trim()}); the full-disk test cannot run`);
});

afterAll(() => {
  if (mounted) spawnSync('umount', [mountPoint]);
  if (isRoot) rmdirSync(mountPoint);
  scratch.remove();
});

if (!isRoot) console.warn('memmap-full-disk: not root, so no tmpfs can be mounted; the ENOSPC test is skipped');

// A 2 x 1024 x 1024 float32 mask (8 MiB) cannot fit in 1 MiB.
const big = { sourceExtents: [1024, 1024], sourceTileExtent: 64, outputTileExtent: 64, stride: 64, nChannels: 2 } as const;

(isRoot ? test : test.skip)('a mask larger than the filesystem fails with ENOSPC and leaves nothing', () => {
  expect(mounted).toBe(true);
  for (const options of [{ tempDir: mountPoint }, { filename: join(mountPoint, 'mask.npy') }]) {
    let error: unknown;
    try {
      new MaskBuilder({ ...big, storage: 'memmap', ...options });
    } catch (e) {
      error = e;
    }
    expect(error).toEqual(expect.objectContaining({ code: 'ENOSPC' }));
    expect((error as Error).message).toMatch(/reserve|needs/);
    expect(readdirSync(mountPoint)).toEqual([]);
  }
  // A mask that fits still works there.
  const small = new MaskBuilder({ ...big, sourceExtents: [128, 128], storage: 'memmap', filename: join(mountPoint, 'ok.npy') });
  expect(small.files[0].reserved).toBe(true);
  small.cleanup();
});
