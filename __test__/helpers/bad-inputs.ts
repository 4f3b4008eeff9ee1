// Every bad input the robustness specs try, with what it must get. The
// specs run each on both backends; docs/bad-input.md lists them all (a spec
// checks that it does). Batches and coordinates are for BASE_OPTIONS: a 2-D
// float32 mean builder with 2 channels and output tile [4, 4], whose
// coordinates fit up to [27, 43].
import { denseBatch, diagonalCoords, type Expected } from './robust';

export interface BadInput {
  /** Short description; also the first column of the docs table. */
  what: string;
  expected: Expected;
}

export interface BadOptions extends BadInput {
  /** Merged over BASE_OPTIONS, or the whole argument when `whole`. */
  options: unknown;
  whole?: boolean;
}

export interface BadBatch extends BadInput {
  batch: () => unknown;
  coords: () => unknown;
  edgeClipping?: () => unknown;
}

const type = (code: string, ...message: (string | RegExp)[]): Expected => ({ type: 'TypeError', code, message });
const range = (code: string, ...message: (string | RegExp)[]): Expected => ({ type: 'RangeError', code, message });

const OT = 'ERR_WSI_OPTION_TYPE';
const OR = 'ERR_WSI_OPTION_RANGE';
const DIMS = 'ERR_WSI_DIMS_MISMATCH';
const DTYPE = 'ERR_WSI_DTYPE';
const SHAPE = 'ERR_WSI_BATCH_SHAPE';
const BTYPE = 'ERR_WSI_BATCH_TYPE';
const CTYPE = 'ERR_WSI_COORDS_TYPE';
const CSHAPE = 'ERR_WSI_COORDS_SHAPE';
const CVALUE = 'ERR_WSI_COORDS_VALUE';
const OUTSIDE = 'ERR_WSI_TILE_OUTSIDE_MASK';
const CLIP = 'ERR_WSI_EDGE_CLIPPING';
const REGION = 'ERR_WSI_REGION';

const opt = (what: string, options: Record<string, unknown>, expected: Expected): BadOptions => ({ what, options, expected });

export const BAD_OPTIONS: BadOptions[] = [
  { what: 'no options', options: undefined, whole: true, expected: type(OT, 'options must be an object', 'received undefined') },
  { what: 'null options', options: null, whole: true, expected: type(OT, 'options must be an object', 'received null') },
  { what: 'options as an array', options: [32, 48], whole: true, expected: type(OT, 'options must be an object') },
  opt('missing sourceExtents', { sourceExtents: undefined }, type(OT, 'sourceExtents is required', 'received undefined')),
  opt('missing sourceTileExtent', { sourceTileExtent: undefined }, type(OT, 'sourceTileExtent is required')),
  opt('missing outputTileExtent', { outputTileExtent: undefined }, type(OT, 'outputTileExtent is required')),
  opt('missing stride', { stride: undefined }, type(OT, 'stride is required')),
  opt('sourceExtents as a number', { sourceExtents: 32 }, type(OT, 'sourceExtents must be', 'received 32')),
  opt('sourceExtents as a string', { sourceExtents: '32,48' }, type(OT, 'sourceExtents', "received '32,48'")),
  opt('sourceExtents with a string entry', { sourceExtents: [32, '48'] }, type(OT, 'sourceExtents[1] must be a number', "'48'")),
  opt('no dimensions', { sourceExtents: [] }, range(DIMS, 'between 1 and 16 dimensions', 'received 0')),
  opt('17 dimensions', { sourceExtents: new Array(17).fill(4) }, range(DIMS, 'received 17')),
  opt('zero extent', { sourceExtents: [0, 48] }, range(OR, 'sourceExtents[0] must be a positive integer', 'received 0')),
  opt('negative extent', { sourceExtents: [32, -48] }, range(OR, 'sourceExtents[1]', 'received -48')),
  opt('fractional extent', { sourceExtents: [32.5, 48] }, range(OR, 'received 32.5')),
  opt('NaN extent', { sourceExtents: [Number.NaN, 48] }, range(OR, 'received NaN')),
  opt('infinite extent', { sourceExtents: [32, Number.POSITIVE_INFINITY] }, range(OR, 'received Infinity')),
  opt('extent beyond 2^53 - 1', { sourceExtents: [2 ** 53, 48] }, range(OR, '2^53 - 1', 'received 9007199254740992')),
  opt('zero tile', { sourceTileExtent: 0 }, range(OR, 'sourceTileExtent[0]', 'received 0')),
  opt('negative tile', { sourceTileExtent: [8, -8] }, range(OR, 'sourceTileExtent[1]', 'received -8')),
  opt('fractional tile', { sourceTileExtent: 7.5 }, range(OR, 'sourceTileExtent[0]', 'received 7.5')),
  opt('tile as a string', { sourceTileExtent: '8' }, type(OT, 'sourceTileExtent must be a number or an array', "received '8'")),
  opt('zero output tile', { outputTileExtent: [4, 0] }, range(OR, 'outputTileExtent[1]', 'received 0')),
  opt('zero stride', { stride: 0 }, range(OR, 'stride[0]', 'received 0')),
  opt('negative stride', { stride: -4 }, range(OR, 'stride[0]', 'received -4')),
  opt('fractional stride', { stride: [4, 2.5] }, range(OR, 'stride[1]', 'received 2.5')),
  opt(
    'tile with too few dimensions',
    { sourceTileExtent: [8] },
    range(DIMS, 'sourceTileExtent', '(2, like sourceExtents)', 'received 1'),
  ),
  opt('stride with too many dimensions', { stride: [4, 4, 4] }, range(DIMS, 'stride', 'received 3')),
  opt('output tile with too many dimensions', { outputTileExtent: [4, 4, 4] }, range(DIMS, 'outputTileExtent', 'received 3')),
  opt('nChannels 0', { nChannels: 0 }, range(OR, 'nChannels must be an integer from 1', 'received 0')),
  opt('nChannels negative', { nChannels: -2 }, range(OR, 'nChannels', 'received -2')),
  opt('nChannels fractional', { nChannels: 1.5 }, range(OR, 'nChannels', 'received 1.5')),
  opt('nChannels NaN', { nChannels: Number.NaN }, range(OR, 'nChannels', 'received NaN')),
  opt('nChannels above 2^20', { nChannels: 2 ** 20 + 1 }, range(OR, 'nChannels', '1048576', 'received 1048577')),
  opt('nChannels as a string', { nChannels: '2' }, type(OT, 'nChannels must be a number', "received '2'")),
  opt(
    'unknown option (typo)',
    { sourceExtent: [32, 48] },
    type('ERR_WSI_UNKNOWN_OPTION', "unknown option 'sourceExtent'", 'sourceExtents'),
  ),
  opt('unknown option (snake case)', { n_channels: 2 }, type('ERR_WSI_UNKNOWN_OPTION', "'n_channels'", 'Known options')),
  opt('unsupported dtype', { dtype: 'float16' }, type(DTYPE, "dtype must be 'float32' or 'float64'", "received 'float16'")),
  opt('dtype not a string', { dtype: 32 }, type(DTYPE, 'dtype', 'received 32')),
  opt('integer dtype with mean', { dtype: 'int32' }, type(DTYPE, "dtype 'int32' cannot hold a mean", 'finalize', "'float32'")),
  opt('integer dtype with max', { dtype: 'uint8', aggregation: 'max' }, type(DTYPE, "received 'uint8'", 'integer accumulators')),
  opt('unsupported counterDtype', { counterDtype: 'uint8' }, type(DTYPE, 'counterDtype', "'uint32'", "received 'uint8'")),
  opt('unknown aggregation', { aggregation: 'median' }, type(OT, 'aggregation must be', "received 'median'")),
  opt(
    'aggregation a class not extending Aggregator',
    { aggregation: class Median {} },
    type(OT, 'aggregation', 'function Median'),
  ),
  opt('unknown storage', { storage: 'disk' }, type(OT, 'storage must be', "received 'disk'")),
  opt(
    'storage factory returning the wrong array',
    { storage: () => ({ data: new Float64Array(768), shape: [2, 16, 24] }) },
    type('ERR_WSI_STORAGE', 'storage factory must return { data: Float32Array(768), shape } for the mask', 'Float64Array'),
  ),
  opt('unknown backend', { backend: 'gpu' }, type(OT, "backend must be 'native' or 'js'", "received 'gpu'")),
  opt(
    'maxInMemoryBytes negative',
    { maxInMemoryBytes: -1 },
    range(OR, 'maxInMemoryBytes must be a positive integer', 'received -1'),
  ),
  opt('maxInMemoryBytes fractional', { maxInMemoryBytes: 1.5 }, range(OR, 'maxInMemoryBytes', 'received 1.5')),
  opt('maxInMemoryBytes as a string', { maxInMemoryBytes: '1GB' }, type(OT, 'maxInMemoryBytes must be a number', "'1GB'")),
  opt('storageOptions not an object', { storageOptions: 5 }, type(OT, 'storageOptions must be an object', 'received 5')),
  opt('aggregationOptions an array', { aggregationOptions: [] }, type(OT, 'aggregationOptions must be an object')),
  opt(
    'mask larger than maxInMemoryBytes',
    // [16, 24] x 2 float32 channels plus a uint16 counter need 3840 bytes.
    { maxInMemoryBytes: 3839 },
    range('ERR_WSI_MASK_TOO_LARGE', 'in-memory mask of 2 x [16, 24] float32', "storage: 'memmap'"),
  ),
  opt(
    'mask larger than the machine',
    { sourceExtents: [2 ** 26, 2 ** 26], sourceTileExtent: 512, outputTileExtent: 512, stride: 512 },
    range('ERR_WSI_MASK_TOO_LARGE', "storage: 'memmap'"),
  ),
  opt(
    'mask extent beyond 2^53 - 1',
    { sourceExtents: [2 ** 53 - 1], sourceTileExtent: 1, outputTileExtent: 7, stride: 1 },
    range('ERR_WSI_MASK_TOO_LARGE', 'maskExtents[0]', '2^53 - 1'),
  ),
  opt('region not an object', { region: [0, 16] }, type(REGION, 'region must be an object { start, extent }')),
  opt('region without extent', { region: { start: [0, 0] } }, type(REGION, 'region.extent must be an array')),
  opt('region with an unknown key', { region: { start: [0, 0], size: [4, 4] } }, type(REGION, "unknown region key 'size'")),
  opt(
    'region.start with one entry for a 2-D mask',
    { region: { start: [0], extent: [4, 4] } },
    range(REGION, 'region.start must have 2 entries', 'received 1'),
  ),
  opt('region.start negative', { region: { start: [-1, 0], extent: [4, 4] } }, range(REGION, 'region.start[0]', 'received -1')),
  opt('region.extent zero', { region: { start: [0, 0], extent: [4, 0] } }, range(REGION, 'region.extent[1] must be a positive')),
  opt(
    'region past the mask',
    { region: { start: [12, 0], extent: [8, 24] } },
    range(REGION, 'region start [12, 0] extent [8, 24]', 'inside the mask extents [16, 24] (dimension 0)'),
  ),
  opt(
    'span beyond 2^53 - 1',
    // Three tiles of 2 at stride 2^53 - 4 span 2^54 - 6 source pixels.
    { sourceExtents: [2 ** 53 - 1], sourceTileExtent: 2, outputTileExtent: 1, stride: 2 ** 53 - 4 },
    range('ERR_WSI_MASK_TOO_LARGE', 'the mask geometry overflows: span exceeds 2^53 - 1'),
  ),
];

const one = () => ({ data: new Int32Array([0, 0]), shape: [1, 2] });
const f32 = (n: number) => new Float32Array(n).fill(0.5);
const scalar = () => ({ data: f32(2), shape: [1, 2] });
const dense = () => denseBatch(1);
const bad = (what: string, batch: () => unknown, coords: () => unknown, expected: Expected): BadBatch => ({
  what,
  batch,
  coords,
  expected,
});

function detachedBatch() {
  const data = new Float32Array(2 * 2 * 16);
  structuredClone(data.buffer, { transfer: [data.buffer] });
  return { data, shape: [2, 2, 4, 4] };
}

export const BAD_BATCHES: BadBatch[] = [
  bad('batch missing', () => undefined, one, type(BTYPE, 'batch must be { data, shape }', 'received undefined')),
  bad('batch null', () => null, one, type(BTYPE, 'received null')),
  bad('batch a bare typed array', () => f32(32), one, type(BTYPE, 'batch must be', 'Float32Array')),
  bad('batch an array', () => [[0.5, 0.5]], one, type(BTYPE, 'batch must be')),
  bad('data missing', () => ({ shape: [1, 2] }), one, type(BTYPE, 'batch.data must be a Float32Array', 'received undefined')),
  bad('data a plain array', () => ({ data: [0.5, 0.5], shape: [1, 2] }), one, type(BTYPE, 'Float32Array', 'received [0.5, 0.5]')),
  bad(
    'Float64Array for a float32 builder',
    () => ({ data: new Float64Array(2), shape: [1, 2] }),
    one,
    type(
      BTYPE,
      "batch.data must be a Float32Array for dtype 'float32'",
      'received a Float64Array of length 2',
      "dtype: 'float64'",
      'Float32Array.from(batch.data)',
    ),
  ),
  bad(
    'float16 tensor data (Uint16Array with dims)',
    () => ({ data: new Uint16Array(2), dims: [1, 2], type: 'float16' }),
    one,
    type(BTYPE, 'received a Uint16Array', 'float16 tensor', 'float32 outputs'),
  ),
  bad(
    'channels-last dense batch',
    () => ({ data: f32(32), shape: [1, 4, 4, 2] }),
    one,
    range(SHAPE, 'looks channels-last [B, 4, 4, C]', 'takes [B, C, 4, 4]', 'a.transpose(0, 3, 1, 2)'),
  ),
  bad('Int32Array data', () => ({ data: new Int32Array(2), shape: [1, 2] }), one, type(BTYPE, 'received a Int32Array')),
  bad('Uint8Array data', () => ({ data: new Uint8Array(2), shape: [1, 2] }), one, type(BTYPE, 'Uint8Array')),
  bad('DataView data', () => ({ data: new DataView(new ArrayBuffer(8)), shape: [1, 2] }), one, type(BTYPE, 'DataView')),
  bad('shape missing', () => ({ data: f32(2) }), one, type(SHAPE, 'batch needs a shape (or dims)', 'received undefined')),
  bad('shape a string', () => ({ data: f32(2), shape: '1,2' }), one, type(SHAPE, "received '1,2'")),
  bad('negative shape entry', () => ({ data: f32(2), shape: [1, -2] }), one, range(SHAPE, 'batch.shape[1]', 'received -2')),
  bad('fractional shape entry', () => ({ data: f32(2), shape: [1.5, 2] }), one, range(SHAPE, 'batch.shape[0]', 'received 1.5')),
  bad('NaN shape entry', () => ({ data: f32(2), shape: [Number.NaN, 2] }), one, range(SHAPE, 'received NaN')),
  bad(
    'data shorter than its shape',
    () => ({ data: f32(31), shape: [1, 2, 4, 4] }),
    one,
    range(SHAPE, 'product of its shape [1, 2, 4, 4] (32)', 'received 31 elements'),
  ),
  bad('data longer than its shape', () => ({ data: f32(33), shape: [1, 2, 4, 4] }), one, range(SHAPE, 'received 33 elements')),
  bad('rank 1', () => ({ data: f32(2), shape: [2] }), one, range(SHAPE, 'shape [B, C] or [B, C, 4, 4]', 'rank 1')),
  bad('rank 3', () => ({ data: f32(8), shape: [1, 2, 4] }), one, range(SHAPE, 'received shape [1, 2, 4] (rank 3)')),
  bad('rank 5', () => ({ data: f32(64), shape: [1, 2, 4, 4, 2] }), one, range(SHAPE, 'rank 5')),
  bad('rank 0', () => ({ data: f32(1), shape: [] }), one, range(SHAPE, 'received shape [] (rank 0)')),
  bad(
    'too many channels',
    () => ({ data: f32(48), shape: [1, 3, 4, 4] }),
    one,
    range(SHAPE, 'shape[1] (channels) must be nChannels = 2', 'received 3'),
  ),
  bad(
    'too few channels (scalar tiles)',
    () => ({ data: f32(1), shape: [1, 1] }),
    one,
    range(SHAPE, 'nChannels = 2', 'received 1'),
  ),
  bad(
    'tile extent not the output tile',
    () => ({ data: f32(40), shape: [1, 2, 4, 5] }),
    one,
    range(SHAPE, 'must equal outputTileExtent [4, 4]', 'received shape [1, 2, 4, 5]'),
  ),
  bad(
    'tile extent the source tile',
    () => ({ data: f32(128), shape: [1, 2, 8, 8] }),
    one,
    range(SHAPE, 'outputTileExtent [4, 4]'),
  ),
  bad('detached data', detachedBatch, () => diagonalCoords(2), type('ERR_WSI_BUFFER', 'detached ArrayBuffer')),
  bad(
    'more tiles than coordinate rows',
    () => denseBatch(2),
    () => diagonalCoords(1),
    range(CSHAPE, 'one row per tile', 'batch has B = 2, coords has 1 rows'),
  ),
  bad(
    'fewer tiles than coordinate rows',
    () => denseBatch(1),
    () => diagonalCoords(3),
    range(CSHAPE, 'B = 1', '3 rows'),
  ),
  bad(
    'no tiles but coordinate rows',
    () => ({ data: f32(0), shape: [0, 2] }),
    () => diagonalCoords(1),
    range(CSHAPE, 'B = 0'),
  ),
];

const coordsTable =
  (data: Int32Array | BigInt64Array | Float64Array, shape = [1, 2]) =>
  () => ({ data, shape });

export const BAD_COORDS: BadBatch[] = [
  bad('coords missing', scalar, () => undefined, type(CTYPE, 'coords must be { data, shape: [B, N] }', 'received undefined')),
  bad('coords a number', scalar, () => 5, type(CTYPE, 'received 5')),
  bad('coords a bare typed array', scalar, () => new Int32Array(2), type(CTYPE, 'received a Int32Array of length 2')),
  bad(
    'coords Uint32Array',
    scalar,
    coordsTable(new Uint32Array(2) as any),
    type(CTYPE, 'Int32Array, BigInt64Array or Float64Array', 'Uint32Array'),
  ),
  bad('coords Float32Array', scalar, coordsTable(new Float32Array(2) as any), type(CTYPE, 'received a Float32Array')),
  bad(
    'coords Int16Array',
    scalar,
    coordsTable(new Int16Array(2) as any),
    type(CTYPE, 'received a Int16Array', 'convert: Int32Array.from(coords.data)'),
  ),
  bad(
    'coords a flat array of numbers',
    scalar,
    () => [0, 0],
    type(CTYPE, 'coords must be [y, x, ...] rows', 'received a flat array of numbers [0, 0]', 'Int32Array.from(flat)'),
  ),
  bad('coords shape missing', scalar, () => ({ data: new Int32Array(2) }), type(CSHAPE, 'coords needs a shape (or dims)')),
  bad(
    'coords rank 1',
    scalar,
    coordsTable(new Int32Array(2), [2]),
    range(CSHAPE, 'shape [B, N] matching its 2 values', 'received shape [2]'),
  ),
  bad('coords rank 3', scalar, coordsTable(new Int32Array(2), [1, 2, 1]), range(CSHAPE, 'received shape [1, 2, 1]')),
  bad('coords shape not matching data', scalar, coordsTable(new Int32Array(3), [1, 2]), range(CSHAPE, 'matching its 3 values')),
  bad(
    'coords with N = 3 for 2 dimensions',
    scalar,
    coordsTable(new Int32Array(3), [1, 3]),
    range(CSHAPE, 'shape [B, 2]', 'received shape [1, 3]'),
  ),
  bad('coord rows with N = 1', scalar, () => [[0]], range(CSHAPE, 'shape [B, 2]', 'received shape [1, 1]')),
  bad(
    'coord rows of unequal length',
    () => ({ data: f32(4), shape: [2, 2] }),
    () => [[0, 0], [4]],
    range(CSHAPE, 'coords[1] has 1'),
  ),
  bad(
    'coord row not an array',
    () => ({ data: f32(4), shape: [2, 2] }),
    () => [[0, 0], 4],
    type(CTYPE, 'coords[1] must be an array', 'received 4'),
  ),
  bad('coord entry a string', scalar, () => [['0', 0]], type(CTYPE, 'coords[0][0] must be a number', "received '0'")),
  bad('coord entry null', scalar, () => [[0, null]], type(CTYPE, 'coords[0][1]', 'received null')),
  bad(
    'fractional coordinate',
    scalar,
    coordsTable(new Float64Array([0.5, 0])),
    range(CVALUE, 'coords[0][0] must be a non-negative integer', 'received 0.5'),
  ),
  bad('fractional coordinate (rows)', scalar, () => [[4, 4.25]], range(CVALUE, 'coords[0][1]', 'received 4.25')),
  bad(
    'negative coordinate (Int32Array)',
    scalar,
    coordsTable(new Int32Array([-4, 0])),
    range(CVALUE, 'coords[0][0]', 'received -4'),
  ),
  bad(
    'negative coordinate (BigInt64Array)',
    scalar,
    coordsTable(new BigInt64Array([0n, -1n])),
    range(CVALUE, 'coords[0][1]', 'received -1'),
  ),
  bad('negative coordinate (rows)', scalar, () => [[-4, 0]], range(CVALUE, 'received -4')),
  bad('NaN coordinate', scalar, coordsTable(new Float64Array([Number.NaN, 0])), range(CVALUE, 'received NaN')),
  bad(
    'infinite coordinate',
    scalar,
    coordsTable(new Float64Array([0, Number.POSITIVE_INFINITY])),
    range(CVALUE, 'received Infinity'),
  ),
  bad('-Infinity coordinate', scalar, () => [[Number.NEGATIVE_INFINITY, 0]], range(CVALUE, 'received -Infinity')),
  bad(
    'coordinate 2^53 (Float64Array)',
    scalar,
    coordsTable(new Float64Array([2 ** 53, 0])),
    range(CVALUE, '2^53 - 1', 'received 9007199254740992'),
  ),
  bad(
    'coordinate 2^53 (BigInt64Array)',
    scalar,
    coordsTable(new BigInt64Array([2n ** 53n, 0n])),
    range(CVALUE, 'received 9007199254740992'),
  ),
  bad(
    'coordinate 2^63 - 1 (BigInt64Array)',
    scalar,
    coordsTable(new BigInt64Array([2n ** 63n - 1n, 0n])),
    range(CVALUE, 'received 9223372036854775807'),
  ),
  bad(
    'coordinate 2^60 (rows of bigint)',
    scalar,
    () => [[2n ** 60n, 0n]],
    range(CVALUE, 'no larger than 2^53 - 1', 'received 1152921504606846976'),
  ),
  bad('coordinate 1e21 (rows)', scalar, () => [[1e21, 0]], range(CVALUE, 'received 1e+21')),
  bad(
    'tile past the bottom edge',
    scalar,
    () => [[28, 0]],
    range(OUTSIDE, 'coords[0] = [28, 0] places the tile outside the mask', 'source span [32, 48]', 'at most [27, 43]'),
  ),
  bad('tile past the right edge', dense, () => [[0, 44]], range(OUTSIDE, 'coords[0] = [0, 44]', 'at most [27, 43]')),
  bad(
    'second tile outside',
    () => ({ data: f32(4), shape: [2, 2] }),
    () => [
      [0, 0],
      [400, 0],
    ],
    range(OUTSIDE, 'coords[1] = [400, 0]'),
  ),
  bad('coordinate 2^53 - 1', scalar, () => [[2 ** 53 - 1, 0]], range(OUTSIDE, 'coords[0] = [9007199254740991, 0]')),
];

export const BAD_EDGE_CLIPPING: BadBatch[] = [
  {
    ...bad('negative clipping', dense, one, range(CLIP, 'edgeClipping must be a non-negative integer', 'received -1')),
    edgeClipping: () => -1,
  },
  {
    ...bad('negative clipping in a list', dense, one, range(CLIP, 'edgeClipping[1]', 'received -1')),
    edgeClipping: () => [0, -1],
  },
  {
    ...bad('negative clipping in a pair', dense, one, range(CLIP, 'edgeClipping[0][1]', 'received -2')),
    edgeClipping: () => [
      [0, -2],
      [0, 0],
    ],
  },
  { ...bad('fractional clipping', dense, one, range(CLIP, 'received 0.5')), edgeClipping: () => 0.5 },
  { ...bad('NaN clipping', dense, one, range(CLIP, 'received NaN')), edgeClipping: () => Number.NaN },
  { ...bad('clipping beyond 2^32', dense, one, range(CLIP, 'received 1099511627776')), edgeClipping: () => 2 ** 40 },
  {
    ...bad(
      'clipping a string',
      dense,
      one,
      type(CLIP, 'edgeClipping must be a number, 2 numbers or 2 [start, end] pairs', "received '1'"),
    ),
    edgeClipping: () => '1',
  },
  { ...bad('clipping an object', dense, one, type(CLIP, 'received an object')), edgeClipping: () => ({ start: 1 }) },
  {
    ...bad('clipping with one entry for 2 dimensions', dense, one, range(CLIP, 'must give 2 entries', 'received 1: [1]')),
    edgeClipping: () => [1],
  },
  { ...bad('clipping with three entries', dense, one, range(CLIP, 'received 3')), edgeClipping: () => Int32Array.of(1, 1, 1) },
  {
    ...bad(
      'clipping pair of three',
      dense,
      one,
      type(CLIP, 'edgeClipping[0] must be a number or a [start, end] pair', 'received [0, 0, 0]'),
    ),
    edgeClipping: () => [
      [0, 0, 0],
      [0, 0],
    ],
  },
  { ...bad('clipping pair of one', dense, one, type(CLIP, 'edgeClipping[1]')), edgeClipping: () => [[0, 0], [0]] },
  {
    ...bad('clipping pair with a string', dense, one, type(CLIP, 'edgeClipping[0][0] must be a number', "received '1'")),
    edgeClipping: () => [
      ['1', 0],
      [0, 0],
    ],
  },
  {
    ...bad(
      'clipping that leaves no pixel',
      dense,
      one,
      range(CLIP, 'edgeClipping [2, 2] on dimension 0 leaves no pixel of the 4-pixel output tile', 'less than 4'),
    ),
    edgeClipping: () => 2,
  },
  {
    ...bad('clipping the whole start', dense, one, range(CLIP, 'edgeClipping [4, 0] on dimension 0')),
    edgeClipping: () => [
      [4, 0],
      [0, 0],
    ],
  },
  {
    ...bad('clipping start + end = tile', dense, one, range(CLIP, 'edgeClipping [1, 3] on dimension 1')),
    edgeClipping: () => [
      [0, 0],
      [1, 3],
    ],
  },
  { ...bad('clipping larger than the tile', dense, one, range(CLIP, 'edgeClipping [100, 100]')), edgeClipping: () => 100 },
  { ...bad('clipping of scalar tiles leaving nothing', scalar, one, range(CLIP, 'leaves no pixel')), edgeClipping: () => [0, 2] },
];

/** The 1-D case: `[start, end]` reads as two dimensions, with a hint. */
export const ONE_DIMENSIONAL_PAIR = range(CLIP, 'must give 1 entries', 'write [[start, end]]', 'received 2');

export { dense as oneDenseTile, one as oneTileCoords };
