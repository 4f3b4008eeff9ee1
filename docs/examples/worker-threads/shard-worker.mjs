// Recipe B's worker thread: builds one region shard of the mask from the
// tiles that reach it (planRegions says which), then saves its partial; the
// main thread merges the shards' partials with MaskBuilder.loadPartials.
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { BATCH, builderOptions, infer } from './workload.mjs';

const { MaskBuilder } = createRequire(import.meta.url)(workerData.library);
const { slide, origins, region, dir } = workerData;
const builder = new MaskBuilder({ ...builderOptions(slide.shape), region });
const tiles = origins.length / 2;
for (let first = 0; first < tiles; first += BATCH) {
  const { batch, coords } = infer(slide, origins, first, Math.min(first + BATCH, tiles));
  await builder.updateBatchAsync(batch, coords, undefined, { transfer: true });
}
await builder.savePartialAsync(dir);
parentPort.postMessage({ dir, tiles: builder.tileCounts });
builder.cleanup();
