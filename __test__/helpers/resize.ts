// Small masks for the resize and image tests.

/** A deterministic pseudo-random Float32Array in [0, 1). */
export function noise(length: number, seed = 1): Float32Array {
  const out = new Float32Array(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32;
  }
  return out;
}

/** A smooth mask `[C, H, W]`: sinusoids of a dozen mask pixels' period, values in [0, 1]. */
export function smooth(channels: number, height: number, width: number): Float32Array {
  const out = new Float32Array(channels * height * width);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        out[(c * height + y) * width + x] =
          0.5 + 0.25 * Math.sin((2 * Math.PI * y) / 12 + c) + 0.25 * Math.cos((2 * Math.PI * x) / 16 - c);
      }
    }
  }
  return out;
}

export const KERNELS = ['nearest', 'bilinear', 'cubic', 'mitchell', 'lanczos3'] as const;
