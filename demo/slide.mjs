// A synthetic slide: irregular pink tissue blobs with purple nuclei on a light
// background, deterministic for a seed. Stands in for a whole-slide image read
// with OpenSlide, so the demo needs nothing downloaded.

/** A small deterministic generator of numbers in [0, 1). */
export function random(seed) {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

const BACKGROUND = [244, 242, 246];
const STROMA = [232, 166, 198];
const NUCLEUS = [84, 52, 136];
/** The tissue field is computed on a grid this many pixels apart, then interpolated. */
const COARSE = 8;

/**
 * Tissue probability and "tumor" density on the coarse grid: a sum of
 * elliptical blobs, its border roughened by a few octaves of value noise.
 */
function fields(width, height, next) {
  const w = Math.ceil(width / COARSE) + 1;
  const h = Math.ceil(height / COARSE) + 1;
  const blobs = Array.from({ length: 9 }, (_, i) => ({
    y: (0.15 + 0.7 * next()) * height,
    x: (0.12 + 0.76 * next()) * width,
    ry: (0.08 + 0.12 * next()) * height,
    rx: (0.06 + 0.1 * next()) * width,
    tumor: i < 2,
  }));
  const octaves = [64, 16, 6].map((cells) => ({
    cells,
    values: Float32Array.from({ length: (cells + 2) * (cells + 2) }, next),
  }));
  const noise = (u, v) => {
    let total = 0;
    let amplitude = 0.5;
    for (const { cells, values } of octaves) {
      const fu = u * cells;
      const fv = v * cells;
      const iu = Math.floor(fu);
      const iv = Math.floor(fv);
      const tu = fu - iu;
      const tv = fv - iv;
      const at = (a, b) => values[a * (cells + 2) + b];
      const top = at(iv, iu) * (1 - tu) + at(iv, iu + 1) * tu;
      const bottom = at(iv + 1, iu) * (1 - tu) + at(iv + 1, iu + 1) * tu;
      total += amplitude * (top * (1 - tv) + bottom * tv - 0.5);
      amplitude *= 0.5;
    }
    return total;
  };
  const tissue = new Float32Array(w * h);
  const tumor = new Float32Array(w * h);
  for (let gy = 0; gy < h; gy++) {
    for (let gx = 0; gx < w; gx++) {
      const [y, x] = [gy * COARSE, gx * COARSE];
      let field = 0;
      let dense = 0;
      for (const b of blobs) {
        const d = ((y - b.y) / b.ry) ** 2 + ((x - b.x) / b.rx) ** 2;
        const v = Math.exp(-d);
        field += v;
        if (b.tumor) dense += Math.exp(-1.6 * d);
      }
      const f = field + 0.9 * noise(x / width, y / height);
      tissue[gy * w + gx] = Math.min(1, Math.max(0, (f - 0.42) / 0.12));
      tumor[gy * w + gx] = Math.min(1, dense);
    }
  }
  const sample = (grid, y, x) => {
    const fy = y / COARSE;
    const fx = x / COARSE;
    const iy = Math.floor(fy);
    const ix = Math.floor(fx);
    const ty = fy - iy;
    const tx = fx - ix;
    const i = iy * w + ix;
    return (grid[i] * (1 - tx) + grid[i + 1] * tx) * (1 - ty) + (grid[i + w] * (1 - tx) + grid[i + w + 1] * tx) * ty;
  };
  return { tissue: (y, x) => sample(tissue, y, x), tumor: (y, x) => sample(tumor, y, x) };
}

/** An RGB slide `{ data: Uint8Array, shape: [height, width, 3] }`. */
export function synthesizeSlide(height, width, seed = 7) {
  const next = random(seed);
  const { tissue, tumor } = fields(width, height, next);
  const data = new Uint8Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = tissue(y, x);
      const grain = (next() - 0.5) * 10;
      const i = (y * width + x) * 3;
      for (let k = 0; k < 3; k++) data[i + k] = BACKGROUND[k] + (STROMA[k] - BACKGROUND[k]) * t + grain * (0.3 + t);
    }
  }
  // Nuclei: at most one per 14 px cell, more where the tissue is tumor-like.
  const cell = 14;
  for (let cy = 0; cy < height; cy += cell) {
    for (let cx = 0; cx < width; cx += cell) {
      const y0 = cy + next() * cell;
      const x0 = cx + next() * cell;
      const t = tissue(Math.min(y0, height - 1), Math.min(x0, width - 1));
      const chance = t * (0.12 + 0.75 * tumor(Math.min(y0, height - 1), Math.min(x0, width - 1)));
      if (next() >= chance) continue;
      const r = 2.5 + 2.5 * next();
      for (let y = Math.max(0, Math.floor(y0 - r)); y <= Math.min(height - 1, Math.ceil(y0 + r)); y++) {
        for (let x = Math.max(0, Math.floor(x0 - r)); x <= Math.min(width - 1, Math.ceil(x0 + r)); x++) {
          if ((y - y0) ** 2 + (x - x0) ** 2 > r * r) continue;
          const i = (y * width + x) * 3;
          for (let k = 0; k < 3; k++) data[i + k] = NUCLEUS[k] + (next() - 0.5) * 20;
        }
      }
    }
  }
  return { data, shape: [height, width, 3] };
}
