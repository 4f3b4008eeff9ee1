// NaN and infinite tile values are data, not errors: they propagate as in
// numpy. Exactly what happens, on both backends, bit for bit:
// - mean sums, so NaN or +/-Infinity in any overlapping tile makes the pixel
//   NaN or +/-Infinity (and +Infinity with -Infinity gives NaN); the counter
//   counts those tiles like any other;
// - max keeps NaN once it lands, whatever comes before or after (numpy's
//   `maximum`); +Infinity wins over everything else;
// - max starts every pixel at -Infinity ("no tile reached") and turns what is
//   still -Infinity into 0 at finalize, so a pixel whose only values were
//   -Infinity reads 0 afterwards (before finalize it reads -Infinity).
import { MaskBuilder, type MeanResult, type NdArray } from '../src-ts/index';
import { BACKENDS, type Backend } from './helpers/robust';

const { NaN: nan, POSITIVE_INFINITY: inf, NEGATIVE_INFINITY: ninf } = Number;

/** 1-D mask of 8 pixels; a scalar tile at x covers pixels x..x+3. */
function builder(backend: Backend, aggregation: 'mean' | 'max') {
  return new MaskBuilder({ sourceExtents: [8], sourceTileExtent: 4, outputTileExtent: 4, stride: 2, aggregation, backend });
}

function apply(b: MaskBuilder<any>, tiles: [x: number, value: number][]) {
  for (const [x, value] of tiles) b.updateBatch({ data: Float32Array.of(value), shape: [1, 1] }, [[x]]);
}

const mean = (backend: Backend, tiles: [number, number][]) => {
  const b = builder(backend, 'mean');
  apply(b, tiles);
  const { mask, overlapCounter } = b.finalize() as MeanResult;
  return { mask: Array.from(mask.data), counts: Array.from(overlapCounter.data) };
};

const max = (backend: Backend, tiles: [number, number][]) => {
  const b = builder(backend, 'max');
  apply(b, tiles);
  return Array.from((b.finalize() as NdArray).data);
};

describe.each(BACKENDS)('NaN and Infinity (%s backend)', (backend) => {
  test('mean: NaN in one tile makes the pixels it covers NaN, and only those', () => {
    const { mask, counts } = mean(backend, [
      [0, 1],
      [2, nan],
    ]);
    expect(mask).toEqual([1, 1, nan, nan, nan, nan, 0, 0]);
    expect(counts).toEqual([1, 1, 2, 2, 1, 1, 0, 0]);
  });

  test('mean: infinities propagate; +Infinity with -Infinity gives NaN', () => {
    const { mask } = mean(backend, [
      [0, inf],
      [2, ninf],
      [4, 3],
    ]);
    expect(mask).toEqual([inf, inf, nan, nan, ninf, ninf, 3, 3]);
  });

  test('max: NaN sticks whether it comes first or last', () => {
    expect(
      max(backend, [
        [0, nan],
        [2, 5],
      ]),
    ).toEqual([nan, nan, nan, nan, 5, 5, 0, 0]);
    expect(
      max(backend, [
        [2, 5],
        [0, nan],
      ]),
    ).toEqual([nan, nan, nan, nan, 5, 5, 0, 0]);
  });

  test('max: +Infinity wins, and -Infinity loses to any number', () => {
    expect(
      max(backend, [
        [0, inf],
        [2, 7],
        [4, ninf],
        [4, -5],
      ]),
    ).toEqual([inf, inf, inf, inf, 7, 7, -5, -5]);
  });

  test('max: a pixel reached only by -Infinity reads -Infinity before finalize and 0 after', () => {
    const b = builder(backend, 'max');
    apply(b, [[0, ninf]]);
    expect(Array.from(b.storage.data)).toEqual(new Array(8).fill(ninf));
    expect(Array.from((b.finalize() as NdArray).data)).toEqual(new Array(8).fill(0));
  });

  test('dense tiles with NaN and Infinity: both backends bit for bit', () => {
    const run = (which: Backend) => {
      const b = new MaskBuilder({
        sourceExtents: [6, 6],
        sourceTileExtent: 4,
        outputTileExtent: 2,
        stride: 2,
        nChannels: 2,
        backend: which,
      });
      const data = Float32Array.from({ length: 4 * 2 * 4 }, (_, i) => [nan, inf, ninf, 1.5, -2][i % 5]);
      b.updateBatch({ data, shape: [4, 2, 2, 2] }, [
        [0, 0],
        [0, 2],
        [2, 0],
        [2, 2],
      ]);
      return Array.from(b.finalize().mask.data);
    };
    expect(run(backend)).toEqual(run(backend === 'js' ? 'native' : 'js'));
  });
});
