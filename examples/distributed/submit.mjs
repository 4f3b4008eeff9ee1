// Submits one flow per slide of a cohort and waits for their masks:
//   REDIS_URL=redis://127.0.0.1:6379 node examples/distributed/submit.mjs <shared dir> <output dir> <shards> <HxW>...
import { FlowProducer, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { SLIDE_QUEUE, slideFlow } from './jobs.mjs';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const [shared, output, shards, ...slides] = process.argv.slice(2);
const connections = [0, 1].map(() => new Redis(url, { maxRetriesPerRequest: null }));
const flows = new FlowProducer({ connection: connections[0] });
const events = new QueueEvents(SLIDE_QUEUE, { connection: connections[1] });
await events.waitUntilReady();
const jobs = await Promise.all(
  slides.map((size, i) =>
    flows.add(
      slideFlow({
        slideId: `slide-${i}`,
        shape: size.split('x').map(Number),
        shards: Number(shards),
        shared,
        output,
        // A pause per batch, standing in for a slower model (the tests use it to kill a worker mid-job).
        slowMs: Number(process.env.WSI_SLOW_MS ?? 0),
      }),
    ),
  ),
);
for (const { job } of jobs) console.log(JSON.stringify(await job.waitUntilFinished(events)));
await Promise.all([flows.close(), events.close()]);
// Connections given to BullMQ stay ours to close.
await Promise.all(connections.map((c) => c.quit()));
