// toGeoJSON's simplify: fewer vertices, polygons still valid for shapely
// (holes inside their shells), each polygon's area within its stated bound
// (dropped vertices x simplify²), and no simplify the exact outlines.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toGeoJSON } from '../src-ts/index';
import { python } from './helpers/python';
import { scratchDir } from './helpers/scratch';

type Collection = ReturnType<typeof toGeoJSON>;

const CHECK = `
import json, sys
from shapely.geometry import shape, Polygon
exact = json.load(open(sys.argv[1]))['features']
simple = json.load(open(sys.argv[2]))['features']
tolerance = float(sys.argv[3])
out = []
for e, s in zip(exact, simple):
    pe, ps = shape(e['geometry']), shape(s['geometry'])
    shell = Polygon(ps.exterior)
    count = lambda p: len(p.exterior.coords) + sum(len(r.coords) for r in p.interiors)
    out.append({
        'valid': ps.is_valid,
        'holesInside': all(shell.contains(Polygon(r)) for r in ps.interiors),
        'holes': [len(pe.interiors), len(ps.interiors)],
        'vertices': [count(pe), count(ps)],
        'areaChange': abs(ps.area - pe.area),
        'bound': (count(pe) - count(ps)) * tolerance * tolerance,
        'measured': [e['properties']['measurements'], s['properties']['measurements']],
    })
print(json.dumps(out))
`;

interface Compared {
  valid: boolean;
  holesInside: boolean;
  holes: [number, number];
  vertices: [number, number];
  areaChange: number;
  bound: number;
  measured: [unknown, unknown];
}

function compare(dir: string, exact: Collection, simple: Collection, tolerance: number): Compared[] {
  writeFileSync(join(dir, 'exact.geojson'), JSON.stringify(exact));
  writeFileSync(join(dir, 'simple.geojson'), JSON.stringify(simple));
  return JSON.parse(python(CHECK, [join(dir, 'exact.geojson'), join(dir, 'simple.geojson'), String(tolerance)]));
}

/** A disc of radius 30 with a disc-shaped hole of radius 12 and a small disc inside the hole, scale 4. */
function discs() {
  const [h, w] = [72, 72];
  const data = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const r = Math.hypot(y + 0.5 - 36, x + 0.5 - 36);
      data[y * w + x] = (r < 30 && r >= 12) || r < 5 ? 1 : 0;
    }
  }
  const scale = 4;
  return {
    data,
    shape: [1, h, w],
    dtype: 'float32',
    geometry: { sourceExtents: [h * scale, w * scale], span: [h * scale, w * scale], maskExtents: [h, w], scale: [4, 4] },
  };
}

function randomMask(seed: number, density: number) {
  let s = seed;
  const random = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
  // Blocky noise (runs of 1-4 pixels) so that there are stairs worth simplifying.
  const [h, w] = [40, 44];
  const data = new Float32Array(h * w);
  for (let y = 0; y < h; y += 2) {
    for (let x = 0; x < w; x += 1 + Math.floor(random() * 4)) {
      const v = random() < density ? 1 : 0;
      for (let dx = 0; dx < 4 && x + dx < w; dx++) {
        data[y * w + x + dx] = v;
        if (y + 1 < h) data[(y + 1) * w + x + dx] = random() < 0.8 ? v : 1 - v;
      }
    }
  }
  return { data, shape: [1, h, w], dtype: 'float32' };
}

describe('toGeoJSON simplify', () => {
  test('no simplify and simplify 0 give the exact pixel-edge outlines, byte for byte', () => {
    const mask = discs();
    const exact = JSON.stringify(toGeoJSON(mask));
    expect(JSON.stringify(toGeoJSON(mask, { simplify: 0 }))).toBe(exact);
    expect(JSON.stringify(toGeoJSON(mask, { simplify: -0 }))).toBe(exact);
    // Every exact vertex is a pixel corner: a multiple of the scale.
    for (const f of JSON.parse(exact).features) {
      for (const ring of f.geometry.coordinates) for (const [x, y] of ring) expect([x % 4, y % 4]).toEqual([0, 0]);
    }
  });

  test('discs: fewer vertices, valid polygons with their holes inside, area within the bound', () => {
    const { dir, remove } = scratchDir('geojson-simplify');
    try {
      const mask = discs();
      const exact = toGeoJSON(mask);
      let previous = Number.POSITIVE_INFINITY;
      for (const tolerance of [2, 4, 8, 16]) {
        const simple = toGeoJSON(mask, { simplify: tolerance });
        expect(simple.features).toHaveLength(exact.features.length);
        const out = compare(dir, exact, simple, tolerance);
        let vertices = 0;
        for (const p of out) {
          expect(p).toMatchObject({ valid: true, holesInside: true });
          expect(p.holes[1]).toBe(p.holes[0]);
          expect(p.areaChange).toBeLessThanOrEqual(p.bound + 1e-9);
          // The measured area is the traced pixels', whatever the outline.
          expect(p.measured[1]).toEqual(p.measured[0]);
          vertices += p.vertices[1];
        }
        expect(vertices).toBeLessThanOrEqual(previous);
        previous = vertices;
        const before = out.reduce((n, p) => n + p.vertices[0], 0);
        // At a tolerance of a mask pixel most one-pixel stairs are gone (a few
        // stay where dropping them would touch another ring); beyond it, most vertices.
        if (tolerance === 4) expect(vertices).toBeLessThan(before * 0.6);
        if (tolerance >= 8) expect(vertices).toBeLessThan(before / 2);
      }
    } finally {
      remove();
    }
  });

  test('random blocky masks: every polygon valid and within its area bound at every tolerance', () => {
    const { dir, remove } = scratchDir('geojson-simplify-random');
    try {
      for (const [seed, density] of [
        [3, 0.4],
        [11, 0.6],
      ] as const) {
        const mask = randomMask(seed, density);
        const exact = toGeoJSON(mask);
        for (const tolerance of [0.5, 1, 2, 3]) {
          const out = compare(dir, exact, toGeoJSON(mask, { simplify: tolerance }), tolerance);
          expect(out).toHaveLength(exact.features.length);
          for (const p of out) {
            expect({ seed, tolerance, valid: p.valid, holesInside: p.holesInside, holes: p.holes[1] }).toEqual({
              seed,
              tolerance,
              valid: true,
              holesInside: true,
              holes: p.holes[0],
            });
            expect(p.areaChange).toBeLessThanOrEqual(p.bound + 1e-9);
          }
        }
      }
    } finally {
      remove();
    }
  });
});
