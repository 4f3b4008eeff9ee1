// Crash-prone call sequences (views after cleanup or collection, buffers
// transferred mid-update, cleanup with work pending) run in a child process,
// so a segfault or abort fails this test instead of killing jest.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { BACKENDS } from './helpers/robust';

const helpers = join(__dirname, 'helpers');

test.each(BACKENDS)('no sequence crashes the process (%s backend)', (backend) => {
  const child = spawnSync(
    process.execPath,
    ['--expose-gc', '-r', join(helpers, 'register-ts.js'), join(helpers, 'lifecycle-sequences.ts'), backend],
    { encoding: 'utf8', timeout: 90_000 },
  );
  if (child.signal !== null || child.status !== 0) {
    throw new Error(`the child ended with signal ${child.signal}, status ${child.status}:\n${child.stdout}\n${child.stderr}`);
  }
  expect(child.stdout.match(/^ok /gm)?.length).toBe(9);
  expect(child.stdout.trim().split('\n').pop()).toBe('done');
});
