// toGeoJSON / writeGeoJSON: shapely finds every polygon valid, holes where
// the mask has holes, areas exactly the thresholded pixels times scale²,
// and the regions exactly where the tiles were put.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MaskBuilder, toGeoJSON, writeGeoJSON, writeNpy } from '../src-ts/index';
import { python } from './helpers/python';
import { scratchDir } from './helpers/scratch';

const CHECK = `
import json, sys
import numpy as np
from shapely.geometry import shape, box
from shapely.ops import unary_union
collection = json.load(open(sys.argv[1]))
inside = np.load(sys.argv[2]).reshape(-1, *np.load(sys.argv[2]).shape[-2:])[0] >= float(sys.argv[3])
scale = json.loads(sys.argv[4])
polygons = [shape(f['geometry']) for f in collection['features']]
pixels = [box(x * scale[1], y * scale[0], (x + 1) * scale[1], (y + 1) * scale[0]) for y, x in zip(*np.nonzero(inside))]
truth = unary_union(pixels)
union = unary_union(polygons)
print(json.dumps({
    'valid': all(p.is_valid for p in polygons),
    'holes': sorted(len(p.interiors) for p in polygons),
    'area': sum(p.area for p in polygons),
    'measured': sum(f['properties']['measurements']['Area px^2'] for f in collection['features']),
    'expectedArea': float(inside.sum()) * scale[0] * scale[1],
    'misplaced': union.symmetric_difference(truth).area,
    'overlap': sum(p.area for p in polygons) - union.area,
}))
`;

function check(dir: string, collection: unknown, mask: { data: any; shape: number[] }, threshold: number, scale: number[]) {
  const geojson = join(dir, 'regions.geojson');
  require('node:fs').writeFileSync(geojson, JSON.stringify(collection));
  const npy = join(dir, 'mask.npy');
  writeNpy(npy, mask as any);
  return JSON.parse(python(CHECK, [geojson, npy, String(threshold), JSON.stringify(scale)]));
}

// One value per 8x8-pixel tile of a 96 x 80 slide: mask 12 x 10, scale 8.
const PICTURE = [
  '..........',
  '.#####....',
  '.#...#....',
  '.#.#.#..#.',
  '.#...#.#..',
  '.#####....',
  '..........',
  '###.......',
  '#.#.......',
  '###....##.',
  '.......##.',
  '..........',
];

function pictureMask() {
  const builder = new MaskBuilder({
    sourceExtents: [96, 80],
    sourceTileExtent: 8,
    outputTileExtent: 1,
    stride: 8,
    aggregation: 'max',
    mpp: 0.5,
  });
  const coords: number[][] = [];
  const values: number[] = [];
  PICTURE.forEach((row, y) => {
    [...row].forEach((c, x) => {
      coords.push([y * 8, x * 8]);
      values.push(c === '#' ? 0.9 : 0.1);
    });
  });
  builder.updateBatch({ data: Float32Array.from(values), shape: [values.length, 1] }, coords);
  return builder.finalize();
}

describe('toGeoJSON', () => {
  test('a thresholded channel: valid polygons with holes, exact areas, where the tiles were', () => {
    const { dir, remove } = scratchDir('geojson');
    try {
      const mask = pictureMask();
      const collection = toGeoJSON(mask, { classification: { name: 'Tumor', color: [200, 0, 0] } });
      expect(collection.type).toBe('FeatureCollection');
      // The big ring (with the island inside its hole a region of its own), the small ring,
      // the diagonal pair (two regions: pixels touching at a corner are apart) and the square.
      expect(collection.features).toHaveLength(6);
      for (const f of collection.features) {
        expect(f.properties.objectType).toBe('annotation');
        expect(f.properties.classification).toEqual({ name: 'Tumor', color: [200, 0, 0] });
        expect(f.properties.measurements['Area µm^2']).toBeCloseTo(f.properties.measurements['Area px^2'] * 0.25, 9);
      }
      const out = check(dir, collection, mask, 0.5, [8, 8]);
      expect(out).toEqual({
        valid: true,
        holes: [0, 0, 0, 0, 1, 1],
        area: out.expectedArea,
        measured: out.expectedArea,
        expectedArea: 31 * 64,
        misplaced: 0,
        overlap: 0,
      });
    } finally {
      remove();
    }
  });

  test('random masks: always valid, areas exact, nothing misplaced', () => {
    const { dir, remove } = scratchDir('geojson-random');
    try {
      let seed = 7;
      const random = () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      for (const density of [0.3, 0.5, 0.7]) {
        const data = Float32Array.from({ length: 37 * 41 }, () => (random() < density ? 1 : 0));
        const mask = { data, shape: [1, 37, 41], dtype: 'float32' };
        const collection = toGeoJSON(mask);
        const out = check(dir, collection, mask, 0.5, [1, 1]);
        expect({ density, ...out }).toMatchObject({ density, valid: true, misplaced: 0, overlap: 0, area: out.expectedArea });
      }
    } finally {
      remove();
    }
  });

  test('a label map: one class per label, named ones by their names; minArea drops small regions', () => {
    const { dir, remove } = scratchDir('geojson-labels');
    try {
      const rows = ['1122', '1122', '0003', '3000'];
      const data = Uint8Array.from(rows.join(''), (c) => Number(c));
      const labels = { data, shape: [4, 4], dtype: 'uint8' };
      const collection = toGeoJSON(labels, { classes: { 1: { name: 'Tumor', color: [255, 0, 0] } } });
      expect(collection.features.map((f) => [f.properties.label, f.properties.classification.name])).toEqual([
        [1, 'Tumor'],
        [2, 'label 2'],
        [3, 'label 3'],
        [3, 'label 3'],
      ]);
      expect(toGeoJSON(labels, { minArea: 2 }).features.map((f) => f.properties.label)).toEqual([1, 2]);
      const path = join(dir, 'labels.geojson');
      expect(writeGeoJSON(labels, path).features).toBe(4);
      expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(toGeoJSON(labels));
    } finally {
      remove();
    }
  });
});
