// A memmap builder whose derived overlap-counter path (heat.npy -> heat.overlaps.npy) exists: the EEXIST says
// it is the counter's path and names overlapCounterFilename; nothing is created or changed.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MaskBuilder } from '../src-ts/index';
import { expectError, thrownBy } from './helpers/robust';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsi-counter-path-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const options = (extra: object) => ({
  sourceExtents: [64, 64],
  sourceTileExtent: 16,
  outputTileExtent: 1,
  stride: 16,
  storage: 'memmap' as const,
  ...extra,
});

test('an existing derived .overlaps.npy path is refused with a hint to overlapCounterFilename', () => {
  const counter = join(dir, 'heat.overlaps.npy');
  writeFileSync(counter, 'keep me');
  const error = thrownBy(() => new MaskBuilder(options({ filename: join(dir, 'heat.npy') })));
  expectError(error, {
    type: 'Error',
    code: 'EEXIST',
    message: [counter, "overlap counter's path, derived from filename", 'overlapCounterFilename'],
  });
  expect(existsSync(join(dir, 'heat.npy'))).toBe(false);
  expect(readFileSync(counter, 'utf8')).toBe('keep me');
  // The hint's fix works.
  const b = new MaskBuilder(options({ filename: join(dir, 'heat.npy'), overlapCounterFilename: join(dir, 'counts.npy') }));
  b.finalize();
  b.cleanup();
});

test('an existing mask path gets no counter hint', () => {
  writeFileSync(join(dir, 'heat.npy'), 'x');
  const error = thrownBy(() => new MaskBuilder(options({ filename: join(dir, 'heat.npy') }))) as Error;
  expect((error as Error & { code: string }).code).toBe('EEXIST');
  expect(error.message).not.toContain('overlapCounterFilename');
});
