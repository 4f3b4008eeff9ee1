// Results are zero-copy views that never dangle; masks too large for one view are read per channel or by region.
import { type LargeNdArray, MaskBuilder } from '../src-ts/index';
import { scratchDir } from './helpers/scratch';

const scratch = scratchDir('views');
afterAll(() => scratch.remove());

const options = { sourceExtents: [48, 64], sourceTileExtent: 16, outputTileExtent: 16, stride: 8, nChannels: 3 } as const;

function fill(b: MaskBuilder) {
  for (let i = 0; i < 12; i++) {
    const data = Float32Array.from({ length: 3 * 256 }, (_, k) => (i + 1) * 0.5 + k / 1000);
    b.updateBatch({ data, shape: [1, 3, 16, 16] }, [[(i * 8) % 40, (i * 16) % 56]]);
  }
}

describe.each(['inmemory', 'memmap'] as const)('%s storage', (storage) => {
  const extra = storage === 'memmap' ? { storage, tempDir: scratch.dir } : {};

  test('storage is a live view and results read as empty after cleanup', () => {
    const b = new MaskBuilder({ ...options, ...extra });
    const live = b.storage;
    expect(live.shape).toEqual([3, 48, 64]);
    fill(b);
    expect(live.data[0]).toBeCloseTo(0.5);
    const { mask, overlapCounter } = b.finalize();
    expect(mask.data.buffer).toBe(live.data.buffer);
    expect(overlapCounter.data[0]).toBe(1);
    b.cleanup();
    expect(mask.data.length).toBe(0);
    expect(overlapCounter.data.length).toBe(0);
    expect(live.data.length).toBe(0);
    expect(() => b.storage).toThrow(expect.objectContaining({ code: 'ERR_WSI_CLEANED_UP' }));
  });

  test('masks larger than one view come per channel and by region, equal to the whole', () => {
    const whole = new MaskBuilder({ ...options });
    fill(whole);
    const expected = whole.finalize();
    const planeBytes = 48 * 64 * 4;
    const b = new MaskBuilder({ ...options, ...extra, maxViewBytes: planeBytes });
    fill(b);
    const { mask, overlapCounter } = b.finalize();
    expect(mask.shape).toEqual([3, 48, 64]);
    expect(() => mask.data).toThrow(expect.objectContaining({ name: 'RangeError', code: 'ERR_WSI_VIEW_TOO_LARGE' }));
    expect(() => mask.data).toThrow(/channels\[c\].*readRegion/);
    const channels = (mask as LargeNdArray).channels;
    expect(channels).toHaveLength(3);
    for (let c = 0; c < 3; c++) {
      expect(Array.from(channels[c].data)).toEqual(Array.from(expected.mask.data.subarray(c * 48 * 64, (c + 1) * 48 * 64)));
    }
    // The counter plane (uint16) fits: it is a plain array.
    expect(Array.from(overlapCounter.data)).toEqual(Array.from(expected.overlapCounter.data));
    const region = b.readRegion(2, [10, 20], [5, 7]);
    expect(region.shape).toEqual([5, 7]);
    for (let y = 0; y < 5; y++) {
      for (let x = 0; x < 7; x++) {
        expect(region.data[y * 7 + x]).toBe(expected.mask.data[2 * 48 * 64 + (10 + y) * 64 + 20 + x]);
      }
    }
    const counts = b.readRegion(0, [0, 0], [2, 2], { array: 'overlapCounter' });
    expect(counts.dtype).toBe('uint16');
    expect(Array.from(counts.data)).toEqual([1, 1, 1, 1]);
    b.cleanup();
  });

  test('readRegion refuses bad windows with clear errors', () => {
    const b = new MaskBuilder({ ...options, ...extra });
    expect(() => b.readRegion(3, [0, 0], [1, 1])).toThrow(expect.objectContaining({ code: 'ERR_WSI_REGION' }));
    expect(() => b.readRegion(0, [40, 0], [9, 1])).toThrow(expect.objectContaining({ code: 'ERR_WSI_REGION' }));
    expect(() => b.readRegion(0, [0], [1])).toThrow(expect.objectContaining({ code: 'ERR_WSI_REGION' }));
    expect(() => b.readRegion(0, [0, -1], [1, 1])).toThrow(
      expect.objectContaining({ name: 'RangeError', code: 'ERR_WSI_REGION' }),
    );
    b.cleanup();
    expect(() => b.readRegion(0, [0, 0], [1, 1])).toThrow(expect.objectContaining({ code: 'ERR_WSI_CLEANED_UP' }));
  });
});

test('the JS backend serves readRegion the same way', () => {
  const native = new MaskBuilder({ ...options });
  const js = new MaskBuilder({ ...options, backend: 'js' });
  fill(native);
  fill(js);
  native.finalize();
  js.finalize();
  expect(Array.from(js.readRegion(1, [3, 4], [6, 9]).data)).toEqual(Array.from(native.readRegion(1, [3, 4], [6, 9]).data));
  expect(() => js.readRegion(0, [47, 0], [2, 1])).toThrow(expect.objectContaining({ code: 'ERR_WSI_REGION' }));
});
