// Batches in pinned buffers (allocateBatch) are read in place by updateBatchAsync,
// and nothing JavaScript does with the buffer meanwhile can crash the process.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { allocateBatch, MaskBuilder } from '../src-ts/index';

const options = { sourceExtents: [96, 96], sourceTileExtent: 32, outputTileExtent: 32, stride: 16, nChannels: 2 } as const;

function fill(data: Float32Array | Float64Array, seed: number) {
  for (let i = 0; i < data.length; i++) data[i] = ((i * 37 + seed * 11) % 101) / 7;
}

test('a pinned batch gives the same mask as an ordinary one, and can be reused after it settles', async () => {
  const ref = new MaskBuilder({ ...options });
  const b = new MaskBuilder({ ...options });
  const pinned = allocateBatch([4, 2, 32, 32]);
  expect(pinned.data).toBeInstanceOf(Float32Array);
  expect(pinned.shape).toEqual([4, 2, 32, 32]);
  for (let i = 0; i < 5; i++) {
    fill(pinned.data, i);
    const coords = Array.from({ length: 4 }, (_, t) => [((i + t) % 5) * 16, ((2 * i + t) % 5) * 16]);
    ref.updateBatch({ data: Float32Array.from(pinned.data), shape: pinned.shape }, coords);
    await b.updateBatchAsync(pinned, coords);
  }
  expect(Array.from(b.finalize().mask.data)).toEqual(Array.from(ref.finalize().mask.data));
});

test('float64 pinned batches and subarray views of pinned memory work too', async () => {
  const b = new MaskBuilder({ ...options, dtype: 'float64' });
  const ref = new MaskBuilder({ ...options, dtype: 'float64' });
  const pinned = allocateBatch([3, 2, 32, 32], 'float64');
  fill(pinned.data, 3);
  const part = { data: pinned.data.subarray(0, 2 * 2 * 32 * 32), shape: [2, 2, 32, 32] };
  await b.updateBatchAsync(part, [
    [0, 0],
    [16, 32],
  ]);
  ref.updateBatch({ data: Float64Array.from(part.data), shape: part.shape }, [
    [0, 0],
    [16, 32],
  ]);
  expect(Array.from(b.finalize().mask.data)).toEqual(Array.from(ref.finalize().mask.data));
});

test('transferring a pinned buffer away and collecting it mid-update never crashes (child process)', () => {
  const script = `
    const { allocateBatch, MaskBuilder } = require(${JSON.stringify(join(__dirname, '..', 'dist', 'index.js'))});
    (async () => {
      const b = new MaskBuilder({ sourceExtents: [2048, 2048], sourceTileExtent: 512, outputTileExtent: 512, stride: 256, nChannels: 3 });
      for (let round = 0; round < 20; round++) {
        const pinned = allocateBatch([8, 3, 512, 512]);
        pinned.data.fill(1);
        const coords = Array.from({ length: 8 }, (_, t) => [(t % 7) * 256, ((t + round) % 7) * 256]);
        const pending = b.updateBatchAsync(pinned, coords);
        // Move the buffer to a throwaway clone and drop every reference to it.
        structuredClone(pinned.data.buffer, { transfer: [pinned.data.buffer] });
        global.gc();
        await pending;
      }
      const { mask } = b.finalize();
      if (!mask.data.every((v) => v === 0 || v === 1)) throw new Error('unexpected values');
      console.log('ok');
    })().catch((e) => { console.error(e); process.exit(1); });
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' });
  expect(r.signal).toBeNull();
  expect(r.stderr).toBe('');
  expect(r.stdout.trim()).toBe('ok');
  expect(r.status).toBe(0);
});
