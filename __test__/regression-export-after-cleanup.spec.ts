// An export of a mask whose builder was cleaned up threw V8's raw "Cannot
// perform Construct on a detached ArrayBuffer" TypeError; it is refused with
// ERR_WSI_CLEANED_UP saying to export before cleanup(), and writes nothing.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MaskBuilder, toGeoJSON, writeOmeTiff, writeOmeZarr } from '../src-ts/index';
import { expectError, thrownBy } from './helpers/robust';
import { scratchDir } from './helpers/scratch';

const scratch = scratchDir('export-after-cleanup');
afterAll(() => scratch.remove());

function cleanedUpMask() {
  const b = new MaskBuilder({ sourceExtents: [64, 64], sourceTileExtent: 16, outputTileExtent: 16, stride: 16 });
  for (const t of b.tileOrigins({ batchSize: 16 }) as Iterable<any>) {
    b.updateBatch({ data: new Float32Array(t.shape[0] * 256).fill(0.75), shape: [t.shape[0], 1, 16, 16] }, t);
  }
  const { mask } = b.finalize() as any;
  b.cleanup();
  return mask;
}

const expected = { type: 'Error', code: 'ERR_WSI_CLEANED_UP' } as const;

test('writeOmeZarr, writeOmeTiff and toGeoJSON refuse a released mask by name', async () => {
  const mask = cleanedUpMask();
  const zarr = join(scratch.dir, 'm.zarr');
  const tiff = join(scratch.dir, 'm.ome.tif');
  expectError(
    thrownBy(() => writeOmeZarr(mask, zarr)),
    expected,
  );
  expectError(
    thrownBy(() => writeOmeTiff(mask, tiff)),
    expected,
  );
  expectError(
    thrownBy(() => toGeoJSON(mask, { threshold: 0.5 })),
    expected,
  );
  expect(existsSync(zarr) || existsSync(tiff)).toBe(false);
});

test('views of a released mask read as empty rather than throwing', () => {
  const mask = cleanedUpMask();
  expect(mask.data.length).toBe(0);
});
