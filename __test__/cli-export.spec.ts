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

test('export --simplify thins the GeoJSON outlines; a negative or non-numeric tolerance is refused naming --simplify', () => {
  const { dir, remove } = scratchDir('cli-export-simplify');
  try {
    // A disc of radius 20 pixels: its pixel-edge outline is all stairs.
    const data = new Float32Array(48 * 48);
    for (let y = 0; y < 48; y++) for (let x = 0; x < 48; x++) data[y * 48 + x] = Math.hypot(y - 23.5, x - 23.5) < 20 ? 1 : 0;
    writeNpy(join(dir, 'disc.npy'), { data, shape: [48, 48], dtype: 'float32' });
    const vertices = (file: string) =>
      JSON.parse(readFileSync(join(dir, file), 'utf8')).features[0].geometry.coordinates[0].length as number;
    expect(runCli(['export', 'disc.npy', '--format', 'geojson', '-o', 'exact.geojson'], dir)).toMatchObject({ status: 0 });
    expect(runCli(['export', 'disc.npy', '--format', 'geojson', '-o', 'zero.geojson', '--simplify', '0'], dir)).toMatchObject({
      status: 0,
    });
    expect(readFileSync(join(dir, 'zero.geojson')).equals(readFileSync(join(dir, 'exact.geojson')))).toBe(true);
    expect(runCli(['export', 'disc.npy', '--format', 'geojson', '-o', 'simple.geojson', '--simplify', '2'], dir)).toMatchObject({
      status: 0,
      stderr: '',
    });
    expect(vertices('simple.geojson')).toBeLessThan(vertices('exact.geojson') / 2);
    for (const bad of ['-1', 'abc', 'NaN']) {
      const run = runCli(['export', 'disc.npy', '--format', 'geojson', '-o', `bad${bad}.geojson`, `--simplify=${bad}`], dir);
      expect(run.status).not.toBe(0);
      expect(run.stderr).toContain('--simplify');
      expect(run.stderr).toContain('expected a non-negative number');
      expect(existsSync(join(dir, `bad${bad}.geojson`))).toBe(false);
    }
  } finally {
    remove();
  }
});
