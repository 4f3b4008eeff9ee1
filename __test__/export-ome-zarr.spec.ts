// writeOmeZarr: stores zarr-python reads, NGFF metadata ome-zarr-models
// accepts, and every level equal to a numpy downsample of the mask.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MaskBuilder, openNpy, sidecarPath, writeNpy, writeOmeZarr } from '../src-ts/index';
import { python } from './helpers/python';
import { scratchDir } from './helpers/scratch';

const ORACLE = readFileSync(join(__dirname, 'helpers', 'pyramid.py'), 'utf8');

// Source 300 x 190 in 16-pixel tiles, stride 16, 4x4 outputs: mask 75 x 48 (scale 4).
function built(storage: object = {}, channels = 2) {
  const builder = new MaskBuilder({
    sourceExtents: [300, 190],
    sourceTileExtent: 16,
    outputTileExtent: 4,
    stride: 16,
    nChannels: channels,
    aggregation: 'mean',
    mpp: 0.25,
    ...storage,
  });
  const coords: number[][] = [];
  for (let y = 0; y < 300; y += 16) for (let x = 0; x < 190; x += 16) coords.push([y, x]);
  const data = new Float32Array(coords.length * channels * 16);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37) * 0.5 + 0.5;
  builder.updateBatch({ data, shape: [coords.length, channels, 4, 4] }, coords);
  return { builder, result: builder.finalize() };
}

const CHECK = `
import json, sys
import numpy as np, zarr
${ORACLE}
store, version, mask_path, chunk = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
mask = np.load(mask_path)
if mask.ndim == 2: mask = mask[None]
group = zarr.open_group(store, mode='r')
attrs = group.attrs.asdict()
if version == '0.4':
    from ome_zarr_models.v04.image import Image
    image = Image.from_zarr(group)
    ms = attrs['multiscales'][0]
else:
    from ome_zarr_models.v05.image import Image
    image = Image.from_zarr(group)
    ms = attrs['ome']['multiscales'][0]
want = expected(mask, chunk)
out = {'levels': [], 'axes': ms['axes'], 'type': ms['type'], 'transforms': [], 'format': group.metadata.zarr_format}
for k, dataset in enumerate(ms['datasets']):
    arr = group[dataset['path']]
    got = arr[...]
    assert arr.chunks == (1, *chunk) or arr.chunks[1:] <= tuple(chunk), arr.chunks
    assert got.dtype == want[k].dtype, (got.dtype, want[k].dtype)
    if got.dtype.kind == 'f':
        np.testing.assert_allclose(got, want[k], rtol=1e-6, atol=1e-7)
    else:
        np.testing.assert_array_equal(got, want[k])
    out['levels'].append(list(got.shape))
    out['transforms'].append(dataset['coordinateTransformations'])
out['smallestFitsOneChunk'] = bool(want[-1].shape[1] <= chunk[0] and want[-1].shape[2] <= chunk[1])
out['channels'] = [c['label'] for c in (attrs.get('omero') or attrs['ome']['omero'])['channels']]
print(json.dumps(out))
`;

function check(store: string, version: string, maskNpy: string, chunk: [number, number]) {
  return JSON.parse(python(CHECK, [store, version, maskNpy, JSON.stringify(chunk)]));
}

function saveMask(dir: string, mask: { data: any; shape: number[] }): string {
  const path = join(dir, 'expected.npy');
  writeNpy(path, mask as any);
  return path;
}

describe('writeOmeZarr', () => {
  test.each(['0.4', '0.5'] as const)('NGFF %s from an in-memory mean result: levels, axes, transforms', (version) => {
    const { dir, remove } = scratchDir('zarr');
    try {
      const { result, builder } = built();
      expect(result.mask.geometry).toEqual({
        sourceExtents: [300, 190],
        span: [304, 192],
        maskExtents: [76, 48],
        scale: [4, 4],
        mpp: [0.25, 0.25],
      });
      const store = join(dir, 'mask.ome.zarr');
      const written = writeOmeZarr(result, store, { chunk: 16, ngffVersion: version, channelNames: ['tumour', 'stroma'] });
      expect(written.levels).toEqual([
        [76, 48],
        [38, 24],
        [19, 12],
        [10, 6],
      ]);
      const out = check(store, version, saveMask(dir, result.mask), [16, 16]);
      expect(out.format).toBe(version === '0.4' ? 2 : 3);
      expect(out.levels).toEqual([
        [2, 76, 48],
        [2, 38, 24],
        [2, 19, 12],
        [2, 10, 6],
      ]);
      expect(out.smallestFitsOneChunk).toBe(true);
      expect(out.type).toBe('mean');
      expect(out.channels).toEqual(['tumour', 'stroma']);
      expect(out.axes).toEqual([
        { name: 'c', type: 'channel' },
        { name: 'y', type: 'space', unit: 'micrometer' },
        { name: 'x', type: 'space', unit: 'micrometer' },
      ]);
      // A mask pixel is 4 source pixels of 0.25 um: 1 um, doubling per level.
      expect(out.transforms[0]).toEqual([{ type: 'scale', scale: [1, 1, 1] }]);
      expect(out.transforms[2]).toEqual([
        { type: 'scale', scale: [1, 4, 4] },
        { type: 'translation', translation: [0, 1.5, 1.5] },
      ]);
      builder.cleanup();
    } finally {
      remove();
    }
  });

  test('a persisted memmap mask streams from its file; its sidecar carries the geometry to a later openNpy', () => {
    const { dir, remove } = scratchDir('zarr-memmap');
    try {
      const filename = join(dir, 'mask.npy');
      const { builder, result } = built({ storage: 'memmap', filename }, 1);
      expect(existsSync(sidecarPath(filename))).toBe(true);
      const memory = built({}, 1).result;
      builder.cleanup();
      // A later process: only the file and its sidecar.
      const mapped = openNpy(filename);
      expect(mapped.geometry).toEqual(result.mask.geometry);
      const store = join(dir, 'from-file.ome.zarr');
      writeOmeZarr(mapped, store, { chunk: 32 });
      mapped.close();
      const out = check(store, '0.4', saveMask(dir, memory.mask), [32, 32]);
      expect(out.levels).toEqual([
        [1, 76, 48],
        [1, 38, 24],
        [1, 19, 12],
      ]);
      expect(out.channels).toEqual(['channel 0']);
    } finally {
      remove();
    }
  });

  test('uint16 labels downsample by nearest neighbour; no mpp means source-pixel units', () => {
    const { dir, remove } = scratchDir('zarr-labels');
    try {
      const data = new Uint16Array(37 * 53);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 5;
      const labels = { data, shape: [37, 53], dtype: 'uint16' };
      const store = join(dir, 'labels.ome.zarr');
      expect(writeOmeZarr(labels, store, { chunk: [8, 16] }).levels.length).toBe(4);
      const out = check(store, '0.4', saveMask(dir, labels), [8, 16]);
      expect(out.type).toBe('nearest');
      expect(out.axes[1]).toEqual({ name: 'y', type: 'space' });
    } finally {
      remove();
    }
  });

  test('an existing path is refused unless overwrite, and overwrite removes only an earlier store', () => {
    const { dir, remove } = scratchDir('zarr-exists');
    try {
      const labels = { data: new Uint8Array(4), shape: [2, 2], dtype: 'uint8' };
      const store = join(dir, 'a.ome.zarr');
      writeOmeZarr(labels, store);
      expect(() => writeOmeZarr(labels, store)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
      expect(writeOmeZarr(labels, store, { overwrite: true }).levels).toEqual([[2, 2]]);
      const other = join(dir, 'notes.txt');
      writeFileSync(other, 'keep me');
      expect(() => writeOmeZarr(labels, other, { overwrite: true })).toThrow(/not a directory/);
      expect(readFileSync(other, 'utf8')).toBe('keep me');
    } finally {
      remove();
    }
  });
});
