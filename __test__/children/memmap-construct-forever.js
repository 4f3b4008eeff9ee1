// Child process for regression-kill-during-construction-leaves-no-partial-file.spec.ts:
// creates memmap builders (named files in argv[2], temporaries in argv[3])
// until it is killed, saying "constructing" once the first one is done.
const { join } = require('node:path');
const { NativeMaskBuilder } = require('../../src-ts/binding.js');

const [named, temporary] = process.argv.slice(2);
const options = {
  sourceExtents: [1024, 1024],
  sourceTileExtent: [64, 64],
  outputTileExtent: [64, 64],
  stride: [64, 64],
  nChannels: 2,
  aggregation: 'mean',
  dtype: 'float32',
  counterDtype: 'uint32',
  storage: 'memmap',
};
for (let n = 0; ; n++) {
  const a = new NativeMaskBuilder({ ...options, filename: join(named, `m${n}.npy`) });
  const b = new NativeMaskBuilder({ ...options, tempDir: temporary });
  a.cleanup();
  b.cleanup();
  if (n === 0) process.stdout.write('constructing\n');
}
