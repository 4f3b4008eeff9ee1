// `wsi-mask-builder export`: from an assembled mask NPY and its sidecar to
// OME-Zarr, OME-TIFF and GeoJSON in slide coordinates.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeNpy } from '../src-ts/index';
import { runCli } from './helpers/cli';
import { scratchDir } from './helpers/scratch';

test('assemble writes a sidecar; export reads it for all three formats', () => {
  const { dir, remove } = scratchDir('cli-export');
  try {
    // Four 32-pixel tiles of a 64 x 64 slide, one value each: the top-left tile is "tumour".
    writeNpy(join(dir, 'tiles.npy'), { data: Float32Array.of(0.9, 0.1, 0.2, 0.3), shape: [4, 1], dtype: 'float32' });
    writeNpy(join(dir, 'coords.npy'), { data: Int32Array.of(0, 0, 0, 32, 32, 0, 32, 32), shape: [4, 2], dtype: 'int32' });
    const assembled = runCli(
      [
        'assemble',
        '--tiles',
        'tiles.npy',
        '--coords',
        'coords.npy',
        '--source',
        '64,64',
        '--tile',
        '32',
        '--stride',
        '32',
        '-o',
        'mask.npy',
      ],
      dir,
    );
    expect(assembled.stderr).toBe('');
    expect(JSON.parse(readFileSync(join(dir, 'mask.npy.json'), 'utf8'))).toMatchObject({ scale: [32, 32], maskExtents: [2, 2] });
    for (const [format, output] of [
      ['ome-zarr', 'mask.ome.zarr'],
      ['ome-tiff', 'mask.ome.tif'],
      ['geojson', 'mask.geojson'],
    ]) {
      const run = runCli(['export', 'mask.npy', '--format', format, '-o', output, '--mpp', '0.5'], dir);
      expect(run).toMatchObject({ status: 0, stderr: '' });
      expect(run.stdout).toContain('scale 32 x 32');
      expect(existsSync(join(dir, output))).toBe(true);
    }
    const regions = JSON.parse(readFileSync(join(dir, 'mask.geojson'), 'utf8'));
    expect(regions.features).toHaveLength(1);
    expect(regions.features[0].geometry.coordinates).toEqual([
      [
        [0, 0],
        [32, 0],
        [32, 32],
        [0, 32],
        [0, 0],
      ],
    ]);
    expect(regions.features[0].properties.measurements).toEqual({ 'Area px^2': 1024, 'Area µm^2': 256 });
    const again = runCli(['export', 'mask.npy', '--format', 'ome-zarr', '-o', 'mask.ome.zarr'], dir);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('already exists');
  } finally {
    remove();
  }
});
