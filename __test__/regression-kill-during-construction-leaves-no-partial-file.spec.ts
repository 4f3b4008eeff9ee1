// Regression: SIGKILL while a memmap builder was being constructed could
// leave a 1 GiB temporary behind, or a named file with its blocks reserved
// but no header yet (numpy could not open it). Temporaries are now unnamed
// from the start (O_TMPFILE) and named files get header and reservation
// before they are linked to their name, so a kill at any instant leaves
// nothing or a complete NPY file.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseNpyHeader } from '../src-ts/index';
import { scratchDir } from './helpers/scratch';

test('kills at random instants of construction leave only complete NPY files', async () => {
  const scratch = scratchDir('killed-construct');
  const named = join(scratch.dir, 'named');
  const temporary = join(scratch.dir, 'temporary');
  mkdirSync(named);
  mkdirSync(temporary);
  try {
    // Fixed delays spread over many constructions (each a few ms here).
    for (let kill = 0; kill < 16; kill++) {
      const delay = 1 + ((kill * 7) % 23);
      const child = spawn(process.execPath, [join(__dirname, 'children', 'memmap-construct-forever.js'), named, temporary], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('constructing')) resolve();
        });
        child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
      });
      await new Promise((resolve) => setTimeout(resolve, delay));
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      expect(readdirSync(temporary)).toEqual([]);
      const files = readdirSync(named);
      expect(files.length).toBeGreaterThan(0);
      for (const name of files) {
        // Only final names (no hidden temporaries), each a whole NPY file.
        expect(name).toMatch(/^m\d+(\.overlaps)?\.npy$/);
        const path = join(named, name);
        const head = Buffer.alloc(4096);
        const fd = openSync(path, 'r');
        readSync(fd, head, 0, head.length, 0);
        closeSync(fd);
        const header = parseNpyHeader(head);
        const counter = name.includes('overlaps');
        expect(header.shape).toEqual(counter ? [1, 1024, 1024] : [2, 1024, 1024]);
        expect(statSync(path).size).toBe(header.dataOffset + (counter ? 1 : 2) * 4 * 1024 * 1024);
        rmSync(path);
      }
    }
  } finally {
    scratch.remove();
  }
});
