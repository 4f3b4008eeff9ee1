// `wsi-mask-builder assemble` with --weights, --aggregation min|sum|variance|argmax and the finalize
// reductions --argmax/--threshold/--quantize: each writes what MaskBuilder returns for the same tiles,
// in memory and with --memmap (where a reduction goes into the output band by band).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MaskBuilder, type NdArray } from '../src-ts/index';
import { readNpy, writeNpy } from '../src-ts/npy';
import { runCli } from './helpers/cli';
import { noise } from './helpers/resize';

let dir: string;
const CHANNELS = 3;
let coords: number[][];
let tiles: Float32Array;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsi-cli-agg-'));
  coords = [];
  for (let y = 0; y <= 300 - 64 + 31; y += 32) for (let x = 0; x <= 420 - 64 + 31; x += 32) coords.push([y, x]);
  tiles = noise(coords.length * CHANNELS * 8 * 8, 3);
  writeNpy(join(dir, 'tiles.npy'), { data: tiles, shape: [coords.length, CHANNELS, 8, 8], dtype: 'float32' });
  writeNpy(join(dir, 'coords.npy'), { data: Int32Array.from(coords.flat()), shape: [coords.length, 2], dtype: 'int32' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GEOMETRY = ['--tiles', 'tiles.npy', '--coords', 'coords.npy', '--source', '300,420', '--tile', '64', '--stride', '32'];

/** What MaskBuilder gives for the same tiles. */
function expected(options: Record<string, unknown>, finalize?: Record<string, unknown>): any {
  const b = new MaskBuilder({
    sourceExtents: [300, 420],
    sourceTileExtent: 64,
    outputTileExtent: 8,
    stride: 32,
    nChannels: CHANNELS,
    ...options,
  } as any);
  b.updateBatch({ data: tiles, shape: [coords.length, CHANNELS, 8, 8] }, coords);
  const result = finalize ? b.finalize(finalize as any) : b.finalize();
  return result;
}

function expectSame(file: string, array: NdArray<any>) {
  const written = readNpy(join(dir, file));
  expect(written.shape).toEqual(array.shape);
  expect(written.dtype).toBe(array.dtype);
  expect(Array.from(written.data as ArrayLike<number>)).toEqual(Array.from(array.data as ArrayLike<number>));
}

function run(args: string[], output: string) {
  const r = runCli(['assemble', ...GEOMETRY, ...args, '--batch-size', '50', '-o', output], dir);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r;
}

test.each([['gaussian'], ['hann']])('--weights %s writes the weighted mean', (weights) => {
  run(['--weights', weights], `w-${weights}.npy`);
  expectSame(`w-${weights}.npy`, expected({ weights }).mask);
});

test('--weights takes an NPY weight map', () => {
  const map = new Float64Array(64).map((_, i) => 1 + (i % 8));
  writeNpy(join(dir, 'map.npy'), { data: map, shape: [8, 8], dtype: 'float64' });
  run(['--weights', 'map.npy'], 'w-map.npy');
  expectSame('w-map.npy', expected({ weights: { data: map, shape: [8, 8] } }).mask);
});

test.each([['min'], ['sum']])('--aggregation %s', (aggregation) => {
  run(['--aggregation', aggregation], `a-${aggregation}.npy`);
  const result = expected({ aggregation });
  expectSame(`a-${aggregation}.npy`, aggregation === 'min' ? result : result.mask);
});

test('--aggregation variance writes the mean and, beside it, the variances', () => {
  const r = run(['--aggregation', 'variance'], 'a-var.npy');
  expect(r.stdout).toContain('a-var.variance.npy');
  const { mean, variance } = expected({ aggregation: 'variance' });
  expectSame('a-var.npy', mean);
  expectSame('a-var.variance.npy', variance);
});

test.each([[false], [true]])('--aggregation argmax --background 2 writes the labels (memmap: %s)', (memmap) => {
  const file = `a-argmax-${memmap}.npy`;
  run(['--aggregation', 'argmax', '--background', '2', '--weights', 'gaussian', ...(memmap ? ['--memmap'] : [])], file);
  expectSame(file, expected({ aggregation: 'argmax', background: 2, weights: 'gaussian' }).labels);
});

test.each([
  ['--argmax', [], { argmax: true }],
  ['--threshold', ['0.25'], { threshold: 0.25 }],
  ['--quantize', [], { quantize: 'uint8' }],
] as const)('%s reduces the mean, in memory and band by band into the output with --memmap', (flag, values, request) => {
  const reference = expected({}, request);
  const reduced = 'labels' in reference ? reference.labels : reference;
  for (const memmap of [false, true]) {
    const file = `r-${flag.slice(2)}-${memmap}.npy`;
    run([flag, ...values, ...(memmap ? ['--memmap'] : [])], file);
    expectSame(file, reduced);
  }
  // The float mask was never written anywhere else.
  expect(existsSync(join(dir, `r-${flag.slice(2)}-true.overlaps.npy`))).toBe(false);
});

test('bad combinations fail with one line', () => {
  for (const [args, message] of [
    [['--argmax', '--quantize'], /choose one of --argmax, --threshold and --quantize/],
    [['--weights', 'boxcar'], /--weights must be uniform, gaussian/],
    [['--background', '1'], /--background applies to --aggregation argmax and --argmax only/],
    [['--aggregation', 'max', '--weights', 'hann'], /weights apply to the mean, sum and argmax aggregations/],
    [['--aggregation', 'variance', '--quantize'], /finalize option quantize applies to the mean, sum, max and min/],
    [['--threshold', 'high'], /expected a number/],
  ] as const) {
    const r = runCli(['assemble', ...GEOMETRY, ...args, '-o', 'never.npy'], dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(dir, 'never.npy'))).toBe(false);
  }
});
