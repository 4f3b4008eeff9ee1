// Regression: resizeToSource({ filename }) overwrote an existing file without
// a word, followed a symlink and overwrote its target, and on ENOSPC deleted
// the file it had replaced. It is now exclusive (EEXIST unless
// `overwrite: true`), writes a temporary that takes the name only when
// complete, replaces a symlink rather than its target, and never deletes a
// file it did not create.
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resizeToSource } from '../src-ts/index';
import { readNpy } from '../src-ts/npy';
import { scratchDir } from './helpers/scratch';

const image = { data: Float32Array.of(0, 1, 2, 3), shape: [1, 2, 2] };
const geometry = { sourceExtents: [4, 6], maskExtents: [2, 2] };
let scratch: ReturnType<typeof scratchDir>;
beforeEach(() => {
  scratch = scratchDir('resize-clobber');
});
afterEach(() => scratch.remove());

test('an existing file is refused with EEXIST and left as it was', () => {
  const filename = join(scratch.dir, 'out.npy');
  writeFileSync(filename, 'precious');
  expect(() => resizeToSource(image, geometry, { filename })).toThrow(
    expect.objectContaining({ code: 'EEXIST', message: expect.stringContaining(filename) }),
  );
  expect(readFileSync(filename, 'utf8')).toBe('precious');
  expect(readdirSync(scratch.dir)).toEqual(['out.npy']);
});

test('overwrite: true replaces it, leaving no temporary', () => {
  const filename = join(scratch.dir, 'out.npy');
  writeFileSync(filename, 'old');
  resizeToSource(image, geometry, { filename, overwrite: true });
  expect(readNpy(filename).shape).toEqual([4, 6, 1]);
  expect(readdirSync(scratch.dir)).toEqual(['out.npy']);
});

test('a symlink is refused, or with overwrite replaced: its target is never written', () => {
  const target = join(scratch.dir, 'precious.txt');
  writeFileSync(target, 'keep');
  const link = join(scratch.dir, 'link.npy');
  symlinkSync(target, link);
  expect(() => resizeToSource(image, geometry, { filename: link })).toThrow(expect.objectContaining({ code: 'EEXIST' }));
  symlinkSync(join(scratch.dir, 'missing'), join(scratch.dir, 'dangling.npy'));
  expect(() => resizeToSource(image, geometry, { filename: join(scratch.dir, 'dangling.npy') })).toThrow(
    expect.objectContaining({ code: 'EEXIST' }),
  );
  expect(readdirSync(scratch.dir).sort()).toEqual(['dangling.npy', 'link.npy', 'precious.txt']);
  resizeToSource(image, geometry, { filename: link, overwrite: true });
  expect(readFileSync(target, 'utf8')).toBe('keep');
  expect(lstatSync(link).isSymbolicLink()).toBe(false);
  expect(readNpy(link).shape).toEqual([4, 6, 1]);
});

test('overwrite must be a boolean', () => {
  expect(() => resizeToSource(image, geometry, { filename: join(scratch.dir, 'x.npy'), overwrite: 1 as any })).toThrow(
    expect.objectContaining({ name: 'TypeError', code: 'ERR_WSI_OPTION_TYPE', message: expect.stringContaining('overwrite') }),
  );
  expect(readdirSync(scratch.dir)).toEqual([]);
});

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot) console.warn('regression-resize-to-file-clobbers: not root, so no tmpfs can be mounted; the ENOSPC test is skipped');

(isRoot ? test : test.skip)('a full disk (ENOSPC) keeps the file being replaced and leaves no temporary', () => {
  const mountPoint = join(scratch.dir, 'tiny');
  mkdirSync(mountPoint);
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint], { encoding: 'utf8' });
  expect(mount.stderr).toBe('');
  try {
    const filename = join(mountPoint, 'out.npy');
    writeFileSync(filename, 'precious');
    // 1024 x 1024 x 2 float32 = 8 MiB, more than the 1 MiB file system holds.
    const big = { sourceExtents: [1024, 1024], maskExtents: [2, 2] };
    const twoChannels = { data: new Float32Array(8), shape: [2, 2, 2] };
    expect(() => resizeToSource(twoChannels, big, { filename, overwrite: true })).toThrow(
      expect.objectContaining({ code: 'ENOSPC' }),
    );
    expect(readFileSync(filename, 'utf8')).toBe('precious');
    expect(readdirSync(mountPoint)).toEqual(['out.npy']);
  } finally {
    spawnSync('umount', [mountPoint]);
    rmdirSync(mountPoint);
  }
});
