// Run by lifecycle-child-process.spec.ts in a child `node --expose-gc`:
// call sequences that would crash a careless binding (use after free,
// detached views, buffers transferred mid-update, builders collected while
// views live). Exits 0 after printing one line per finished sequence; any
// fault ends the process with a signal or another code.
import { MaskBuilder, type MeanResult } from '../../src-ts/index';

const backend = process.argv[2] as 'native' | 'js';
const gc = (globalThis as { gc?: () => void }).gc!;
const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

function check(ok: boolean, what: string): void {
  if (!ok) {
    console.error(`FAILED: ${what}`);
    process.exit(3);
  }
}

const big = () =>
  new MaskBuilder({
    sourceExtents: [1024, 1024],
    sourceTileExtent: 256,
    outputTileExtent: 256,
    stride: 128,
    nChannels: 2,
    backend,
  });

function batch(tiles: number, value: number) {
  const coords = new Int32Array(2 * tiles);
  for (let t = 0; t < tiles; t++) coords.set([128 * (t % 7), 128 * ((t >> 3) % 7)], 2 * t);
  return [
    { data: new Float32Array(tiles * 2 * 256 * 256).fill(value), shape: [tiles, 2, 256, 256] },
    { data: coords, shape: [tiles, 2] },
  ] as const;
}

const sequences: [string, () => Promise<void> | void][] = [
  [
    'views read and written after cleanup',
    () => {
      const b = big();
      b.updateBatch(...batch(4, 1));
      const storage = b.storage.data;
      const counter = b.overlapCounter!.data;
      const result = b.finalize() as MeanResult;
      b.cleanup();
      b.cleanup();
      for (const data of [storage, counter, result.mask.data, result.overlapCounter.data]) {
        let sum = 0;
        for (let i = 0; i < data.length; i++) sum += data[i];
        // Element writes to a detached view go nowhere (fill() would throw a TypeError).
        data[0] = 7;
        check(Number.isFinite(sum), 'views read as numbers');
        check(backend === 'js' || data.length === 0, 'native views read as empty');
      }
    },
  ],
  [
    'views outlive a builder collected without cleanup',
    () => {
      let b: MaskBuilder<any> | null = big();
      b.updateBatch(...batch(4, 2));
      const result = b.finalize() as MeanResult;
      b = null;
      for (let i = 0; i < 5; i++) gc();
      check(result.mask.data.length === 2 * 1024 * 1024, 'view kept');
      let max = 0;
      for (let i = 0; i < result.mask.data.length; i++) max = Math.max(max, result.mask.data[i]);
      check(max === 2, `view values survive collection (max ${max})`);
    },
  ],
  [
    'many builders created and dropped',
    () => {
      for (let i = 0; i < 200; i++) {
        const b = new MaskBuilder({ sourceExtents: [64, 64], sourceTileExtent: 8, outputTileExtent: 8, stride: 8, backend });
        void b.storage.data[0];
        if (i % 3 === 0) b.cleanup();
      }
      gc();
    },
  ],
  [
    'batch buffer transferred away and freed while its update is pending',
    async () => {
      const b = big();
      b.updateBatch(...batch(1, 0));
      const pending: Promise<void>[] = [];
      // Enough work queued ahead that the victim waits while its buffer is freed.
      const ahead = batch(16, 1);
      for (let i = 0; i < 40; i++) pending.push(b.updateBatchAsync(...ahead));
      const [victim, coords] = batch(16, 2);
      pending.push(b.updateBatchAsync(victim, coords));
      // Move the buffer somewhere and let it be collected while the update waits.
      let moved: ArrayBuffer | null = structuredClone(victim.data.buffer, { transfer: [victim.data.buffer] });
      check(victim.data.length === 0 && moved.byteLength > 0, 'transferred');
      moved = null;
      for (let i = 0; i < 5; i++) {
        gc();
        await tick();
      }
      await Promise.all(pending);
      const { mask } = b.finalize() as MeanResult;
      let max = 0;
      for (let i = 0; i < mask.data.length; i++) max = Math.max(max, mask.data[i]);
      check(max <= 2 && max > 1, `the victim's values, not freed memory, were applied (max ${max})`);
      b.cleanup();
    },
  ],
  [
    'transfer: true, then the caller frees everything it can',
    async () => {
      const b = big();
      const pending: Promise<void>[] = [];
      for (let i = 0; i < 8; i++) {
        const [data, coords] = batch(16, i % 2 ? 3 : 1);
        pending.push(b.updateBatchAsync(data, coords, undefined, { transfer: true }));
        check(data.data.length === 0, 'caller view detached');
      }
      for (let i = 0; i < 5; i++) {
        gc();
        await tick();
      }
      await Promise.all(pending);
      const { mask } = b.finalize() as MeanResult;
      let max = 0;
      for (let i = 0; i < mask.data.length; i++) max = Math.max(max, mask.data[i]);
      check(max > 1 && max <= 3, `transferred batches applied (max ${max})`);
      b.cleanup();
    },
  ],
  [
    'cleanup while updates and finalizeAsync are pending',
    async () => {
      const b = big();
      const updates = [1, 2, 3].map(() => b.updateBatchAsync(...batch(16, 1)));
      const finalizing = b.finalizeAsync();
      b.cleanup();
      await Promise.all(updates);
      const outcome = await finalizing.then(
        () => 'resolved',
        (e: { code?: string }) => e.code,
      );
      check(outcome === 'ERR_WSI_CLEANED_UP', `finalizeAsync after cleanup: ${outcome}`);
    },
  ],
  [
    'cleanup from inside a settling update',
    async () => {
      const b = big();
      const first = b.updateBatchAsync(...batch(4, 1)).then(() => b.cleanup());
      const second = b.updateBatchAsync(...batch(4, 1));
      await Promise.all([first, second]);
      check(b.pending === 0, 'nothing pending');
    },
  ],
  [
    'rejections mixed with updates, then finalize',
    async () => {
      const b = big();
      const outcomes = await Promise.allSettled([
        b.updateBatchAsync(...batch(4, 1)),
        b.updateBatchAsync({ data: new Float32Array(3), shape: [1, 3] }, [[0, 0]]),
        b.updateBatchAsync(...batch(4, 1)),
        b.updateBatchAsync(batch(1, 1)[0], [[4096, 0]]),
      ]);
      check(outcomes.map((o) => o.status).join() === 'fulfilled,rejected,fulfilled,rejected', 'only bad batches reject');
      b.finalize();
      b.cleanup();
    },
  ],
  [
    'a storage view taken before finalize, read after cleanup of a max builder',
    () => {
      const b = new MaskBuilder({
        sourceExtents: [512, 512],
        sourceTileExtent: 64,
        outputTileExtent: 1,
        stride: 32,
        aggregation: 'max',
        backend,
      });
      const view = b.storage.data;
      b.updateBatch({ data: Float32Array.of(-3), shape: [1, 1] }, [[0, 0]]);
      b.finalize();
      b.cleanup();
      check(view.length === 0 || view[0] === -3, 'max view reads its value or nothing');
    },
  ],
];

(async () => {
  for (const [name, run] of sequences) {
    await run();
    console.log(`ok ${name}`);
  }
  console.log('done');
})();
