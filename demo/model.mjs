// A small deterministic "model" run on each tile, standing in for a network:
// two scalars per tile (tissue fraction and a "tumor probability" from the
// density of nuclei) and a dense nuclei-density map at a quarter of the tile's
// resolution.

/** Pixels outside the slide read as background, as OpenSlide returns them. */
const OUTSIDE = [244, 242, 246];

/** How much a pixel looks like hematoxylin-stained nucleus: dark and bluish. */
function stain(r, g, b) {
  return Math.min(1, Math.max(0, (190 - r) / 120 + (b - g) / 400));
}

/** Whether a pixel is tissue: saturated or dark compared with the background. */
function isTissue(r, g, b) {
  return Math.max(r, g, b) - Math.min(r, g, b) > 24 || r + g + b < 600;
}

/** Output cells averaged on each side of a dense output pixel: a 20 x 20 px window. */
const SMOOTH = 2;

/**
 * Runs the model on the tile of `tile` x `tile` pixels at (y, x). Writes two
 * scalars (tissue fraction, tumor probability) into `scores` at `offset * 2`
 * and a (tile / reduce)^2 nuclei-density map into `dense` at `offset * out * out`.
 */
export function runModel(slide, y, x, tile, reduce, scores, dense, offset) {
  const [height, width] = slide.shape;
  const out = tile / reduce;
  const cells = new Float32Array(out * out);
  let tissue = 0;
  let stained = 0;
  for (let ty = 0; ty < tile; ty++) {
    for (let tx = 0; tx < tile; tx++) {
      const sy = y + ty;
      const sx = x + tx;
      let r = OUTSIDE[0];
      let g = OUTSIDE[1];
      let b = OUTSIDE[2];
      if (sy < height && sx < width) {
        const i = (sy * width + sx) * 3;
        r = slide.data[i];
        g = slide.data[i + 1];
        b = slide.data[i + 2];
      }
      const s = stain(r, g, b);
      cells[Math.floor(ty / reduce) * out + Math.floor(tx / reduce)] += s;
      if (isTissue(r, g, b)) {
        tissue++;
        stained += s;
      }
    }
  }
  const density = tissue > 0 ? stained / tissue : 0;
  scores[offset * 2] = tissue / (tile * tile);
  // Dense nuclei make a tile "tumor": a logistic of the density, damped on tiles with little tissue.
  const confidence = Math.min(1, (4 * tissue) / (tile * tile));
  scores[offset * 2 + 1] = confidence / (1 + Math.exp(-(density - 0.07) / 0.012));
  const base = offset * out * out;
  for (let cy = 0; cy < out; cy++) {
    for (let cx = 0; cx < out; cx++) {
      let sum = 0;
      let n = 0;
      for (let ny = Math.max(0, cy - SMOOTH); ny <= Math.min(out - 1, cy + SMOOTH); ny++) {
        for (let nx = Math.max(0, cx - SMOOTH); nx <= Math.min(out - 1, cx + SMOOTH); nx++) {
          sum += cells[ny * out + nx];
          n++;
        }
      }
      dense[base + cy * out + cx] = sum / (n * reduce * reduce);
    }
  }
}
