// otsuThreshold() and tissueMask(): Otsu's level agrees with an independent numpy search, and the mask is the dark part.
import { otsuThreshold, tissueMask } from '../src-ts/index';
import { python } from './helpers/python';

/** Otsu by exhaustive search in numpy: the t maximizing w0 * w1 * (m0 - m1)^2 over classes v <= t and v > t. */
function numpyOtsu(values: Uint8Array): number {
  return Number(
    python(
      [
        'import sys, numpy as np',
        'v = np.frombuffer(bytes.fromhex(sys.argv[1]), dtype=np.uint8).astype(np.float64)',
        'best, level = -1.0, 0',
        'for t in range(256):',
        '    lo, hi = v[v <= t], v[v > t]',
        '    if len(lo) == 0 or len(hi) == 0: continue',
        '    b = len(lo) * len(hi) * (lo.mean() - hi.mean()) ** 2',
        '    if b > best: best, level = b, t',
        'print(level)',
      ].join('\n'),
      [Buffer.from(values).toString('hex')],
    ),
  );
}

test.each([
  ['two well separated modes', 1],
  ['two overlapping modes', 2],
  ['three modes', 3],
])("otsuThreshold agrees with numpy's exhaustive search (%s)", (_name, seed) => {
  let state = seed * 7919;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const centres = seed === 1 ? [60, 200] : seed === 2 ? [110, 150] : [40, 120, 220];
  const values = new Uint8Array(3000).map(() => {
    const c = centres[Math.floor(random() * centres.length)];
    return Math.max(0, Math.min(255, Math.round(c + (random() + random() + random() - 1.5) * 40)));
  });
  expect(otsuThreshold(values)).toBe(numpyOtsu(values));
});

test('otsuThreshold of a constant image is that value; of two levels, the lower one', () => {
  expect(otsuThreshold(new Uint8Array(10).fill(77))).toBe(77);
  expect(otsuThreshold(Uint8Array.of(10, 10, 200, 200))).toBe(10);
});

test('tissueMask marks the darker pixels of an RGB thumbnail as tissue, by Otsu unless a threshold is given', () => {
  const rgba = new Uint8Array(4 * 4 * 4);
  for (let i = 0; i < 16; i++) rgba.set(i % 4 < 2 ? [90, 40, 120, 255] : [235, 235, 235, 255], i * 4);
  const mask = tissueMask({ data: rgba, shape: [4, 4, 4] });
  expect(mask.shape).toEqual([4, 4]);
  expect(Array.from(mask.data)).toEqual(Array.from({ length: 16 }, (_, i) => (i % 4 < 2 ? 1 : 0)));
  expect(mask.threshold).toBeGreaterThanOrEqual(64);
  expect(mask.threshold).toBeLessThan(235);
  expect(Array.from(tissueMask({ data: rgba, shape: [4, 4, 4] }, { tissueIs: 'brighter' }).data)).toEqual(
    Array.from(mask.data, (v) => 1 - v),
  );
  expect(tissueMask({ data: rgba, shape: [4, 4, 4] }, { threshold: 10 }).data.every((v) => v === 0)).toBe(true);
});
