// Shared by the robustness specs: both backends, builders with some data in
// them, and byte-exact snapshots to prove a rejected call wrote nothing.
import { MaskBuilder, type MaskBuilderOptions } from '../../src-ts/index';

export const BACKENDS = ['native', 'js'] as const;
export type Backend = (typeof BACKENDS)[number];

/** Fixed so that every property run is reproducible. */
export const PROPERTY_SEED = 20240611;
export const PROPERTY_RUNS = 1000;

/**
 * A 2-D mean builder, mask [16, 24] with 2 channels: tile 8, stride 4,
 * output tile 4 (mask stride 2, upscale 1). Coordinates up to [27, 43] fit.
 */
export const BASE_OPTIONS = {
  sourceExtents: [32, 48],
  sourceTileExtent: 8,
  outputTileExtent: 4,
  stride: 4,
  nChannels: 2,
} as const;

export function makeBuilder(backend: Backend, overrides: Partial<MaskBuilderOptions> = {}): MaskBuilder<any> {
  return new MaskBuilder({ ...BASE_OPTIONS, ...overrides, backend } as MaskBuilderOptions);
}

/** A valid dense batch of `tiles` tiles for BASE_OPTIONS with distinct values. */
export function denseBatch(tiles = 2, Float: Float32ArrayConstructor | Float64ArrayConstructor = Float32Array) {
  const data = new Float(tiles * 2 * 4 * 4);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 37) % 101) / 8 - 3;
  return { data, shape: [tiles, 2, 4, 4] };
}

/** Coordinates for `tiles` tiles along the diagonal of BASE_OPTIONS' grid. */
export function diagonalCoords(tiles = 2) {
  const data = new Int32Array(tiles * 2);
  for (let t = 0; t < tiles; t++) data.set([4 * t, 4 * t], 2 * t);
  return { data, shape: [tiles, 2] };
}

/** A builder that already holds two batches, so a stray write would show. */
export function seededBuilder(backend: Backend, overrides: Partial<MaskBuilderOptions> = {}): MaskBuilder<any> {
  const b = makeBuilder(backend, overrides);
  const Float = b.dtype === 'float64' ? Float64Array : Float32Array;
  b.updateBatch(denseBatch(3, Float), diagonalCoords(3));
  b.updateBatch(denseBatch(2, Float), { data: new Int32Array([8, 20, 12, 0]), shape: [2, 2] }, [
    [1, 0],
    [0, 2],
  ]);
  return b;
}

export interface Snapshot {
  storage: Uint8Array;
  counter: Uint8Array | null;
}

const bytesOf = (view: ArrayBufferView) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();

/** Copies of the accumulator and counter bytes. */
export function snapshot(b: MaskBuilder<any>): Snapshot {
  const counter = b.overlapCounter;
  return { storage: bytesOf(b.storage.data), counter: counter ? bytesOf(counter.data) : null };
}

/** Asserts the builder's bytes equal `before`, bit for bit. */
export function expectUnchanged(b: MaskBuilder<any>, before: Snapshot): void {
  const after = snapshot(b);
  expect(Buffer.compare(after.storage, before.storage)).toBe(0);
  if (before.counter === null) expect(after.counter).toBeNull();
  else expect(Buffer.compare(after.counter!, before.counter)).toBe(0);
}

export interface Expected {
  /** `TypeError`, `RangeError` or `Error` (lifecycle). */
  type: 'TypeError' | 'RangeError' | 'Error';
  code: string;
  /** Pieces the message must contain (argument, expected, received). */
  message?: (string | RegExp)[];
}

/** Asserts `error` is exactly the expected class, with the code and message pieces. */
export function expectError(error: unknown, expected: Expected): void {
  expect(error).toBeDefined();
  const e = error as Error & { code?: string };
  // Compare by name: errors thrown by the addon may come from another realm than jest's globals.
  expect(e.constructor.name).toBe(expected.type);
  expect(e.name).toBe(expected.type);
  expect(e.code).toBe(expected.code);
  for (const piece of expected.message ?? []) {
    if (typeof piece === 'string') expect(e.message).toContain(piece);
    else expect(e.message).toMatch(piece);
  }
}

/** What `call` threw; fails if it returned. */
export function thrownBy(call: () => unknown): unknown {
  try {
    call();
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to throw, but it returned');
}

/** What `promise` rejected with; fails if it resolved. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

/**
 * Runs `call` on a seeded builder of `backend`, asserts it throws the
 * expected error, and that storage and counter did not change by a bit.
 */
export function expectRefused(b: MaskBuilder<any>, call: (b: MaskBuilder<any>) => unknown, expected: Expected): Error {
  const before = snapshot(b);
  const error = thrownBy(() => call(b));
  expectError(error, expected);
  expectUnchanged(b, before);
  return error as Error;
}

/** The same for `updateBatchAsync`: it must reject (not throw) and change nothing. */
export async function expectRejected(
  b: MaskBuilder<any>,
  call: (b: MaskBuilder<any>) => Promise<unknown>,
  expected: Expected,
): Promise<Error> {
  const before = snapshot(b);
  let promise: Promise<unknown> | undefined;
  expect(() => {
    promise = call(b);
  }).not.toThrow();
  const error = await rejectionOf(promise!);
  expectError(error, expected);
  expect(b.pending).toBe(0);
  expectUnchanged(b, before);
  return error as Error;
}

/** Silences and records `process.emitWarning` while `run` executes. */
export function captureWarnings<T>(run: () => T): { result: T; warnings: { message: string; code?: string }[] } {
  const warnings: { message: string; code?: string }[] = [];
  const spy = jest.spyOn(process, 'emitWarning').mockImplementation(((warning: string | Error, options?: unknown) => {
    const code = typeof options === 'object' && options !== null ? (options as { code?: string }).code : undefined;
    warnings.push({ message: String(warning), code });
  }) as typeof process.emitWarning);
  try {
    return { result: run(), warnings };
  } finally {
    spy.mockRestore();
  }
}
