// numpy opens the files we write, and we open the files numpy writes.
import { join } from 'node:path';
import { MaskBuilder, openNpy, writeNpy } from '../src-ts/index';
import { python } from './helpers/python';
import { scratchDir } from './helpers/scratch';

const scratch = scratchDir('memmap-numpy');
afterAll(() => scratch.remove());

test.each([1, 2, 3] as const)('numpy.load(mmap_mode="r") reads a finished NPY %s.0 mask and counter exactly', (npyVersion) => {
  const filename = join(scratch.dir, `mean-v${npyVersion}.npy`);
  const options = { sourceExtents: [40, 52], sourceTileExtent: 8, outputTileExtent: 4, stride: 4, nChannels: 3 };
  const onDisk = new MaskBuilder({ ...options, storage: 'memmap', filename, npyVersion, dtype: 'float64' });
  const inMemory = new MaskBuilder({ ...options, dtype: 'float64' });
  for (let i = 0; i < 20; i++) {
    const data = Float64Array.from({ length: 2 * 3 * 16 }, (_, k) => Math.sin(i * 97 + k));
    const coords = [
      [(i * 4) % 36, (i * 8) % 48],
      [(i * 12) % 36, (i * 4) % 48],
    ];
    onDisk.updateBatch({ data, shape: [2, 3, 4, 4] }, coords, [[1, 0], 0]);
    inMemory.updateBatch({ data, shape: [2, 3, 4, 4] }, coords, [[1, 0], 0]);
  }
  const got = onDisk.finalize();
  const want = inMemory.finalize();
  expect(Array.from(got.mask.data)).toEqual(Array.from(want.mask.data));
  writeNpy(join(scratch.dir, `expected-v${npyVersion}.npy`), want.mask);
  writeNpy(join(scratch.dir, `expected-counter-v${npyVersion}.npy`), want.overlapCounter);
  onDisk.cleanup();
  const out = python(
    `
import sys, numpy as np
from numpy.lib import format as f
m = np.load(sys.argv[1], mmap_mode='r'); c = np.load(sys.argv[2], mmap_mode='r')
with open(sys.argv[1], 'rb') as fh: version = f.read_magic(fh)
assert version == (${npyVersion}, 0), version
assert m.dtype == np.float64 and m.shape == (3, 20, 26), (m.dtype, m.shape)
assert c.dtype == np.uint16 and c.shape == (1, 20, 26), (c.dtype, c.shape)
assert np.array_equal(m, np.load(sys.argv[3])) and np.array_equal(c, np.load(sys.argv[4]))
print('ok', int(c.sum()))
`,
    [
      filename,
      join(scratch.dir, `mean-v${npyVersion}.overlaps.npy`),
      join(scratch.dir, `expected-v${npyVersion}.npy`),
      join(scratch.dir, `expected-counter-v${npyVersion}.npy`),
    ],
  );
  expect(out).toBe(`ok ${Array.from(want.overlapCounter.data).reduce((a, b) => a + b, 0)}`);
});

test.each([
  [1, 'float32', '<f4'],
  [2, 'float64', '<f8'],
  [3, 'uint16', '<u2'],
  [1, 'int64', '<i8'],
] as const)('the core maps a numpy-written NPY %s.0 %s file', (version, dtype, descr) => {
  const path = join(scratch.dir, `numpy-${version}-${dtype}.npy`);
  python(
    `
import sys, numpy as np
from numpy.lib import format as f
a = (np.arange(3 * 5 * 7).reshape(3, 5, 7) * 3 - 11).astype('${descr}')
with open(sys.argv[1], 'wb') as fh: f.write_array(fh, a, version=(${version}, 0))
`,
    [path],
  );
  const file = openNpy(path);
  expect(file.version).toEqual([version, 0]);
  expect(file.dtype).toBe(dtype);
  expect(file.shape).toEqual([3, 5, 7]);
  const values = Array.from(file.array.data as ArrayLike<number | bigint>, Number);
  const expected = Array.from({ length: 105 }, (_, i) => i * 3 - 11);
  expect(values).toEqual(dtype === 'uint16' ? expected.map((v) => (v + 65536) % 65536) : expected);
  file.close();
  expect(file.array.data.length).toBe(0);
});
