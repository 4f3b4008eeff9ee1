// Property: the JavaScript NPY header parser answers arbitrary bytes, and
// mutations of valid headers, with a header that lies inside the input or an
// ERR_WSI_NPY_FORMAT RangeError; nothing else escapes. (The Rust parser is
// fuzzed in crates/core/tests/npy_fuzz.rs.)
import fc from 'fast-check';
import { encodeNpyHeader, parseNpyHeader } from '../src-ts/npy';
import { PROPERTY_RUNS, PROPERTY_SEED } from './helpers/robust';

function parsesOrRefuses(bytes: Uint8Array): boolean {
  try {
    const header = parseNpyHeader(bytes);
    expect(header.dataOffset).toBeLessThanOrEqual(bytes.length);
    for (const d of header.shape) expect(Number.isSafeInteger(d) && d >= 0).toBe(true);
    return true;
  } catch (e) {
    const error = e as Error & { code?: string };
    if (error.name !== 'RangeError' || error.code !== 'ERR_WSI_NPY_FORMAT') throw e;
    return false;
  }
}

const validHeader = fc
  .record({
    descr: fc.constantFrom('<f4', '<f8', '|u1', '<u2', '<u4', '<i4', '<i8'),
    shape: fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 4 }),
    version: fc.constantFrom(1 as const, 2 as const, 3 as const),
  })
  .map(({ descr, shape, version }) => encodeNpyHeader(descr, shape, version));

test('arbitrary bytes parse or are refused with ERR_WSI_NPY_FORMAT', () => {
  const prefixed = fc
    .tuple(fc.constantFrom(1, 2, 3, 4), fc.uint8Array({ maxLength: 300 }))
    .map(([major, rest]) => Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0, ...rest]));
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), prefixed), (bytes) => {
      parsesOrRefuses(bytes);
    }),
    { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS },
  );
});

test('mutated valid headers parse or are refused with ERR_WSI_NPY_FORMAT', () => {
  const mutation = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'cut', 'insert'));
  fc.assert(
    fc.property(validHeader, fc.array(mutation, { minLength: 1, maxLength: 6 }), (header, mutations) => {
      let bytes = Array.from(header);
      for (const [at, value, kind] of mutations) {
        const i = at % (bytes.length + 1);
        if (kind === 'set' && i < bytes.length) bytes[i] = value;
        else if (kind === 'cut') bytes = bytes.slice(0, i);
        else bytes.splice(i, 0, value);
      }
      parsesOrRefuses(Uint8Array.from(bytes));
    }),
    { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS },
  );
});

test('encoded headers round trip', () => {
  fc.assert(
    fc.property(validHeader, (header) => {
      expect(parsesOrRefuses(header)).toBe(true);
      expect(parseNpyHeader(header).dataOffset).toBe(header.length);
    }),
    { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS },
  );
});
