// The "Bad input and what it gets" table of docs/bad-input.md (linked from the README) lists
// every bad input the specs try, with the class and code they assert.
// Regenerate it with: node -r ./__test__/helpers/register-ts.js scripts/bad-input-table.ts
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BAD_EXPORTS } from './helpers/bad-export-inputs';
import { BAD_BATCHES, BAD_COORDS, BAD_EDGE_CLIPPING, BAD_OPTIONS } from './helpers/bad-inputs';
import { BAD_PARTIALS } from './helpers/bad-partials';

const readme = readFileSync(join(__dirname, '..', 'docs', 'bad-input.md'), 'utf8');
const doc = readme.slice(readme.indexOf('<!-- bad-input:start -->'), readme.indexOf('<!-- bad-input:end -->'));
const rows = new Map(
  doc
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| Input') && !line.startsWith('| ---'))
    .map((line) => [line.split(' | ')[0].slice(2), line] as const),
);

test.each(
  [...BAD_OPTIONS, ...BAD_BATCHES, ...BAD_COORDS, ...BAD_EDGE_CLIPPING, ...BAD_PARTIALS, ...BAD_EXPORTS].map(
    (c) => [c.what, c] as const,
  ),
)('%s is in the table', (what, c) => {
  const row = rows.get(what);
  expect(row).toBeDefined();
  expect(row).toContain(` | ${c.expected.type} | \`${c.expected.code}\` | `);
});

test('the lifecycle, counter and async-option rows are there too', () => {
  for (const code of [
    'ERR_WSI_COUNTER_OVERFLOW',
    'ERR_WSI_FINALIZED',
    'ERR_WSI_CLEANED_UP',
    'ERR_WSI_UNKNOWN_OPTION',
    'ERR_WSI_VIEW_TOO_LARGE',
    'ERR_WSI_FILE_MAPPED',
    'ERR_WSI_NPY_FORMAT',
    'EEXIST',
  ]) {
    expect(doc).toContain(`\`${code}\``);
  }
});

test('the rows of tileOrigins, tissueMask, cleanup options, SharedArrayBuffer transfers and the counter path are there', () => {
  for (const what of [
    'transfer: true with a SharedArrayBuffer batch',
    'tileOrigins batchSize 0',
    'unknown tileOrigins option',
    'tileOrigins tissue an RGB thumbnail',
    'tileOrigins tissueScale 0',
    'tissueMask of a float image',
    'cleanup unfinished option unknown',
    "memmap filename whose derived '.overlaps' counter path exists (native)",
  ]) {
    expect(rows.get(what)).toBeDefined();
  }
  expect(rows.get("memmap filename whose derived '.overlaps' counter path exists (native)")).toContain('overlapCounterFilename');
});
