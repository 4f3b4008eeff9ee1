// The README's JavaScript and TypeScript code blocks run as written, so they cannot drift from the package: each
// block runs as an ES module (TypeScript stripped by swc) against the built dist/, in a scratch directory, with
// `wsi-mask-builder` resolving to dist/. A `// value` comment after `console.log(...)` is the line it must print.
// Comments before a block may say `<!-- readme-test: setup ... -->` (code run first, for a fragment),
// `<!-- readme-test: commonjs -->` (run as CommonJS) or `<!-- readme-test: skip: reason -->`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { transformSync } from '@swc/core';

const ROOT = join(__dirname, '..');
const DIST = join(ROOT, 'dist');

interface Block {
  line: number;
  lang: string;
  code: string;
  setup: string;
  commonjs: boolean;
  skip: string | undefined;
}

/** The js/ts blocks of a Markdown file, with the directives in the comments just before each. */
function codeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const fence = /^```(\w*)\n([\s\S]*?)^```$/gm;
  for (let m = fence.exec(markdown); m; m = fence.exec(markdown)) {
    const lang = m[1];
    if (!['js', 'ts', 'mjs'].includes(lang)) continue;
    // Directives: the HTML comments between the previous block (or paragraph) and this one.
    const before = markdown.slice(0, m.index);
    const tail = before.slice(Math.max(before.lastIndexOf('```'), before.lastIndexOf('\n\n', before.length - 2)));
    const directives = [...tail.matchAll(/<!-- readme-test: (\w+)(?::? ?([\s\S]*?))?-->/g)];
    const get = (name: string) => directives.find((d) => d[1] === name)?.[2]?.trim();
    blocks.push({
      line: before.split('\n').length,
      lang,
      code: m[2],
      setup: get('setup') ?? '',
      commonjs: directives.some((d) => d[1] === 'commonjs'),
      skip: get('skip'),
    });
  }
  return blocks;
}

/** What each `console.log(...); // expected` line says it prints, in order. */
function expectedOutput(code: string): string[] {
  return [...code.matchAll(/^\s*console\.log\(.*\);\s*\/\/ (.*)$/gm)].map((m) => m[1]);
}

function runnable(block: Block): string {
  const source = `${block.setup}\n${block.code}`
    .replaceAll("from 'wsi-mask-builder'", `from '${join(DIST, 'index.mjs')}'`)
    .replaceAll("require('wsi-mask-builder')", `require('${join(DIST, 'index.js')}')`);
  return transformSync(source, {
    filename: block.lang === 'ts' ? 'block.ts' : 'block.js',
    jsc: { parser: block.lang === 'ts' ? { syntax: 'typescript' } : { syntax: 'ecmascript' }, target: 'es2022' },
    module: { type: block.commonjs ? 'commonjs' : 'es6' },
    isModule: true,
  }).code;
}

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const blocks = codeBlocks(readme);

test('the README has runnable blocks, and the quick start uses tileOrigins', () => {
  expect(blocks.length).toBeGreaterThanOrEqual(5);
  const quickStart = readme.slice(readme.indexOf('## Quick start'));
  expect(codeBlocks(quickStart)[0].code).toContain('builder.tileOrigins(');
  // A skipped block says why.
  for (const b of blocks) if (b.skip !== undefined) expect(b.skip.length).toBeGreaterThan(10);
});

describe('README code blocks', () => {
  let dir: string;
  beforeAll(() => {
    if (!existsSync(join(DIST, 'index.mjs'))) throw new Error('dist/ is missing: run `npm run build` (npm install does) first');
    dir = mkdtempSync(join(tmpdir(), 'wsi-readme-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.each(blocks.filter((b) => b.skip === undefined).map((b) => [b.line, b] as const))(
    'the block at README.md line %d runs as written',
    (line, block) => {
      const file = join(dir, `block-${line}.${block.commonjs ? 'cjs' : 'mjs'}`);
      writeFileSync(file, runnable(block));
      const run = spawnSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const expected = expectedOutput(block.code);
      if (expected.length > 0) expect(run.stdout.trimEnd().split('\n')).toEqual(expected);
    },
  );
});
