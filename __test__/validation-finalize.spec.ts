// Every bad finalize(options) call gets a TypeError or RangeError with a
// stable code, the same on both backends, sync and async, and leaves the
// builder building with its mask and counter unchanged bit for bit.
import { BAD_FINALIZE } from './helpers/bad-inputs';
import {
  BACKENDS,
  expectError,
  expectRefused,
  expectUnchanged,
  makeBuilder,
  rejectionOf,
  seededBuilder,
  snapshot,
} from './helpers/robust';

/** One scalar tile per channel count, so any nChannels works. */
function scalarBatch(channels: number) {
  return { data: new Float32Array(channels).map((_, c) => 0.25 + c / 8), shape: [1, channels] };
}

describe.each(BACKENDS)('bad finalize options (%s backend)', (backend) => {
  test.each(BAD_FINALIZE.map((c) => [c.what, c] as const))('%s', async (_what, c) => {
    const b = makeBuilder(backend, c.builder as any);
    b.updateBatch(scalarBatch(b.nChannels), [[4, 8]]);
    expectRefused(b, (x) => x.finalize(c.options as any), c.expected);
    const before = snapshot(b);
    let promise: Promise<unknown> | undefined;
    // Refused before anything is queued: the promise rejects, nothing changes.
    expect(() => {
      promise = b.finalizeAsync(c.options as any);
    }).not.toThrow();
    expectError(await rejectionOf(promise!), c.expected);
    expectUnchanged(b, before);
    // Still building.
    b.updateBatch(scalarBatch(b.nChannels), [[0, 0]]);
  });
});

test('outputFilename on the JS backend needs the native addon, and changes nothing', () => {
  const b = seededBuilder('js');
  expectRefused(b, (x) => x.finalize({ quantize: 'uint8', outputFilename: '/tmp/never.npy' }), {
    type: 'TypeError',
    code: 'ERR_WSI_STORAGE',
    message: ['outputFilename needs the native addon'],
  });
});
