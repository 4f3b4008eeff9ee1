// colorize: one channel of a mask through a 256-entry colormap.
import { colorize, colormapTable, ErrorCode } from '../src-ts/index';

const rgb = (table: Uint8Array, i: number) => Array.from(table.subarray(i * 3, i * 3 + 3));

test('colormap tables have the published end points', () => {
  // viridis #440154 .. #fde725, magma #000004 .. #fcfdbf (matplotlib's definitions).
  expect(rgb(colormapTable('viridis'), 0)).toEqual([0x44, 0x01, 0x54]);
  expect(rgb(colormapTable('viridis'), 255)).toEqual([0xfd, 0xe7, 0x25]);
  expect(rgb(colormapTable('magma'), 0)).toEqual([0x00, 0x00, 0x04]);
  expect(rgb(colormapTable('magma'), 255)).toEqual([0xfc, 0xfd, 0xbf]);
  expect(rgb(colormapTable('gray'), 128)).toEqual([128, 128, 128]);
  // viridis gets lighter all the way: the green component rises monotonically.
  const v = colormapTable('viridis');
  for (let i = 1; i < 256; i++) expect(v[i * 3 + 1]).toBeGreaterThanOrEqual(v[(i - 1) * 3 + 1]);
});

test('range ends map to the colormap ends, values outside are clamped, NaN takes the low end', () => {
  const mask = { data: Float32Array.of(-1, 0, 0.5, 1, 2, Number.NaN), shape: [1, 2, 3] };
  const out = colorize(mask, { colormap: 'gray', range: [0, 1] });
  expect(out.shape).toEqual([2, 3, 3]);
  expect(out.dtype).toBe('uint8');
  expect(Array.from(out.data.filter((_, i) => i % 3 === 0))).toEqual([0, 0, 128, 255, 255, 0]);
});

test('without range the channel minimum and maximum span the colormap', () => {
  const out = colorize({ data: Float64Array.of(10, 20, 30, 40), shape: [2, 2] }, { colormap: 'gray' });
  expect(Array.from(out.data.filter((_, i) => i % 3 === 0))).toEqual([0, 85, 170, 255]);
  const constant = colorize({ data: new Float32Array(4).fill(7), shape: [2, 2] }, { colormap: 'viridis' });
  expect(rgb(constant.data, 3)).toEqual([0x44, 0x01, 0x54]);
});

test('channel picks a plane of [C, H, W] or an interleaved channel of [H, W, C]', () => {
  const chw = { data: Float32Array.of(0, 0, 0, 0, 1, 1, 1, 1), shape: [2, 2, 2] };
  expect(Array.from(colorize(chw, { channel: 1, colormap: 'gray', range: [0, 1] }).data)).toEqual(new Array(12).fill(255));
  const hwc = { data: Float32Array.of(0, 1, 0, 1, 0, 1, 0, 1), shape: [2, 2, 2] };
  const out = colorize(hwc, { channel: 1, colormap: 'gray', range: [0, 1], layout: 'hwc' });
  expect(Array.from(out.data)).toEqual(new Array(12).fill(255));
});

test.each([
  ['a channel beyond the mask', { channel: 2 }, RangeError, ErrorCode.OPTION_RANGE, /channel must be below 2/],
  ['an unknown colormap', { colormap: 'jet' }, TypeError, ErrorCode.OPTION_TYPE, /viridis, magma, gray/],
  ['an empty range', { range: [1, 1] }, RangeError, ErrorCode.OPTION_RANGE, /low < high/],
  ['a malformed range', { range: [0] }, TypeError, ErrorCode.OPTION_TYPE, /range must be \[low, high\]/],
  ['a bad layout', { layout: 'whc' }, TypeError, ErrorCode.OPTION_TYPE, /layout/],
  ['an unknown option', { colourmap: 'gray' }, TypeError, ErrorCode.UNKNOWN_OPTION, /colourmap/],
] as const)('%s is refused', (_name, options, Class, code, message) => {
  const mask = { data: new Float32Array(8), shape: [2, 2, 2] };
  let error: unknown;
  try {
    colorize(mask, options as never);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(Class);
  expect(error).toMatchObject({ code, message: expect.stringMatching(message) });
});
