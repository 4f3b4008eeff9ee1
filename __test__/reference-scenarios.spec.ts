// The reference library's own test scenarios, ported (ratiopath tests/test_mask_builders.py).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MaskBuilder, MaxAggregator, MeanAggregator } from '../src-ts/index';
import { scratchDir } from './helpers/scratch';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
const sum = (a: ArrayLike<number>) => Array.from(a).reduce((x, y) => x + y, 0);

describe.each(['native', 'js'] as const)('%s backend', (backend) => {
  describe.each([
    [16, 16],
    [32, 64],
  ])('scalar uniform averaging on %ix%i', (h, w) => {
    test.each([
      [1, [4, 4], [2, 2]],
      [3, [4, 8], [3, 3]],
      [8, [9, 6], [3, 2]],
      [3, [3, 6], [2, 3]],
    ])('%i channels, tile %j, stride %j', (channels, tile, stride) => {
      const random = rng(h * 1000 + channels);
      const gcds = tile.map((t, d) => gcd(t, stride[d]));
      const adjusted = tile.map((t, d) => t / gcds[d]);
      const b = new MaskBuilder({
        sourceExtents: [h, w],
        sourceTileExtent: tile,
        outputTileExtent: [1, 1],
        stride,
        nChannels: channels,
        aggregation: MeanAggregator,
        backend,
      });
      const batch = { data: new Float32Array(4 * channels).fill(1), shape: [4, channels] };
      for (let i = 0; i < 8; i++) {
        const coords = Array.from({ length: 4 }, () =>
          [h, w].map((e, d) => Math.floor(Math.floor(random() * (e - tile[d])) / gcds[d]) * gcds[d]),
        );
        b.updateBatch(batch, coords);
        expect(sum(b.storage.data)).toBeCloseTo((i + 1) * 4 * channels * adjusted[0] * adjusted[1], 4);
      }
      const { mask, overlapCounter } = b.finalize();
      expect(mask.shape[0]).toBe(channels);
      expect(overlapCounter.shape[0]).toBe(1);
      expect(sum(overlapCounter.data)).toBe(8 * 4 * adjusted[0] * adjusted[1]);
      expect(Math.max(...mask.data)).toBeCloseTo(1, 6);
      b.cleanup();
    });
  });

  test.each([
    [
      [1, 16, 16],
      [4, 4],
      [2, 2],
    ],
    [
      [3, 32, 64],
      [4, 8],
      [3, 2],
    ],
    [
      [8, 400, 35],
      [9, 6],
      [2, 3],
    ],
  ])('scalar uniform max, shape %j tile %j stride %j', (shape, tile, stride) => {
    const random = rng(shape[1]);
    const [channels, ...source] = shape;
    const b = new MaskBuilder({
      sourceExtents: source,
      sourceTileExtent: tile,
      outputTileExtent: 1,
      stride,
      nChannels: channels,
      aggregation: MaxAggregator,
      backend,
    });
    for (let i = 0; i < 10; i++) {
      const coords = Array.from({ length: 4 }, () =>
        source.map((e, d) => Math.floor(Math.floor(random() * (e - tile[d])) / stride[d]) * stride[d]),
      );
      b.updateBatch({ data: new Float32Array(4 * channels).fill(i + 1), shape: [4, channels] }, coords);
      expect(Math.max(...b.storage.data)).toBe(i + 1);
    }
    const before = Float32Array.from(b.storage.data, (v) => (v === -Infinity ? 0 : v));
    const final = b.finalize();
    expect(Array.from(final.data)).toEqual(Array.from(before));
  });

  test.each([0, 1, 3])('edge clipping %i keeps exactly the clipped area, dense tiles', (clip) => {
    for (const [tileH, tileW] of [
      [8, 8],
      [12, 9],
    ]) {
      const random = rng(clip * 7 + tileH);
      const channels = 5;
      const source = [100, 101];
      const b = new MaskBuilder({
        sourceExtents: source,
        sourceTileExtent: [tileH, tileW],
        outputTileExtent: [tileH, tileW],
        stride: 4,
        nChannels: channels,
        backend,
      });
      const batch = { data: new Float32Array(8 * channels * tileH * tileW).fill(1), shape: [8, channels, tileH, tileW] };
      const clipped = (tileH - 2 * clip) * (tileW - 2 * clip);
      for (let i = 0; i < 4; i++) {
        const coords = Array.from({ length: 8 }, () => [
          Math.floor(random() * (source[0] - tileH)),
          Math.floor(random() * (source[1] - tileW)),
        ]);
        b.updateBatch(batch, coords, clip);
        expect(sum(b.storage.data)).toBeCloseTo((i + 1) * 8 * channels * clipped, 3);
      }
      const { mask, overlapCounter } = b.finalize();
      expect(mask.shape).toEqual([channels, ...b.maskExtents]);
      expect(sum(overlapCounter.data)).toBe(4 * 8 * clipped);
      expect(Math.max(...mask.data)).toBe(1);
    }
  });

  test('a clipped tile at [0, 0] does not write the corner', () => {
    const b = new MaskBuilder({ sourceExtents: [16, 16], sourceTileExtent: 8, outputTileExtent: 8, stride: 4, backend });
    b.updateBatch({ data: new Float32Array(64).fill(1), shape: [1, 1, 8, 8] }, [[0, 0]], 1);
    const { mask, overlapCounter } = b.finalize();
    expect(mask.data[0]).toBe(0);
    expect(overlapCounter.data[0]).toBe(0);
    expect(mask.data[16 + 1]).toBe(1);
  });

  test.each([
    [
      [4, 4],
      [18, 28],
    ],
    [
      [1, 1],
      [9, 14],
    ],
  ])('storage shape is minimal for output %j', (output, expected) => {
    const b = new MaskBuilder({
      sourceExtents: [33, 53],
      sourceTileExtent: 8,
      outputTileExtent: output,
      stride: 4,
      nChannels: 2,
      backend,
    });
    expect(b.maskExtents).toEqual(expected);
    expect(b.storage.shape).toEqual([2, ...expected]);
  });
});

test('memmap: temporary files are removed and named files persist (native)', () => {
  const scratch = scratchDir('reference-memmap');
  try {
    const temp = new MaskBuilder({
      sourceExtents: [16, 16],
      sourceTileExtent: 8,
      outputTileExtent: 8,
      stride: 4,
      storage: 'memmap',
      tempDir: scratch.dir,
    });
    temp.updateBatch({ data: new Float32Array(64).fill(1), shape: [1, 1, 8, 8] }, [[0, 0]], 1);
    temp.cleanup();
    expect(readdirSync(scratch.dir)).toEqual([]);
    const filename = join(scratch.dir, 'persistent_heatmap.npy');
    const kept = new MaskBuilder({
      sourceExtents: [16, 16],
      sourceTileExtent: 8,
      outputTileExtent: 8,
      stride: 4,
      storage: 'memmap',
      filename,
      overlapCounterFilename: join(scratch.dir, 'persistent_heatmap.overlaps.npy'),
    });
    kept.updateBatch({ data: new Float32Array(64).fill(1), shape: [1, 1, 8, 8] }, [[0, 0]], 1);
    kept.cleanup();
    expect(existsSync(filename)).toBe(true);
    expect(existsSync(join(scratch.dir, 'persistent_heatmap.overlaps.npy'))).toBe(true);
  } finally {
    scratch.remove();
  }
});
