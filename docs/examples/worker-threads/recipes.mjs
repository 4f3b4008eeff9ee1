// Two ways to use worker threads for one slide (see docs/distributed.md):
//   A. `withInferenceWorkers`: workers run the model, the main thread's one
//      builder assembles their batches (updateBatchAsync, buffers transferred).
//   B. `withShardWorkers`: each worker builds one region shard of the mask
//      from the tiles that reach it, the main thread merges their partials.
// Both return the finalized mean mask; `singleThread` is the reference.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { BATCH, builderOptions, gridOrigins, infer } from './workload.mjs';

export const LIBRARY = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..', '..', 'dist', 'index.js');
const { MaskBuilder, planRegions } = createRequire(import.meta.url)(LIBRARY);

const here = (file) => new URL(file, import.meta.url);

/** Reference: model and assembly on the main thread. */
export function singleThread(slide) {
  const builder = new MaskBuilder(builderOptions(slide.shape));
  const origins = gridOrigins(builder.span);
  const tiles = origins.length / 2;
  for (let first = 0; first < tiles; first += BATCH) {
    const { batch, coords } = infer(slide, origins, first, Math.min(first + BATCH, tiles));
    builder.updateBatch(batch, coords);
  }
  return finish(builder);
}

function finish(builder) {
  const { mask } = builder.finalize();
  const result = { data: Float32Array.from(mask.data), shape: [...mask.shape], tiles: builder.tileCounts };
  builder.cleanup();
  return result;
}

/** Recipe A: `workers` threads run the model on batches handed out on demand; one builder assembles. */
export async function withInferenceWorkers(slide, workers) {
  const builder = new MaskBuilder(builderOptions(slide.shape));
  const origins = gridOrigins(builder.span);
  const tiles = origins.length / 2;
  let next = 0;
  const updates = [];
  const pool = Array.from({ length: workers }, () => new Worker(here('./inference-worker.mjs'), { workerData: { slide, origins } }));
  try {
    await Promise.all(
      pool.map(
        (worker) =>
          new Promise((resolve, reject) => {
            const ask = () => {
              if (next >= tiles) return resolve();
              worker.postMessage({ first: next, end: Math.min(next + BATCH, tiles) });
              next += BATCH;
            };
            worker.on('message', ({ batch, coords }) => {
              // The batch arrived transferred; hand its buffer on to the builder (no copy).
              updates.push(builder.updateBatchAsync(batch, coords, undefined, { transfer: true }));
              ask();
            });
            worker.on('error', reject);
            ask();
          }),
      ),
    );
    await Promise.all(updates);
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  return finish(builder);
}

/** Recipe B: one region shard per worker (tiles on a shard border are run by both), merged at the end. */
export async function withShardWorkers(slide, workers) {
  const options = builderOptions(slide.shape);
  const plan = planRegions(options, { shards: workers });
  const dir = mkdtempSync(join(tmpdir(), 'wsi-shards-'));
  try {
    const results = await Promise.all(
      plan.shards.map(
        (shard) =>
          new Promise((resolve, reject) => {
            const worker = new Worker(here('./shard-worker.mjs'), {
              workerData: {
                library: LIBRARY,
                slide,
                origins: plan.tileCoords(shard.index),
                region: shard.region,
                dir: join(dir, `shard-${shard.index}`),
              },
            });
            worker.once('message', resolve);
            worker.once('error', reject);
          }),
      ),
    );
    const merged = await MaskBuilder.loadPartialsAsync(results.map((r) => r.dir));
    const tilesRun = results.reduce((a, r) => a + r.tiles.applied, 0);
    return { ...finish(merged), tilesRun };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
