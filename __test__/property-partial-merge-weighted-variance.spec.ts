// Property: split a random tile set over k builders of a weighted mean or a
// variance, merge their states in a random order (a chain or a random tree
// of mergeFrom, or savePartial + loadPartials of shuffled partials) and the
// result is the single build's. Weighted: overlap counts exactly; weighted
// sums and weight sums bit for bit for quarter values and quarter weights
// (their sums are exact), and within (2n + 2) * eps * sum(|w x|) of one build
// for arbitrary floats and windows (n tiles at the pixel). Variance (Chan et
// al.'s pairwise combination of count, mean and M2): counts exactly; means
// within 8 n eps max|x| and variances within 32 n eps max|x|^2 of the single
// Welford build, where max|x| is the largest value at the pixel.

import { join } from 'node:path';
import fc from 'fast-check';
import { MaskBuilder } from '../src-ts/index';
import { batchArgs, quarterValues, type Scenario, scenarioArb, weightMapArb } from './helpers/arbitraries';
import type { OracleBatch } from './helpers/oracle';
import { footprintOf } from './helpers/oracle';
import { captureWarnings, PROPERTY_SEED } from './helpers/robust';
import { scratchDir } from './helpers/scratch';

const RUNS = 40;

type Extra = Record<string, unknown>;

function build(s: Scenario, backend: 'native' | 'js', batches: OracleBatch[], extra: Extra) {
  const b = captureWarnings(() => new MaskBuilder({ ...s.config, dtype: s.dtype, backend, ...extra } as any)).result;
  for (const batch of batches) if (batch.tiles.length > 0) b.updateBatch(...batchArgs(s, batch));
  return b;
}

function share(s: Scenario, owner: number[][], part: number): OracleBatch[] {
  return s.batches.map((batch, i) => ({ ...batch, tiles: batch.tiles.filter((_, t) => owner[i][t] === part) }));
}

function mergeAll(parts: MaskBuilder<any>[], order: number[], tree: boolean): MaskBuilder<any> {
  let queue = order.map((i) => parts[i]);
  if (!tree) {
    for (const other of queue.slice(1)) queue[0].mergeFrom(other);
    return queue[0];
  }
  while (queue.length > 1) {
    const next: MaskBuilder<any>[] = [];
    for (let i = 0; i + 1 < queue.length; i += 2) {
      queue[i + 1].mergeFrom(queue[i]);
      next.push(queue[i + 1]);
    }
    if (queue.length % 2) next.push(queue[queue.length - 1]);
    queue = next;
  }
  return queue[0];
}

const splitArb = (sArb: fc.Arbitrary<Scenario>) =>
  sArb.chain((s) =>
    fc.integer({ min: 1, max: 4 }).chain((k) =>
      fc.record({
        s: fc.constant(s),
        k: fc.constant(k),
        owner: fc.tuple(
          ...s.batches.map((b) =>
            fc.array(fc.integer({ min: 0, max: k - 1 }), { minLength: b.tiles.length, maxLength: b.tiles.length }),
          ),
        ),
        order: fc.shuffledSubarray(
          Array.from({ length: k }, (_, i) => i),
          { minLength: k, maxLength: k },
        ),
        tree: fc.boolean(),
        backend: fc.constantFrom('native' as const, 'js' as const),
        viaFiles: fc.boolean(),
      }),
    ),
  );

type Split = {
  s: Scenario;
  k: number;
  owner: number[][];
  order: number[];
  tree: boolean;
  backend: 'native' | 'js';
  viaFiles: boolean;
};

function mergedOf(p: Split, extra: Extra, dir: string): MaskBuilder<any> {
  const parts = Array.from({ length: p.k }, (_, i) => build(p.s, p.backend, share(p.s, p.owner, i), extra));
  if (!p.viaFiles) return mergeAll(parts, p.order, p.tree);
  const dirs = p.order.map((i) => {
    const target = join(dir, `part-${i}`);
    parts[i].savePartial(target);
    return target;
  });
  return captureWarnings(() => MaskBuilder.loadPartials(dirs, { backend: p.backend })).result;
}

const eps = (dtype: 'float32' | 'float64') => (dtype === 'float32' ? 2 ** -24 : 2 ** -53);
const floats = () => fc.double({ min: -1e3, max: 1e3, noNaN: true, noDefaultInfinity: true });
const withAbsValues = (s: Scenario): Scenario => ({
  ...s,
  batches: s.batches.map((b) => ({ ...b, tiles: b.tiles.map((t) => ({ ...t, values: t.values.map(Math.abs) })) })),
});

test('weighted: random splits of quarter values under quarter weight maps merge bit for bit', () => {
  const { dir, remove } = scratchDir('merge-weighted-exact');
  let run = 0;
  try {
    fc.assert(
      fc.property(
        splitArb(scenarioArb(quarterValues)).chain((p) =>
          fc.record({ p: fc.constant(p), map: weightMapArb(footprintOf(p.s.config)) }),
        ),
        ({ p, map }) => {
          const extra = { weights: { data: map, shape: footprintOf(p.s.config) } };
          const single = build(p.s, p.backend, p.s.batches, extra);
          const merged = mergedOf(p as Split, extra, join(dir, String(run++)));
          expect(Array.from(merged.storage.data)).toEqual(Array.from(single.storage.data));
          expect(merged.tileCounts).toEqual(single.tileCounts);
          const [a, b] = [single.finalize(), merged.finalize()] as any[];
          expect(Array.from(b.weightSum.data)).toEqual(Array.from(a.weightSum.data));
          expect(Array.from(b.overlapCounter.data)).toEqual(Array.from(a.overlapCounter.data));
          expect(Array.from(b.mask.data)).toEqual(Array.from(a.mask.data));
        },
      ),
      { seed: PROPERTY_SEED + 10, numRuns: RUNS },
    );
  } finally {
    remove();
  }
});

test('weighted: merged weighted sums and weight sums of arbitrary floats stay within (2n + 2) * eps of one build', () => {
  const { dir, remove } = scratchDir('merge-weighted-bound');
  let run = 0;
  try {
    fc.assert(
      fc.property(
        splitArb(scenarioArb(floats)),
        fc.constantFrom<unknown>('gaussian', 'hann', 'triang', { type: 'gaussian', sigmaScale: 0.3 }),
        fc.constantFrom('mean', 'sum'),
        (p, weights, aggregation) => {
          const extra = { weights, aggregation };
          const single = build(p.s, p.backend, p.s.batches, extra);
          const merged = mergedOf(p as Split, extra, join(dir, String(run++)));
          const absolute = withAbsValues(p.s);
          const scale = build(absolute, p.backend, absolute.batches, extra).storage.data;
          const [x, y] = [single.storage.data, merged.storage.data];
          const [a, b] = [single.finalize(), merged.finalize()] as any[];
          const counts = a.overlapCounter.data;
          expect(Array.from(b.overlapCounter.data)).toEqual(Array.from(counts));
          const plane = counts.length;
          const e = eps(p.s.dtype);
          for (let i = 0; i < x.length; i++) {
            const n = counts[i % plane];
            expect(Math.abs(x[i] - y[i])).toBeLessThanOrEqual((2 * n + 2) * e * scale[i]);
          }
          for (let i = 0; i < plane; i++) {
            const n = counts[i];
            expect(Math.abs(a.weightSum.data[i] - b.weightSum.data[i])).toBeLessThanOrEqual(
              (2 * n + 2) * e * a.weightSum.data[i],
            );
          }
        },
      ),
      { seed: PROPERTY_SEED + 11, numRuns: RUNS },
    );
  } finally {
    remove();
  }
});

/** Largest |value| of the tiles landing on each pixel: the max of |x| over a build of |x|. */
function maxAbs(s: Scenario, backend: 'native' | 'js'): Float32Array | Float64Array {
  const absolute = withAbsValues(s);
  const b = build(absolute, backend, absolute.batches, { aggregation: 'max' });
  return b.finalize() as any;
}

test('variance: random splits merge (Chan et al.) to the single Welford build within the stated tolerance', () => {
  const { dir, remove } = scratchDir('merge-variance');
  let run = 0;
  try {
    fc.assert(
      fc.property(splitArb(scenarioArb(floats)), (p) => {
        const extra = { aggregation: 'variance' };
        const single = build(p.s, p.backend, p.s.batches, extra);
        const merged = mergedOf(p as Split, extra, join(dir, String(run++)));
        expect(merged.tileCounts).toEqual(single.tileCounts);
        const [a, b] = [single.finalize(), merged.finalize()] as any[];
        const counts = a.overlapCounter.data;
        expect(Array.from(b.overlapCounter.data)).toEqual(Array.from(counts));
        const big = (maxAbs(p.s, p.backend) as any).data as Float64Array;
        const plane = counts.length;
        const e = eps(p.s.dtype);
        for (let i = 0; i < a.mean.data.length; i++) {
          const n = counts[i % plane];
          const m = big[i];
          expect(Math.abs(a.mean.data[i] - b.mean.data[i])).toBeLessThanOrEqual(8 * n * e * m);
          expect(Math.abs(a.variance.data[i] - b.variance.data[i])).toBeLessThanOrEqual(32 * n * e * m * m);
        }
      }),
      { seed: PROPERTY_SEED + 12, numRuns: RUNS },
    );
  } finally {
    remove();
  }
});

test('variance: the merge is bit-identical between the backends', () => {
  const { dir, remove } = scratchDir('merge-variance-backends');
  let run = 0;
  try {
    fc.assert(
      fc.property(splitArb(scenarioArb(floats)), (p) => {
        const results = (['native', 'js'] as const).map((backend) => {
          const q = { ...p, backend } as Split;
          const merged = mergedOf(q, { aggregation: 'variance' }, join(dir, `${run}-${backend}`));
          const r = merged.finalize() as any;
          return [Array.from(r.mean.data), Array.from(r.variance.data), Array.from(r.overlapCounter.data)];
        });
        run++;
        expect(results[1]).toEqual(results[0]);
      }),
      { seed: PROPERTY_SEED + 13, numRuns: RUNS },
    );
  } finally {
    remove();
  }
});
