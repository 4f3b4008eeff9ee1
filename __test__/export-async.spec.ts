// writeOmeZarrAsync, writeOmeTiffAsync, toGeoJSONAsync and writeGeoJSONAsync:
// the same bytes as their sync forms (in-memory and from a memmap NPY file),
// the event loop turning while they run, in-memory masks copied at the call,
// and bad inputs rejected with the sync form's error, nothing written.
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  MaskBuilder,
  openNpy,
  toGeoJSON,
  toGeoJSONAsync,
  writeGeoJSON,
  writeGeoJSONAsync,
  writeNpy,
  writeOmeTiff,
  writeOmeTiffAsync,
  writeOmeZarr,
  writeOmeZarrAsync,
} from '../src-ts/index';
import { expectError, rejectionOf, thrownBy } from './helpers/robust';
import { scratchDir } from './helpers/scratch';

/** Every file under `root`, by relative path, with its bytes. */
function tree(root: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files[relative(root, path)] = readFileSync(path);
    }
  };
  walk(root);
  return files;
}

/** A two-channel 300 x 260 mask with smooth gradients and a blob, geometry at scale 4. */
function mask() {
  const builder = new MaskBuilder({
    sourceExtents: [1200, 1040],
    sourceTileExtent: 40,
    outputTileExtent: 10,
    stride: 40,
    nChannels: 2,
    mpp: 0.25,
  });
  const coords: number[][] = [];
  for (let y = 0; y + 40 <= 1200; y += 40) for (let x = 0; x + 40 <= 1040; x += 40) coords.push([y, x]);
  const data = new Float32Array(coords.length * 2 * 100);
  coords.forEach(([y0, x0], t) => {
    for (let i = 0; i < 100; i++) {
      const y = y0 + Math.floor(i / 10) * 4;
      const x = x0 + (i % 10) * 4;
      data[t * 200 + i] = (y + x) / 2240;
      data[t * 200 + 100 + i] = Math.hypot(y - 600, x - 500) < 300 + 40 * Math.sin(x / 50) ? 0.9 : 0.1;
    }
  });
  builder.updateBatch({ data, shape: [coords.length, 2, 10, 10] }, coords);
  return builder.finalize();
}

describe('async exports', () => {
  test('in memory: the same bytes as the sync forms', async () => {
    const { dir, remove } = scratchDir('export-async');
    try {
      const m = mask();
      const geo = { channel: 1, simplify: 2 };
      writeOmeZarr(m, join(dir, 'sync.ome.zarr'));
      const zarr = await writeOmeZarrAsync(m, join(dir, 'async.ome.zarr'));
      expect(zarr).toEqual({
        ...writeOmeZarr(m, join(dir, 'sync.ome.zarr'), { overwrite: true }),
        path: join(dir, 'async.ome.zarr'),
      });
      expect(tree(join(dir, 'async.ome.zarr'))).toEqual(tree(join(dir, 'sync.ome.zarr')));
      writeOmeTiff(m, join(dir, 'sync.ome.tif'), { compression: 'zstd' });
      await writeOmeTiffAsync(m, join(dir, 'async.ome.tif'), { compression: 'zstd' });
      expect(readFileSync(join(dir, 'async.ome.tif')).equals(readFileSync(join(dir, 'sync.ome.tif')))).toBe(true);
      expect(await toGeoJSONAsync(m, geo)).toEqual(toGeoJSON(m, geo));
      const written = await writeGeoJSONAsync(m, join(dir, 'async.geojson'), geo);
      expect(written).toEqual({ ...writeGeoJSON(m, join(dir, 'sync.geojson'), geo), path: join(dir, 'async.geojson') });
      expect(written.features).toBeGreaterThan(0);
      expect(readFileSync(join(dir, 'async.geojson')).equals(readFileSync(join(dir, 'sync.geojson')))).toBe(true);
    } finally {
      remove();
    }
  });

  test('from a memmap NPY file: the same bytes as the sync forms', async () => {
    const { dir, remove } = scratchDir('export-async-file');
    try {
      const npy = join(dir, 'mask.npy');
      const built = mask() as any;
      writeNpy(npy, built.mask ?? built);
      const file = openNpy(npy);
      try {
        writeOmeZarr(file, join(dir, 'sync.ome.zarr'), { ngffVersion: '0.5' });
        await writeOmeZarrAsync(file, join(dir, 'async.ome.zarr'), { ngffVersion: '0.5' });
        expect(tree(join(dir, 'async.ome.zarr'))).toEqual(tree(join(dir, 'sync.ome.zarr')));
        writeOmeTiff(file, join(dir, 'sync.ome.tif'));
        await writeOmeTiffAsync(file, join(dir, 'async.ome.tif'));
        expect(readFileSync(join(dir, 'async.ome.tif')).equals(readFileSync(join(dir, 'sync.ome.tif')))).toBe(true);
        expect(await toGeoJSONAsync(file, { channel: 1 })).toEqual(toGeoJSON(file, { channel: 1 }));
      } finally {
        file.close();
      }
    } finally {
      remove();
    }
  });

  test('the event loop keeps turning while an export runs, and the mask is copied at the call', async () => {
    const { dir, remove } = scratchDir('export-async-loop');
    try {
      // 2048 x 2048 float32 noise: incompressible, so zstd and the pyramid take a while.
      let seed = 1;
      const data = Float32Array.from({ length: 2048 * 2048 }, () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31;
      });
      const big = { data, shape: [2048, 2048], dtype: 'float32' };
      const expected = join(dir, 'sync.ome.zarr');
      writeOmeZarr(big, expected, { chunk: 256 });
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      const pending = writeOmeZarrAsync(big, join(dir, 'async.ome.zarr'), { chunk: 256 });
      // Changing the mask after the call does not change what is written.
      data.fill(7);
      await pending;
      clearInterval(timer);
      expect(ticks).toBeGreaterThan(0);
      expect(tree(join(dir, 'async.ome.zarr'))).toEqual(tree(expected));
    } finally {
      remove();
    }
  });

  test('bad inputs reject with the sync form’s error and write nothing', async () => {
    const { dir, remove } = scratchDir('export-async-bad');
    try {
      const m = { data: new Float32Array(64), shape: [8, 8], dtype: 'float32' };
      const out = join(dir, 'out');
      mkdirSync(out);
      const cases: [() => unknown, () => Promise<unknown>][] = [
        [() => toGeoJSON(m, { simplify: -1 }), () => toGeoJSONAsync(m, { simplify: -1 })],
        [() => writeGeoJSON(m, 42 as any), () => writeGeoJSONAsync(m, 42 as any)],
        [() => writeOmeZarr(m, join(out, 'a'), { chunk: 0 }), () => writeOmeZarrAsync(m, join(out, 'a'), { chunk: 0 })],
        [() => writeOmeTiff(5 as any, join(out, 'b')), () => writeOmeTiffAsync(5 as any, join(out, 'b'))],
      ];
      for (const [sync, async] of cases) {
        const thrown = thrownBy(sync) as Error & { code: string };
        expectError(await rejectionOf(async()), {
          type: thrown.constructor.name as any,
          code: thrown.code,
          message: [thrown.message.replace(/^\w+: /, '')],
        });
      }
      expect(readdirSync(out)).toEqual([]);
      // An error from the core (the store exists) rejects with its code too.
      writeOmeZarr(m, join(dir, 'taken.ome.zarr'));
      const existing = thrownBy(() => writeOmeZarr(m, join(dir, 'taken.ome.zarr'))) as Error & { code: string };
      expectError(await rejectionOf(writeOmeZarrAsync(m, join(dir, 'taken.ome.zarr'))), {
        type: existing.constructor.name as any,
        code: existing.code,
        message: [existing.message],
      });
    } finally {
      remove();
    }
  });
});
