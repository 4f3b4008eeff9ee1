// The two backends answer every bad input identically: same class, same
// code, same message (the native messages come from the Rust core, the js
// ones from src-ts/js; a drift in either shows here).
import { MaskBuilder } from '../src-ts/index';
import { BAD_BATCHES, BAD_COORDS, BAD_EDGE_CLIPPING, BAD_OPTIONS, type BadBatch } from './helpers/bad-inputs';
import { BASE_OPTIONS, seededBuilder, thrownBy } from './helpers/robust';

const summary = (e: unknown) => {
  const error = e as Error & { code?: string };
  return { name: error.name, code: error.code, message: error.message };
};

const batchCases = [...BAD_BATCHES, ...BAD_COORDS, ...BAD_EDGE_CLIPPING].map((c) => [c.what, c] as const);

test.each(batchCases)('%s', (_what, c: BadBatch) => {
  const [native, js] = (['native', 'js'] as const).map((backend) =>
    summary(thrownBy(() => seededBuilder(backend).updateBatch(c.batch() as any, c.coords() as any, c.edgeClipping?.() as any))),
  );
  expect(native).toEqual(js);
});

test.each(BAD_OPTIONS.map((c) => [c.what, c] as const))('options: %s', (_what, c) => {
  const [native, js] = (['native', 'js'] as const).map((backend) =>
    summary(
      thrownBy(() => new MaskBuilder((c.whole ? c.options : { ...BASE_OPTIONS, backend, ...(c.options as object) }) as any)),
    ),
  );
  expect(native).toEqual(js);
});
