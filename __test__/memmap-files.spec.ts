// Where memory-mapped storage puts its files, and what it refuses to touch.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MaskBuilder, MaxAggregator, parseNpyHeader, readNpy } from '../src-ts/index';
import { scratchDir } from './helpers/scratch';

const geometry = { sourceExtents: [64, 64], sourceTileExtent: 16, outputTileExtent: 16, stride: 8, nChannels: 2 };
const tile = (value: number) => ({ data: new Float32Array(2 * 16 * 16).fill(value), shape: [1, 2, 16, 16] });
let scratch: ReturnType<typeof scratchDir>;
beforeEach(() => {
  scratch = scratchDir('memmap-files');
});
afterEach(() => scratch.remove());

test('temporary files never show in the temp directory and are gone after cleanup', () => {
  const b = new MaskBuilder({ ...geometry, storage: 'memmap', tempDir: scratch.dir });
  // The mean's counter file comes at finalize (its counts are tile rectangles until then).
  expect(b.files).toHaveLength(1);
  b.updateBatch(tile(1), [[0, 0]]);
  // Unlinked at creation (Unix): nothing to leak even if the process dies.
  expect(readdirSync(scratch.dir)).toEqual([]);
  b.finalize();
  expect(b.files).toHaveLength(2);
  expect(b.files.every((f) => f.temporary)).toBe(true);
  expect(readdirSync(scratch.dir)).toEqual([]);
  b.cleanup();
  expect(readdirSync(scratch.dir)).toEqual([]);
});

test('a named mask persists after cleanup with its counter beside it', () => {
  const filename = join(scratch.dir, 'heat.npy');
  const b = new MaskBuilder({ ...geometry, storage: 'memmap', filename });
  expect(b.files.map((f) => f.path)).toEqual([filename]);
  b.updateBatch(tile(3), [[8, 8]]);
  b.finalize();
  expect(b.files.map((f) => f.path)).toEqual([filename, join(scratch.dir, 'heat.overlaps.npy')]);
  b.cleanup();
  const mask = readNpy(filename);
  expect(mask.shape).toEqual([2, 64, 64]);
  expect(mask.header.version).toEqual([3, 0]);
  expect(mask.header.dataOffset % 64).toBe(0);
  expect(mask.data[8 * 64 + 8]).toBe(3);
  const counter = readNpy(join(scratch.dir, 'heat.overlaps.npy'));
  expect(counter.dtype).toBe('uint16');
  expect(counter.data[8 * 64 + 8]).toBe(1);
});

test('overlapCounterFilename and npyVersion are honoured', () => {
  const filename = join(scratch.dir, 'm.npy');
  const overlapCounterFilename = join(scratch.dir, 'counts.npy');
  const b = new MaskBuilder({ ...geometry, storage: 'memmap', filename, overlapCounterFilename, npyVersion: 1 });
  b.cleanup();
  expect(parseNpyHeader(readFileSync(filename)).version).toEqual([1, 0]);
  expect(parseNpyHeader(readFileSync(overlapCounterFilename)).shape).toEqual([1, 64, 64]);
});

test('max keeps a single file', () => {
  const filename = join(scratch.dir, 'max.npy');
  const b = new MaskBuilder({ ...geometry, storage: 'memmap', filename, aggregation: MaxAggregator });
  expect(b.files).toHaveLength(1);
  b.updateBatch(tile(-2), [[0, 0]]);
  const mask = b.finalize();
  expect(mask.data[0]).toBe(-2);
  expect(mask.data[63]).toBe(0);
  b.cleanup();
  // Besides the mask, only its geometry sidecar (for later exports).
  expect(readdirSync(scratch.dir).sort()).toEqual(['max.npy', 'max.npy.json']);
});

test.each([
  ['the mask', 'heat.npy'],
  ['the counter', 'heat.overlaps.npy'],
])('an existing %s path is refused with EEXIST and nothing is touched', (_what, existing) => {
  const path = join(scratch.dir, existing);
  writeFileSync(path, 'precious');
  expect(() => new MaskBuilder({ ...geometry, storage: 'memmap', filename: join(scratch.dir, 'heat.npy') })).toThrow(
    expect.objectContaining({ code: 'EEXIST' }),
  );
  expect(readdirSync(scratch.dir)).toEqual([existing]);
  expect(readFileSync(path, 'utf8')).toBe('precious');
});

test('memmap options are refused for other storage, and memmap on the JS backend', () => {
  expect(() => new MaskBuilder({ ...geometry, filename: join(scratch.dir, 'x.npy') })).toThrow(
    expect.objectContaining({ name: 'TypeError', code: 'ERR_WSI_OPTION_TYPE' }),
  );
  expect(() => new MaskBuilder({ ...geometry, storage: 'memmap', backend: 'js' })).toThrow(
    expect.objectContaining({ code: 'ERR_WSI_STORAGE' }),
  );
  expect(existsSync(join(scratch.dir, 'x.npy'))).toBe(false);
});
