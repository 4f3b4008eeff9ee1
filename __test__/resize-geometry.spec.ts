// resizeToSource: a mask pixel covers span / maskExtents source pixels, and the result is cropped to sourceExtents.
import { MaskBuilder, resizeToSource } from '../src-ts/index';
import { KERNELS, noise } from './helpers/resize';

function sameBytes(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** The largest of `f` over `data`. */
function worst(data: Float32Array, f: (v: number, i: number) => number): number {
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < data.length; i++) m = Math.max(m, f(data[i], i));
  return m;
}

test('nearest with an integer scale reproduces each mask pixel as an exact block', () => {
  // 3 channels of 5 x 7 mask pixels, 4 source pixels each, cropped to 18 x 25.
  const mask = noise(3 * 5 * 7);
  const out = resizeToSource(
    { data: mask, shape: [3, 5, 7] },
    { sourceExtents: [18, 25], maskExtents: [5, 7], span: [20, 28] },
    { kernel: 'nearest' },
  );
  expect(out.shape).toEqual([18, 25, 3]);
  expect(out.dtype).toBe('float32');
  const expected = new Float32Array(18 * 25 * 3);
  for (let y = 0; y < 18; y++) {
    for (let x = 0; x < 25; x++) {
      for (let c = 0; c < 3; c++) expected[(y * 25 + x) * 3 + c] = mask[c * 35 + Math.floor(y / 4) * 7 + Math.floor(x / 4)];
    }
  }
  expect(sameBytes(out.data, expected)).toBe(true);
});

test.each(KERNELS)('a constant mask stays constant under %s', (kernel) => {
  for (const [maskExtents, span, sourceExtents] of [
    [
      [9, 14],
      [36, 56],
      [33, 53],
    ],
    [
      [40, 30],
      [20, 15],
      [19, 15],
    ],
    [
      [3, 3],
      [300, 500],
      [290, 480],
    ],
  ]) {
    const data = new Float64Array(2 * maskExtents[0] * maskExtents[1]).fill(0.375);
    const out = resizeToSource({ data, shape: [2, ...maskExtents] }, { sourceExtents, maskExtents, span }, { kernel });
    expect(out.shape).toEqual([...sourceExtents, 2]);
    expect(worst(out.data, (v) => Math.abs(v - 0.375))).toBeLessThanOrEqual(1e-6);
  }
});

test.each(KERNELS)('a ramp stays monotone under %s', (kernel) => {
  const [h, w] = [6, 9];
  const data = new Float32Array(h * w).map((_, i) => (i % w) / (w - 1));
  const out = resizeToSource(
    { data, shape: [h, w] },
    { sourceExtents: [45, 70], maskExtents: [h, w], span: [48, 72] },
    { kernel },
  );
  expect(out.shape).toEqual([45, 70, 1]);
  // The largest decrease between horizontal neighbours.
  expect(worst(out.data, (v, i) => (i % 70 === 0 ? 0 : out.data[i - 1] - v))).toBeLessThanOrEqual(1e-6);
});

test.each(KERNELS)('cropping with %s equals resizing the whole span and cutting it', (kernel) => {
  const mask = { data: noise(9 * 14, 7), shape: [1, 9, 14] };
  const whole = resizeToSource(mask, { sourceExtents: [36, 56], maskExtents: [9, 14] }, { kernel });
  const cropped = resizeToSource(mask, { sourceExtents: [33, 53], maskExtents: [9, 14], span: [36, 56] }, { kernel });
  expect(cropped.shape).toEqual([33, 53, 1]);
  const difference = worst(cropped.data, (v, i) => Math.abs(v - whole.data[Math.floor(i / 53) * 56 + (i % 53)]));
  expect(difference).toBeLessThanOrEqual(1e-5);
});

test('without span the reference scaling (sourceExtents / maskExtents) is reproduced, stretching the mask', () => {
  // The README example: 3 tiles of 512 every 512 cover 1536 px of a 1300 px slide.
  const data = Float32Array.of(1, 2, 3);
  const ours = resizeToSource(
    { data, shape: [1, 1, 3] },
    { sourceExtents: [1, 1300], maskExtents: [1, 3], span: [1, 1536] },
    {
      kernel: 'nearest',
    },
  );
  const reference = resizeToSource(
    { data, shape: [1, 1, 3] },
    { sourceExtents: [1, 1300], maskExtents: [1, 3] },
    { kernel: 'nearest' },
  );
  // Ours: tile 1 covers x 0..511, tile 2 512..1023, tile 3 from 1024 on.
  expect([ours.data[511], ours.data[512], ours.data[1023], ours.data[1024]]).toEqual([1, 2, 2, 3]);
  // The reference squeezes the 1536 px span into 1300 (433.3 px per tile): tile 2 starts at 433 and tile 3 at 867.
  expect([reference.data[432], reference.data[433], reference.data[866], reference.data[867]]).toEqual([1, 2, 2, 3]);
});

test('MaskBuilder.resizeToSource uses the builder geometry', () => {
  const builder = new MaskBuilder({
    sourceExtents: [1000, 700],
    sourceTileExtent: 256,
    outputTileExtent: 1,
    stride: 128,
    nChannels: 2,
  });
  expect(builder.span).toEqual([1024, 768]);
  expect(builder.maskExtents).toEqual([8, 6]);
  const mask = { data: noise(2 * 8 * 6, 3), shape: [2, 8, 6] };
  const viaBuilder = builder.resizeToSource(mask, { kernel: 'bilinear' });
  const direct = resizeToSource(
    mask,
    { sourceExtents: [1000, 700], maskExtents: [8, 6], span: [1024, 768] },
    { kernel: 'bilinear' },
  );
  expect(viaBuilder.shape).toEqual([1000, 700, 2]);
  expect(sameBytes(viaBuilder.data, direct.data)).toBe(true);
  builder.cleanup();
});

test('the default kernel is lanczos3 and float64 masks give the float32 result of float32 masks', () => {
  const g = { sourceExtents: [80, 100], maskExtents: [11, 13], span: [88, 104] };
  const mask32 = noise(11 * 13, 5);
  const a = resizeToSource({ data: mask32, shape: [11, 13] }, g);
  const b = resizeToSource({ data: Float64Array.from(mask32), shape: [11, 13] }, g, { kernel: 'lanczos3' });
  expect(sameBytes(a.data, b.data)).toBe(true);
});

test('an assembled mask comes back at slide resolution end to end', () => {
  // One score per 64 px tile, stride 32: the mask pixel is 32 px, and each quadrant of the slide has its own score.
  const builder = new MaskBuilder({ sourceExtents: [200, 300], sourceTileExtent: 64, outputTileExtent: 1, stride: 32 });
  const coords: number[][] = [];
  const scores: number[] = [];
  for (let y = 0; y + 64 <= builder.span[0]; y += 32) {
    for (let x = 0; x + 64 <= builder.span[1]; x += 32) {
      coords.push([y, x]);
      scores.push(y < 100 ? 0.25 : 0.75);
    }
  }
  builder.updateBatch({ data: Float32Array.from(scores), shape: [scores.length, 1] }, coords);
  const { mask } = builder.finalize();
  const atSource = builder.resizeToSource(mask, { kernel: 'nearest' });
  expect(atSource.shape).toEqual([200, 300, 1]);
  expect(atSource.data[10 * 300 + 10]).toBeCloseTo(0.25, 6);
  expect(atSource.data[190 * 300 + 290]).toBeCloseTo(0.75, 6);
  builder.cleanup();
});
