// Regression: a synchronous finalize() (or updateBatch) while the libuv
// thread pool was saturated by other work hung forever, waiting for
// asynchronous updates queued behind that work. Synchronous calls now run
// queued updates on their own thread, in call order. In a child process
// with a timeout, so a hang fails this test.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { scratchDir } from './helpers/scratch';

(process.platform === 'win32' ? test.skip : test)('synchronous calls do not wait for a saturated thread pool', () => {
  const scratch = scratchDir('saturated');
  try {
    const child = spawnSync(
      process.execPath,
      [
        '-r',
        join(__dirname, 'helpers', 'register-ts.js'),
        join(__dirname, 'children', 'finalize-with-saturated-pool.ts'),
        scratch.dir,
      ],
      { encoding: 'utf8', timeout: 20_000, env: { ...process.env, UV_THREADPOOL_SIZE: '2' } },
    );
    if (child.signal !== null || child.status !== 0) {
      throw new Error(`the child ended with signal ${child.signal}, status ${child.status}:\n${child.stdout}\n${child.stderr}`);
    }
    expect(child.stdout.trim().split('\n')).toEqual([
      'pending after updateBatch 0',
      // Mean of 1 and 3 where both async tiles landed, 5 where the sync one did, 0 elsewhere.
      'mask 2 5 0',
      'settled first second',
      'done',
    ]);
  } finally {
    scratch.remove();
  }
});
