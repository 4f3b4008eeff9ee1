// Partials of weighted and variance builders: the weight sum and the M2
// planes are saved as NPY files numpy opens beside the accumulator; they
// merge on both backends, sync and async, into memory or file to file into
// memory-mapped storage; region shards of them assemble into the whole
// mask; a custom weight map travels with the partial; version 1 partials
// (written before these arrays existed) still load.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MaskBuilder, planRegions } from '../src-ts/index';
import { python } from './helpers/python';
import { BACKENDS, denseBatch, diagonalCoords, makeBuilder, seededBuilder } from './helpers/robust';
import { scratchDir } from './helpers/scratch';

const scratch = scratchDir('partial-wv');
afterAll(() => scratch.remove());
let n = 0;
const fresh = (name: string) => join(scratch.dir, `${name}-${n++}`);

const options = { sourceExtents: [64, 80], sourceTileExtent: 8, outputTileExtent: 4, stride: 4, nChannels: 2 } as const;
const tiles: number[][] = [];
for (let y = 0; y <= 56; y += 4) for (let x = 0; x <= 72; x += 4) tiles.push([y, x]);
const batch = {
  data: Float32Array.from({ length: tiles.length * 2 * 16 }, (_, i) => Math.cos(i)),
  shape: [tiles.length, 2, 4, 4],
};
const coords = { data: Float64Array.from(tiles.flat()), shape: [tiles.length, 2] };
const half = (part: 0 | 1) => {
  const pick = tiles.map((_, t) => t).filter((t) => t % 2 === part);
  return [
    {
      data: Float32Array.from(pick.flatMap((t) => Array.from(batch.data.subarray(t * 32, (t + 1) * 32)))),
      shape: [pick.length, 2, 4, 4],
    },
    { data: Float64Array.from(pick.flatMap((t) => tiles[t])), shape: [pick.length, 2] },
  ] as const;
};

const KINDS = [
  ['weighted mean (gaussian)', { weights: 'gaussian' }],
  ['weighted sum (hann)', { aggregation: 'sum', weights: 'hann' }],
  ['variance', { aggregation: 'variance' }],
] as const;

function close(a: ArrayLike<number>, b: ArrayLike<number>, tolerance: number) {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(b[i])));
}

function expectSameResult(got: any, want: any) {
  for (const key of Object.keys(want)) {
    if (key === 'overlapCounter') expect(Array.from(got[key].data)).toEqual(Array.from(want[key].data));
    else close(got[key].data, want[key].data, 2e-6);
  }
}

test.each(BACKENDS)('numpy opens weight_sum.npy and m2.npy of a %s builder: mean and variance agree', (backend) => {
  const variance = seededBuilder(backend, { aggregation: 'variance' });
  const weighted = seededBuilder(backend, { weights: 'hann' });
  const [v, w] = [fresh('variance'), fresh('weighted')];
  variance.savePartial(v);
  weighted.savePartial(w);
  const manifest = JSON.parse(readFileSync(join(w, 'manifest.json'), 'utf8'));
  expect(manifest).toMatchObject({
    formatVersion: 2,
    weights: { type: 'hann', symmetric: false },
    files: { weightSum: 'weight_sum.npy', m2: null, weightMap: null },
  });
  expect(JSON.parse(readFileSync(join(v, 'manifest.json'), 'utf8')).files.m2).toBe('m2.npy');
  const out = python(
    `
import sys, json, numpy as np
a = np.load(sys.argv[1] + '/accumulator.npy'); q = np.load(sys.argv[1] + '/m2.npy'); c = np.load(sys.argv[1] + '/overlap_counter.npy')
s = np.load(sys.argv[2] + '/accumulator.npy'); w = np.load(sys.argv[2] + '/weight_sum.npy')
assert q.shape == (2, 16, 24) and w.shape == (1, 16, 24), (q.shape, w.shape)
var = np.where(c > 0, q / np.maximum(c, 1), 0)
mean = np.where(w > 0, s / np.where(w > 0, w, 1), 0)
print(json.dumps([a.astype(float).ravel().tolist(), var.astype(float).ravel().tolist(), mean.astype(float).ravel().tolist()]))
`,
    [v, w],
  );
  const [means, variances, weightedMeans] = JSON.parse(out);
  const r = variance.finalize() as any;
  close(r.mean.data, means, 1e-6);
  close(r.variance.data, variances, 1e-5);
  close((weighted.finalize() as any).mask.data, weightedMeans, 1e-5);
});

describe.each(KINDS)('%s', (_name, extra) => {
  const single = () => {
    const b = new MaskBuilder({ ...options, ...extra } as any);
    b.updateBatch(batch, coords);
    return b;
  };

  test.each(BACKENDS)('halves saved by one backend and loaded on %s equal one build; mergeFrom too', (backend) => {
    const want = single().finalize();
    const dirs = ([0, 1] as const).map((part) => {
      const b = new MaskBuilder({ ...options, ...extra, backend: part ? 'js' : 'native' } as any);
      b.updateBatch(...half(part));
      const dir = fresh('half');
      b.savePartial(dir);
      return dir;
    });
    expectSameResult(MaskBuilder.loadPartials(dirs, { backend }).finalize(), want);
    const [a, b] = ([0, 1] as const).map((part) => {
      const x = new MaskBuilder({ ...options, ...extra, backend } as any);
      x.updateBatch(...half(part));
      return x;
    });
    a.mergeFrom(b);
    expectSameResult(a.finalize(), want);
  });

  test('async: savePartialAsync, loadPartialsAsync into a memmap file (file to file), mergeFromAsync', async () => {
    const want = single().finalize();
    const parts = ([0, 1] as const).map((part) => {
      const b = new MaskBuilder({ ...options, ...extra, storage: 'memmap' } as any);
      void b.updateBatchAsync(...half(part));
      return b;
    });
    const dirs = await Promise.all(
      parts.map(async (b) => {
        const dir = fresh('async');
        await b.savePartialAsync(dir);
        return dir;
      }),
    );
    const filename = `${fresh('merged')}.npy`;
    const merged = await MaskBuilder.loadPartialsAsync(dirs, { storage: 'memmap', filename });
    expect(merged.files[0].path).toBe(filename);
    expectSameResult(await merged.finalizeAsync(), want);
    await parts[0].mergeFromAsync(parts[1]);
    expectSameResult(await parts[0].finalizeAsync(), want);
    merged.cleanup();
    for (const b of parts) b.cleanup();
  });

  test.each(BACKENDS)('a 2x2 grid of region shards assembles into one build by placement (%s)', (backend) => {
    const want = single().finalize();
    const plan = planRegions(options, { grid: [2, 2] });
    const dirs = plan.shards.map((shard) => {
      const b = new MaskBuilder({ ...options, ...extra, region: shard.region, backend } as any);
      b.updateBatch(batch, coords);
      const dir = fresh('shard');
      b.savePartial(dir);
      return dir;
    });
    expectSameResult(MaskBuilder.loadPartials(dirs, { backend }).finalize(), want);
  });
});

test.each(BACKENDS)('a custom weight map travels with the partial and rebuilds the builder (%s)', (backend) => {
  const weights = { data: Float64Array.from({ length: 16 }, (_, i) => 1 + (i % 5)), shape: [4, 4] };
  const dir = fresh('map');
  const a = seededBuilder(backend, { weights });
  a.savePartial(dir);
  expect(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).files.weightMap).toBe('weight_map.npy');
  const loaded = MaskBuilder.loadPartials([dir], { backend });
  const more = [denseBatch(1), { data: new Int32Array([20, 8]), shape: [1, 2] }] as const;
  loaded.updateBatch(...more);
  a.updateBatch(...more);
  expectSameResult(loaded.finalize(), a.finalize());
});

test.each(BACKENDS)('a version 1 partial (mean, before weights and aux arrays) still loads (%s)', (backend) => {
  const dir = fresh('v1');
  const b = seededBuilder(backend);
  b.savePartial(dir);
  const path = join(dir, 'manifest.json');
  const m = JSON.parse(readFileSync(path, 'utf8'));
  m.formatVersion = 1;
  delete m.weights;
  delete m.background;
  m.files = { accumulator: 'accumulator.npy', overlapCounter: 'overlap_counter.npy' };
  writeFileSync(path, JSON.stringify(m));
  const loaded = MaskBuilder.loadPartials([dir], { backend });
  expectSameResult(loaded.finalize(), b.finalize());
  m.aggregation = 'variance';
  writeFileSync(path, JSON.stringify(m));
  expect(() => MaskBuilder.loadPartials([dir], { backend })).toThrow("manifest field aggregation must be one of 'mean', 'max'");
  rmSync(dir, { recursive: true });
  void makeBuilder;
  void diagonalCoords;
});
