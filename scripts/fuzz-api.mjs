// Longer runs of the random API fuzzer (__test__/helpers/api-fuzzer.ts):
// children of 30 s each with consecutive seeds, for `minutes` (default 10).
// Prints each failing seed with its output; exits 1 if any failed.
// Run: node scripts/fuzz-api.mjs [minutes] [first-seed]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const minutes = Number(process.argv[2] ?? 10);
let seed = Number(process.argv[3] ?? Date.now() % 1e6);
const end = Date.now() + minutes * 60_000;
let calls = 0;
let failed = 0;
while (Date.now() < end) {
  const dir = mkdtempSync(join(tmpdir(), 'wsi-fuzz-'));
  const child = spawnSync(
    process.execPath,
    [
      '--expose-gc',
      '--no-warnings',
      '-r',
      join(root, '__test__', 'helpers', 'register-ts.js'),
      join(root, '__test__', 'helpers', 'api-fuzzer.ts'),
      String(seed),
      '30000',
      dir,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  rmSync(dir, { recursive: true, force: true });
  const summary = /^calls (\d+)/m.exec(child.stdout);
  if (summary) calls += Number(summary[1]);
  if (child.signal !== null || child.status !== 0) {
    failed++;
    console.log(`seed ${seed}: signal ${child.signal}, status ${child.status}\n${child.stdout}${child.stderr}`);
  } else {
    console.log(`seed ${seed}: ok (${summary?.[1]} calls)`);
  }
  seed++;
}
console.log(`${calls} calls, ${failed} failing seed(s)`);
process.exit(failed > 0 ? 1 : 0);
