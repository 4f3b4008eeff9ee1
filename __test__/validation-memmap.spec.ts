// Memory-mapped storage refuses bad batches the same way, and its files stay bit-identical.
import { BAD_BATCHES, BAD_COORDS, BAD_EDGE_CLIPPING } from './helpers/bad-inputs';
import { expectRefused, expectRejected, seededBuilder } from './helpers/robust';
import { scratchDir } from './helpers/scratch';

const scratch = scratchDir('validation-memmap');
afterAll(() => scratch.remove());
const memmap = () => seededBuilder('native', { storage: 'memmap', tempDir: scratch.dir });
const cases = [...BAD_BATCHES, ...BAD_COORDS, ...BAD_EDGE_CLIPPING].map((c) => [c.what, c] as const);

test.each(cases)('%s (memmap)', (_what, c) => {
  const b = memmap();
  expectRefused(b, (x) => x.updateBatch(c.batch() as any, c.coords() as any, c.edgeClipping?.() as any), c.expected);
  b.cleanup();
});

test.each(cases)('%s (memmap, async)', async (_what, c) => {
  const b = memmap();
  await expectRejected(b, (x) => x.updateBatchAsync(c.batch() as any, c.coords() as any, c.edgeClipping?.() as any), c.expected);
  b.cleanup();
});
