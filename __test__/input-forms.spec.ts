// Every accepted form of coords and batch gives the same mask.
import { MaskBuilder } from '../src-ts/index';

const options = { sourceExtents: [32, 40], sourceTileExtent: 8, outputTileExtent: 4, stride: 4, nChannels: 2 } as const;
const rows = [
  [0, 0],
  [5, 7], // off the stride grid: floored to [4, 4]
  [24, 32],
];
const data = Float32Array.from({ length: 3 * 2 * 16 }, (_, i) => i / 7);

function build(coords: unknown, batch: unknown = { data, shape: [3, 2, 4, 4] }) {
  const b = new MaskBuilder({ ...options });
  b.updateBatch(batch as never, coords as never);
  return Array.from(b.finalize().mask.data);
}

test('number[][], Int32Array, BigInt64Array and Float64Array coords agree', () => {
  const expected = build(rows);
  expect(build({ data: Int32Array.from(rows.flat()), shape: [3, 2] })).toEqual(expected);
  expect(build({ data: BigInt64Array.from(rows.flat().map(BigInt)), shape: [3, 2] })).toEqual(expected);
  expect(build({ data: Float64Array.from(rows.flat()), shape: [3, 2] })).toEqual(expected);
  expect(build(rows.map((r) => r.map(BigInt)))).toEqual(expected);
});

test('off-grid coordinates floor to the stride grid, as the reference does', () => {
  expect(
    build([
      [0, 0],
      [4, 4],
      [24, 32],
    ]),
  ).toEqual(build(rows));
});

test('tensors carrying dims (onnxruntime-node) are accepted without a shape', () => {
  const tensor = { type: 'float32', data, dims: [3, 2, 4, 4], size: data.length };
  expect(build(rows, tensor)).toEqual(build(rows));
});
