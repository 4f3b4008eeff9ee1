/** `wsi-mask-builder assemble`: a mask from tile predictions and coordinates saved as NPY files. */

import { MaskBuilder } from '../mask-builder';
import type { NdArray } from '../ndarray';
import { writeNpy } from '../npy';
import type { MeanResult } from '../strategies';
import { perDimension } from './args';
import { NpyRows } from './npy-rows';
import { tileProgress } from './progress';

export interface AssembleOptions {
  tiles: string;
  coords: string;
  source: number[];
  tile: number[];
  stride: number[];
  outputTile?: number[];
  agg: 'mean' | 'max';
  clip?: number[];
  memmap?: boolean;
  batchSize: number;
  output: string;
  progress?: boolean;
  backend?: 'native' | 'js';
}

export interface AssembleSummary {
  tiles: number;
  seconds: number;
  shape: number[];
  dtype: string;
}

function edgeClipping(clip: number[] | undefined, ndim: number): number | number[][] {
  if (clip === undefined) return 0;
  if (clip.length === 1) return clip[0];
  if (clip.length === 2) return new Array(ndim).fill([clip[0], clip[1]]);
  throw new Error(`--clip takes N (every edge) or START,END (for every dimension); got ${clip.length} values`);
}

export async function assemble(o: AssembleOptions): Promise<AssembleSummary> {
  const tiles = new NpyRows(o.tiles);
  const coords = new NpyRows(o.coords);
  try {
    const ndim = o.source.length;
    if (tiles.dtype !== 'float32' && tiles.dtype !== 'float64') {
      throw new Error(`${o.tiles} must hold float32 or float64 predictions; it holds ${tiles.dtype}`);
    }
    if (tiles.shape.length !== 2 && tiles.shape.length !== 2 + ndim) {
      throw new Error(
        `${o.tiles} must have shape [N, C] (one value per tile) or [N, C, ${new Array(ndim).fill('out').join(', ')}]; it has [${tiles.shape.join(', ')}]`,
      );
    }
    if (coords.shape.length !== 2 || coords.shape[1] !== ndim || coords.shape[0] !== tiles.shape[0]) {
      throw new Error(
        `${o.coords} must have shape [${tiles.shape[0]}, ${ndim}] (one [y, x] per tile of ${o.tiles}); it has [${coords.shape.join(', ')}]`,
      );
    }
    if (!['int32', 'int64', 'float64'].includes(coords.dtype)) {
      throw new Error(`${o.coords} must hold int32, int64 or float64 coordinates; it holds ${coords.dtype}`);
    }
    const fromTiles = tiles.shape.length === 2 ? new Array<number>(ndim).fill(1) : tiles.shape.slice(2);
    const outputTile = o.outputTile ? perDimension('--output-tile', o.outputTile, ndim) : fromTiles;
    if (outputTile.some((e, d) => e !== fromTiles[d])) {
      throw new Error(`--output-tile ${outputTile.join(',')} does not match the tiles of ${o.tiles} (${fromTiles.join(',')})`);
    }
    // Memmap storage (its options are those of MaskBuilder on main: storage 'memmap' with filename) writes the mask
    // straight into the output file, which must not exist yet.
    const memmap: object = o.memmap ? { storage: 'memmap', filename: o.output } : {};
    const builder = new MaskBuilder({
      sourceExtents: o.source,
      sourceTileExtent: perDimension('--tile', o.tile, ndim),
      outputTileExtent: outputTile,
      stride: perDimension('--stride', o.stride, ndim),
      nChannels: tiles.shape[1],
      aggregation: o.agg,
      dtype: tiles.dtype,
      ...(o.backend ? { backend: o.backend } : {}),
      ...memmap,
    });
    try {
      const clipping = edgeClipping(o.clip, ndim);
      const total = tiles.shape[0];
      const progress = tileProgress(total, o.progress ?? process.stderr.isTTY === true);
      const started = performance.now();
      let pending: Promise<void> | undefined;
      // Read the next batch while the previous one is being applied.
      for (let first = 0; first < total; first += o.batchSize) {
        const count = Math.min(o.batchSize, total - first);
        const batch = {
          data: tiles.readRows(first, count) as Float32Array | Float64Array,
          shape: [count, ...tiles.shape.slice(1)],
        };
        const where = { data: coords.readRows(first, count) as Int32Array | BigInt64Array | Float64Array, shape: [count, ndim] };
        await pending;
        pending = builder.updateBatchAsync(batch, where, clipping).then(() => progress.update(first + count));
        // Awaited on the next turn; this only keeps a failure from being reported as unhandled meanwhile.
        pending.catch(() => undefined);
      }
      await pending;
      const result = await builder.finalizeAsync();
      const seconds = (performance.now() - started) / 1000;
      progress.stop();
      const mask = (o.agg === 'mean' ? (result as MeanResult).mask : result) as NdArray;
      if (!o.memmap) writeNpy(o.output, mask);
      return { tiles: total, seconds, shape: mask.shape, dtype: mask.dtype };
    } finally {
      builder.cleanup();
    }
  } finally {
    tiles.close();
    coords.close();
  }
}
