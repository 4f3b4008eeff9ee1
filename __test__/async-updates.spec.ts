// updateBatchAsync: call order, no races, finalize waits, rejections stay local.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MaskBuilder, readNpy } from '../src-ts/index';

function batches(n: number) {
  // Values whose float32 sums depend on the order they are added in.
  return Array.from({ length: n }, (_, i) => ({
    batch: {
      data: Float32Array.from({ length: 4 * 3 * 64 * 64 }, (_, k) => ((k * 31 + i * 17) % 1000) * 1.0001 ** i),
      shape: [4, 3, 64, 64],
    },
    coords: Array.from({ length: 4 }, (_, t) => [((i + t) % 5) * 16, ((i * 3 + t) % 7) * 16]),
  }));
}
const options = { sourceExtents: [160, 192], sourceTileExtent: 64, outputTileExtent: 64, stride: 16, nChannels: 3 } as const;

test('concurrent async updates apply in call order, bit-identical to sync updates', async () => {
  const work = batches(24);
  const sync = new MaskBuilder({ ...options });
  for (const w of work) sync.updateBatch(w.batch, w.coords);
  const expected = sync.finalize();
  const b = new MaskBuilder({ ...options });
  const pending = work.map((w) => b.updateBatchAsync(w.batch, w.coords));
  await Promise.all(pending);
  const got = b.finalize();
  expect(Buffer.from(got.mask.data.buffer).equals(Buffer.from(expected.mask.data.buffer))).toBe(true);
  expect(Array.from(got.overlapCounter.data)).toEqual(Array.from(expected.overlapCounter.data));
});

test('finalize waits for pending updates; finalizeAsync too', async () => {
  const work = batches(8);
  const expected = new MaskBuilder({ ...options });
  for (const w of work) expected.updateBatch(w.batch, w.coords);
  const want = Array.from(expected.finalize().mask.data);
  const a = new MaskBuilder({ ...options });
  const pa = work.map((w) => a.updateBatchAsync(w.batch, w.coords));
  expect(Array.from(a.finalize().mask.data)).toEqual(want);
  await Promise.all(pa);
  const b = new MaskBuilder({ ...options });
  for (const w of work) void b.updateBatchAsync(w.batch, w.coords);
  expect(Array.from((await b.finalizeAsync()).mask.data)).toEqual(want);
});

test('a rejected batch rejects only its own promise and writes nothing', async () => {
  const work = batches(3);
  const b = new MaskBuilder({ ...options, counterDtype: 'uint16' });
  const first = b.updateBatchAsync(work[0].batch, work[0].coords);
  const bad = b.updateBatchAsync(work[1].batch, [
    [0, 0],
    [0, 0],
    [0, 0],
    [999, 0],
  ]);
  const third = b.updateBatchAsync(work[2].batch, work[2].coords);
  await expect(bad).rejects.toMatchObject({ name: 'RangeError', code: 'ERR_WSI_TILE_OUTSIDE_MASK' });
  await expect(first).resolves.toBeUndefined();
  await expect(third).resolves.toBeUndefined();
  const ref = new MaskBuilder({ ...options });
  ref.updateBatch(work[0].batch, work[0].coords);
  ref.updateBatch(work[2].batch, work[2].coords);
  expect(Array.from(b.finalize().mask.data)).toEqual(Array.from(ref.finalize().mask.data));
});

test('cleanup with updates pending waits for them: the persisted file holds every one when cleanup returns', async () => {
  const work = batches(6);
  const dir = mkdtempSync(join(tmpdir(), 'wsi-cleanup-waits-'));
  try {
    const filename = join(dir, 'mask.npy');
    const b = new MaskBuilder({ ...options, storage: 'memmap', filename });
    // Tiny updates can all finish on an idle pool before the next line runs:
    // issue the work again until some of it is seen pending.
    const issued: typeof work = [];
    const pending: Promise<void>[] = [];
    let seenPending = 0;
    for (let round = 0; round < 50 && seenPending === 0; round++) {
      for (const w of work) {
        issued.push(w);
        pending.push(b.updateBatchAsync(w.batch, w.coords));
      }
      seenPending = b.pending;
    }
    expect(seenPending).toBeGreaterThan(0);
    b.cleanup();
    // Read before any promise could settle: only cleanup's waiting can have put the sums there.
    const saved = readNpy(filename);
    const counts = readNpy(join(dir, 'mask.overlaps.npy'));
    const ref = new MaskBuilder({ ...options });
    for (const w of issued) ref.updateBatch(w.batch, w.coords);
    expect(Buffer.from(saved.data.buffer).equals(Buffer.from(ref.storage.data.buffer))).toBe(true);
    expect(Array.from(counts.data)).toEqual(Array.from(ref.overlapCounter!.data));
    expect(b.pending).toBe(0);
    await expect(Promise.all(pending)).resolves.toEqual(issued.map(() => undefined));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with transfer: true the batch is handed over without a copy and handed back when applied', async () => {
  const work = batches(3);
  const b = new MaskBuilder({ ...options });
  const ref = new MaskBuilder({ ...options });
  for (const w of work) {
    ref.updateBatch(w.batch, w.coords);
    const original = w.batch.data;
    const values = Float32Array.from(original);
    const pending = b.updateBatchAsync({ data: original, shape: w.batch.shape }, w.coords, undefined, { transfer: true });
    // The caller's view is detached at once: nothing can free it mid-update.
    expect(original.length).toBe(0);
    const back = await pending;
    expect(back).toBeInstanceOf(Float32Array);
    expect(Buffer.from(back.buffer).equals(Buffer.from(values.buffer))).toBe(true);
  }
  expect(Array.from(b.finalize().mask.data)).toEqual(Array.from(ref.finalize().mask.data));
});
