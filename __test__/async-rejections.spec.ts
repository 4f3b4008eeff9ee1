// Asynchronous updates: a rejected batch rejects its own promise only; the
// others apply in call order as if made synchronously; nothing is pending
// afterwards.
import { BAD_BATCHES, BAD_COORDS, BAD_EDGE_CLIPPING } from './helpers/bad-inputs';
import { BACKENDS, denseBatch, diagonalCoords, expectError, makeBuilder, snapshot } from './helpers/robust';

const pick = (what: string) => [...BAD_BATCHES, ...BAD_COORDS, ...BAD_EDGE_CLIPPING].find((c) => c.what === what)!;

// One of each kind: type, shape, value, placement and clipping errors.
const bad = [
  'Float64Array for a float32 builder',
  'too many channels',
  'negative coordinate (rows)',
  'tile past the bottom edge',
  'clipping that leaves no pixel',
].map(pick);

describe.each(BACKENDS)('async rejections (%s backend)', (backend) => {
  test('good and bad batches interleaved: each bad one rejects alone, the good ones apply in order', async () => {
    const b = makeBuilder(backend);
    const reference = makeBuilder(backend);
    const calls: Promise<void>[] = [];
    for (let i = 0; i < bad.length; i++) {
      const good = [
        denseBatch(i + 1),
        diagonalCoords(i + 1),
        [
          [i % 2, 0],
          [0, i % 3],
        ],
      ] as const;
      calls.push(b.updateBatchAsync(...(good as [any, any, any])));
      reference.updateBatch(...(good as [any, any, any]));
      const c = bad[i];
      calls.push(b.updateBatchAsync(c.batch() as any, c.coords() as any, c.edgeClipping?.() as any));
    }
    const outcomes = await Promise.allSettled(calls);
    outcomes.forEach((outcome, i) => {
      if (i % 2 === 0) expect(outcome.status).toBe('fulfilled');
      else expectError((outcome as PromiseRejectedResult).reason, bad[(i - 1) / 2].expected);
    });
    expect(b.pending).toBe(0);
    expect(snapshot(b)).toEqual(snapshot(reference));
    expect(b.finalize()).toEqual(reference.finalize());
  });

  test('a bad call never throws synchronously', () => {
    const b = makeBuilder(backend);
    for (const c of bad) {
      let promise: Promise<void> | undefined;
      expect(() => {
        promise = b.updateBatchAsync(c.batch() as any, c.coords() as any, c.edgeClipping?.() as any);
      }).not.toThrow();
      promise!.catch(() => {});
    }
  });
});
