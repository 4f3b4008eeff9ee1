// Compares this checkout's native backend with another build of the project
// (for example a worktree at the commit before a refactoring) on the same
// workloads: the two alternate within each round, each run in its own
// process, and the report gives medians and the median of per-round ratios.
//   node bench/compare-builds.mjs --base /path/to/other/checkout [--rounds 5] [--only W1,W2,W3,W4]
// The other checkout must be built (`npm install` there) and have its own
// bench/workload.mjs; both read their own bench/workloads.json.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    base: { type: 'string' },
    rounds: { type: 'string', default: '5' },
    only: { type: 'string', default: 'W1,W2,W3,W4' },
  },
});
if (!values.base) throw new Error('--base: the other checkout to compare with is required');
const base = resolve(values.base);
const baseWorkload = join(base, 'bench', 'workload.mjs');
if (!existsSync(baseWorkload)) throw new Error(`--base: ${baseWorkload} does not exist`);
const rounds = Number(values.rounds);
const builds = { base: baseWorkload, this: join(here, 'workload.mjs') };

function runOnce(script, name) {
  const r = spawnSync(process.execPath, [script, name, 'native'], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${script} ${name} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()).seconds;
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

console.log(`${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}); base ${base}; ${rounds} rounds`);
console.log('| workload | base s | this s | this / base (median of per-round ratios) |');
console.log('|---|---|---|---|');
for (const name of values.only.split(',')) {
  const seconds = { base: [], this: [] };
  for (let r = 0; r < rounds; r++) {
    // Alternate which build goes first, so drift on a noisy machine hits both.
    const order = r % 2 ? ['this', 'base'] : ['base', 'this'];
    for (const b of order) seconds[b].push(runOnce(builds[b], name));
  }
  const ratio = median(seconds.this.map((s, k) => s / seconds.base[k]));
  console.log(`| ${name} | ${median(seconds.base).toFixed(3)} | ${median(seconds.this).toFixed(3)} | ${ratio.toFixed(3)} |`);
}
