/** The row walk of per-sample aggregators: where each row of a sample lands in the accumulator. */

import { type NdArray, product } from '../ndarray';

/** Visits every row of `sample` placed at `coords` in `accumulator`, per channel. */
export function forEachSampleRow(
  accumulator: NdArray,
  sample: NdArray,
  coords: number[],
  visit: (channel: number, accOffset: number, sampleOffset: number, length: number) => void,
): void {
  const n = coords.length;
  const acc = accumulator.shape;
  const extents = sample.shape.slice(1);
  const channels = sample.shape[0];
  const rowLength = extents[n - 1];
  const rows = product(extents.slice(0, n - 1));
  const accPlane = product(acc.slice(1));
  const samplePlane = product(extents);
  const accStrides = new Array<number>(n).fill(1);
  for (let d = n - 2; d >= 0; d--) accStrides[d] = accStrides[d + 1] * acc[d + 2];
  const index = new Array<number>(Math.max(n - 1, 0)).fill(0);
  for (let r = 0; r < rows; r++) {
    let accOffset = coords[n - 1];
    for (let d = 0; d < n - 1; d++) accOffset += (coords[d] + index[d]) * accStrides[d];
    for (let c = 0; c < channels; c++) visit(c, c * accPlane + accOffset, c * samplePlane + r * rowLength, rowLength);
    for (let d = n - 2; d >= 0; d--) {
      if (++index[d] < extents[d]) break;
      index[d] = 0;
    }
  }
}
