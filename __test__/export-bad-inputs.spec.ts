// Every bad export input gets its error at the call, and writes nothing.
import { readdirSync } from 'node:fs';
import { BAD_EXPORTS } from './helpers/bad-export-inputs';
import { expectError, thrownBy } from './helpers/robust';
import { scratchDir } from './helpers/scratch';

test.each(BAD_EXPORTS.map((c) => [c.what, c] as const))('%s', (_what, c) => {
  const { dir, remove } = scratchDir('bad-export');
  try {
    expectError(
      thrownBy(() => c.run(dir)),
      c.expected,
    );
    expect(readdirSync(dir)).toEqual([]);
  } finally {
    remove();
  }
});
