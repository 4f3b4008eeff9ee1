// The package as a user gets it: `npm pack` of the root and of this machine's
// platform package, both installed offline into a fresh project, then used
// through require(), import and a type-checked TypeScript consumer.
import { execFileSync } from 'node:child_process';
import { readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import {
  builtPlatform,
  cleanEnv,
  installOffline,
  node,
  type PackResult,
  packPlatform,
  packRoot,
  packRuntimeDependencies,
  ROOT,
  readJson,
  requireBuiltDist,
  SMALL_MASK,
  smallMaskScript,
  TSC,
  tempDir,
} from './helpers/packaging';

/**
 * Published size budget, with room for the features still to come. Measured
 * at 0.1.0: main 32.9 KB packed / 134.9 KB unpacked; linux-x64-gnu 348 KB packed.
 * With partials and region shards (and the bad-input table moved to docs/):
 * main 92.8 KB packed / 337.9 KB unpacked. With those and tileOrigins, the tissue
 * mask, the colour bar and the CLI's NPY decoding: 401 KB unpacked.
 */
const BUDGET = {
  // 98 KB with tileOrigins, the tissue mask, the colour bar, the CLI's NPY decoding, the README's runnable
  // examples and dist/export.
  // 127 KB packed with the exports' section of the README and dist/export.
  mainPacked: 160 * 1024,
  mainUnpacked: 640 * 1024,
  // The exports (zarrs, libzstd, tiff) took the Linux addon from 4.0 to 7.7 MB unpacked (2.5 MiB packed).
  platformPacked: 3 * 1024 * 1024,
};

const PLATFORMS = ['linux-x64-gnu', 'linux-x64-musl', 'linux-arm64-gnu', 'darwin-x64', 'darwin-arm64', 'win32-x64-msvc'];

let work: string;
let consumer: string;
let platform: string;
let main: PackResult;
let native: PackResult;

beforeAll(() => {
  requireBuiltDist();
  platform = builtPlatform();
  work = tempDir('pack');
  main = packRoot(work);
  native = packPlatform(platform, work);
  consumer = join(work, 'consumer');
  installOffline(consumer, [main.tarball, native.tarball], packRuntimeDependencies(join(work, 'deps')));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('main tarball', () => {
  test('holds the compiled JavaScript, its declarations and the docs, and no addon, tests or Rust', () => {
    const paths = main.files.map((f) => f.path);
    const allowed = /^(package\.json|README\.md|LICENSE|CHANGELOG\.md|dist\/.+\.(js|mjs|d\.ts|d\.mts))$/;
    expect(paths.filter((p) => !allowed.test(p))).toEqual([]);
    for (const required of [
      'LICENSE',
      'README.md',
      'CHANGELOG.md',
      'dist/index.js',
      'dist/index.mjs',
      'dist/index.d.ts',
      'dist/index.d.mts',
      'dist/binding.js',
      'dist/binding.d.ts',
    ]) {
      expect(paths).toContain(required);
    }
    expect(
      paths.some((p) => p.endsWith('.node') || p.endsWith('.rs') || p.startsWith('__test__') || p.startsWith('src-ts')),
    ).toBe(false);
  });

  test('declares the entry points, engines and one optional platform package per target at its own version', () => {
    const manifest = readJson(join(consumer, 'node_modules', 'wsi-mask-builder', 'package.json'));
    expect(manifest.exports['.']).toEqual({
      import: { types: './dist/index.d.mts', default: './dist/index.mjs' },
      require: { types: './dist/index.d.ts', default: './dist/index.js' },
    });
    expect(manifest.main).toBe('./dist/index.js');
    expect(manifest.types).toBe('./dist/index.d.ts');
    expect(manifest.engines.node).toBe('>=20');
    expect(manifest.dependencies ?? {}).not.toHaveProperty('wsi-mask-builder-linux-x64-gnu');
    // The platform addons, plus sharp, which encodes heatmap images when it is installed.
    expect(manifest.optionalDependencies).toEqual({
      ...Object.fromEntries(PLATFORMS.map((p) => [`wsi-mask-builder-${p}`, manifest.version])),
      sharp: expect.any(String),
    });
    for (const p of PLATFORMS) {
      const platformManifest = readJson(join(ROOT, 'npm', p, 'package.json'));
      expect({ name: platformManifest.name, version: platformManifest.version }).toEqual({
        name: `wsi-mask-builder-${p}`,
        version: manifest.version,
      });
    }
  });
});

describe('platform tarball', () => {
  test('holds the addon, and its os and cpu match the machine it was built on', () => {
    expect(native.files.map((f) => f.path).sort()).toEqual(['README.md', 'package.json', `wsi-mask-builder.${platform}.node`]);
    const manifest = readJson(join(consumer, 'node_modules', `wsi-mask-builder-${platform}`, 'package.json'));
    expect(manifest.main).toBe(`wsi-mask-builder.${platform}.node`);
    expect(manifest.os).toEqual([process.platform]);
    expect(manifest.cpu).toEqual([process.arch]);
  });
});

test('the tarballs stay within the size budget', () => {
  expect(main.size).toBeLessThanOrEqual(BUDGET.mainPacked);
  expect(main.unpackedSize).toBeLessThanOrEqual(BUDGET.mainUnpacked);
  expect(native.size).toBeLessThanOrEqual(BUDGET.platformPacked);
});

test('require() finds the addon in the platform package and builds a mask natively', () => {
  const script = join(consumer, 'consumer.cjs');
  writeFileSync(
    script,
    smallMaskScript(
      "const { MaskBuilder } = require('wsi-mask-builder');",
      `{ addon: require.resolve('wsi-mask-builder-${platform}') }`,
    ),
  );
  const { stdout } = node(script, consumer);
  const result = JSON.parse(stdout);
  expect(result).toMatchObject({ ...SMALL_MASK, backend: 'native', secondBackend: 'native', warnings: [] });
  expect(realpathSync.native(result.addon)).toBe(
    realpathSync.native(join(consumer, 'node_modules', `wsi-mask-builder-${platform}`, `wsi-mask-builder.${platform}.node`)),
  );
  // The main package ships no addon, so the loader can only have taken the platform package's.
  expect(readdirSync(join(consumer, 'node_modules', 'wsi-mask-builder', 'dist')).filter((f) => f.endsWith('.node'))).toEqual([]);
});

test('import loads the ESM entry, which shares every class with require()', () => {
  const script = join(consumer, 'consumer.mjs');
  writeFileSync(
    script,
    `import * as esm from 'wsi-mask-builder';
import wsi from 'wsi-mask-builder';
import { createRequire } from 'node:module';
const cjs = createRequire(import.meta.url)('wsi-mask-builder');
const names = Object.keys(cjs).filter((n) => n !== '__esModule').sort();
const esmNames = Object.keys(esm).filter((n) => n !== 'default').sort();
const shared = names.every((n) => esm[n] === cjs[n]) && wsi === cjs;
${smallMaskScript('const { MaskBuilder } = esm;', '{ names, esmNames, shared }')}`,
  );
  const result = JSON.parse(node(script, consumer).stdout);
  expect(result).toMatchObject({ ...SMALL_MASK, backend: 'native', warnings: [], shared: true });
  expect(result.esmNames).toEqual(result.names);
  expect(result.names).toEqual(
    expect.arrayContaining(['MaskBuilder', 'MeanAggregator', 'MaxAggregator', 'Aggregator', 'ErrorCode']),
  );
});

test('a TypeScript consumer type-checks against the shipped declarations, as ESM and as CommonJS', () => {
  const options = `{ sourceExtents: [1024, 768], sourceTileExtent: 256, outputTileExtent: 16, stride: 128, nChannels: 2 }`;
  writeFileSync(
    join(consumer, 'consumer-esm.mts'),
    `import wsi, { ErrorCode, MaskBuilder, MaxAggregator, type MeanResult, type NdArray } from 'wsi-mask-builder';

const mean = new MaskBuilder(${options});
const averaged: MeanResult = mean.finalize();
export const counter: Uint16Array | Uint32Array = averaged.overlapCounter.data;
const max = new MaskBuilder({ ...${options}, aggregation: MaxAggregator });
export const maxima: NdArray = max.finalize();
export const backend: 'native' | 'js' = mean.backend;
export const code: string = ErrorCode.TILE_OUTSIDE_MASK;
export const sameClass: typeof MaskBuilder = wsi.MaskBuilder;
// @ts-expect-error the accumulator is float32 or float64
new MaskBuilder({ ...${options}, dtype: 'int8' });
// @ts-expect-error maskExtents is read-only information, not a method
mean.maskExtents();
`,
  );
  writeFileSync(
    join(consumer, 'consumer-cjs.cts'),
    `import { MaskBuilder, MeanAggregator } from 'wsi-mask-builder';
import wsi = require('wsi-mask-builder');

const builder = new MaskBuilder({ ...${options}, aggregation: MeanAggregator });
export async function run(): Promise<number[]> {
  await builder.updateBatchAsync({ data: new Float32Array(2 * 16 * 16), shape: [1, 2, 16, 16] }, [[0, 0]]);
  const { mask } = await builder.finalizeAsync();
  return mask.shape;
}
export const sameClass: typeof wsi.MaskBuilder = MaskBuilder;
// @ts-expect-error updateBatch needs coordinates
builder.updateBatch({ data: new Float32Array(2), shape: [1, 2] });
`,
  );
  writeFileSync(
    join(consumer, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        lib: ['es2022'],
        // No @types/node: the shipped declarations must stand on their own.
        types: [],
        strict: true,
        noEmit: true,
        skipLibCheck: false,
      },
      files: ['consumer-esm.mts', 'consumer-cjs.cts'],
    }),
  );
  let listing: string;
  try {
    listing = execFileSync(process.execPath, [TSC, '-p', join(consumer, 'tsconfig.json'), '--listFiles'], {
      cwd: consumer,
      env: cleanEnv(),
      encoding: 'utf8',
    });
  } catch (e) {
    const err = e as Error & { stdout?: string };
    const diagnostics = (err.stdout ?? err.message).split(/\r?\n/).filter((l) => !isAbsolute(l.trim()));
    throw new Error(`tsc found errors in the consumer:\n${diagnostics.join('\n')}`);
  }
  // Each side resolved through its own `exports` condition.
  const files = listing.split(/\r?\n/).map((l) => l.trim().replace(/\\/g, '/'));
  for (const declarations of ['index.d.mts', 'index.d.ts']) {
    expect(files.filter((f) => f.endsWith(`/node_modules/wsi-mask-builder/dist/${declarations}`))).toHaveLength(1);
  }
});
