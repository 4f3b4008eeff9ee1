// builder.tileOrigins(): the grid the geometry implies, in batches, filtered by a tissue mask; on both backends.
import { MaskBuilder, type MaskBuilderOptions, tissueMask } from '../src-ts/index';
import { BACKENDS } from './helpers/robust';

/** Every origin by the reference's formula, first dimension slowest. */
function expectedGrid(source: number[], tile: number[], stride: number[]): number[][] {
  const counts = source.map((s, d) => Math.ceil(Math.max(0, s - tile[d]) / stride[d]) + 1);
  let rows: number[][] = [[]];
  counts.forEach((c, d) => {
    rows = rows.flatMap((r) => Array.from({ length: c }, (_, i) => [...r, i * stride[d]]));
  });
  return rows;
}

const rowsOf = (o: { data: ArrayLike<number>; shape: number[] }) =>
  Array.from({ length: o.shape[0] }, (_, i) => Array.from(o.data).slice(i * o.shape[1], (i + 1) * o.shape[1]));

const GEOMETRIES: [string, number[], number[], number[]][] = [
  ['2-D, overlapping', [1000, 1300], [512, 512], [256, 256]],
  ['2-D, slide not a multiple of the stride', [700, 1301], [128, 96], [128, 64]],
  ['1-D', [50], [8], [3]],
  ['3-D', [9, 20, 30], [3, 8, 8], [3, 4, 8]],
  ['slide smaller than a tile', [100, 60], [256, 256], [128, 128]],
];

describe.each(BACKENDS)('%s backend', (backend) => {
  test.each(GEOMETRIES)('tileOrigins() is the grid the geometry implies (%s)', (_name, source, tile, stride) => {
    const b = new MaskBuilder({ sourceExtents: source, sourceTileExtent: tile, outputTileExtent: 1, stride, backend });
    const origins = b.tileOrigins();
    expect(origins.data).toBeInstanceOf(Int32Array);
    expect(origins.shape).toEqual([expectedGrid(source, tile, stride).length, source.length]);
    expect(rowsOf(origins)).toEqual(expectedGrid(source, tile, stride));
    b.cleanup();
  });

  test('the origins go straight into updateBatch and reach every mask pixel', () => {
    const b = new MaskBuilder({ sourceExtents: [700, 1301], sourceTileExtent: 128, outputTileExtent: 4, stride: 64, backend });
    const coords = b.tileOrigins();
    const n = coords.shape[0];
    b.updateBatch({ data: new Float32Array(n * 16).fill(1), shape: [n, 1, 4, 4] }, coords);
    const { mask, overlapCounter } = b.finalize();
    expect(Array.from(overlapCounter.data).every((c) => c > 0)).toBe(true);
    expect(Array.from(mask.data).every((v) => v === 1)).toBe(true);
    b.cleanup();
  });

  test('tileOrigins({ batchSize }) yields batches of at most batchSize that concatenate to the grid', () => {
    const b = new MaskBuilder({ sourceExtents: [700, 1301], sourceTileExtent: 128, outputTileExtent: 1, stride: 64, backend });
    const whole = rowsOf(b.tileOrigins());
    const batches = [...b.tileOrigins({ batchSize: 37 })];
    expect(batches.every((x) => x.shape[0] <= 37 && x.shape[0] > 0 && x.data.length === x.shape[0] * 2)).toBe(true);
    expect(batches.slice(0, -1).every((x) => x.shape[0] === 37)).toBe(true);
    expect(batches.flatMap(rowsOf)).toEqual(whole);
    b.cleanup();
  });

  test('coordinates of 2^31 or more come as a Float64Array', () => {
    const b = new MaskBuilder({ sourceExtents: [4e9], sourceTileExtent: 1e9, outputTileExtent: 1, stride: 1e9, backend });
    const origins = b.tileOrigins();
    expect(origins.data).toBeInstanceOf(Float64Array);
    expect(Array.from(origins.data)).toEqual([0, 1e9, 2e9, 3e9]);
    b.cleanup();
  });

  test('tileOrigins({ tissue }) keeps exactly the tiles whose footprint touches tissue', () => {
    const options: MaskBuilderOptions = {
      sourceExtents: [640, 960],
      sourceTileExtent: 128,
      outputTileExtent: 1,
      stride: 64,
      backend,
    };
    const b = new MaskBuilder(options);
    // A 20 x 30 mask, 32 source pixels per mask pixel: a disc of tissue and one isolated pixel.
    const [h, w, s] = [20, 30, 32];
    const tissue = new Uint8Array(h * w);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) tissue[y * w + x] = (y - 9) ** 2 + (x - 12) ** 2 <= 16 || (y === 2 && x === 27) ? 1 : 0;
    const kept = rowsOf(b.tileOrigins({ tissue: { data: tissue, shape: [h, w] } }));
    // Oracle: a tile is kept if any source pixel it covers lies in a tissue pixel.
    const touches = ([oy, ox]: number[]) => {
      for (let y = oy; y < oy + 128; y++)
        for (let x = ox; x < ox + 128; x++) {
          const [ty, tx] = [Math.floor(y / s), Math.floor(x / s)];
          if (ty < h && tx < w && tissue[ty * w + tx]) return true;
        }
      return false;
    };
    const all = expectedGrid([640, 960], [128, 128], [64, 64]);
    expect(kept).toEqual(all.filter(touches));
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(all.length);
    // The isolated pixel at [2, 27] (source [64..96, 864..896]) keeps the tiles over it.
    expect(kept).toContainEqual([0, 832]);
    // Explicit scale = the default (source / tissue shape); a fraction threshold drops the sparse tiles.
    expect(rowsOf(b.tileOrigins({ tissue: { data: tissue, shape: [h, w] }, tissueScale: 32 }))).toEqual(kept);
    const dense = rowsOf(b.tileOrigins({ tissue: { data: tissue, shape: [h, w] }, minTissueFraction: 0.5 }));
    expect(dense.length).toBeLessThan(kept.length);
    expect(dense).not.toContainEqual([0, 832]);
    expect(dense.every((r) => kept.some((k) => k[0] === r[0] && k[1] === r[1]))).toBe(true);
    b.cleanup();
  });

  test('a thumbnail through tissueMask() filters the grid to the tissue', () => {
    const b = new MaskBuilder({ sourceExtents: [1024, 1024], sourceTileExtent: 256, outputTileExtent: 1, stride: 256, backend });
    // 16 x 16 RGB thumbnail: bright background, a pink block of tissue over source [512, 1024) x [0, 512).
    const rgb = new Uint8Array(16 * 16 * 3).fill(240);
    for (let y = 8; y < 16; y++) for (let x = 0; x < 8; x++) rgb.set([200, 120, 170], (y * 16 + x) * 3);
    const tissue = tissueMask({ data: rgb, shape: [16, 16, 3] });
    expect(rowsOf(b.tileOrigins({ tissue }))).toEqual([
      [512, 0],
      [512, 256],
      [768, 0],
      [768, 256],
    ]);
    b.cleanup();
  });
});

test('tileOrigins still answers after cleanup(), like the geometry', () => {
  const b = new MaskBuilder({ sourceExtents: [64, 64], sourceTileExtent: 32, outputTileExtent: 1, stride: 32 });
  b.cleanup();
  expect(b.tileOrigins().shape).toEqual([4, 2]);
});
