// A platform with no prebuilt binary: only the main tarball is installed
// (offline, so no platform package can be fetched), and the package still
// works on the pure-JavaScript backend, saying so once.
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  installOffline,
  node,
  packRoot,
  packRuntimeDependencies,
  requireBuiltDist,
  SMALL_MASK,
  smallMaskScript,
  tempDir,
} from './helpers/packaging';

let work: string;
let consumer: string;

beforeAll(() => {
  requireBuiltDist();
  work = tempDir('fallback');
  const main = packRoot(work);
  consumer = join(work, 'consumer');
  installOffline(consumer, [main.tarball], packRuntimeDependencies(join(work, 'deps')));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('no platform package and no addon are installed', () => {
  const modules = readdirSync(join(consumer, 'node_modules'));
  expect(modules.filter((m) => m.startsWith('wsi-mask-builder-'))).toEqual([]);
  expect(readdirSync(join(consumer, 'node_modules', 'wsi-mask-builder', 'dist')).filter((f) => f.endsWith('.node'))).toEqual([]);
});

test.each([
  ['require()', 'consumer.cjs', "const { MaskBuilder, nativeBinding } = require('wsi-mask-builder');"],
  ['import', 'consumer.mjs', "import { MaskBuilder, nativeBinding } from 'wsi-mask-builder';"],
])(
  'through %s the builder falls back to the JavaScript backend, builds the mask and warns once, naming the platform package for this machine',
  (_how, file, imports) => {
    const script = join(consumer, file);
    writeFileSync(script, smallMaskScript(imports, '{ native: nativeBinding() }'));
    const result = JSON.parse(node(script, consumer).stdout);
    expect(result).toMatchObject({ ...SMALL_MASK, backend: 'js', secondBackend: 'js', native: null });
    // Two builders, one warning, naming the package that would serve this machine (the triple of the addon
    // built here) and the environment variable, not the WebAssembly package the loader tried last.
    expect(result.warnings).toEqual(['WSI_MASK_NATIVE_UNAVAILABLE']);
    const triple = readdirSync(join(__dirname, '..', 'src-ts'))
      .find((f) => f.endsWith('.node'))!
      .replace(/^wsi-mask-builder\.(.*)\.node$/, '$1');
    expect(result.warningMessages[0]).toContain(
      `served by wsi-mask-builder-${triple}: install it (npm install wsi-mask-builder-${triple}@`,
    );
    expect(result.warningMessages[0]).toContain('NAPI_RS_NATIVE_LIBRARY_PATH');
    expect(result.warningMessages[0]).toContain('the platform package is not installed');
    expect(result.warningMessages[0]).not.toContain('wasm32-wasi');
  },
);
