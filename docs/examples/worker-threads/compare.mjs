// Runs the single-thread reference and both worker recipes on the demo's
// workload and prints what they built and how long they took, as JSON:
//   node docs/examples/worker-threads/compare.mjs [height width workers]
// (the test checks the masks; `npm run bench` times them).
import { singleThread, withInferenceWorkers, withShardWorkers } from './recipes.mjs';
import { sharedSlide } from './workload.mjs';

const [height = 3000, width = 4000, workers = 2] = process.argv.slice(2).map(Number);
const slide = sharedSlide(height, width);
const timed = async (run) => {
  const start = performance.now();
  const result = await run();
  return { ...result, seconds: (performance.now() - start) / 1000 };
};
const single = await timed(() => singleThread(slide));
const batches = await timed(() => withInferenceWorkers(slide, workers));
const shards = await timed(() => withShardWorkers(slide, workers));
const maxDiff = (a) => a.data.reduce((m, v, i) => Math.max(m, Math.abs(v - single.data[i])), 0);
const identical = (a) => Buffer.from(a.data.buffer).equals(Buffer.from(single.data.buffer));
const summary = (r) => ({ seconds: r.seconds, shape: r.shape, tiles: r.tiles, tilesRun: r.tilesRun ?? r.tiles.applied });
console.log(
  JSON.stringify({
    workers,
    single: summary(single),
    batches: { ...summary(batches), maxDiff: maxDiff(batches), identical: identical(batches) },
    shards: { ...summary(shards), maxDiff: maxDiff(shards), identical: identical(shards) },
  }),
);
