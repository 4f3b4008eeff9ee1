// The random API fuzzer (helpers/api-fuzzer.ts) at a fixed seed and a short
// budget, in a child process so a crash fails this test with its signal.
// Longer runs over many seeds: `node scripts/fuzz-api.mjs [minutes]`.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { scratchDir } from './helpers/scratch';

test('3 s of random public calls: every error is coded and nothing crashes (seed 1)', () => {
  const scratch = scratchDir('fuzz');
  try {
    const child = spawnSync(
      process.execPath,
      [
        '--expose-gc',
        '--no-warnings',
        '-r',
        join(__dirname, 'helpers', 'register-ts.js'),
        join(__dirname, 'helpers', 'api-fuzzer.ts'),
        '1',
        '3000',
        scratch.dir,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (child.signal !== null || child.status !== 0) {
      throw new Error(`the fuzzer ended with signal ${child.signal}, status ${child.status}:\n${child.stdout}\n${child.stderr}`);
    }
    const [summary, done] = child.stdout.trim().split('\n').slice(-2);
    expect(done).toBe('done');
    const [, calls, , errors] = summary.split(' ').map(Number);
    // Enough calls to mean something, and both successes and refusals among them.
    expect(calls).toBeGreaterThan(1000);
    expect(errors).toBeGreaterThan(0);
    expect(errors).toBeLessThan(calls);
  } finally {
    scratch.remove();
  }
});
