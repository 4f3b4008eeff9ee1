// Loads the reference-made conformance cases (see fixtures/conformance/README.md).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { NdArray, NumericArray } from '../../src-ts/ndarray';
import { readNpy } from '../../src-ts/npy';

export const CONFORMANCE_DIR = join(__dirname, '..', 'fixtures', 'conformance');

export interface ConformanceCase {
  name: string;
  config: {
    sourceExtents: number[];
    sourceTileExtent: number[];
    outputTileExtent: number[];
    stride: number[];
    nChannels: number;
    dtype: 'float32' | 'float64';
    aggregation: 'mean' | 'max';
  };
  batches: {
    batch: NdArray<NumericArray>;
    coords: NdArray<NumericArray>;
    edgeClipping: number | number[] | [number, number][];
  }[];
  expect: {
    maskExtents: number[];
    maskStride: number[];
    upscaleFactor: number[];
    span: number[];
    mask: NdArray<NumericArray>;
    overlapCounter?: NdArray<NumericArray>;
  };
}

export function loadCases(): ConformanceCase[] {
  return readdirSync(CONFORMANCE_DIR)
    .filter((d) => statSync(join(CONFORMANCE_DIR, d)).isDirectory())
    .sort()
    .map((name) => {
      const dir = join(CONFORMANCE_DIR, name);
      const raw = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8'));
      return {
        name,
        config: raw.config,
        batches: raw.batches.map((b: { batch: string; coords: string; edgeClipping: unknown }) => ({
          batch: readNpy(join(dir, b.batch)),
          coords: readNpy(join(dir, b.coords)),
          edgeClipping: b.edgeClipping,
        })),
        expect: {
          ...raw.expect,
          mask: readNpy(join(dir, raw.expect.mask)),
          overlapCounter: raw.expect.overlapCounter ? readNpy(join(dir, raw.expect.overlapCounter)) : undefined,
        },
      };
    });
}

/** Where the reference silently writes nothing (clipping leaves no pixel), we refuse the batch. */
export function clippingLeavesNothing(outputTileExtent: number[], clip: number | number[] | [number, number][]): boolean {
  return outputTileExtent.some((o, d) => {
    const c =
      typeof clip === 'number'
        ? [clip, clip]
        : Array.isArray(clip[d])
          ? (clip[d] as number[])
          : [clip[d] as number, clip[d] as number];
    return c[0] + c[1] >= o;
  });
}
