// Child process for memmap-killed-mid-build.spec.ts: builds into a named NPY
// file until it is killed, saying "building" once some batches have landed.
const { NativeMaskBuilder } = require('../../src-ts/binding.js');

const [filename] = process.argv.slice(2);
const builder = new NativeMaskBuilder({
  sourceExtents: [512, 512],
  sourceTileExtent: [64, 64],
  outputTileExtent: [64, 64],
  stride: [32, 32],
  nChannels: 2,
  aggregation: 'mean',
  dtype: 'float32',
  counterDtype: 'uint32',
  storage: 'memmap',
  filename,
});
const tile = new Float32Array(2 * 64 * 64).fill(1.5);
// The binding's packed dimensions: [rank, ...batchShape, ...coordsShape, ...clipStart, ...clipEnd].
const dims = Uint32Array.of(4, 1, 2, 64, 64, 1, 2, 0, 0, 0, 0);
let n = 0;
for (;;) {
  const y = (n * 32) % 448;
  const x = (Math.floor(n / 14) * 32) % 448;
  builder.updateBatch(tile, new Int32Array([y, x]), dims);
  if (++n === 50) process.stdout.write('building\n');
}
