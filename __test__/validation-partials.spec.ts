// Mismatched, corrupt and truncated partials, bad merges and bad saves are
// refused with the error the table names, on both backends, and nothing is
// half-merged: a refused mergeFrom leaves the builder bit-identical, and a
// refused loadPartials into a memory-mapped file leaves no file behind.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MaskBuilder } from '../src-ts/index';
import { BAD_PARTIALS, savedPartial } from './helpers/bad-partials';
import { BACKENDS, expectError, expectUnchanged, makeBuilder, seededBuilder, snapshot, thrownBy } from './helpers/robust';
import { scratchDir } from './helpers/scratch';

describe.each(BACKENDS)('%s backend', (backend) => {
  test.each(BAD_PARTIALS.map((c) => [c.what, c] as const))('%s', (_what, c) => {
    const { dir, remove } = scratchDir('bad-partial');
    try {
      expectError(
        thrownBy(() => c.run(dir, backend)),
        c.expected,
      );
    } finally {
      remove();
    }
  });

  test('a refused mergeFrom changes nothing', () => {
    const target = seededBuilder(backend);
    const before = snapshot(target);
    const outside = makeBuilder(backend, { region: { start: [4, 0], extent: [8, 24] } });
    thrownBy(() => makeBuilder(backend, { region: { start: [0, 0], extent: [8, 24] } }).mergeFrom(outside));
    thrownBy(() => target.mergeFrom(makeBuilder(backend, { dtype: 'float64' })));
    expectUnchanged(target, before);
    expect(target.tileCounts).toEqual({ applied: 5, skipped: 0 });
  });

  test('savePartial leaves no directory behind when refused, and a good save appears whole', () => {
    const { dir, remove } = scratchDir('save-refused');
    try {
      const b = seededBuilder(backend);
      b.finalize();
      thrownBy(() => b.savePartial(join(dir, 'late')));
      expect(readdirSync(dir)).toEqual([]);
      const good = savedPartial(dir, 'good', backend);
      expect(readdirSync(dir)).toEqual(['good']);
      expect(readdirSync(good).sort()).toEqual(['accumulator.npy', 'manifest.json', 'overlap_counter.npy']);
    } finally {
      remove();
    }
  });
});

test.each(BAD_PARTIALS.filter((c) => c.call === 'loadPartials').map((c) => [c.what, c] as const))(
  'refused loadPartials into a memory-mapped file leaves no file: %s',
  (_what, c) => {
    const { dir, remove } = scratchDir('bad-partial-memmap');
    try {
      const filename = join(dir, 'merged.npy');
      expectError(
        thrownBy(() => c.run(dir, 'native', { storage: 'memmap', filename })),
        c.expected,
      );
      expect(existsSync(filename)).toBe(false);
      expect(existsSync(join(dir, 'merged.overlaps.npy'))).toBe(false);
    } finally {
      remove();
    }
  },
);

test('mergeFrom across backends points to savePartial and loadPartials', () => {
  const native = seededBuilder('native');
  const js = seededBuilder('js');
  for (const [a, b] of [
    [native, js],
    [js, native],
  ]) {
    const e = thrownBy(() => a.mergeFrom(b)) as Error & { code: string };
    expect(e.code).toBe('ERR_WSI_PARTIAL_MISMATCH');
    expect(e.message).toContain('MaskBuilder.loadPartials()');
  }
  void MaskBuilder;
});
