// overlay: a heatmap blended over a slide-resolution RGB image.
import { ErrorCode, overlay } from '../src-ts/index';

const image = { data: Uint8Array.of(100, 100, 100, 200, 0, 50, 10, 20, 30, 0, 0, 0), shape: [2, 2, 3] };
const mask = { data: Float32Array.of(0, 1, 0.5, 0.25), shape: [2, 2, 1] };

test('opacity 0 keeps the image and opacity 1 shows the heatmap', () => {
  expect(Array.from(overlay(image, mask, { opacity: 0, colormap: 'gray', range: [0, 1] }).data)).toEqual(Array.from(image.data));
  const full = overlay(image, mask, { opacity: 1, colormap: 'gray', range: [0, 1] });
  expect(Array.from(full.data)).toEqual([0, 0, 0, 255, 255, 255, 128, 128, 128, 64, 64, 64]);
});

test('the default opacity 0.5 averages image and heatmap colors', () => {
  const out = overlay(image, mask, { colormap: 'gray', range: [0, 1] });
  expect(out.shape).toEqual([2, 2, 3]);
  expect(Array.from(out.data.subarray(0, 6))).toEqual([50, 50, 50, 228, 128, 153]);
});

test('pixels below the threshold keep the image color; RGBA input drops alpha', () => {
  const rgba = { data: Uint8Array.of(1, 2, 3, 255, 4, 5, 6, 255, 7, 8, 9, 255, 10, 11, 12, 255), shape: [2, 2, 4] };
  const out = overlay(rgba, mask, { opacity: 1, colormap: 'gray', range: [0, 1], threshold: 0.5 });
  expect(Array.from(out.data)).toEqual([1, 2, 3, 255, 255, 255, 128, 128, 128, 10, 11, 12]);
});

test('a [C, H, W] mask needs layout chw', () => {
  const chw = { data: Float32Array.of(0, 0, 0, 0, 1, 1, 1, 1), shape: [2, 2, 2] };
  const out = overlay(image, chw, { opacity: 1, colormap: 'gray', range: [0, 1], layout: 'chw', channel: 1 });
  expect(Array.from(out.data)).toEqual(new Array(12).fill(255));
});

test.each([
  [
    'a mask of another size',
    image,
    { data: new Float32Array(6), shape: [2, 3, 1] },
    {},
    RangeError,
    ErrorCode.IMAGE_SHAPE,
    /resizeToSource/,
  ],
  ['a float image', { data: new Float32Array(12), shape: [2, 2, 3] }, mask, {}, TypeError, ErrorCode.IMAGE_TYPE, /Uint8Array/],
  [
    'a grayscale image',
    { data: new Uint8Array(4), shape: [2, 2, 1] },
    mask,
    {},
    RangeError,
    ErrorCode.IMAGE_SHAPE,
    /\[H, W, 3\]/,
  ],
  ['opacity above 1', image, mask, { opacity: 1.5 }, RangeError, ErrorCode.OPTION_RANGE, /opacity/],
  ['a NaN threshold', image, mask, { threshold: Number.NaN }, TypeError, ErrorCode.OPTION_TYPE, /threshold/],
] as const)('%s is refused', (_name, img, m, options, Class, code, message) => {
  let error: unknown;
  try {
    overlay(img, m, options as never);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(Class);
  expect(error).toMatchObject({ code, message: expect.stringMatching(message) });
});
