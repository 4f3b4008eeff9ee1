// Weight windows against the peers: scipy.signal.get_window for every named
// window (periodic, and symmetric), a numpy transcription of MONAI's
// compute_importance_map(mode='gaussian'), and tiler's Merger for the windows
// it shares (tiler >= 0.4 uses the symmetric windows). Both backends.
import { MaskBuilder } from '../src-ts/index';
import { python } from './helpers/python';
import { BACKENDS } from './helpers/robust';

const SCIPY = ['hann', 'hamming', 'triang', 'bartlett', 'blackman'] as const;

/** The weight map a builder uses: one tile of ones at the origin leaves it in weightSum. */
function weightMap(
  backend: (typeof BACKENDS)[number],
  output: number[],
  weights: unknown,
  sourceTile = output,
  stride = sourceTile,
) {
  const b = new MaskBuilder({
    sourceExtents: sourceTile.map((s) => 2 * s),
    sourceTileExtent: sourceTile,
    outputTileExtent: output,
    stride,
    dtype: 'float64',
    weights: weights as any,
    backend,
  });
  const footprint = output.map((o, d) => o * b.upscaleFactor[d]);
  const tile = output.reduce((a, o) => a * o, 1);
  b.updateBatch({ data: new Float64Array(tile).fill(1), shape: [1, 1, ...output] }, [output.map(() => 0)]);
  const { weightSum } = b.finalize() as any;
  const width = b.maskExtents[1];
  const out: number[] = [];
  for (let y = 0; y < footprint[0]; y++) for (let x = 0; x < footprint[1]; x++) out.push(weightSum.data[y * width + x]);
  return { map: out, footprint };
}

function expectClose(actual: number[], expected: number[], tolerance: number) {
  expect(actual).toHaveLength(expected.length);
  const worst = Math.max(...actual.map((a, i) => Math.abs(a - expected[i])));
  expect(worst).toBeLessThanOrEqual(tolerance);
}

describe.each(BACKENDS)('weight windows (%s backend)', (backend) => {
  test.each(SCIPY.flatMap((name) => [[name, false] as const, [name, true] as const]))(
    '%s (symmetric: %s) is the outer product of scipy.signal.get_window',
    (name, symmetric) => {
      const { map, footprint } = weightMap(backend, [7, 10], { type: name, symmetric });
      const expected = JSON.parse(
        python(
          `import json, sys, numpy as np
from scipy.signal import get_window
h, w, name, sym = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4] == 'true'
m = np.outer(get_window(name, h, fftbins=not sym), get_window(name, w, fftbins=not sym))
print(json.dumps(m.ravel().tolist()))`,
          [String(footprint[0]), String(footprint[1]), name, String(symmetric)],
        ),
      );
      expectClose(map, expected, 1e-12);
    },
  );

  test.each([
    [[16, 12], 0.125, [16, 12], [16, 12]],
    [[9, 9], 0.3, [9, 9], [9, 9]],
    // Scalar tiles: the window spans the upscaled footprint.
    [[1, 1], 0.125, [32, 32], [4, 4]],
  ])('gaussian over output %j, sigmaScale %d, is MONAI compute_importance_map', (output, sigmaScale, sourceTile, stride) => {
    const { map, footprint } = weightMap(backend, output, { type: 'gaussian', sigmaScale }, sourceTile, stride);
    expect(footprint.every((f) => f > 1)).toBe(true);
    const expected = JSON.parse(
      python(
        `import json, sys, numpy as np
shape = [int(sys.argv[1]), int(sys.argv[2])]
scale = float(sys.argv[3])
# compute_importance_map(mode='gaussian'): exp(x^2 / (-2 sigma^2)) per dimension at
# x = arange(-(n - 1) / 2, (n - 1) / 2 + 1), sigma = sigma_scale * n, outer product,
# then clamped below at max(min(map), 1e-3).
axes = []
for n in shape:
    x = np.arange(-(n - 1) / 2.0, (n - 1) / 2.0 + 1)
    axes.append(np.exp(x ** 2 / (-2 * (scale * n) ** 2)))
m = np.outer(axes[0], axes[1])
m = np.clip(m, max(m.min(), 1e-3), None)
print(json.dumps(m.ravel().tolist()))`,
        [String(footprint[0]), String(footprint[1]), String(sigmaScale)],
      ),
    );
    expectClose(map, expected, 1e-12);
  });

  test.each(['hann', 'hamming', 'triang', 'bartlett', 'blackman'])(
    'weighted mean with symmetric %s equals tiler Merger',
    (name) => {
      const out = JSON.parse(
        python(
          `import json, sys, numpy as np
from tiler import Tiler, Merger
name = sys.argv[1]
rng = np.random.default_rng(7)
tiler = Tiler(data_shape=(24, 28), tile_shape=(8, 8), overlap=(4, 4))
merger = Merger(tiler, window=name)
tiles, coords = [], []
for i in range(len(tiler)):
    bbox = tiler.get_tile_bbox(i)
    tile = rng.random((8, 8))
    merger.add(i, tile)
    tiles.append(tile.ravel().tolist())
    coords.append([int(v) for v in bbox[0]])
merged = merger.merge(unpad=True, dtype=np.float64)
print(json.dumps({'tiles': tiles, 'coords': coords, 'merged': merged.ravel().tolist()}))`,
          [name],
        ),
      );
      const b = new MaskBuilder({
        sourceExtents: [24, 28],
        sourceTileExtent: 8,
        outputTileExtent: 8,
        stride: 4,
        dtype: 'float64',
        weights: { type: name as any, symmetric: true },
        backend,
      });
      b.updateBatch({ data: Float64Array.from(out.tiles.flat()), shape: [out.tiles.length, 1, 8, 8] }, out.coords);
      const { mask, weightSum } = b.finalize() as any;
      // Where only a window's zero edge lands (the slide border), both give
      // no meaningful value: tiler divides rounding noise by rounding noise,
      // we say 0. Compare where some weight landed; tiler keeps its window in float32.
      const covered = (_v: number, i: number) => weightSum.data[i] > 1e-9;
      const ours = Array.from(mask.data as Float64Array).filter(covered);
      expect(ours.length).toBeGreaterThan(0.8 * mask.data.length);
      expectClose(ours, out.merged.filter(covered), 1e-6);
    },
  );
});
