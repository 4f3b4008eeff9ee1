// Multi-threaded native kernels give exactly the sequential pure-JS result.
import { MaskBuilder, MaxAggregator } from '../src-ts/index';

test.each(['mean', 'max'] as const)(
  '%s: large dense batches (row bands in parallel) match the JS backend bit for bit',
  (aggregation) => {
    const options = {
      sourceExtents: [700, 650],
      sourceTileExtent: 128,
      outputTileExtent: 128,
      stride: 48,
      nChannels: 2,
      aggregation: aggregation === 'max' ? MaxAggregator : ('mean' as const),
    };
    const native = new MaskBuilder({ ...options, backend: 'native' });
    const js = new MaskBuilder({ ...options, backend: 'js' });
    let seed = 99;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 6; i++) {
      const tiles = 12;
      const data = Float32Array.from({ length: tiles * 2 * 128 * 128 }, () => next() * 10 - 5);
      const coords = Array.from({ length: tiles }, () => [Math.floor(next() * 560), Math.floor(next() * 520)]);
      const clip: [number, number][] = [
        [3, 5],
        [0, 7],
      ];
      native.updateBatch({ data, shape: [tiles, 2, 128, 128] }, coords, clip);
      js.updateBatch({ data, shape: [tiles, 2, 128, 128] }, coords, clip);
    }
    const a = native.finalize();
    const b = js.finalize();
    const maskA = 'mask' in a ? a.mask : a;
    const maskB = 'mask' in b ? b.mask : b;
    expect(Buffer.from(maskA.data.buffer).equals(Buffer.from(maskB.data.buffer))).toBe(true);
  },
);
