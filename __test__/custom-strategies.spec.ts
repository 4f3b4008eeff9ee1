// User aggregators and storage factories, driven one clipped, upscaled sample at a time.
import { Aggregator, type AggregatorContext, MaskBuilder, type NdArray, type StorageFactory } from '../src-ts/index';

class LastWriteWins extends Aggregator<{ mask: NdArray; updates: number }> {
  updates = 0;
  samples: { shape: number[]; coords: number[] }[] = [];
  constructor(
    storage: NdArray,
    readonly context: AggregatorContext,
  ) {
    super(storage, context);
  }
  update(accumulator: NdArray, sample: NdArray, coords: number[]): void {
    this.updates++;
    this.samples.push({ shape: sample.shape, coords });
    const [, h, w] = sample.shape;
    const width = accumulator.shape[2];
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) accumulator.data[(coords[0] + y) * width + coords[1] + x] = sample.data[y * w + x];
  }
  finalize(accumulator: NdArray) {
    return { mask: accumulator, updates: this.updates };
  }
}

test('a user aggregator gets each tile clipped and upscaled, with its mask-space origin', () => {
  // Tile 6, output 3, stride 3: gcd(6, 9) = 3, so every output pixel is a 2 x 2 block of the mask.
  const b = new MaskBuilder({
    sourceExtents: [12, 12],
    sourceTileExtent: 6,
    outputTileExtent: 3,
    stride: 3,
    aggregation: LastWriteWins,
    aggregationOptions: { note: 'hello' },
  });
  expect(b.backend).toBe('js');
  const tile = Float32Array.from({ length: 9 }, (_, i) => i);
  b.updateBatch(
    { data: tile, shape: [1, 1, 3, 3] },
    [[3, 0]],
    [
      [1, 0],
      [0, 1],
    ],
  );
  const result = b.finalize();
  expect(result.updates).toBe(1);
  const agg = result as unknown as { mask: NdArray };
  // Kept tile rows 1..2, cols 0..1, each a 2x2 block, at mask (3 + 2, 0).
  const w = b.maskExtents[1];
  expect(agg.mask.data[5 * w + 0]).toBe(3);
  expect(agg.mask.data[5 * w + 3]).toBe(4);
  expect(agg.mask.data[8 * w + 2]).toBe(7);
});

test('a storage factory allocates the mask and the mean counter', () => {
  const calls: [number[], string, Record<string, unknown>][] = [];
  const factory: StorageFactory = (shape, dtype, options) => {
    calls.push([shape, dtype, options]);
    const size = shape.reduce((a, b) => a * b, 1);
    return { data: dtype === 'uint16' ? new Uint16Array(size) : new Float32Array(size), shape, dtype };
  };
  const b = new MaskBuilder({
    sourceExtents: [8, 8],
    sourceTileExtent: 4,
    outputTileExtent: 4,
    stride: 4,
    storage: factory,
    storageOptions: { tag: 1 },
  });
  expect(calls).toEqual([
    [[1, 8, 8], 'float32', { tag: 1 }],
    [[1, 8, 8], 'uint16', { tag: 1 }],
  ]);
  b.updateBatch({ data: new Float32Array(16).fill(2), shape: [1, 1, 4, 4] }, [[4, 4]]);
  const { mask, overlapCounter } = b.finalize();
  expect(mask.data[4 * 8 + 4]).toBe(2);
  expect(overlapCounter.data[4 * 8 + 4]).toBe(1);
});

test('a factory returning the wrong array is a clear TypeError', () => {
  const bad: StorageFactory = (shape) => ({ data: new Float64Array(3), shape, dtype: 'float64' });
  expect(
    () => new MaskBuilder({ sourceExtents: [8, 8], sourceTileExtent: 4, outputTileExtent: 4, stride: 4, storage: bad }),
  ).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_WSI_STORAGE' }));
});
