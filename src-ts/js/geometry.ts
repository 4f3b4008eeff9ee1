/** Geometry of the pure-JS backend: the reference's formulas, with overflow checks. */

import type { Geometry } from '../backend';
import { ErrorCode, list, rangeError } from '../errors';
import type { ResolvedOptions } from '../options';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function tooLarge(what: string): RangeError {
  return rangeError(ErrorCode.MASK_TOO_LARGE, `the mask geometry overflows: ${what} exceeds 2^53 - 1`);
}

export function computeGeometry(o: ResolvedOptions): Geometry {
  const g: Geometry = {
    sourceExtents: [...o.sourceExtents],
    sourceTileExtent: [...o.sourceTileExtent],
    outputTileExtent: [...o.outputTileExtent],
    stride: [...o.stride],
    span: [],
    maskExtents: [],
    maskStride: [],
    upscaleFactor: [],
  };
  o.sourceExtents.forEach((s, d) => {
    const [source, tile, out, stride] = [s, o.sourceTileExtent[d], o.outputTileExtent[d], o.stride[d]].map(BigInt);
    const excess = source > tile ? source - tile : 0n;
    const numTiles = (excess + stride - 1n) / stride + 1n;
    const span = (numTiles - 1n) * stride + tile;
    if (span > MAX_SAFE) throw tooLarge('span');
    const divisor = gcd(tile, stride * out);
    const maskExtent = (span * out) / divisor;
    if (maskExtent > MAX_SAFE) throw tooLarge(`maskExtents[${d}]`);
    g.span.push(Number(span));
    g.maskExtents.push(Number(maskExtent));
    g.maskStride.push(Number((stride * out) / divisor));
    g.upscaleFactor.push(Number(tile / divisor));
  });
  return g;
}

/** Pixels per channel plane; refuses planes beyond 2^53 - 1. */
export function planeLength(g: Geometry): number {
  const n = g.maskExtents.reduce((a, e) => a * BigInt(e), 1n);
  if (n > MAX_SAFE) {
    throw rangeError(ErrorCode.MASK_TOO_LARGE, `the mask ${list(g.maskExtents)} has more than 2^53 - 1 pixels per channel`);
  }
  return Number(n);
}
