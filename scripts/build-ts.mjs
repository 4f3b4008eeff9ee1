// Compiles the TypeScript facade to dist/ (CommonJS + .d.ts), copies the
// generated napi loader and the native addon beside it, and writes the ESM
// entry that re-exports the CommonJS build (one instance of every class).
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src-ts');
const dist = join(root, 'dist');

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], {
  stdio: 'inherit',
});

// The addon is copied too, so dist/ runs from a clone. It is not published:
// the `files` whitelist in package.json leaves *.node out of the main
// tarball, whose users get the addon from wsi-mask-builder-<platform>.
for (const file of readdirSync(src)) {
  if (file === 'binding.js' || file === 'binding.d.ts' || file.endsWith('.node')) copyFileSync(join(src, file), join(dist, file));
}

const require = createRequire(import.meta.url);
const names = Object.keys(require(join(dist, 'index.js'))).filter((n) => n !== 'default' && n !== '__esModule');
const esm = [
  '// ESM entry: re-exports the CommonJS build so both share one set of classes.',
  "import cjs from './index.js';",
  ...names.map((n) => `export const ${n} = cjs.${n};`),
  'export default cjs;',
  '',
].join('\n');
writeFileSync(join(dist, 'index.mjs'), esm);
writeFileSync(
  join(dist, 'index.d.mts'),
  "export * from './index.js';\nimport * as all from './index.js';\nexport default all;\n",
);
if (!existsSync(join(dist, 'index.d.ts'))) throw new Error('tsc did not emit dist/index.d.ts');
// The command-line tool (package.json "bin") runs directly.
chmodSync(join(dist, 'cli.js'), 0o755);
console.log(`dist/: CommonJS, ESM (${names.length} exports) and types`);
