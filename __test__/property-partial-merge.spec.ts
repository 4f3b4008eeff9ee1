// Property: split a random tile set (random geometry, 1-3 dimensions,
// clipping, scalar or dense tiles, dtype) at random over k builders, merge
// their states in a random order (a chain or a random tree of mergeFrom, or
// savePartial + loadPartials in a shuffled order) and the result is the
// single build's: overlap counts and maxima exactly, mean sums to within
// the stated float bound (exactly for values whose sums are exact). And a
// random grid of region shards, each given every tile, assembles into the
// single build bit for bit.

import { join } from 'node:path';
import fc from 'fast-check';
import { MaskBuilder, planRegions } from '../src-ts/index';
import { batchArgs, quarterValues, type Scenario, scenarioArb } from './helpers/arbitraries';
import type { OracleBatch } from './helpers/oracle';
import { captureWarnings, PROPERTY_SEED } from './helpers/robust';
import { scratchDir } from './helpers/scratch';

const RUNS = 60;

type Aggregation = 'mean' | 'max';

function build(s: Scenario, aggregation: Aggregation, backend: 'native' | 'js', batches: OracleBatch[], extra = {}) {
  const b = captureWarnings(() => new MaskBuilder({ ...s.config, dtype: s.dtype, aggregation, backend, ...extra } as any)).result;
  for (const batch of batches) if (batch.tiles.length > 0) b.updateBatch(...batchArgs(s, batch));
  return b;
}

/** `s`'s batches with each tile kept by part `part` only, per `owner`. */
function share(s: Scenario, owner: number[][], part: number): OracleBatch[] {
  return s.batches.map((batch, i) => ({ ...batch, tiles: batch.tiles.filter((_, t) => owner[i][t] === part) }));
}

/** Merges `parts` in the order `order`: one chain into the first, or pairs merged up a random tree. */
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

function storage(b: MaskBuilder<any>): { values: number[]; counts: number[] | null } {
  const counter = b.overlapCounter;
  return { values: Array.from(b.storage.data), counts: counter ? Array.from(counter.data) : null };
}

const machineEpsilon = (dtype: 'float32' | 'float64') => (dtype === 'float32' ? 2 ** -24 : 2 ** -53);

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
        aggregation: fc.constantFrom<Aggregation>('mean', 'max'),
        backend: fc.constantFrom('native' as const, 'js' as const),
        viaFiles: fc.boolean(),
      }),
    ),
  );

function mergedOf(
  { s, k, owner, order, tree, aggregation, backend, viaFiles }: fc.RecordValue<any> & { s: Scenario },
  dir: string,
): MaskBuilder<any> {
  const parts = Array.from({ length: k }, (_, p) => build(s, aggregation, backend, share(s, owner, p)));
  if (!viaFiles) return mergeAll(parts, order, tree);
  const dirs = order.map((p: number) => {
    const target = join(dir, `part-${p}`);
    parts[p].savePartial(target);
    return target;
  });
  return captureWarnings(() => MaskBuilder.loadPartials(dirs, { backend })).result;
}

test('merging random splits in random orders equals one build (counts and maxima exactly)', () => {
  const { dir, remove } = scratchDir('merge-prop');
  let run = 0;
  try {
    fc.assert(
      fc.property(splitArb(scenarioArb(quarterValues)), (p) => {
        const single = build(p.s, p.aggregation, p.backend, p.s.batches);
        const merged = mergedOf(p, join(dir, String(run++)));
        // Quarter values sum exactly, so even mean sums are bit-identical.
        expect(storage(merged)).toEqual(storage(single));
        expect(merged.tileCounts).toEqual(single.tileCounts);
        expect(merged.finalize()).toEqual(single.finalize());
      }),
      { seed: PROPERTY_SEED, numRuns: RUNS },
    );
  } finally {
    remove();
  }
});

test('merged sums of arbitrary floats stay within (2n + 2) * eps * sum(|x|) of one build (n tiles at the pixel)', () => {
  const { dir, remove } = scratchDir('merge-bound');
  let run = 0;
  const floats = () => fc.double({ min: -1e3, max: 1e3, noNaN: true, noDefaultInfinity: true });
  try {
    fc.assert(
      fc.property(splitArb(scenarioArb(floats)), (p) => {
        const q = { ...p, aggregation: 'mean' as const };
        const single = build(q.s, 'mean', q.backend, q.s.batches);
        const merged = mergedOf(q, join(dir, String(run++)));
        // Un-normalized sums (the mean's state); sums of |x| per pixel set the scale of each pixel's rounding error.
        const absolute: Scenario = {
          ...q.s,
          batches: q.s.batches.map((b) => ({ ...b, tiles: b.tiles.map((t) => ({ ...t, values: t.values.map(Math.abs) })) })),
        };
        const scale = build(absolute, 'mean', q.backend, absolute.batches).storage.data;
        const counts = single.overlapCounter!.data;
        expect(Array.from(merged.overlapCounter!.data)).toEqual(Array.from(counts));
        const a = single.storage.data;
        const b = merged.storage.data;
        const plane = counts.length;
        const eps = machineEpsilon(q.s.dtype);
        for (let i = 0; i < a.length; i++) {
          const n = counts[i % plane];
          expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual((2 * n + 2) * eps * scale[i]);
        }
      }),
      { seed: PROPERTY_SEED + 1, numRuns: RUNS },
    );
  } finally {
    remove();
  }
});

test('a random grid of region shards assembles into one build by placement, bit for bit', () => {
  const { dir, remove } = scratchDir('shards-prop');
  let run = 0;
  const floats = () => fc.double({ min: -1e3, max: 1e3, noNaN: true, noDefaultInfinity: true });
  try {
    fc.assert(
      fc.property(
        scenarioArb(floats),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
        fc.constantFrom<Aggregation>('mean', 'max'),
        fc.constantFrom('native' as const, 'js' as const),
        fc.boolean(),
        (s, gridWish, aggregation, backend, viaFiles) => {
          const single = build(s, aggregation, backend, s.batches);
          const extents = single.maskExtents;
          const grid = extents.map((e, d) => Math.min(gridWish[d] ?? 1, e));
          const plan = planRegions({ ...s.config } as any, { grid });
          const shards = plan.shards.map((shard) => build(s, aggregation, backend, s.batches, { region: shard.region }));
          const given = s.batches.reduce((a, b) => a + b.tiles.length, 0);
          for (const shard of shards) {
            const counts = shard.tileCounts;
            expect(counts.applied + counts.skipped).toBe(given);
          }
          let merged: MaskBuilder<any>;
          if (viaFiles) {
            const base = join(dir, String(run++));
            const dirs = shards.map((shard, i) => {
              shard.savePartial(join(base, `shard-${i}`));
              return join(base, `shard-${i}`);
            });
            merged = captureWarnings(() => MaskBuilder.loadPartials(dirs, { backend })).result;
          } else {
            merged = captureWarnings(() => new MaskBuilder({ ...s.config, dtype: s.dtype, aggregation, backend } as any)).result;
            for (const shard of shards) merged.mergeFrom(shard);
          }
          const bits = (b: MaskBuilder<any>) => Array.from(new Uint8Array(b.storage.data.buffer.slice(0)));
          expect(bits(merged)).toEqual(bits(single));
          expect(merged.overlapCounter?.data).toEqual(single.overlapCounter?.data);
        },
      ),
      { seed: PROPERTY_SEED + 2, numRuns: RUNS },
    );
  } finally {
    remove();
  }
});
