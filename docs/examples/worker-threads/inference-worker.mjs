// Recipe A's worker thread: runs the model on the tile ranges the main thread
// sends and transfers each batch back (no copy); the main thread's builder
// assembles them with updateBatchAsync.
import { parentPort, workerData } from 'node:worker_threads';
import { infer } from './workload.mjs';

const { slide, origins } = workerData;
parentPort.on('message', ({ first, end }) => {
  const { batch, coords } = infer(slide, origins, first, end);
  parentPort.postMessage({ batch, coords }, [batch.data.buffer, coords.data.buffer]);
});
