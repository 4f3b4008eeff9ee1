// One slide, many machines: the BullMQ flow of a slide and the two job
// kinds its workers run. A flow per slide: a parent "merge" job on the
// `wsi-slides` queue whose children are "region" jobs on `wsi-regions`, one
// per region shard of the mask. A region job runs the model on the tiles that
// reach its region and saves the builder's partial into shared storage (a
// folder here; an object store mounted or synced the same way); the parent
// runs once every child has completed and merges their partials into the
// slide's mask. A cohort is one flow per slide, all on the same two queues.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MaskBuilder, planRegions } from 'wsi-mask-builder';
import { synthesizeSlide } from '../../demo/slide.mjs';
import { builderOptions, gridOrigins, infer } from '../../docs/examples/worker-threads/workload.mjs';

export const REGION_QUEUE = 'wsi-regions';
export const SLIDE_QUEUE = 'wsi-slides';
/** Tiles per model call in a region job. */
export const BATCH = 16;

/** The flow of one slide: `shards` region children under one merge parent. */
export function slideFlow({ slideId, shape, shards, shared, output, slowMs = 0 }) {
  const plan = planRegions(builderOptions(shape), { shards });
  return {
    name: 'merge',
    queueName: SLIDE_QUEUE,
    data: { slideId, shape, shared, output },
    children: plan.shards.map((shard) => ({
      name: 'region',
      queueName: REGION_QUEUE,
      data: { slideId, shape, shards, index: shard.index, region: shard.region, shared, slowMs },
      // Crashed workers are covered by BullMQ's stalled-job recovery; errors get two more tries.
      opts: { attempts: 3, backoff: { type: 'fixed', delay: 200 } },
    })),
  };
}

/**
 * A stand-in for opening the slide from shared storage: the demo's synthetic
 * slide of that shape (deterministic, so every machine sees the same pixels).
 */
const slides = new Map();
function openSlide(shape) {
  const key = shape.join('x');
  if (!slides.has(key)) slides.set(key, synthesizeSlide(shape[0], shape[1]));
  return slides.get(key);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A region job: the tiles reaching the region, through the model, into a
 * builder holding only that region; its partial saved into shared storage.
 * Idempotent: a retry after a crash finds a complete partial (saves are
 * atomic) and returns it, or builds it again.
 */
export async function runRegion(job, log = () => {}) {
  const { slideId, shape, shards, index, region, shared, slowMs } = job.data;
  const dir = join(shared, slideId, `region-${index}`);
  log(`start ${slideId} region ${index} attempt ${job.attemptsStarted ?? job.attemptsMade + 1}`);
  if (existsSync(dir)) return { dir };
  const options = builderOptions(shape);
  const origins = planRegions(options, { shards }).tileCoords(index);
  const slide = openSlide(shape);
  const builder = new MaskBuilder({ ...options, region });
  try {
    const tiles = origins.length / 2;
    for (let first = 0; first < tiles; first += BATCH) {
      const { batch, coords } = infer(slide, origins, first, Math.min(first + BATCH, tiles));
      await builder.updateBatchAsync(batch, coords, undefined, { transfer: true });
      if (slowMs) await sleep(slowMs);
      await job.updateProgress(Math.round((100 * Math.min(first + BATCH, tiles)) / tiles));
    }
    mkdirSync(join(shared, slideId), { recursive: true });
    await builder.savePartialAsync(dir);
    log(`saved ${slideId} region ${index}`);
    return { dir, tiles: builder.tileCounts };
  } finally {
    builder.cleanup();
  }
}

/** The parent job: merges the children's partials, file to file, into `<output>/<slideId>.npy`. */
export async function runMerge(job, log = () => {}) {
  const { slideId, shared, output } = job.data;
  const children = Object.values(await job.getChildrenValues());
  const target = join(output, `${slideId}.npy`);
  const partial = join(output, `.${slideId}.${process.pid}.npy`);
  rmSync(partial, { force: true });
  mkdirSync(output, { recursive: true });
  const builder = await MaskBuilder.loadPartialsAsync(
    children.map((c) => c.dir),
    { storage: 'memmap', filename: partial, overlapCounterFilename: `${partial}.overlaps` },
  );
  await builder.finalizeAsync();
  builder.cleanup();
  rmSync(`${partial}.overlaps`, { force: true });
  renameSync(partial, target);
  log(`merged ${slideId} from ${children.length} partials`);
  return { mask: target };
}

/** The whole slide in one process, for comparison. */
export function buildInOneProcess(shape) {
  const options = builderOptions(shape);
  const builder = new MaskBuilder(options);
  const origins = gridOrigins(builder.span);
  const slide = openSlide(shape);
  const tiles = origins.length / 2;
  for (let first = 0; first < tiles; first += BATCH) {
    const { batch, coords } = infer(slide, origins, first, Math.min(first + BATCH, tiles));
    builder.updateBatch(batch, coords);
  }
  return builder;
}
