// Lifecycle: building -> finalized -> cleaned up. Calls the state does not
// allow get a clear Error with a stable code; cleanup twice is a no-op;
// results obtained before cleanup stay readable (js) or read as empty
// (native), never garbage. Crash-prone sequences also run in a child
// process (lifecycle-child-process.spec.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MaskBuilder, type MeanResult, type NdArray, readNpy } from '../src-ts/index';
import {
  BACKENDS,
  BASE_OPTIONS,
  denseBatch,
  diagonalCoords,
  type Expected,
  expectError,
  expectRefused,
  rejectionOf,
  seededBuilder,
  snapshot,
  thrownBy,
} from './helpers/robust';

const finalized = (call: string): Expected => ({
  type: 'Error',
  code: 'ERR_WSI_FINALIZED',
  message: [`${call} after finalize()`, 'already finalized'],
});
const cleaned = (call: string): Expected => ({
  type: 'Error',
  code: 'ERR_WSI_CLEANED_UP',
  message: [`${call} after cleanup()`, 'create a new one'],
});

describe.each(BACKENDS)('after finalize (%s backend)', (backend) => {
  test('updateBatch is refused and the result does not change', () => {
    const b = seededBuilder(backend);
    b.finalize();
    expectRefused(b, (x) => x.updateBatch(denseBatch(1), diagonalCoords(1)), finalized('updateBatch'));
  });

  test('updateBatchAsync rejects and the result does not change', async () => {
    const b = seededBuilder(backend);
    b.finalize();
    const before = snapshot(b);
    expectError(await rejectionOf(b.updateBatchAsync(denseBatch(1), diagonalCoords(1))), finalized('updateBatchAsync'));
    expect(snapshot(b)).toEqual(before);
  });

  test('updateBatch while finalizeAsync is pending is refused', async () => {
    const b = seededBuilder(backend);
    const pending = b.finalizeAsync();
    expectError(
      thrownBy(() => b.updateBatch(denseBatch(1), diagonalCoords(1))),
      finalized('updateBatch'),
    );
    await pending;
  });

  test('finalize and finalizeAsync again return the same result, divided once', async () => {
    const b = seededBuilder(backend);
    const first = b.finalize() as MeanResult;
    const values = Array.from(first.mask.data);
    expect(b.finalize()).toBe(first);
    expect(await b.finalizeAsync()).toBe(first);
    expect(Array.from(first.mask.data)).toEqual(values);
  });

  test('finalize while finalizeAsync is pending gives the result finalizeAsync resolves to', async () => {
    const b = seededBuilder(backend);
    const pending = b.finalizeAsync();
    const now = b.finalize();
    expect(await pending).toBe(now);
  });

  test('storage and overlapCounter stay readable after finalize', () => {
    const b = seededBuilder(backend);
    const { mask, overlapCounter } = b.finalize() as MeanResult;
    expect(Array.from(b.storage.data)).toEqual(Array.from(mask.data));
    expect(Array.from(b.overlapCounter!.data)).toEqual(Array.from(overlapCounter.data));
  });
});

describe.each(BACKENDS)('after cleanup (%s backend)', (backend) => {
  test('every call that needs the storage is refused', async () => {
    const b = seededBuilder(backend);
    b.cleanup();
    expectError(
      thrownBy(() => b.updateBatch(denseBatch(1), diagonalCoords(1))),
      cleaned('updateBatch'),
    );
    expectError(await rejectionOf(b.updateBatchAsync(denseBatch(1), diagonalCoords(1))), cleaned('updateBatchAsync'));
    expectError(
      thrownBy(() => b.finalize()),
      cleaned('finalize'),
    );
    expectError(await rejectionOf(b.finalizeAsync()), cleaned('finalizeAsync'));
    expectError(
      thrownBy(() => b.storage),
      cleaned('storage'),
    );
    expectError(
      thrownBy(() => b.overlapCounter),
      cleaned('overlapCounter'),
    );
  });

  test('after finalize too', () => {
    const b = seededBuilder(backend);
    b.finalize();
    b.cleanup();
    expectError(
      thrownBy(() => b.finalize()),
      cleaned('finalize'),
    );
    expectError(
      thrownBy(() => b.updateBatch(denseBatch(1), diagonalCoords(1))),
      cleaned('updateBatch'),
    );
  });

  test('cleanup twice is a no-op; geometry and pending still answer', () => {
    const b = seededBuilder(backend);
    b.cleanup();
    expect(() => b.cleanup()).not.toThrow();
    expect(b.pending).toBe(0);
    expect(b.maskExtents).toEqual([16, 24]);
    expect(b.backend).toBe(backend);
  });

  test('results obtained before cleanup stay readable (js) or read as empty (native)', () => {
    const b = seededBuilder(backend);
    const result = b.finalize() as MeanResult;
    const view = b.storage;
    const values = Array.from(result.mask.data);
    const counts = Array.from(result.overlapCounter.data);
    b.cleanup();
    if (backend === 'js') {
      expect(Array.from(result.mask.data)).toEqual(values);
      expect(Array.from(result.overlapCounter.data)).toEqual(counts);
      expect(Array.from(view.data)).toEqual(values);
    } else {
      for (const data of [result.mask.data, result.overlapCounter.data, view.data]) {
        expect(data.length).toBe(0);
        expect(data.byteLength).toBe(0);
        expect(data[0]).toBeUndefined();
        // Writes to a detached view go nowhere.
        data[0] = 1;
        expect(data[0]).toBeUndefined();
      }
    }
  });

  test('a finalizeAsync overtaken by cleanup rejects with ERR_WSI_CLEANED_UP', async () => {
    const b = seededBuilder(backend);
    const pending = b.finalizeAsync();
    b.cleanup();
    expectError(await rejectionOf(pending), {
      type: 'Error',
      code: 'ERR_WSI_CLEANED_UP',
      message: ['finalizeAsync', 'cleanup() was called before finalization finished'],
    });
  });

  test('cleanup with updates pending waits for them: the storage holds them when cleanup returns, and they resolve', async () => {
    // Storage that outlives cleanup, read before any promise can settle: a
    // persisted memmap file (native), a user storage factory's array (js).
    const dir = mkdtempSync(join(tmpdir(), 'wsi-lifecycle-'));
    try {
      const filename = join(dir, 'mask.npy');
      let kept: NdArray | undefined;
      const storage =
        backend === 'native'
          ? ({ storage: 'memmap', filename } as const)
          : {
              storage: (shape: number[], dtype: string) => {
                const n = shape.reduce((a, e) => a * e, 1);
                const data = dtype === 'float32' ? new Float32Array(n) : new Uint16Array(n);
                const array = { data, shape, dtype } as NdArray<any>;
                if (dtype === 'float32') kept = array;
                return array;
              },
            };
      const b = new MaskBuilder({ ...BASE_OPTIONS, ...storage, backend });
      const ref = new MaskBuilder({ ...BASE_OPTIONS, backend });
      const updates = [0, 1, 2, 3].map(() => b.updateBatchAsync(denseBatch(3), diagonalCoords(3)));
      for (let i = 0; i < 4; i++) ref.updateBatch(denseBatch(3), diagonalCoords(3));
      b.cleanup();
      const saved = backend === 'native' ? readNpy(filename).data : kept!.data;
      expect(Array.from(saved)).toEqual(Array.from(ref.storage.data));
      expect(b.pending).toBe(0);
      await expect(Promise.all(updates)).resolves.toEqual([undefined, undefined, undefined, undefined]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a mask larger than one ArrayBuffer (native backend)', () => {
  test('reading storage.data is refused with a clear error; updates and the counter view still work', () => {
    // 40000 x 40000 float32 is 6.4 GB: more than Node 20's 4 GiB ArrayBuffer limit.
    // Anonymous pages are only mapped, never touched, so this costs no memory.
    const b = new MaskBuilder({
      sourceExtents: [40000, 40000],
      sourceTileExtent: 1,
      outputTileExtent: 1,
      stride: 1,
      backend: 'native',
      maxInMemoryBytes: 2 ** 36,
    });
    const storage = b.storage;
    expect(storage.shape).toEqual([1, 40000, 40000]);
    expectError(
      thrownBy(() => storage.data),
      {
        type: 'RangeError',
        code: 'ERR_WSI_VIEW_TOO_LARGE',
        message: ['6400000000 bytes', 'one view may hold', 'readRegion('],
      },
    );
    b.updateBatch({ data: Float32Array.of(2), shape: [1, 1] }, [[39999, 39999]]);
    expect(b.overlapCounter!.data[40000 * 40000 - 1]).toBe(1);
    b.cleanup();
  });
});
