// A worker process: serves region jobs and merge jobs of every slide flow.
// Run as many as there are machines (or cores to spare):
//   REDIS_URL=redis://127.0.0.1:6379 node examples/distributed/worker.mjs
// Stop it with SIGTERM (finishes the running job) or kill it: BullMQ hands a
// killed worker's job to another once its lock expires.
import { Redis } from 'ioredis';
import { Worker } from 'bullmq';
import { REGION_QUEUE, runMerge, runRegion, SLIDE_QUEUE } from './jobs.mjs';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
// Short locks so a dead worker's job comes back quickly; a long model call
// per batch needs a lockDuration above it (BullMQ renews the lock meanwhile).
const lockDuration = Number(process.env.WSI_LOCK_MS ?? 30_000);
const log = (line) => process.stdout.write(`${process.pid} ${line}\n`);

const connection = () => new Redis(url, { maxRetriesPerRequest: null });
const common = { lockDuration, stalledInterval: Math.max(500, lockDuration / 2), maxStalledCount: 2 };
const workers = [
  new Worker(REGION_QUEUE, (job) => runRegion(job, log), { ...common, connection: connection(), concurrency: 1 }),
  new Worker(SLIDE_QUEUE, (job) => runMerge(job, log), { ...common, connection: connection(), concurrency: 1 }),
];
for (const w of workers) w.on('failed', (job, err) => log(`failed ${job?.name} ${job?.id}: ${err.message}`));
await Promise.all(workers.map((w) => w.waitUntilReady()));
log('ready');

const stop = async () => {
  await Promise.all(workers.map((w) => w.close()));
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
