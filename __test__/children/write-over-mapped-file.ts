// Child process for regression-sigbus-writing-a-mapped-file.spec.ts: aims
// every writer at files this process has mapped. Truncating a mapped file
// killed the process with SIGBUS on the next access and left the file at 0
// bytes. Prints `<case> <error code>` per write, then checks that the mapped
// data still reads back, and prints `done`.
import { join } from 'node:path';
import { MaskBuilder, type MeanResult, openNpy, resizeToSource } from '../../src-ts/index';
import { writeNpy } from '../../src-ts/npy';

const [dir] = process.argv.slice(2);

function attempt(name: string, f: () => unknown): void {
  try {
    f();
    console.log(`${name} no-error`);
  } catch (e) {
    console.log(`${name} ${(e as { code?: string }).code ?? String(e)}`);
  }
}

function sum(data: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < data.length; i++) s += data[i];
  return s;
}

const filename = join(dir, 'm.npy');
const b = new MaskBuilder({
  sourceExtents: [256, 256],
  sourceTileExtent: 64,
  outputTileExtent: 64,
  stride: 64,
  nChannels: 1,
  storage: 'memmap',
  filename,
});
const coords = new Int32Array(32);
for (let t = 0; t < 16; t++) coords.set([64 * (t >> 2), 64 * (t & 3)], 2 * t);
b.updateBatch({ data: new Float32Array(16 * 64 * 64).fill(2), shape: [16, 1, 64, 64] }, { data: coords, shape: [16, 2] });
const { mask } = b.finalize() as MeanResult;

attempt('builder-file', () => b.resizeToSource(mask, { filename }));
attempt('builder-file-overwrite', () => b.resizeToSource(mask, { filename, overwrite: true }));
attempt('builder-counter-overwrite', () => b.resizeToSource(mask, { filename: join(dir, 'm.overlaps.npy'), overwrite: true }));
attempt('writeNpy', () => writeNpy(filename, mask));

const opened = openNpy(filename);
const image = { data: opened.array.data as Float32Array, shape: opened.shape };
attempt('openNpy-overwrite', () =>
  resizeToSource(image, { sourceExtents: [256, 256], maskExtents: [256, 256] }, { filename, overwrite: true }),
);

console.log(`mask-sum ${sum(mask.data)}`);
console.log(`opened-sum ${sum(opened.array.data as Float32Array)}`);
opened.close();
b.cleanup();
console.log('done');
