// Writes benchmark figures into README.md between <!-- name:start --> and
// <!-- name:end --> markers, so the README always shows the last run.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const README = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'README.md');

export function replaceSection(name, text) {
  const readme = readFileSync(README, 'utf8');
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README.md lacks the ${start} ... ${end} markers`);
  writeFileSync(README, `${readme.slice(0, from + start.length)}${text}${readme.slice(to)}`);
}
