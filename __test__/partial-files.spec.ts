// Saved partials are plain NPY files numpy opens, with a manifest that says
// what they hold; loadPartials merges them into any storage (memory-mapped:
// file to file), sync or async, on either backend, whichever backend saved
// them; shard regions come from planRegions and maskRegionOfSourceBox.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MaskBuilder, maskRegionOfSourceBox, planRegions } from '../src-ts/index';
import { python } from './helpers/python';
import { BACKENDS, BASE_OPTIONS, denseBatch, diagonalCoords, makeBuilder, seededBuilder } from './helpers/robust';
import { scratchDir } from './helpers/scratch';

const scratch = scratchDir('partial-files');
afterAll(() => scratch.remove());
let n = 0;
const fresh = (name: string) => join(scratch.dir, `${name}-${n++}`);

test.each(BACKENDS)('numpy opens the partial arrays of a %s builder: sums, counts and the manifest agree', (backend) => {
  const b = seededBuilder(backend);
  const dir = fresh(`numpy-${backend}`);
  b.savePartial(dir);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  expect(manifest).toMatchObject({
    format: 'wsi-mask-builder-partial',
    formatVersion: 2,
    sourceExtents: [32, 48],
    maskExtents: [16, 24],
    nChannels: 2,
    aggregation: 'mean',
    dtype: 'float32',
    counterDtype: 'uint16',
    region: { start: [0, 0], extent: [16, 24] },
    tilesApplied: 5,
    tilesSkipped: 0,
  });
  const sums = Array.from(b.storage.data).reduce((a, v) => a + v, 0);
  const out = python(
    `
import sys, json, numpy as np
a = np.load(sys.argv[1] + '/accumulator.npy'); c = np.load(sys.argv[1] + '/overlap_counter.npy')
m = json.load(open(sys.argv[1] + '/manifest.json'))
assert a.dtype == np.float32 and a.shape == (2, 16, 24), (a.dtype, a.shape)
assert c.dtype == np.uint16 and c.shape == (1, 16, 24), (c.dtype, c.shape)
mean = a / np.maximum(c, 1)
print(json.dumps([float(a.astype(np.float64).sum()), int(c.sum()), m['tilesApplied'], float(mean.max())]))
`,
    [dir],
  );
  const [pySum, pyCounts, tiles, pyMax] = JSON.parse(out);
  expect(pySum).toBeCloseTo(sums, 3);
  expect(pyCounts).toBe(Array.from(b.overlapCounter!.data).reduce((a, v) => a + v, 0));
  expect(tiles).toBe(5);
  const finalized = b.finalize().mask.data as Float32Array;
  expect(pyMax).toBeCloseTo(Math.max(...finalized), 5);
});

test('a max partial keeps -Infinity where no tile landed; numpy reads it', () => {
  const b = seededBuilder('native', { aggregation: 'max' });
  const dir = fresh('max');
  b.savePartial(dir);
  const out = python(
    `
import sys, numpy as np, os
a = np.load(sys.argv[1] + '/accumulator.npy')
print(int(np.isneginf(a).sum()), os.path.exists(sys.argv[1] + '/overlap_counter.npy'))
`,
    [dir],
  );
  const untouched = Array.from(b.storage.data).filter((v) => v === Number.NEGATIVE_INFINITY).length;
  expect(out).toBe(`${untouched} False`);
  expect(untouched).toBeGreaterThan(0);
});

test('partials saved by one backend load on the other, to the same mask', () => {
  const dirs = BACKENDS.map((backend) => {
    const dir = fresh(`cross-${backend}`);
    seededBuilder(backend).savePartial(dir);
    return dir;
  });
  const single = makeBuilder('js');
  for (let i = 0; i < 2; i++) {
    single.updateBatch(denseBatch(3), diagonalCoords(3));
    single.updateBatch(denseBatch(2), { data: new Int32Array([8, 20, 12, 0]), shape: [2, 2] }, [
      [1, 0],
      [0, 2],
    ]);
  }
  const want = single.finalize();
  for (const backend of BACKENDS) {
    const got = MaskBuilder.loadPartials(dirs, { backend }).finalize();
    expect(Array.from(got.overlapCounter.data)).toEqual(Array.from(want.overlapCounter.data));
    const a = got.mask.data;
    const b = want.mask.data;
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(b[i])));
  }
});

test('loadPartials into storage: memmap merges shard files into one NPY file numpy opens, and keeps building', async () => {
  const options = { sourceExtents: [64, 80], sourceTileExtent: 8, outputTileExtent: 4, stride: 4, nChannels: 2 } as const;
  const plan = planRegions(options, { grid: [2, 2] });
  const tiles: number[][] = [];
  for (let y = 0; y <= 56; y += 4) for (let x = 0; x <= 72; x += 4) tiles.push([y, x]);
  const data = Float32Array.from({ length: tiles.length * 2 * 16 }, (_, i) => Math.cos(i));
  const batch = { data, shape: [tiles.length, 2, 4, 4] };
  const coords = { data: Float64Array.from(tiles.flat()), shape: [tiles.length, 2] };
  const dirs = await Promise.all(
    plan.shards.map(async (shard) => {
      const b = new MaskBuilder({ ...options, region: shard.region });
      await b.updateBatchAsync(batch, coords);
      const dir = fresh(`shard-${shard.index}`);
      await b.savePartialAsync(dir);
      expect(b.tileCounts.applied).toBe(shard.tileCount);
      return dir;
    }),
  );
  const filename = `${fresh('merged')}.npy`;
  const merged = await MaskBuilder.loadPartialsAsync(dirs, { storage: 'memmap', filename });
  expect(merged.files[0].path).toBe(filename);
  expect(merged.region).toEqual({ start: [0, 0], extent: merged.maskExtents });
  const single = new MaskBuilder(options);
  single.updateBatch(batch, coords);
  expect(Array.from(merged.storage.data)).toEqual(Array.from(single.storage.data));
  // Still building: more tiles go in after the merge.
  merged.updateBatch({ data: new Float32Array(32).fill(1), shape: [1, 2, 4, 4] }, [[0, 0]]);
  single.updateBatch({ data: new Float32Array(32).fill(1), shape: [1, 2, 4, 4] }, [[0, 0]]);
  const want = single.finalize().mask.data;
  await merged.finalizeAsync();
  merged.cleanup();
  const out = python(
    `
import sys, numpy as np
m = np.load(sys.argv[1], mmap_mode='r')
print(m.shape, float(np.abs(m - np.frombuffer(open(sys.argv[2], 'rb').read(), dtype=np.float32).reshape(m.shape)).max()))
`,
    [filename, writeRaw(want)],
  );
  expect(out).toBe('(2, 32, 40) 0.0');
});

function writeRaw(values: Float32Array | Float64Array): string {
  const path = fresh('raw');
  require('node:fs').writeFileSync(path, Buffer.from(values.buffer, values.byteOffset, values.byteLength));
  return path;
}

test.each(BACKENDS)('mergeFromAsync and savePartialAsync run after pending updates (%s)', async (backend) => {
  const a = makeBuilder(backend);
  const b = makeBuilder(backend);
  const pending = [a.updateBatchAsync(denseBatch(3), diagonalCoords(3)), b.updateBatchAsync(denseBatch(2), diagonalCoords(2))];
  const merging = a.mergeFromAsync(b);
  const dir = fresh(`async-${backend}`);
  const saving = a.savePartialAsync(dir);
  await Promise.all([...pending, merging, saving]);
  expect(a.tileCounts).toEqual({ applied: 5, skipped: 0 });
  expect(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).tilesApplied).toBe(5);
  expect(b.tileCounts).toEqual({ applied: 2, skipped: 0 });
});

test('tiles outside a region are skipped and counted; readRegion reads mask coordinates inside the region', () => {
  for (const backend of BACKENDS) {
    const region = { start: [8, 0], extent: [8, 24] };
    const shard = makeBuilder(backend, { region });
    const whole = makeBuilder(backend);
    for (const b of [shard, whole]) b.updateBatch(denseBatch(3), diagonalCoords(3));
    // Diagonal tiles at source 0, 4, 8 land at mask rows 0-3, 2-5, 4-7: all outside rows 8-15.
    expect(shard.tileCounts).toEqual({ applied: 0, skipped: 3 });
    shard.updateBatch(denseBatch(2), { data: new Int32Array([12, 4, 24, 40]), shape: [2, 2] });
    whole.updateBatch(denseBatch(2), { data: new Int32Array([12, 4, 24, 40]), shape: [2, 2] });
    expect(shard.tileCounts).toEqual({ applied: 2, skipped: 3 });
    expect(shard.storage.shape).toEqual([2, 8, 24]);
    expect(shard.region).toEqual(region);
    expect(shard.readRegion(1, [9, 2], [3, 4]).data).toEqual(whole.readRegion(1, [9, 2], [3, 4]).data);
    expect(() => shard.readRegion(0, [7, 0], [2, 2])).toThrow(
      'inside the region this builder holds (start [8, 0] extent [8, 24])',
    );
  }
});

test('planRegions routes every tile to the shards it reaches, halo included, and maskRegionOfSourceBox covers a box', () => {
  const options = { ...BASE_OPTIONS };
  const plan = planRegions(options, { shards: 3, edgeClipping: 1 });
  expect(plan.shards.map((s) => s.region)).toEqual([
    { start: [0, 0], extent: [5, 24] },
    { start: [5, 0], extent: [6, 24] },
    { start: [11, 0], extent: [5, 24] },
  ]);
  // Tile i covers mask rows 2i + 1 .. 2i + 3 (clipped by 1 on each side).
  expect(plan.shards.map((s) => [s.tiles.start[0], s.tiles.end[0]])).toEqual([
    [0, 2],
    [2, 5],
    [5, 7],
  ]);
  expect(plan.shardsOf([8, 4])).toEqual([1]);
  expect(plan.tileCoords(0).length).toBe(2 * plan.shards[0].tileCount);
  expect(planRegions(options, { shards: 3 }).shardsOf([8, 4])).toEqual([0, 1]);
  expect(maskRegionOfSourceBox(options, { start: [5, 10], extent: [10, 20] })).toEqual({ start: [2, 5], extent: [6, 10] });
  expect(() => maskRegionOfSourceBox(options, { start: [40, 0], extent: [4, 4] })).toThrow('outside the source span');
});
