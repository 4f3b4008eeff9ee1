// resizeToSource refuses bad arguments with a coded TypeError or RangeError naming the argument.
import { ErrorCode, MaskBuilder, resizeToSource } from '../src-ts/index';

const g = { sourceExtents: [16, 16], maskExtents: [4, 4] };
const image = { data: new Float32Array(16), shape: [1, 4, 4] };

test.each([
  ['a non-object image', 42, g, {}, TypeError, ErrorCode.IMAGE_TYPE, /image must be \{ data, shape \}/],
  [
    'integer data',
    { data: new Int32Array(16), shape: [1, 4, 4] },
    g,
    {},
    TypeError,
    ErrorCode.IMAGE_TYPE,
    /Float32Array or Float64Array/,
  ],
  [
    'a mean result instead of its mask',
    { mask: image, overlapCounter: null },
    g,
    {},
    TypeError,
    ErrorCode.IMAGE_TYPE,
    /pass its \.mask/,
  ],
  [
    'a shape that does not match the data',
    { data: new Float32Array(15), shape: [1, 4, 4] },
    g,
    {},
    RangeError,
    ErrorCode.IMAGE_SHAPE,
    /16 elements/,
  ],
  [
    'a shape that does not match the mask',
    { data: new Float32Array(20), shape: [1, 4, 5] },
    g,
    {},
    RangeError,
    ErrorCode.IMAGE_SHAPE,
    /\[C, 4, 4\]/,
  ],
  [
    '3-D geometry',
    image,
    { sourceExtents: [16, 16, 16], maskExtents: [4, 4, 4] },
    {},
    RangeError,
    ErrorCode.DIMS_MISMATCH,
    /2 entries/,
  ],
  [
    'span below the source',
    image,
    { ...g, span: [15, 16] },
    {},
    RangeError,
    ErrorCode.OPTION_RANGE,
    /span\[0\] must be at least/,
  ],
  [
    'a zero extent',
    image,
    { sourceExtents: [0, 16], maskExtents: [4, 4] },
    {},
    RangeError,
    ErrorCode.OPTION_RANGE,
    /sourceExtents\[0\]/,
  ],
  ['an unknown kernel', image, g, { kernel: 'lanczos2' }, TypeError, ErrorCode.OPTION_TYPE, /kernel must be one of nearest/],
  ['an unknown option', image, g, { kernal: 'cubic' }, TypeError, ErrorCode.UNKNOWN_OPTION, /unknown option 'kernal'/],
  ['a bad npyVersion', image, g, { filename: '/tmp/x.npy', npyVersion: 4 }, RangeError, ErrorCode.OPTION_RANGE, /npyVersion/],
  ['an empty filename', image, g, { filename: '' }, TypeError, ErrorCode.OPTION_TYPE, /filename/],
] as const)('%s', (_name, img, geometry, options, Class, code, message) => {
  let error: unknown;
  try {
    resizeToSource(img, geometry as never, options as never);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(Class);
  expect(error).toMatchObject({ code, message: expect.stringMatching(message) });
});

test('a result larger than one typed array needs a filename, and the error says so', () => {
  expect(() => resizeToSource(image, g, { maxInMemoryBytes: 16 * 16 * 4 - 1 })).toThrow(
    expect.objectContaining({ code: ErrorCode.OUTPUT_TOO_LARGE, message: expect.stringMatching(/pass options.filename/) }),
  );
  expect(resizeToSource(image, g, { maxInMemoryBytes: 16 * 16 * 4 }).shape).toEqual([16, 16, 1]);
});

test('a 3-D builder refuses resizeToSource with a clear error', () => {
  const b = new MaskBuilder({ sourceExtents: [8, 8, 8], sourceTileExtent: 4, outputTileExtent: 1, stride: 4 });
  expect(() => b.resizeToSource({ data: new Float32Array(8), shape: [1, 2, 2, 2] })).toThrow(
    expect.objectContaining({ code: ErrorCode.DIMS_MISMATCH }),
  );
  b.cleanup();
});

test('file errors surface with the errno code and leave no file', () => {
  expect(() => resizeToSource(image, g, { filename: '/nonexistent-dir/mask.npy' })).toThrow(
    expect.objectContaining({ code: 'ENOENT', message: expect.stringContaining('/nonexistent-dir/mask.npy') }),
  );
});
