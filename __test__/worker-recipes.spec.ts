// The worker-thread recipes of docs/examples/worker-threads build the
// single-thread mask of the demo's workload: A (workers infer, one builder
// assembles their transferred batches) to within float rounding, since
// batches arrive in any order; B (one region shard per worker, merged at the
// end) bit for bit, since every pixel lies in one shard that applies its
// tiles in grid order. Run as a child process (the recipes are ES modules).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const COMPARE = join(__dirname, '..', 'docs', 'examples', 'worker-threads', 'compare.mjs');

test('both recipes with 2 workers give the single-thread mask', () => {
  const r = spawnSync(process.execPath, [COMPARE, '520', '700', '2'], { encoding: 'utf8', timeout: 60_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const { single, batches, shards } = JSON.parse(r.stdout);
  expect(single.tiles).toEqual({ applied: 80, skipped: 0 });
  expect(batches.shape).toEqual(single.shape);
  expect(shards.shape).toEqual(single.shape);
  expect(batches.tiles).toEqual(single.tiles);
  // A pixel is the mean of at most 4 tiles' values in [0, 1]: another order moves it by a few float32 ulps.
  expect(batches.maxDiff).toBeLessThanOrEqual(4 * 2 ** -23);
  expect(shards.identical).toBe(true);
  // Tiles on the shard border were run (and counted) by both shards.
  expect(shards.tilesRun).toBeGreaterThan(single.tiles.applied);
});
