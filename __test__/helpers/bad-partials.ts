// Bad partial states and merges, with what they must get: mismatched
// partials (another geometry, aggregation, dtype, counter, format version),
// corrupt or truncated files, bad loadPartials and mergeFrom arguments. Each
// `run` builds what it needs under `dir` for BASE_OPTIONS on `backend` and
// makes the refused call. validation-partials.spec.ts runs them on both
// backends; the README's bad-input table lists them (a spec checks it).
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MaskBuilder, type MaskBuilderOptions } from '../../src-ts/index';
import { type Backend, type Expected, makeBuilder, seededBuilder } from './robust';

export interface BadPartial {
  what: string;
  /** The refused call, for the table. */
  call: 'loadPartials' | 'mergeFrom' | 'savePartial';
  /** `into`: extra loadPartials options (e.g. a memmap target). */
  run: (dir: string, backend: Backend, into?: Partial<MaskBuilderOptions>) => unknown;
  expected: Expected;
}

const type = (code: string, ...message: (string | RegExp)[]): Expected => ({ type: 'TypeError', code, message });
const range = (code: string, ...message: (string | RegExp)[]): Expected => ({ type: 'RangeError', code, message });
const plain = (code: string, ...message: (string | RegExp)[]): Expected => ({ type: 'Error', code, message });

const MISMATCH = 'ERR_WSI_PARTIAL_MISMATCH';
const CORRUPT = 'ERR_WSI_PARTIAL_CORRUPT';

/** A saved partial of a seeded builder with `overrides`, at `dir/name`. */
export function savedPartial(dir: string, name: string, backend: Backend, overrides: Partial<MaskBuilderOptions> = {}): string {
  const b = seededBuilder(backend, overrides);
  const target = join(dir, name);
  b.savePartial(target);
  b.cleanup();
  return target;
}

function editManifest(partial: string, edit: (m: Record<string, unknown>) => void): void {
  const path = join(partial, 'manifest.json');
  const m = JSON.parse(readFileSync(path, 'utf8'));
  edit(m);
  writeFileSync(path, JSON.stringify(m));
}

/** A good partial and one of another build, merged together. */
const mismatched =
  (overrides: Partial<MaskBuilderOptions>) =>
  (dir: string, backend: Backend, into: Partial<MaskBuilderOptions> = {}): unknown => {
    const good = savedPartial(dir, 'good', backend);
    const other = savedPartial(dir, 'other', backend, overrides);
    return MaskBuilder.loadPartials([good, other], { backend, ...into });
  };

const corrupted =
  (damage: (partial: string) => void) =>
  (dir: string, backend: Backend, into: Partial<MaskBuilderOptions> = {}): unknown => {
    const good = savedPartial(dir, 'good', backend);
    const bad = savedPartial(dir, 'bad', backend);
    damage(bad);
    return MaskBuilder.loadPartials([good, bad], { backend, ...into });
  };

export const BAD_PARTIALS: BadPartial[] = [
  {
    what: 'partials of another stride',
    call: 'loadPartials',
    run: mismatched({ sourceExtents: [32, 48], stride: 8 }),
    expected: range(MISMATCH, 'stride:', 'has stride [8, 8], this builder [4, 4]'),
  },
  {
    what: 'partials of another aggregation',
    call: 'loadPartials',
    run: mismatched({ aggregation: 'max' }),
    expected: range(MISMATCH, 'aggregation:', 'has aggregation max, this builder mean'),
  },
  {
    what: 'partials of another dtype',
    call: 'loadPartials',
    run: mismatched({ dtype: 'float64' }),
    expected: range(MISMATCH, 'dtype:', 'has dtype float64, this builder float32'),
  },
  {
    what: 'partials of another counterDtype',
    call: 'loadPartials',
    run: mismatched({ counterDtype: 'uint32' }),
    expected: range(MISMATCH, 'counterDtype:', 'uint32'),
  },
  {
    what: 'partials of another nChannels',
    call: 'loadPartials',
    run: (dir, backend) => {
      const good = savedPartial(dir, 'good', backend);
      const b = makeBuilder(backend, { nChannels: 1 });
      b.savePartial(join(dir, 'other'));
      return MaskBuilder.loadPartials([good, join(dir, 'other')], { backend });
    },
    expected: range(MISMATCH, 'nChannels:', 'has nChannels 1, this builder 2'),
  },
  {
    what: 'a partial of another format version',
    call: 'loadPartials',
    run: corrupted((p) =>
      editManifest(p, (m) => {
        m.formatVersion = 3;
      }),
    ),
    expected: range(MISMATCH, 'formatVersion:', 'has formatVersion 3', 'reads 1 and 2'),
  },
  {
    what: 'partials of other weights',
    call: 'loadPartials',
    run: mismatched({ weights: 'gaussian' }),
    expected: range(MISMATCH, 'weights:', 'has weights {"type":"gaussian","sigmaScale":[0.125,0.125]}, this builder uniform'),
  },
  {
    what: 'weighted partials of another window',
    call: 'loadPartials',
    run: (dir, backend, into = {}) => {
      const hann = savedPartial(dir, 'hann', backend, { weights: 'hann' });
      const blackman = savedPartial(dir, 'blackman', backend, { weights: 'blackman' });
      return MaskBuilder.loadPartials([hann, blackman], { backend, ...into });
    },
    expected: range(MISMATCH, 'weights:', 'has weights {"type":"blackman","symmetric":false}', 'this builder {"type":"hann"'),
  },
  {
    what: 'partials of custom weight maps that differ',
    call: 'loadPartials',
    run: (dir, backend, into = {}) => {
      const map = (v: number) => ({ data: new Float64Array(16).fill(v).map((x, i) => x + i / 16), shape: [4, 4] });
      const a = savedPartial(dir, 'a', backend, { weights: map(1) });
      const b = savedPartial(dir, 'b', backend, { weights: map(2) });
      return MaskBuilder.loadPartials([a, b], { backend, ...into });
    },
    expected: range(MISMATCH, 'weights:', '"type":"map"', '"sha256"'),
  },
  {
    what: "a custom weight map file that does not match the manifest's digest",
    call: 'loadPartials',
    run: (dir, backend, into = {}) => {
      const weights = { data: new Float64Array(16).fill(0.5), shape: [4, 4] };
      const a = savedPartial(dir, 'a', backend, { weights });
      const path = join(a, 'weight_map.npy');
      const bytes = readFileSync(path);
      bytes[bytes.length - 1] ^= 0x40;
      writeFileSync(path, bytes);
      return MaskBuilder.loadPartials([a], { backend, ...into });
    },
    expected: range(CORRUPT, 'weight_map.npy', 'does not match the digest', 'weights.sha256'),
  },
  {
    what: 'a weighted partial without its weight_sum.npy',
    call: 'loadPartials',
    run: (dir, backend, into = {}) => {
      const good = savedPartial(dir, 'good', backend, { weights: 'gaussian' });
      const bad = savedPartial(dir, 'bad', backend, { weights: 'gaussian' });
      unlinkSync(join(bad, 'weight_sum.npy'));
      return MaskBuilder.loadPartials([good, bad], { backend, ...into });
    },
    expected: plain(CORRUPT, 'weight_sum.npy', /no such file/i),
  },
  {
    what: 'a truncated m2.npy (variance)',
    call: 'loadPartials',
    run: (dir, backend, into = {}) => {
      const good = savedPartial(dir, 'good', backend, { aggregation: 'variance' });
      const bad = savedPartial(dir, 'bad', backend, { aggregation: 'variance' });
      const path = join(bad, 'm2.npy');
      const bytes = readFileSync(path);
      writeFileSync(path, bytes.subarray(0, bytes.length - 8));
      return MaskBuilder.loadPartials([good, bad], { backend, ...into });
    },
    expected: range(CORRUPT, 'm2.npy', 'm2', 'truncated'),
  },
  {
    what: 'a partial whose manifest is not JSON',
    call: 'loadPartials',
    run: corrupted((p) => writeFileSync(join(p, 'manifest.json'), '{"format": "wsi-mask')),
    expected: range(CORRUPT, 'manifest.json', 'not valid JSON'),
  },
  {
    what: 'a partial whose manifest lacks a field',
    call: 'loadPartials',
    run: corrupted((p) =>
      editManifest(p, (m) => {
        delete m.region;
      }),
    ),
    expected: range(CORRUPT, 'manifest field region'),
  },
  {
    what: 'a directory without manifest.json',
    call: 'loadPartials',
    run: corrupted((p) => unlinkSync(join(p, 'manifest.json'))),
    expected: plain('ENOENT', 'manifest.json', 'not a complete partial'),
  },
  {
    what: 'a truncated accumulator.npy',
    call: 'loadPartials',
    run: corrupted((p) => {
      const path = join(p, 'accumulator.npy');
      const bytes = readFileSync(path);
      writeFileSync(path, bytes.subarray(0, bytes.length - 100));
    }),
    expected: range(CORRUPT, 'accumulator.npy', 'accumulator', 'truncated'),
  },
  {
    what: 'an overlap_counter.npy of another dtype',
    call: 'loadPartials',
    run: (dir, backend, into = {}) => {
      const good = savedPartial(dir, 'good', backend);
      const wide = savedPartial(dir, 'wide', backend, { counterDtype: 'uint32' });
      const bad = savedPartial(dir, 'bad', backend);
      writeFileSync(join(bad, 'overlap_counter.npy'), readFileSync(join(wide, 'overlap_counter.npy')));
      return MaskBuilder.loadPartials([good, bad], { backend, ...into });
    },
    expected: range(CORRUPT, 'overlap_counter.npy', 'overlapCounter', "'<u4'", 'uint16'),
  },
  {
    what: 'an accumulator.npy of another shape than the manifest says',
    call: 'loadPartials',
    run: corrupted((p) =>
      editManifest(p, (m) => {
        m.region = { start: [0, 0], extent: [8, 24] };
      }),
    ),
    expected: range(CORRUPT, 'accumulator.npy', 'has shape [2, 16, 24]', '[2, 8, 24]'),
  },
  {
    what: 'loadPartials with no partials',
    call: 'loadPartials',
    run: (_dir, backend) => MaskBuilder.loadPartials([], { backend }),
    expected: type('ERR_WSI_OPTION_TYPE', 'dirs must be a non-empty array', 'received []'),
  },
  {
    what: 'loadPartials options of another geometry',
    call: 'loadPartials',
    run: (dir, backend) => MaskBuilder.loadPartials([savedPartial(dir, 'good', backend)], { backend, stride: 8 }),
    expected: range(MISMATCH, 'stride:', 'has stride [4, 4], this builder [8, 8]'),
  },
  {
    what: 'loadPartials into a region that misses a partial',
    call: 'loadPartials',
    run: (dir, backend) =>
      MaskBuilder.loadPartials([savedPartial(dir, 'good', backend)], { backend, region: { start: [0, 0], extent: [8, 24] } }),
    expected: range(MISMATCH, 'region:', 'outside the one this builder holds'),
  },
  {
    what: 'mergeFrom a builder of another geometry',
    call: 'mergeFrom',
    run: (_dir, backend) => seededBuilder(backend).mergeFrom(makeBuilder(backend, { sourceExtents: [32, 40] })),
    expected: range(MISMATCH, 'sourceExtents:', 'the other builder has sourceExtents [32, 40], this builder [32, 48]'),
  },
  {
    what: 'mergeFrom a builder whose region lies outside',
    call: 'mergeFrom',
    run: (_dir, backend) =>
      makeBuilder(backend, { region: { start: [0, 0], extent: [8, 24] } }).mergeFrom(
        makeBuilder(backend, { region: { start: [4, 0], extent: [8, 24] } }),
      ),
    expected: range(MISMATCH, 'region:', 'must lie inside the region this builder holds (start [0, 0] extent [8, 24])'),
  },
  {
    what: 'mergeFrom a builder of other weights',
    call: 'mergeFrom',
    run: (_dir, backend) =>
      seededBuilder(backend, { weights: 'hann' }).mergeFrom(seededBuilder(backend, { weights: 'gaussian' })),
    expected: range(
      MISMATCH,
      'weights:',
      'the other builder has weights {"type":"gaussian"',
      'this builder {"type":"hann","symmetric":false}',
    ),
  },
  {
    what: 'mergeFrom itself',
    call: 'mergeFrom',
    run: (_dir, backend) => {
      const b = seededBuilder(backend);
      return b.mergeFrom(b);
    },
    expected: type(MISMATCH, 'a builder cannot merge itself'),
  },
  {
    what: 'mergeFrom something that is not a MaskBuilder',
    call: 'mergeFrom',
    run: (_dir, backend) => seededBuilder(backend).mergeFrom({ storage: {} } as any),
    expected: type('ERR_WSI_OPTION_TYPE', 'mergeFrom needs another MaskBuilder', 'received an object'),
  },
  {
    what: 'mergeFrom a finalized builder',
    call: 'mergeFrom',
    run: (_dir, backend) => {
      const done = seededBuilder(backend);
      done.finalize();
      return seededBuilder(backend).mergeFrom(done);
    },
    expected: plain('ERR_WSI_FINALIZED', 'mergeFrom (the other builder) after finalize()'),
  },
  {
    what: 'merging past the uint16 overlap counter',
    call: 'mergeFrom',
    run: (_dir, backend) => {
      const options = { sourceExtents: [4, 8], sourceTileExtent: 4, outputTileExtent: 1, stride: 4, backend } as const;
      const stack = (n: number) =>
        [
          { data: new Float32Array(n), shape: [n, 1] },
          { data: new Int32Array(2 * n), shape: [n, 2] },
        ] as const;
      const a = new MaskBuilder(options);
      const b = new MaskBuilder(options);
      a.updateBatch(...stack(40000));
      b.updateBatch(...stack(30000));
      return a.mergeFrom(b);
    },
    expected: range('ERR_WSI_COUNTER_OVERFLOW', 'past 65535', 'nothing was merged', "counterDtype: 'uint32'"),
  },
  {
    what: 'savePartial into an existing directory',
    call: 'savePartial',
    run: (dir, backend) => seededBuilder(backend).savePartial(dir),
    expected: plain('EEXIST', 'already exists; refusing to overwrite it'),
  },
  {
    what: 'savePartial after finalize',
    call: 'savePartial',
    run: (dir, backend) => {
      const b = seededBuilder(backend);
      b.finalize();
      return b.savePartial(join(dir, 'late'));
    },
    expected: plain('ERR_WSI_FINALIZED', 'savePartial after finalize()'),
  },
];
