// The two backends answer every bad input that reaches them identically:
// same class, same code, same message, and both leave the storage as it was.
// They are driven directly with the inputs the facade normalized (the native
// messages come from the Rust core, the js ones from src-ts/js), so shared
// facade code cannot make them agree by answering for both. Rows the facade
// already refuses never reach a backend and are covered by the bad-input
// specs.
import type { Backend } from '../src-ts/backend';
import { normalizeBatch, normalizeCoords, normalizeEdgeClipping } from '../src-ts/inputs';
import { JsBackend } from '../src-ts/js/js-backend';
import { loadNative, NativeBackend } from '../src-ts/native-backend';
import { type ResolvedOptions, resolveOptions } from '../src-ts/options';
import { BAD_BATCHES, BAD_COORDS, BAD_EDGE_CLIPPING, BAD_OPTIONS, type BadBatch } from './helpers/bad-inputs';
import { BASE_OPTIONS, denseBatch, diagonalCoords, thrownBy } from './helpers/robust';

const native = loadNative();
if (!native) throw new Error('this spec compares the backends: build the native addon with `npm run build:native`');

const summary = (e: unknown) => {
  const error = e as Error & { code?: string };
  return { name: error?.name, code: error?.code, message: error?.message };
};

function backends(options: ResolvedOptions): Backend[] {
  return [new NativeBackend(options, native!), new JsBackend(options)];
}

/** Normalized arguments, or null where the facade itself refuses the row. */
function normalized(c: BadBatch, options: ResolvedOptions) {
  try {
    const ndim = options.sourceExtents.length;
    return [
      normalizeBatch(c.batch(), options.dtype),
      normalizeCoords(c.coords(), ndim),
      normalizeEdgeClipping(c.edgeClipping?.(), ndim),
    ] as const;
  } catch {
    return null;
  }
}

function seed(b: Backend, options: ResolvedOptions): void {
  const ndim = options.sourceExtents.length;
  b.updateBatch(
    normalizeBatch(denseBatch(3), options.dtype),
    normalizeCoords(diagonalCoords(3), ndim),
    normalizeEdgeClipping(undefined, ndim),
  );
}

const base = resolveOptions({ ...BASE_OPTIONS });
const reaching = [...BAD_BATCHES, ...BAD_COORDS, ...BAD_EDGE_CLIPPING].filter((c) => normalized(c, base) !== null);

test('enough bad batches reach the backends for this comparison to mean something', () => {
  expect(reaching.length).toBeGreaterThanOrEqual(10);
});

test.each(reaching.map((c) => [c.what, c] as const))('batch: %s', (_what, c) => {
  const answers = backends(base).map((b) => {
    seed(b, base);
    const before = Array.from(b.storage().data);
    const args = normalized(c, base)!;
    const error = thrownBy(() => b.updateBatch(...args));
    expect(error).toBeDefined();
    expect(Array.from(b.storage().data)).toEqual(before);
    b.cleanup();
    return summary(error);
  });
  expect(answers[0]).toEqual(answers[1]);
  expect(answers[0].code).toBe(c.expected.code);
});

const optionCases = BAD_OPTIONS.flatMap((c) => {
  if (c.whole) return [];
  try {
    const resolved = resolveOptions({ ...BASE_OPTIONS, ...(c.options as object) });
    return resolved.storage === 'inmemory' ? [[c.what, c, resolved] as const] : [];
  } catch {
    return [];
  }
});

test('some bad options reach the backends', () => {
  expect(optionCases.length).toBeGreaterThanOrEqual(2);
});

test.each(optionCases)('options: %s', (_what, c, resolved) => {
  const answers = [() => new NativeBackend(resolved, native!), () => new JsBackend(resolved)].map((make) => {
    const error = thrownBy(make);
    expect(error).toBeDefined();
    return summary(error);
  });
  expect(answers[0]).toEqual(answers[1]);
  expect(answers[0].code).toBe(c.expected.code);
});
