// Reductions at finalize whose output passes maxViewBytes (the runtime's
// limit for one typed array, made small here) on an in-memory builder:
// without outputFilename finalize refuses before anything changes, naming
// outputFilename; with it, the values go to the NPY file and the result's
// arrays point there instead of failing; channels and windows still read.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MaskBuilder, openNpy } from '../src-ts/index';
import { seededBuilder } from './helpers/robust';
import { scratchDir } from './helpers/scratch';

const scratch = scratchDir('reduce-view');
afterAll(() => scratch.remove());
let n = 0;
const fresh = () => join(scratch.dir, `out-${n++}.npy`);

// [2, 16, 24]: one uint8 plane is 384 bytes, both 768; the float32 mask 3072.
const small = { maxViewBytes: 500 };

test.each([
  ['quantize', { quantize: 'uint8' }, 'the quantize [2, 16, 24] uint8 would take 768 bytes'],
  ['threshold', { threshold: 0.5 }, 'the threshold [2, 16, 24] uint8 would take 768 bytes'],
] as const)(
  '%s past maxViewBytes without outputFilename is refused, naming outputFilename; nothing changes',
  (_n, request, message) => {
    const b = seededBuilder('native', small);
    const before = Array.from(b.readRegion(0, [4, 0], [4, 24]).data);
    const e = (() => {
      try {
        b.finalize(request as any);
      } catch (error) {
        return error as Error & { code: string };
      }
      throw new Error('finalize did not refuse');
    })();
    expect(e).toBeInstanceOf(RangeError);
    expect(e.code).toBe('ERR_WSI_VIEW_TOO_LARGE');
    expect(e.message).toContain(message);
    expect(e.message).toContain('pass outputFilename to finalize');
    expect(e.message).toContain('nothing was changed');
    // Still building: the sums are untouched and more tiles go in.
    expect(Array.from(b.readRegion(0, [4, 0], [4, 24]).data)).toEqual(before);
    b.updateBatch({ data: new Float32Array(32).fill(1), shape: [1, 2, 4, 4] }, [[0, 0]]);
  },
);

test('async too: finalizeAsync refuses the same way, before anything changes', async () => {
  const b = seededBuilder('native', small);
  await expect(b.finalizeAsync({ quantize: 'uint8' })).rejects.toThrow('pass outputFilename to finalize');
  b.updateBatch({ data: new Float32Array(32).fill(1), shape: [1, 2, 4, 4] }, [[0, 0]]);
});

test('with outputFilename the reduction goes to the file; its data points there; it equals an unlimited build', async () => {
  const want = seededBuilder('native').finalize({ quantize: 'uint8' });
  const b = seededBuilder('native', small);
  const file = fresh();
  const got = await b.finalizeAsync({ quantize: 'uint8', outputFilename: file });
  expect(got.shape).toEqual([2, 16, 24]);
  expect(() => got.data).toThrow(`it is in ${file}: open it with openNpy('${file}')`);
  const mapped = openNpy(file);
  expect(mapped.shape).toEqual([2, 16, 24]);
  expect(Array.from(mapped.array.data)).toEqual(Array.from(want.data));
  mapped.close();
  // The finalized float mask still reads per window.
  expect(b.readRegion(1, [0, 0], [2, 2]).data.length).toBe(4);
});

test('argmax past maxViewBytes: labels refused without a file, written with one; confidence points to readRegion', () => {
  const want = seededBuilder('native').finalize({ argmax: true });
  const labels = { maxViewBytes: 300 }; // labels 384 bytes, confidence 1536
  expect(() => seededBuilder('native', labels).finalize({ argmax: true })).toThrow(
    'the labels [1, 16, 24] uint8 would take 384 bytes',
  );
  const file = fresh();
  const got = seededBuilder('native', labels).finalize({ argmax: true, outputFilename: file });
  expect(existsSync(file)).toBe(true);
  const mapped = openNpy(file);
  expect(Array.from(mapped.array.data)).toEqual(Array.from(want.labels.data));
  mapped.close();
  expect(() => got.confidence.data).toThrow('builder.readRegion(channel, start, extent)');
  // Labels fit, the confidence does not: the labels read, the confidence says where to look.
  const mid = seededBuilder('native', { maxViewBytes: 1000 }).finalize({ argmax: true });
  expect(Array.from(mid.labels.data)).toEqual(Array.from(want.labels.data));
  expect(() => mid.confidence.data).toThrow('more than the 1000 one view may hold (maxViewBytes)');
});

test('the argmax aggregation: its first finalize refuses labels past maxViewBytes without outputFilename', () => {
  const options = { aggregation: 'argmax', maxViewBytes: 300 } as const;
  const b = seededBuilder('native', options);
  expect(() => b.finalize()).toThrow('pass outputFilename to finalize');
  const file = fresh();
  const got = b.finalize({ outputFilename: file });
  expect(() => got.labels.data).toThrow(`it is in ${file}`);
  void MaskBuilder;
});
