// Packs the built package the way `npm publish` would and installs the
// tarballs into throw-away consumer projects, offline. Works from the
// already-built dist/: nothing here compiles Rust.
import { execFileSync, execSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
export const DIST = join(ROOT, 'dist');
export const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

const BINARY_NAME = /^wsi-mask-builder\.(.+)\.node$/;

/** One entry of `npm pack --json`. */
export interface PackResult {
  filename: string;
  /** Bytes of the .tgz. */
  size: number;
  unpackedSize: number;
  files: { path: string; size: number }[];
  /** Absolute path of the tarball. */
  tarball: string;
}

/**
 * The environment for child npm and node processes: without the variables
 * an enclosing `npm test` sets (npm_config_local_prefix would make npm treat
 * the repository as the project) and without the overrides that pick a
 * backend or a binary, so the child sees what a user's process would.
 */
export function cleanEnv(): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_globalconfig']);
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    const lower = key.toLowerCase();
    if (lower.startsWith('npm_') && !keep.has(lower)) continue;
    if (key === 'NAPI_RS_NATIVE_LIBRARY_PATH' || key === 'WSI_MASK_BUILDER_BACKEND') continue;
    env[key] = value;
  }
  return env;
}

/** Runs npm with `args` in `cwd`; returns stdout. Throws with npm's stderr on failure. */
export function npm(args: string[], cwd: string): string {
  const options = {
    cwd,
    env: cleanEnv(),
    encoding: 'utf8' as const,
    stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'],
  };
  try {
    // npm is a .cmd script on Windows, which only a shell can start.
    if (process.platform === 'win32') return execSync(['npm', ...args.map((a) => `"${a}"`)].join(' '), options);
    return execFileSync('npm', args, options);
  } catch (e) {
    const err = e as Error & { stderr?: string; stdout?: string };
    throw new Error(`npm ${args.join(' ')} failed in ${cwd}:\n${err.stderr ?? ''}${err.stdout ?? ''}`);
  }
}

/** Runs `node file` in `cwd`; returns stdout and stderr. */
export function node(file: string, cwd: string): { stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(process.execPath, [file], {
      cwd,
      env: cleanEnv(),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { stdout, stderr: '' };
  } catch (e) {
    const err = e as Error & { stderr?: string; stdout?: string };
    throw new Error(`node ${file} failed in ${cwd}:\n${err.stderr ?? ''}${err.stdout ?? ''}`);
  }
}

export function tempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `wsi-mask-builder-${label}-`));
}

/** Fails with a clear message when dist/ has not been built. */
export function requireBuiltDist(): void {
  for (const file of ['index.js', 'index.mjs', 'index.d.ts', 'index.d.mts', 'binding.js']) {
    if (!existsSync(join(DIST, file)))
      throw new Error(`dist/${file} is missing: run \`npm run build\` before the packaging tests`);
  }
}

/** The `<platform>-<arch>[-<abi>]` of the addon built into dist/, e.g. `linux-x64-gnu`. */
export function builtPlatform(): string {
  const found = readdirSync(DIST)
    .map((f) => BINARY_NAME.exec(f)?.[1])
    .filter((p): p is string => p !== undefined);
  if (found.length !== 1) {
    throw new Error(
      `expected exactly one native addon in dist/ (built by \`npm run build\`); found ${found.length}: ${found.join(', ')}`,
    );
  }
  return found[0];
}

function pack(dir: string, destination: string): PackResult {
  // --ignore-scripts: `prepare` would rebuild the addon; the tests pack what is built.
  const out = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', destination], dir);
  const [result] = JSON.parse(out.slice(out.indexOf('['))) as Omit<PackResult, 'tarball'>[];
  return { ...result, tarball: join(destination, result.filename) };
}

/** `npm pack` of the repository root: the main package as published. */
export function packRoot(destination: string): PackResult {
  return pack(ROOT, destination);
}

/**
 * `npm pack` of the platform package `npm/<platform>/` with the addon from
 * dist/ put beside its package.json, as `napi artifacts` does before a release.
 * Staged in a copy, so the repository's npm/ stays free of binaries.
 */
export function packPlatform(platform: string, destination: string): PackResult {
  const source = join(ROOT, 'npm', platform);
  const stage = join(destination, `stage-${platform}`);
  mkdirSync(stage);
  for (const file of readdirSync(source)) copyFileSync(join(source, file), join(stage, file));
  const binary = `wsi-mask-builder.${platform}.node`;
  copyFileSync(join(DIST, binary), join(stage, binary));
  return pack(stage, destination);
}

/**
 * The main package's runtime dependencies (not optional, not dev), transitively,
 * as `npm install` put them in the repository's node_modules: name -> folder.
 * Resolved the way Node resolves them, from each dependent's folder upwards.
 */
export function runtimeDependencyDirs(): Map<string, string> {
  const found = new Map<string, string>();
  const visit = (fromDir: string, name: string) => {
    let dir = fromDir;
    for (;;) {
      const candidate = join(dir, 'node_modules', name);
      if (existsSync(join(candidate, 'package.json'))) {
        const seen = found.get(name);
        if (seen !== undefined && seen !== candidate) {
          throw new Error(
            `two installed versions of ${name} (${seen}, ${candidate}): the consumer's flat install cannot hold both`,
          );
        }
        if (seen === undefined) {
          found.set(name, candidate);
          for (const dep of Object.keys(readJson(join(candidate, 'package.json')).dependencies ?? {})) visit(candidate, dep);
        }
        return;
      }
      const parent = join(dir, '..');
      if (parent === dir || !(dir === ROOT || dir.startsWith(join(ROOT, 'node_modules')))) {
        throw new Error(`${name}, a runtime dependency, is not installed in ${ROOT}/node_modules: run \`npm install\``);
      }
      dir = parent;
    }
  };
  for (const name of Object.keys(readJson(join(ROOT, 'package.json')).dependencies ?? {})) visit(ROOT, name);
  return found;
}

/**
 * `npm pack` of every runtime dependency from the repository's node_modules
 * into `destination`: name -> tarball. With these a consumer installs the
 * package with no network and no npm cache (an offline install of a tarball
 * otherwise needs the registry documents of its dependencies in the cache).
 */
export function packRuntimeDependencies(destination: string): Map<string, string> {
  const dirs = runtimeDependencyDirs();
  mkdirSync(destination, { recursive: true });
  const out = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', destination, ...dirs.values()], destination);
  const packed = JSON.parse(out.slice(out.indexOf('['))) as { name: string; filename: string }[];
  return new Map(packed.map((p) => [p.name, join(destination, p.filename)]));
}

/**
 * A fresh project in `dir` with `tarballs` installed offline: its runtime
 * dependencies come from `dependencyTarballs` (see packRuntimeDependencies),
 * so nothing is read from the network or the npm cache.
 */
export function installOffline(dir: string, tarballs: string[], dependencyTarballs: Map<string, string>): void {
  mkdirSync(dir, { recursive: true });
  const dependencies = Object.fromEntries([...dependencyTarballs].map(([name, tarball]) => [name, `file:${tarball}`]));
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, dependencies }, null, 2)}\n`,
  );
  // --offline: no request leaves the machine. An empty cache of its own shows
  // nothing comes from the user's npm cache either. Optional platform packages
  // (and sharp) that are not given are skipped, as npm does for a platform mismatch.
  const cache = join(dir, '.empty-npm-cache');
  npm(['install', '--offline', '--no-audit', '--no-fund', '--no-update-notifier', `--cache=${cache}`, ...tarballs], dir);
}

export function readJson<T = any>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/**
 * The body of a consumer script: builds a 3 x 3 mask from four 2 x 2 tiles
 * with stride 1 (values 1..4) and prints what it got as JSON. `imports`
 * binds `MaskBuilder`; `extra`, an object expression, adds to the output.
 */
export function smallMaskScript(imports: string, extra = '{}'): string {
  return `${imports}
const warnings = [];
const warningMessages = [];
process.on('warning', (w) => {
  warnings.push(w.code ?? w.name);
  warningMessages.push(w.message);
});
const options = { sourceExtents: [3, 3], sourceTileExtent: 2, outputTileExtent: 2, stride: 1, nChannels: 1 };
const builder = new MaskBuilder(options);
const tiles = new Float32Array(16);
for (let t = 0; t < 4; t++) tiles.fill(t + 1, t * 4, t * 4 + 4);
builder.updateBatch({ data: tiles, shape: [4, 1, 2, 2] }, { data: Int32Array.from([0, 0, 0, 1, 1, 0, 1, 1]), shape: [4, 2] });
const { mask, overlapCounter } = builder.finalize();
const result = { backend: builder.backend, shape: mask.shape, mask: Array.from(mask.data), counter: Array.from(overlapCounter.data) };
builder.cleanup();
const second = new MaskBuilder(options);
result.secondBackend = second.backend;
second.cleanup();
// Warnings are emitted on the next tick.
setImmediate(() => console.log(JSON.stringify({ ...result, warnings, warningMessages, ...${extra} })));
`;
}

/** What `smallMaskScript` must print for the mask and counter. */
export const SMALL_MASK = {
  shape: [1, 3, 3],
  mask: [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4],
  counter: [1, 2, 1, 2, 4, 2, 1, 2, 1],
};
