// resizeToSource with options.filename streams the result into an NPY file that numpy and readNpy open.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resizeToSource } from '../src-ts/index';
import { readNpy } from '../src-ts/npy';
import { python } from './helpers/python';
import { noise } from './helpers/resize';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsi-resize-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test.each([1, 2, 3] as const)('the file (NPY %i.0) holds the in-memory result', (npyVersion) => {
  const image = { data: noise(2 * 9 * 13, 4), shape: [2, 9, 13] };
  // Tall enough for several bands.
  const g = { sourceExtents: [1500, 400], maskExtents: [9, 13], span: [1536, 416] };
  const memory = resizeToSource(image, g, { kernel: 'cubic' });
  const filename = join(dir, `mask-v${npyVersion}.npy`);
  const file = resizeToSource(image, g, { kernel: 'cubic', filename, npyVersion });
  expect(file).toEqual({ filename, shape: [1500, 400, 2], dtype: 'float32' });
  const read = readNpy(filename);
  expect(read.header.version).toEqual([npyVersion, 0]);
  expect(read.shape).toEqual([1500, 400, 2]);
  expect(read.dtype).toBe('float32');
  expect(Buffer.from(read.data.buffer).equals(Buffer.from(memory.data.buffer))).toBe(true);
  expect(statSync(filename).size).toBe(read.header.dataOffset + 1500 * 400 * 2 * 4);
});

test('numpy reads the streamed file', () => {
  const filename = join(dir, 'for-numpy.npy');
  resizeToSource(
    { data: Float32Array.of(0, 1, 2, 3), shape: [1, 2, 2] },
    { sourceExtents: [4, 6], maskExtents: [2, 2], span: [4, 6] },
    {
      kernel: 'nearest',
      filename,
    },
  );
  const script = `import numpy as np, sys; a = np.load(sys.argv[1]); print(a.shape, a.dtype, a[:, :, 0].tolist())`;
  const out = python(script, [filename]);
  expect(out).toBe(
    '(4, 6, 1) float32 [[0.0, 0.0, 0.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0, 1.0, 1.0], [2.0, 2.0, 2.0, 3.0, 3.0, 3.0], [2.0, 2.0, 2.0, 3.0, 3.0, 3.0]]',
  );
});
