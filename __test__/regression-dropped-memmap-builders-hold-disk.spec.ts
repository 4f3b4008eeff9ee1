// Regression: memmap builders dropped without cleanup() kept their disk
// reservation until several garbage-collection rounds, because V8 saw only
// a small object (2,000 dropped builders held 3 GB of the temp directory).
// Their storage is now reported to V8 as external memory, so they are
// collected as promptly as their size calls for; cleanup() and
// `Symbol.dispose` release it at once.
import { readFileSync } from 'node:fs';
import { MaskBuilder } from '../src-ts/index';
import { scratchDir } from './helpers/scratch';

/** Mappings this process holds of files in `dir` (the unnamed temporaries show as `dir/#inode (deleted)`). */
function mappedIn(dir: string): number {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((line) => line.includes(`${dir}/`)).length;
}

const geometry = { sourceExtents: [1024, 1024], sourceTileExtent: 64, outputTileExtent: 64, stride: 64, nChannels: 2 };

(process.platform === 'linux' ? test : test.skip)(
  'dropped memmap builders are collected while more are created (8 MiB + 4 MiB each)',
  async () => {
    const scratch = scratchDir('dropped');
    try {
      let most = 0;
      for (let i = 0; i < 150; i++) {
        const b = new MaskBuilder({ ...geometry, storage: 'memmap', tempDir: scratch.dir });
        b.updateBatch({ data: new Float32Array(2 * 64 * 64).fill(1), shape: [1, 2, 64, 64] }, [[0, 0]]);
        // Let finalizers run, as they would between requests of a server.
        if (i % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
        most = Math.max(most, mappedIn(scratch.dir));
      }
      // 150 builders hold 300 mappings (1.8 GB) unless they are collected (300 before the fix, 38 after).
      expect(most).toBeLessThan(100);
    } finally {
      scratch.remove();
    }
  },
);

test('cleanup() and Symbol.dispose release the storage at once', () => {
  const scratch = scratchDir('dispose');
  try {
    {
      using b = new MaskBuilder({ ...geometry, storage: 'memmap', tempDir: scratch.dir });
      // A mean maps its counter file from finalize on: one file while building.
      expect(b.files).toHaveLength(1);
      b.finalize();
      expect(b.files).toHaveLength(2);
      if (process.platform === 'linux') expect(mappedIn(scratch.dir)).toBe(2);
    }
    if (process.platform === 'linux') expect(mappedIn(scratch.dir)).toBe(0);
    const b = new MaskBuilder({ ...geometry, storage: 'memmap', tempDir: scratch.dir });
    b[Symbol.dispose]();
    expect(() => b.finalize()).toThrow(expect.objectContaining({ code: 'ERR_WSI_CLEANED_UP' }));
  } finally {
    scratch.remove();
  }
});
