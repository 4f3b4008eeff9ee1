// resizeToSource against libvips' vips_resize, through the libvips that sharp (an optional dependency) bundles,
// with the same kernel and scale as `vips resize` would use.
//
// Tolerances, from how libvips resizes:
// - downsizing uses vips_reduce with the named kernel and centre convention, as we do: equal to 1e-4 away from the
//   borders (where libvips extends edge pixels and fast_image_resize renormalizes the cut kernel);
// - upsizing samples half an output pixel up-left of centre convention (libvips 8.14 through vips_affine; later
//   versions keep that alignment), so on a smooth mask with at most G change per mask pixel the two differ by at most
//   sum over axes of G / (2 * scale), plus 0.005 for the interpolators, away from the borders;
// - nearest with an integer scale is an exact block copy in both.
//
// sharp's resize(width, height) calls vips_resize with hscale = width / inputWidth and vscale likewise: the same call
// as `vips resize in out <span_x / w> --vscale <span_y / h>`. Each channel goes through sharp as a one-band float
// TIFF (interpreted as b-w, so sharp neither premultiplies nor converts colour, and raw float output is not cast).
import { resizeToSource } from '../src-ts/index';
import { KERNELS, smooth } from './helpers/resize';

const VIPS_KERNEL = {
  nearest: 'nearest',
  bilinear: 'linear',
  cubic: 'cubic',
  mitchell: 'mitchell',
  lanczos3: 'lanczos3',
} as const;
// The largest change per mask pixel of helpers/smooth, per axis [y, x].
const GRADIENT = [(0.25 * 2 * Math.PI) / 12, (0.25 * 2 * Math.PI) / 16];

type Sharp = typeof import('sharp');
let sharp: Sharp;
beforeAll(() => {
  try {
    sharp = require('sharp');
  } catch (e) {
    throw new Error(
      `these tests compare with the libvips bundled in sharp, an optional dependency that \`npm install\` installs; it did not load: ${(e as Error).message}`,
    );
  }
});

/** A little-endian, uncompressed, one-strip TIFF of one float32 band (min-is-black). */
function floatTiff(plane: Float32Array, width: number, height: number): Buffer {
  const entries: [number, number, number][] = [
    // [tag, type (3 SHORT, 4 LONG), value]
    [256, 4, width],
    [257, 4, height],
    [258, 3, 32],
    [259, 3, 1],
    [262, 3, 1],
    [273, 4, 0], // StripOffsets, patched below
    [277, 3, 1],
    [278, 4, height],
    [279, 4, plane.byteLength],
    [339, 3, 3], // SampleFormat: IEEE float
  ];
  const ifdSize = 2 + entries.length * 12 + 4;
  const dataOffset = 8 + ifdSize;
  const out = Buffer.alloc(dataOffset + plane.byteLength);
  out.write('II', 0, 'latin1');
  out.writeUInt16LE(42, 2);
  out.writeUInt32LE(8, 4);
  out.writeUInt16LE(entries.length, 8);
  entries.forEach(([tag, type, value], i) => {
    const at = 10 + i * 12;
    out.writeUInt16LE(tag, at);
    out.writeUInt16LE(type, at + 2);
    out.writeUInt32LE(1, at + 4);
    const v = tag === 273 ? dataOffset : value;
    if (type === 3) out.writeUInt16LE(v, at + 8);
    else out.writeUInt32LE(v, at + 8);
  });
  Buffer.from(plane.buffer, plane.byteOffset, plane.byteLength).copy(out, dataOffset);
  return out;
}

/** vips_resize of a [C, H, W] mask by span / mask per axis, cropped to source; returns [H, W, C] floats. */
async function vipsResize(mask: Float32Array, shape: number[], span: number[], source: number[], kernel: keyof Sharp['kernel']) {
  const [c, h, w] = shape;
  const out = new Float32Array(source[0] * source[1] * c);
  for (let k = 0; k < c; k++) {
    const plane = mask.subarray(k * h * w, (k + 1) * h * w);
    const { data, info } = await sharp(floatTiff(plane, w, h))
      .resize(span[1], span[0], { kernel, fit: 'fill' })
      .extract({ left: 0, top: 0, width: source[1], height: source[0] })
      .toColourspace('b-w')
      .raw({ depth: 'float' })
      .toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels, data.length]).toEqual([source[1], source[0], 1, source[0] * source[1] * 4]);
    const resized = new Float32Array(data.buffer, data.byteOffset, data.length / 4);
    // Guards against a pipeline that casts to integers: a smooth mask in [0, 1] has fractional values.
    expect(resized.some((v) => v > 0.01 && v < 0.99 && v !== Math.round(v))).toBe(true);
    for (let i = 0; i < resized.length; i++) out[i * c + k] = resized[i];
  }
  return out;
}

/** Largest difference, over all pixels and over pixels at least `margin` [y, x] from the borders. */
function differences(a: Float32Array, b: Float32Array, [h, w, c]: number[], margin: number[]) {
  let all = 0;
  let interior = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const inside = y >= margin[0] && y < h - margin[0] && x >= margin[1] && x < w - margin[1];
      for (let k = 0; k < c; k++) {
        const d = Math.abs(a[(y * w + x) * c + k] - b[(y * w + x) * c + k]);
        all = Math.max(all, d);
        if (inside) interior = Math.max(interior, d);
      }
    }
  }
  return { all, interior };
}

describe.each(KERNELS)('%s', (kernel) => {
  test('downsizing (scale 0.5, cropped) matches vips resize away from the borders', async () => {
    const shape = [2, 40, 60];
    const mask = smooth(2, 40, 60);
    const [span, source] = [
      [20, 30],
      [19, 28],
    ];
    const ours = resizeToSource({ data: mask, shape }, { sourceExtents: source, maskExtents: [40, 60], span }, { kernel });
    const theirs = await vipsResize(mask, shape, span, source, VIPS_KERNEL[kernel]);
    const d = differences(ours.data, theirs, ours.shape, [3, 3]);
    expect(d.interior).toBeLessThanOrEqual(1e-4);
    expect(d.all).toBeLessThanOrEqual(0.02);
  });

  test.each([
    [8, 8],
    [3, 5],
  ])('upsizing by %i x %i (cropped) matches vips resize within the half-pixel offset bound', async (fy, fx) => {
    const shape = [2, 24, 34];
    const mask = smooth(2, 24, 34);
    const span = [24 * fy, 34 * fx];
    const source = [span[0] - fy - 1, span[1] - 2];
    const ours = resizeToSource({ data: mask, shape }, { sourceExtents: source, maskExtents: [24, 34], span }, { kernel });
    const theirs = await vipsResize(mask, shape, span, source, VIPS_KERNEL[kernel]);
    const d = differences(ours.data, theirs, ours.shape, [3 * fy, 3 * fx]);
    if (kernel === 'nearest') {
      expect(d.all).toBe(0);
    } else {
      expect(d.interior).toBeLessThanOrEqual(GRADIENT[0] / (2 * fy) + GRADIENT[1] / (2 * fx) + 0.005);
      expect(d.all).toBeLessThanOrEqual(0.05);
    }
  });
});
