// A small overlapping, upscaled, edge-clipped tile set shared by the specs on
// how the native mean keeps its overlap counts, and a per-pixel oracle for it:
// the pure-JS backend, which keeps a per-pixel counter.
import { MaskBuilder } from '../../src-ts/index';

export const overlapGeometry = {
  sourceExtents: [300, 260],
  sourceTileExtent: 64,
  outputTileExtent: 32,
  stride: 48,
  nChannels: 2,
};

export interface OverlapBatch {
  batch: { data: Float32Array; shape: number[] };
  coords: number[][];
}

/** `count` batches of 3 tiles walking the tile grid (with repeats), values made from their index. */
export function overlapBatches(count: number): OverlapBatch[] {
  const ys = [0, 48, 96, 144, 192, 236];
  const xs = [0, 48, 96, 144, 196];
  const out: OverlapBatch[] = [];
  for (let b = 0; b < count; b++) {
    const coords = [0, 1, 2].map((t) => {
      const k = (b * 3 + t) * 7;
      return [ys[k % ys.length], xs[Math.floor(k / ys.length) % xs.length]];
    });
    const data = new Float32Array(3 * 2 * 32 * 32);
    // Quarters: sums are exact in any order, so merged halves match one build bit for bit.
    for (let i = 0; i < data.length; i++) data[i] = ((i * 31 + b * 977) % 37) / 4 - 3;
    out.push({ batch: { data, shape: [3, 2, 32, 32] }, coords });
  }
  return out;
}

export const clipping = 2;

/** The pure-JS backend's finalized `{ mask, overlapCounter }` for these batches. */
export function oracle(batches: OverlapBatch[], options: Record<string, unknown> = {}) {
  const b = new MaskBuilder({ ...overlapGeometry, backend: 'js', ...options } as any);
  for (const { batch, coords } of batches) b.updateBatch(batch, coords, clipping);
  const result = b.finalize() as any;
  return { mask: Array.from(result.mask.data as Float32Array), counter: Array.from(result.overlapCounter.data as Uint16Array) };
}
