// writeOmeTiff: tifffile reads the levels (SubIFDs), tiles, values and
// physical pixel size; sharp's libvips opens the file and its sub-IFDs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MaskBuilder, writeNpy, writeOmeTiff } from '../src-ts/index';
import { python } from './helpers/python';
import { scratchDir } from './helpers/scratch';

const ORACLE = readFileSync(join(__dirname, 'helpers', 'pyramid.py'), 'utf8');

const CHECK = `
import json, sys
import numpy as np, tifffile
${ORACLE}
path, mask_path, tile = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
mask = np.load(mask_path)
if mask.ndim == 2: mask = mask[None]
want = expected(mask, tile)
with tifffile.TiffFile(path) as tif:
    assert tif.is_ome
    series = tif.series[0]
    out = {'bigtiff': tif.is_bigtiff, 'levels': [], 'axes': series.axes, 'tiles': [], 'compression': []}
    for k, level in enumerate(series.levels):
        got = level.asarray()
        if got.ndim == 2: got = got[None]
        if got.dtype.kind == 'f':
            np.testing.assert_allclose(got, want[k], rtol=1e-6, atol=1e-7)
        else:
            np.testing.assert_array_equal(got, want[k])
        page = level.pages[0]
        out['levels'].append(list(got.shape))
        out['tiles'].append([page.tilelength, page.tilewidth])
        out['compression'].append(int(page.compression))
        out['dtype'] = str(got.dtype)
    import xml.etree.ElementTree as ET
    pixels = ET.fromstring(tif.ome_metadata).find('.//{*}Pixels')
    out['physical'] = [pixels.get('PhysicalSizeY'), pixels.get('PhysicalSizeX')]
    out['channels'] = [c.get('Name') for c in pixels.findall('{*}Channel')]
print(json.dumps(out))
`;

function check(path: string, dir: string, mask: { data: any; shape: number[] }, tile: [number, number]) {
  const maskPath = join(dir, 'expected.npy');
  writeNpy(maskPath, mask as any);
  return JSON.parse(python(CHECK, [path, maskPath, JSON.stringify(tile)]));
}

function maxResult() {
  // Source 400 x 260 in 8-pixel tiles to 2x2 outputs: mask 100 x 65, scale 4.
  const builder = new MaskBuilder({
    sourceExtents: [400, 260],
    sourceTileExtent: 8,
    outputTileExtent: 2,
    stride: 8,
    aggregation: 'max',
    mpp: [0.5, 0.25],
  });
  const coords: number[][] = [];
  for (let y = 0; y < 400; y += 8) for (let x = 0; x < 260; x += 8) coords.push([y, x]);
  const data = new Float32Array(coords.length * 4).map((_, i) => (i % 13) / 12);
  builder.updateBatch({ data, shape: [coords.length, 1, 2, 2] }, coords);
  return builder.finalize();
}

describe('writeOmeTiff', () => {
  test('a float32 mask: pyramid levels as SubIFDs, tiles, values and physical pixel size (deflate)', () => {
    const { dir, remove } = scratchDir('tiff');
    try {
      const mask = maxResult();
      expect(mask.shape).toEqual([1, 100, 66]);
      const path = join(dir, 'mask.ome.tif');
      const written = writeOmeTiff(mask, path, { tile: 32, channelNames: ['tumour'] });
      expect(written.levels).toEqual([
        [100, 66],
        [50, 33],
        [25, 17],
      ]);
      const out = check(path, dir, mask, [32, 32]);
      expect(out).toMatchObject({
        bigtiff: false,
        levels: [
          [1, 100, 66],
          [1, 50, 33],
          [1, 25, 17],
        ],
        tiles: [
          [32, 32],
          [32, 32],
          [32, 32],
        ],
        compression: [8, 8, 8],
        dtype: 'float32',
        channels: ['tumour'],
      });
      // A mask pixel is 4 source pixels: 2 um tall, 1 um wide.
      expect(out.physical.map(Number)).toEqual([2, 1]);
    } finally {
      remove();
    }
  });

  test('multi-channel uint8 labels with zstd, forced BigTIFF', () => {
    const { dir, remove } = scratchDir('tiff-labels');
    try {
      const data = new Uint8Array(3 * 40 * 70).map((_, i) => (i * 31) % 7);
      const labels = { data, shape: [3, 40, 70], dtype: 'uint8' };
      const path = join(dir, 'labels.ome.tif');
      writeOmeTiff(labels, path, { tile: [16, 32], compression: 'zstd', bigTiff: true });
      const out = check(path, dir, labels, [16, 32]);
      expect(out).toMatchObject({ bigtiff: true, dtype: 'uint8', compression: [50000, 50000, 50000] });
      expect(out.levels).toEqual([
        [3, 40, 70],
        [3, 20, 35],
        [3, 10, 18],
      ]);
      expect(out.physical).toEqual([null, null]);
      expect(out.channels).toEqual(['channel 0', 'channel 1', 'channel 2']);
    } finally {
      remove();
    }
  });

  test("sharp's libvips opens the file, its pages and its sub-IFDs", async () => {
    const sharp = require('sharp');
    const { dir, remove } = scratchDir('tiff-vips');
    try {
      const path = join(dir, 'mask.ome.tif');
      writeOmeTiff(maxResult(), path, { tile: 32 });
      const meta = await sharp(path).metadata();
      expect([meta.height, meta.width]).toEqual([100, 66]);
      expect(meta.format).toBe('tiff');
      const level2 = await sharp(path, { subifd: 1 }).raw().toBuffer({ resolveWithObject: true });
      expect([level2.info.height, level2.info.width]).toEqual([25, 17]);
    } finally {
      remove();
    }
  });
});
