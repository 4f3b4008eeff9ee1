/**
 * A colour bar under a heatmap: the colormap from low to high with the two
 * values printed at its ends, in a built-in 5 x 7 pixel font (no fonts or SVG
 * renderer needed, the same pixels on every machine).
 */

import type { RgbImage } from './image';

/** Glyphs of 5 x 7 pixels, one row of 5 bits per entry, top row first. */
const GLYPHS: Record<string, number[]> = {
  '0': [0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e],
  '1': [0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e],
  '2': [0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f],
  '3': [0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e],
  '4': [0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02],
  '5': [0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e],
  '6': [0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e],
  '7': [0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
  '8': [0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e],
  '9': [0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c],
  '.': [0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c],
  '-': [0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00],
  '+': [0x00, 0x04, 0x04, 0x1f, 0x04, 0x04, 0x00],
  e: [0x00, 0x00, 0x0e, 0x11, 0x1f, 0x10, 0x0e],
  I: [0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e],
  n: [0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11],
  f: [0x06, 0x09, 0x08, 0x1c, 0x08, 0x08, 0x08],
  N: [0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x11],
  a: [0x00, 0x00, 0x0e, 0x01, 0x0f, 0x11, 0x0f],
};

/** A value as printed on the bar: at most 6 significant digits, no trailing zeros. */
export function barLabel(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  const text = Math.abs(v) >= 1e-3 && Math.abs(v) < 1e6 ? v.toPrecision(4) : v.toExponential(2);
  return text.replace(/(\.\d*?)0+(e|$)/, '$1$2').replace(/\.(e|$)/, '$1');
}

/** Pixels of glyph scale per font pixel; the text is 7 * scale pixels high. */
function textScale(width: number): number {
  return Math.max(1, Math.min(4, Math.floor(width / 160)));
}

function drawText(out: Uint8Array, width: number, text: string, x0: number, y0: number, scale: number): void {
  let x = x0;
  for (const ch of text) {
    const glyph = GLYPHS[ch] ?? GLYPHS['-'];
    for (let gy = 0; gy < 7; gy++) {
      for (let gx = 0; gx < 5; gx++) {
        if (!((glyph[gy] >> (4 - gx)) & 1)) continue;
        for (let sy = 0; sy < scale; sy++) {
          for (let sx = 0; sx < scale; sx++) {
            const px = x + gx * scale + sx;
            const py = y0 + gy * scale + sy;
            if (px >= 0 && px < width) out.fill(0, (py * width + px) * 3, (py * width + px) * 3 + 3);
          }
        }
      }
    }
    x += 6 * scale;
  }
}

/** Width in pixels of `text` at `scale`. */
function textWidth(text: string, scale: number): number {
  return Math.max(0, text.length * 6 - 1) * scale;
}

/**
 * `rgb` with a white band below it: the colormap `table` (256 x RGB) across
 * the width from `low` (left) to `high` (right), and the two values under its
 * ends. The band is 18 to 48 pixels high, growing with the width.
 */
export function withColorbar(rgb: RgbImage, table: Uint8Array, [low, high]: [number, number]): RgbImage {
  const [height, width] = rgb.shape;
  const scale = textScale(width);
  const margin = 2 * scale;
  const barHeight = 4 * scale;
  const band = margin + barHeight + margin + 7 * scale + margin;
  const out = new Uint8Array((height + band) * width * 3).fill(255);
  out.set(rgb.data);
  const barTop = height + margin;
  for (let x = 0; x < width; x++) {
    const t = width === 1 ? 0 : Math.round((x * 255) / (width - 1));
    for (let y = barTop; y < barTop + barHeight; y++) out.set(table.subarray(t * 3, t * 3 + 3), (y * width + x) * 3);
  }
  const textTop = barTop + barHeight + margin;
  const lowText = barLabel(low);
  const highText = barLabel(high);
  drawText(out, width, lowText, margin, textTop, scale);
  const highAt = width - margin - textWidth(highText, scale);
  drawText(out, width, highText, Math.max(margin + textWidth(lowText, scale) + 3 * scale, highAt), textTop, scale);
  return { data: out, shape: [height + band, width, 3], dtype: 'uint8' };
}
