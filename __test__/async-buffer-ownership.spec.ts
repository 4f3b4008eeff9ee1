// Who owns a batch's buffer after updateBatchAsync returns: by default the
// builder copied it, so the caller may reuse it at once; with
// { transfer: true } the builder took the ArrayBuffer (no copy; the view
// must span all of it) and the caller's view reads as empty, but only once
// the batch passed validation.
import {
  BACKENDS,
  denseBatch,
  diagonalCoords,
  type Expected,
  expectError,
  makeBuilder,
  rejectionOf,
  snapshot,
} from './helpers/robust';

const reference = (backend: 'native' | 'js') => {
  const b = makeBuilder(backend);
  b.updateBatch(denseBatch(3), diagonalCoords(3));
  return snapshot(b);
};

describe.each(BACKENDS)('batch buffer ownership (%s backend)', (backend) => {
  test('by default the caller may overwrite its buffer right after the call', async () => {
    const b = makeBuilder(backend);
    const batch = denseBatch(3);
    const pending = b.updateBatchAsync(batch, diagonalCoords(3));
    batch.data.fill(1e6);
    await pending;
    expect(snapshot(b)).toEqual(reference(backend));
    expect(batch.data[0]).toBe(1e6);
  });

  test('by default the caller may transfer its buffer right after the call', async () => {
    const b = makeBuilder(backend);
    const batch = denseBatch(3);
    const pending = b.updateBatchAsync(batch, diagonalCoords(3));
    const moved = new Float32Array(structuredClone(batch.data.buffer, { transfer: [batch.data.buffer] }));
    moved.fill(1e6);
    await pending;
    expect(snapshot(b)).toEqual(reference(backend));
  });

  test('transfer: true takes the buffer without copying; the result is the same', async () => {
    const b = makeBuilder(backend);
    const batch = denseBatch(3);
    await b.updateBatchAsync(batch, diagonalCoords(3), undefined, { transfer: true });
    expect(batch.data.length).toBe(0);
    expect(snapshot(b)).toEqual(reference(backend));
  });

  test('transfer: true refuses a view that does not span its buffer, and takes nothing', async () => {
    const b = makeBuilder(backend);
    const before = snapshot(b);
    const { data } = denseBatch(3);
    const whole = new Float32Array(data.length + 10);
    whole.set(data, 10);
    const error = await rejectionOf(
      b.updateBatchAsync({ data: whole.subarray(10), shape: [3, 2, 4, 4] }, diagonalCoords(3), 0, { transfer: true }),
    );
    expectError(error, {
      type: 'TypeError',
      code: 'ERR_WSI_BUFFER',
      message: ['span its whole ArrayBuffer', 'offset 40', 'without transfer'],
    });
    expect(whole.length).toBe(data.length + 10);
    expect(snapshot(b)).toEqual(before);
    // Without transfer the same view is copied.
    await b.updateBatchAsync({ data: whole.subarray(10), shape: [3, 2, 4, 4] }, diagonalCoords(3));
    expect(snapshot(b)).toEqual(reference(backend));
  });

  test('a batch refused with transfer: true keeps its buffer', async () => {
    const b = makeBuilder(backend);
    const batch = denseBatch(3);
    const error = await rejectionOf(b.updateBatchAsync(batch, diagonalCoords(2), undefined, { transfer: true }));
    expectError(error, { type: 'RangeError', code: 'ERR_WSI_COORDS_SHAPE' });
    expect(batch.data.length).toBe(3 * 2 * 16);
    const clipped = await rejectionOf(b.updateBatchAsync(batch, diagonalCoords(3), 2, { transfer: true }));
    expectError(clipped, { type: 'RangeError', code: 'ERR_WSI_EDGE_CLIPPING' });
    expect(batch.data.length).toBe(3 * 2 * 16);
  });

  const badOptions: [string, unknown, Expected][] = [
    [
      'options a number',
      5,
      { type: 'TypeError', code: 'ERR_WSI_OPTION_TYPE', message: ['updateBatchAsync options must be an object', 'received 5'] },
    ],
    [
      'transfer not a boolean',
      { transfer: 'yes' },
      { type: 'TypeError', code: 'ERR_WSI_OPTION_TYPE', message: ['transfer must be a boolean', "received 'yes'"] },
    ],
    [
      'unknown option',
      { transfr: true },
      { type: 'TypeError', code: 'ERR_WSI_UNKNOWN_OPTION', message: ["'transfr'", 'Known options: transfer'] },
    ],
  ];

  test.each(badOptions)('bad updateBatchAsync options: %s', async (_what, options, expected) => {
    const b = makeBuilder(backend);
    const batch = denseBatch(1);
    const before = snapshot(b);
    expectError(await rejectionOf(b.updateBatchAsync(batch, diagonalCoords(1), 0, options as any)), expected);
    expect(batch.data.length).toBe(32);
    expect(snapshot(b)).toEqual(before);
  });
});
