// Child process for regression-sync-finalize-hangs-on-a-saturated-pool.spec.ts:
// occupies every libuv thread (UV_THREADPOOL_SIZE=2) with reads of FIFOs
// that no one writes, queues asynchronous updates behind them, then calls
// the synchronous methods. They used to wait forever for the queued updates;
// now they run them on their own thread. Prints results, then `done`.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFile } from 'node:fs';
import { join } from 'node:path';
import { MaskBuilder, type MeanResult } from '../../src-ts/index';

const [dir] = process.argv.slice(2);
const fifos = [0, 1].map((i) => join(dir, `blocker-${i}`));
for (const fifo of fifos) spawnSync('mkfifo', [fifo]);
for (const fifo of fifos) readFile(fifo, () => {});

const b = new MaskBuilder({ sourceExtents: [64, 64], sourceTileExtent: 16, outputTileExtent: 16, stride: 16, backend: 'native' });
const tile = (v: number) => ({ data: new Float32Array(16 * 16).fill(v), shape: [1, 1, 16, 16] });
const settled: string[] = [];
const first = b.updateBatchAsync(tile(1), [[0, 0]]).then(() => settled.push('first'));
const second = b.updateBatchAsync(tile(3), [[0, 0]]).then(() => settled.push('second'));
b.updateBatch(tile(5), [[16, 16]]);
console.log(`pending after updateBatch ${b.pending}`);
const { mask } = b.finalize() as MeanResult;
console.log(`mask ${mask.data[0]} ${mask.data[17 * 64 + 17]} ${mask.data[63]}`);
// Unblock the pool so the queued tasks settle their promises.
for (const fifo of fifos) closeSync(openSync(fifo, 'w'));
Promise.all([first, second]).then(() => {
  // Both were applied by the synchronous calls; the two pool threads then settle their promises in either order.
  console.log(`settled ${settled.sort().join(' ')}`);
  b.cleanup();
  console.log('done');
});
