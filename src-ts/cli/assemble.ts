/** `wsi-mask-builder assemble`: a mask from tile predictions and coordinates saved as NPY files. */

import { rmSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { geometryOf, writeSidecar } from '../export/geometry';
import { MaskBuilder } from '../mask-builder';
import type { NdArray } from '../ndarray';
import { writeNpy } from '../npy';
import type { MeanResult } from '../strategies';
import { type ClipEntry, edgeClipping, perDimension } from './args';
import { NpyRows, type RowArray } from './npy-rows';
import { refuseExisting } from './output';
import { tileProgress } from './progress';

export interface AssembleOptions {
  tiles: string;
  coords: string;
  source: number[];
  tile: number[];
  stride: number[];
  outputTile?: number[];
  agg: 'mean' | 'max';
  clip?: ClipEntry[];
  memmap?: boolean;
  force?: boolean;
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

/** Predictions the CLI converts to float32 exactly (numpy writes these for quantized or half-precision models). */
const FLOAT32_EXACT = new Set(['float16', 'int8', 'uint8', 'int16', 'uint16', 'bool']);

function tileData(rows: RowArray, dtype: string): Float32Array | Float64Array {
  if (rows instanceof Float32Array || rows instanceof Float64Array) return rows;
  return FLOAT32_EXACT.has(dtype) ? Float32Array.from(rows as ArrayLike<number>) : (rows as never);
}

/** Coordinates as the builder takes them: int32, int64 and float64 as read, other types converted exactly. */
function coordData(rows: RowArray): Int32Array | BigInt64Array | Float64Array {
  if (rows instanceof Int32Array || rows instanceof BigInt64Array || rows instanceof Float64Array) return rows;
  if (rows instanceof BigUint64Array) return Float64Array.from(rows, Number);
  if (rows instanceof Int8Array || rows instanceof Int16Array || rows instanceof Uint8Array || rows instanceof Uint16Array) {
    return Int32Array.from(rows);
  }
  return Float64Array.from(rows as ArrayLike<number>);
}

/** The overlap counter beside a persisted mask: `mask.npy` -> `mask.overlaps.npy` (the builder's own default). */
function counterPath(output: string): string {
  const ext = extname(output);
  return join(dirname(output), `${basename(output, ext)}.overlaps${ext}`);
}

export async function assemble(o: AssembleOptions): Promise<AssembleSummary> {
  const tiles = new NpyRows(o.tiles);
  const coords = new NpyRows(o.coords);
  try {
    const ndim = o.source.length;
    if (tiles.dtype !== 'float32' && tiles.dtype !== 'float64' && !FLOAT32_EXACT.has(tiles.dtype)) {
      throw new Error(
        `${o.tiles} must hold float32 or float64 predictions (float16, int8, uint8, int16 and uint16 are converted); it holds ${tiles.dtype}. ` +
          `Convert it with numpy: np.save('${o.tiles}', np.load('${o.tiles}').astype(np.float32))`,
      );
    }
    if (tiles.shape.length !== 2 && tiles.shape.length !== 2 + ndim) {
      throw new Error(
        `${o.tiles} must have shape [N, C] (one value per tile) or [N, C, ${new Array(ndim).fill('out').join(', ')}]; it has [${tiles.shape.join(', ')}]`,
      );
    }
    if (coords.shape.length !== 2 || coords.shape[1] !== ndim || coords.shape[0] !== tiles.shape[0]) {
      const n = tiles.shape[0];
      const hint =
        coords.shape.length === 1 && coords.shape[0] === n * ndim
          ? ` (a flat array: reshape it with numpy, np.save('${o.coords}', c.reshape(-1, ${ndim})))`
          : coords.shape.length === 2 && coords.shape[0] === ndim && coords.shape[1] === n
            ? ` (one row per dimension: transpose it with numpy, np.save('${o.coords}', c.T))`
            : '';
      throw new Error(
        `${o.coords} must have shape [${n}, ${ndim}] (one [y, x] per tile of ${o.tiles}); it has [${coords.shape.join(', ')}]${hint}`,
      );
    }
    if (coords.dtype.startsWith('float') && coords.dtype !== 'float64' && coords.dtype !== 'float32') {
      throw new Error(
        `${o.coords} holds ${coords.dtype} coordinates, which cannot hold slide positions exactly; ` +
          `convert with numpy: np.save('${o.coords}', np.load('${o.coords}').astype(np.int64))`,
      );
    }
    const fromTiles = tiles.shape.length === 2 ? new Array<number>(ndim).fill(1) : tiles.shape.slice(2);
    const outputTile = o.outputTile ? perDimension('--output-tile', o.outputTile, ndim) : fromTiles;
    if (outputTile.some((e, d) => e !== fromTiles[d])) {
      throw new Error(`--output-tile ${outputTile.join(',')} does not match the tiles of ${o.tiles} (${fromTiles.join(',')})`);
    }
    // Memmap storage (its options are those of MaskBuilder on main: storage 'memmap' with filename) writes the mask
    // straight into the output file, which must not exist yet.
    refuseExisting(o.output, o.force, o.memmap && o.agg === 'mean' ? [counterPath(o.output)] : []);
    if (o.memmap && o.force) {
      rmSync(o.output, { force: true });
      if (o.agg === 'mean') rmSync(counterPath(o.output), { force: true });
    }
    const memmap: object = o.memmap
      ? { storage: 'memmap', filename: o.output, ...(o.agg === 'mean' ? { overlapCounterFilename: counterPath(o.output) } : {}) }
      : {};
    const builder = new MaskBuilder({
      sourceExtents: o.source,
      sourceTileExtent: perDimension('--tile', o.tile, ndim),
      outputTileExtent: outputTile,
      stride: perDimension('--stride', o.stride, ndim),
      nChannels: tiles.shape[1],
      aggregation: o.agg,
      dtype: tiles.dtype === 'float64' ? 'float64' : 'float32',
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
          data: tileData(tiles.readRows(first, count), tiles.dtype),
          shape: [count, ...tiles.shape.slice(1)],
        };
        const where = { data: coordData(coords.readRows(first, count)), shape: [count, ndim] };
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
      if (!o.memmap) {
        // Checked again: the file may have appeared while the mask was built.
        refuseExisting(o.output, o.force, []);
        writeNpy(o.output, mask);
        // The memmap path's builder writes it at finalize; `export` reads the geometry from it.
        const geometry = geometryOf(mask);
        if (geometry) writeSidecar(o.output, geometry);
      }
      return { tiles: total, seconds, shape: mask.shape, dtype: mask.dtype };
    } finally {
      // A build that failed leaves no half-written --memmap output behind.
      builder.cleanup({ unfinished: 'remove' });
    }
  } finally {
    tiles.close();
    coords.close();
  }
}
