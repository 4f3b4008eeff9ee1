// resizeToSource against libvips' `vips resize` (Debian's libvips-tools, installed by .ci/run) with the same kernel and scale.
//
// Tolerances, from how libvips 8.14 resizes:
// - downsizing uses vips_reduce with the named kernel and centre convention, as we do: equal to 1e-4 away from the
//   borders (where libvips extends edge pixels and fast_image_resize renormalizes the cut kernel);
// - upsizing uses vips_affine with a bilinear (linear) or bicubic (cubic, mitchell, lanczos3) interpolator and samples
//   half an output pixel up-left of centre convention, so on a smooth mask with at most G change per mask pixel the
//   two differ by at most sum over axes of G / (2 * scale), plus 0.005 for the interpolators, away from the borders;
// - nearest with an integer scale is an exact block copy in both.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resizeToSource } from '../src-ts/index';
import { KERNELS, smooth } from './helpers/resize';

const VIPS_KERNEL = { nearest: 'nearest', bilinear: 'linear', cubic: 'cubic', mitchell: 'mitchell', lanczos3: 'lanczos3' };
// The largest change per mask pixel of helpers/smooth, per axis [y, x].
const GRADIENT = [(0.25 * 2 * Math.PI) / 12, (0.25 * 2 * Math.PI) / 16];

let dir: string;
beforeAll(() => {
  try {
    execFileSync('vips', ['--version']);
  } catch {
    throw new Error("these tests need the 'vips' command: apt-get install libvips-tools (.ci/run installs it)");
  }
  dir = mkdtempSync(join(tmpdir(), 'wsi-vips-'));
});
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

/** `vips resize` of a [C, H, W] mask by span / mask per axis, cropped to source; returns [H, W, C] floats. */
function vipsResize(mask: Float32Array, shape: number[], span: number[], source: number[], kernel: string): Float32Array {
  const [c, h, w] = shape;
  const interleaved = new Float32Array(mask.length);
  for (let k = 0; k < c; k++) for (let i = 0; i < h * w; i++) interleaved[i * c + k] = mask[k * h * w + i];
  const run = (...args: string[]) => execFileSync('vips', args, { cwd: dir });
  writeFileSync(join(dir, 'in.raw'), interleaved);
  run('rawload', 'in.raw', 'in.v', String(w), String(h), String(c), '--format', 'float');
  run('resize', 'in.v', 'big.v', String(span[1] / w), '--vscale', String(span[0] / h), '--kernel', kernel);
  run('crop', 'big.v', 'out.v', '0', '0', String(source[1]), String(source[0]));
  run('rawsave', 'out.v', 'out.raw');
  const bytes = readFileSync(join(dir, 'out.raw'));
  expect(bytes.length).toBe(source[0] * source[1] * c * 4);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
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
  test('downsizing (scale 0.5, cropped) matches vips resize away from the borders', () => {
    const shape = [2, 40, 60];
    const mask = smooth(2, 40, 60);
    const [span, source] = [
      [20, 30],
      [19, 28],
    ];
    const ours = resizeToSource({ data: mask, shape }, { sourceExtents: source, maskExtents: [40, 60], span }, { kernel });
    const theirs = vipsResize(mask, shape, span, source, VIPS_KERNEL[kernel]);
    const d = differences(ours.data, theirs, ours.shape, [3, 3]);
    expect(d.interior).toBeLessThanOrEqual(1e-4);
    expect(d.all).toBeLessThanOrEqual(0.02);
  });

  test.each([
    [8, 8],
    [3, 5],
  ])('upsizing by %i x %i (cropped) matches vips resize within the half-pixel offset bound', (fy, fx) => {
    const shape = [2, 24, 34];
    const mask = smooth(2, 24, 34);
    const span = [24 * fy, 34 * fx];
    const source = [span[0] - fy - 1, span[1] - 2];
    const ours = resizeToSource({ data: mask, shape }, { sourceExtents: source, maskExtents: [24, 34], span }, { kernel });
    const theirs = vipsResize(mask, shape, span, source, VIPS_KERNEL[kernel]);
    const d = differences(ours.data, theirs, ours.shape, [3 * fy, 3 * fx]);
    if (kernel === 'nearest') {
      expect(d.all).toBe(0);
    } else {
      expect(d.interior).toBeLessThanOrEqual(GRADIENT[0] / (2 * fy) + GRADIENT[1] / (2 * fx) + 0.005);
      expect(d.all).toBeLessThanOrEqual(0.05);
    }
  });
});
