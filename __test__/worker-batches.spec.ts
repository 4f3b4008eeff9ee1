// Batches made in worker threads: SharedArrayBuffer batches are copied (a snapshot) by updateBatch and
// updateBatchAsync, refused only for transfer: true; transferred ArrayBuffers from workers build the same mask.
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { MaskBuilder } from '../src-ts/index';
import { BACKENDS, expectError } from './helpers/robust';

const OPTIONS = { sourceExtents: [64, 96], sourceTileExtent: 16, outputTileExtent: 4, stride: 8, nChannels: 2 } as const;

/** Values of tile `t` (deterministic), [2, 4, 4]. */
function tileValues(t: number): Float32Array {
  return Float32Array.from({ length: 32 }, (_, i) => Math.sin(t * 31 + i) * 2);
}

function reference(backend: (typeof BACKENDS)[number]) {
  const b = new MaskBuilder({ ...OPTIONS, backend });
  const coords = b.tileOrigins();
  const n = coords.shape[0];
  const data = new Float32Array(n * 32);
  for (let t = 0; t < n; t++) data.set(tileValues(t), t * 32);
  b.updateBatch({ data, shape: [n, 2, 4, 4] }, coords);
  const mask = Float32Array.from(b.finalize().mask.data);
  b.cleanup();
  return { mask, coords, n };
}

describe.each(BACKENDS)('%s backend', (backend) => {
  test('updateBatch accepts a SharedArrayBuffer batch and coords (copied), giving the mask of plain arrays', async () => {
    const { mask, coords, n } = reference(backend);
    const b = new MaskBuilder({ ...OPTIONS, backend });
    const shared = new Float32Array(new SharedArrayBuffer(n * 32 * 4));
    for (let t = 0; t < n; t++) shared.set(tileValues(t), t * 32);
    const sharedCoords = new Int32Array(new SharedArrayBuffer(coords.data.byteLength));
    sharedCoords.set(coords.data);
    const half = Math.floor(n / 2);
    b.updateBatch(
      { data: shared.subarray(0, half * 32), shape: [half, 2, 4, 4] },
      {
        data: sharedCoords.subarray(0, half * 2),
        shape: [half, 2],
      },
    );
    const pending = b.updateBatchAsync(
      { data: shared.subarray(half * 32), shape: [n - half, 2, 4, 4] },
      { data: sharedCoords.subarray(half * 2), shape: [n - half, 2] },
    );
    // The async update copied the shared batch when called: later writes do not reach the mask.
    shared.fill(1000);
    await pending;
    expect(Array.from(b.finalize().mask.data)).toEqual(Array.from(mask));
    b.cleanup();
  });

  test('updateBatchAsync with transfer: true refuses a SharedArrayBuffer batch, saying what to do instead', async () => {
    const b = new MaskBuilder({ ...OPTIONS, backend });
    const shared = new Float32Array(new SharedArrayBuffer(32 * 4));
    await expect(
      b.updateBatchAsync({ data: shared, shape: [1, 2, 4, 4] }, [[0, 0]], 0, { transfer: true }).catch((e) => {
        expectError(e, {
          type: 'TypeError',
          code: 'ERR_WSI_BUFFER',
          message: ['SharedArrayBuffer', 'call without transfer: true', 'post plain ArrayBuffers'],
        });
        throw e;
      }),
    ).rejects.toThrow();
    expect(Array.from(b.storage.data).every((v) => v === 0)).toBe(true);
    b.cleanup();
  });

  test('the worker recipe: workers post transferred ArrayBuffers, the main thread applies them with transfer: true', async () => {
    const { mask, coords, n } = reference(backend);
    const b = new MaskBuilder({ ...OPTIONS, backend });
    // Each worker "runs the model" on its share of the tiles and posts each batch's buffer in the transfer list.
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { first, count } = workerData;
      for (let start = first; start < first + count; start += 5) {
        const tiles = Math.min(5, first + count - start);
        const data = new Float32Array(tiles * 32);
        for (let t = 0; t < tiles; t++)
          for (let i = 0; i < 32; i++) data[t * 32 + i] = Math.fround(Math.sin((start + t) * 31 + i) * 2);
        parentPort.postMessage({ start, tiles, data }, [data.buffer]);
      }
      parentPort.postMessage({ done: true });`;
    const updates: Promise<unknown>[] = [];
    const share = Math.ceil(n / 2);
    await Promise.all(
      [0, 1].map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const worker = new Worker(source, {
              eval: true,
              workerData: { first: w * share, count: Math.min(share, n - w * share) },
            });
            worker.on('message', (m: { done?: boolean; start: number; tiles: number; data: Float32Array }) => {
              if (m.done) return void worker.terminate().then(() => resolve());
              const where = { data: coords.data.slice(m.start * 2, (m.start + m.tiles) * 2), shape: [m.tiles, 2] };
              updates.push(b.updateBatchAsync({ data: m.data, shape: [m.tiles, 2, 4, 4] }, where, 0, { transfer: true }));
            });
            worker.on('error', reject);
          }),
      ),
    );
    await Promise.all(updates);
    // Sums in another order: equal to float32 rounding.
    const result = b.finalize().mask.data;
    const worst = result.reduce((m, v, i) => Math.max(m, Math.abs(v - mask[i])), 0);
    expect(worst).toBeLessThan(1e-5);
    b.cleanup();
  });
});

test.each(BACKENDS)(
  'regression: typed arrays from another realm (vm, worker, jest) were refused as the wrong type (%s)',
  (backend) => {
    const b = new MaskBuilder({ ...OPTIONS, backend });
    const data = runInNewContext('new Float32Array(32).fill(0.5)') as Float32Array;
    const coords = runInNewContext('new Int32Array([8, 16])') as Int32Array;
    expect(data).not.toBeInstanceOf(Float32Array);
    b.updateBatch({ data, shape: [1, 2, 4, 4] }, { data: coords, shape: [1, 2] });
    expect(b.readRegion(0, [2, 4], [1, 1]).data[0]).toBe(0.5);
    b.cleanup();
  },
);
