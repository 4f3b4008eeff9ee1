// A call reuses memory from earlier calls (packed dimensions, the binding's
// edge clipping, the buffer for coordinates given as rows, recycled plans):
// nothing of one call may leak into the next.
import { MaskBuilder } from '../src-ts/index';

type Step = {
  tiles: number;
  rows: boolean;
  dense: boolean;
  clipping?: number | [number, number][];
};

// Batches of changing sizes, coordinate forms, layouts and clippings, in an order where each
// reused thing changes between consecutive calls (and changes back).
const steps: Step[] = [
  { tiles: 5, rows: true, dense: true },
  { tiles: 2, rows: true, dense: true, clipping: 1 },
  {
    tiles: 7,
    rows: false,
    dense: true,
    clipping: [
      [2, 0],
      [0, 3],
    ],
  },
  { tiles: 3, rows: true, dense: false },
  { tiles: 1, rows: false, dense: false, clipping: 1 },
  { tiles: 6, rows: true, dense: true },
  {
    tiles: 4,
    rows: false,
    dense: true,
    clipping: [
      [2, 0],
      [0, 3],
    ],
  },
  { tiles: 0, rows: true, dense: true },
  { tiles: 3, rows: true, dense: true, clipping: 2 },
];

function build(backend: 'native' | 'js', async: boolean) {
  const b = new MaskBuilder({
    sourceExtents: [40, 48],
    sourceTileExtent: 8,
    outputTileExtent: 8,
    stride: 4,
    nChannels: 2,
    backend,
  });
  let seed = 7;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed;
  };
  return (async () => {
    for (const s of steps) {
      const per = s.dense ? 2 * 64 : 2;
      const data = Float32Array.from({ length: s.tiles * per }, () => (next() % 1000) / 100);
      const coords = Array.from({ length: s.tiles }, () => [(next() % 9) * 4, (next() % 11) * 4]);
      const batch = { data, shape: s.dense ? [s.tiles, 2, 8, 8] : [s.tiles, 2] };
      const table = s.rows ? coords : { data: Int32Array.from(coords.flat()), shape: [s.tiles, 2] };
      if (async) await b.updateBatchAsync(batch, table, s.clipping);
      else b.updateBatch(batch, table, s.clipping);
    }
    const { mask, overlapCounter } = b.finalize();
    const result = { mask: Array.from(mask.data), counts: Array.from(overlapCounter!.data) };
    b.cleanup();
    return result;
  })();
}

test('consecutive calls with changing shapes, forms and clippings agree across backends and paths', async () => {
  const expected = await build('js', false);
  expect(expected.counts.some((c) => c > 1)).toBe(true);
  for (const [backend, async] of [
    ['native', false],
    ['native', true],
    ['js', true],
  ] as const) {
    const got = await build(backend, async);
    expect(got.counts).toEqual(expected.counts);
    expect(got.mask).toEqual(expected.mask);
  }
});

test('a rejected batch between good ones leaves the next call unaffected', () => {
  for (const backend of ['native', 'js'] as const) {
    const b = new MaskBuilder({
      sourceExtents: [16, 16],
      sourceTileExtent: 4,
      outputTileExtent: 4,
      stride: 4,
      nChannels: 1,
      backend,
    });
    const tile = { data: new Float32Array(16).fill(2), shape: [1, 1, 4, 4] };
    // Many rows first, so the coordinate buffer is larger than what follows.
    b.updateBatch(
      { data: new Float32Array(3 * 16).fill(1), shape: [3, 1, 4, 4] },
      [
        [0, 0],
        [4, 4],
        [8, 8],
      ],
      1,
    );
    expect(() =>
      b.updateBatch(
        tile,
        [[99, 0]],
        [
          [0, 0],
          [0, 0],
        ],
      ),
    ).toThrow(/outside the mask/);
    b.updateBatch(tile, [[0, 0]]);
    const { mask, overlapCounter } = b.finalize();
    // Pixel (0, 0): the clipped first tile missed it, the last batch (unclipped) covered it once.
    expect(overlapCounter!.data[0]).toBe(1);
    expect(mask.data[0]).toBe(2);
    // Pixel (1, 1): both the clipped first tile (value 1) and the last one (value 2).
    expect(overlapCounter!.data[17]).toBe(2);
    expect(mask.data[17]).toBe(1.5);
    b.cleanup();
  }
});
