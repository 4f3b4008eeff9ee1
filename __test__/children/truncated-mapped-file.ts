// Child process for regression-sigbus-external-truncation.spec.ts: truncates
// files this process maps (as another process could) before the calls that
// touch them. Prints `<case> <error code>` per call, then `done`.
import { truncateSync } from 'node:fs';
import { join } from 'node:path';
import { MaskBuilder, openNpy } from '../../src-ts/index';

const [dir] = process.argv.slice(2);

function attempt(name: string, f: () => unknown): void {
  try {
    f();
    console.log(`${name} no-error`);
  } catch (e) {
    console.log(`${name} ${(e as { code?: string }).code ?? String(e)}`);
  }
}

const filename = join(dir, 'm.npy');
const b = new MaskBuilder({
  sourceExtents: [256, 256],
  sourceTileExtent: 64,
  outputTileExtent: 64,
  stride: 64,
  storage: 'memmap',
  filename,
});
const tile = () => ({ data: new Float32Array(64 * 64).fill(1), shape: [1, 1, 64, 64] });
b.updateBatch(tile(), [[0, 0]]);
truncateSync(filename, 128);
attempt('updateBatch', () => b.updateBatch(tile(), [[64, 64]]));
attempt('finalize', () => b.finalize());
b.cleanup();

const other = join(dir, 'o.npy');
const c = new MaskBuilder({
  sourceExtents: [64, 64],
  sourceTileExtent: 64,
  outputTileExtent: 64,
  stride: 64,
  storage: 'memmap',
  filename: other,
});
c.finalize();
c.cleanup();
const opened = openNpy(other);
truncateSync(other, 128);
attempt('openNpy-data', () => opened.array.data);
opened.close();
console.log('done');
