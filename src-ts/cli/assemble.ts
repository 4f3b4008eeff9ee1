/** `wsi-mask-builder assemble`: a mask from tile predictions and coordinates saved as NPY files. */

import { rmSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { geometryOf, writeSidecar } from '../export/geometry';
import { WINDOW_NAMES } from '../js/weights';
import { MaskBuilder } from '../mask-builder';
import type { NdArray } from '../ndarray';
import { readNpy, writeNpy } from '../npy';
import type { FinalizeOptions, WeightsInput } from '../options';
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
  agg?: Aggregation;
  aggregation?: Aggregation;
  /** A window name (`uniform`, `gaussian`, `hann`, ...) or an NPY file holding a weight map. */
  weights?: string;
  /** Argmax: the label of pixels no tile reached. */
  background?: number;
  argmax?: boolean;
  threshold?: number;
  quantize?: boolean;
  clip?: ClipEntry[];
  memmap?: boolean;
  force?: boolean;
  batchSize: number;
  output: string;
  progress?: boolean;
  backend?: 'native' | 'js';
}

export const AGGREGATIONS = ['mean', 'max', 'min', 'sum', 'variance', 'argmax'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];
export const WEIGHT_NAMES = ['uniform', ...WINDOW_NAMES] as const;

export interface AssembleSummary {
  tiles: number;
  seconds: number;
  shape: number[];
  dtype: string;
  /** Further files written beside the output (the variances of --aggregation variance). */
  extra: string[];
}

/** `--weights`: a window name, or an NPY file with a map of the footprint's (or the output tile's) shape. */
function weightsOption(value: string | undefined): WeightsInput | undefined {
  if (value === undefined) return undefined;
  if ((WEIGHT_NAMES as readonly string[]).includes(value)) return value as WeightsInput;
  if (value.endsWith('.npy')) {
    const map = readNpy(value);
    return { data: map.data, shape: map.shape } as WeightsInput;
  }
  throw new Error(`--weights must be ${WEIGHT_NAMES.join(', ')} or an NPY file holding a weight map; got '${value}'`);
}

/** The one finalize reduction asked for, if any. */
function reduction(o: AssembleOptions): FinalizeOptions | undefined {
  const chosen = [o.argmax && '--argmax', o.threshold !== undefined && '--threshold', o.quantize && '--quantize'].filter(Boolean);
  if (chosen.length > 1) throw new Error(`choose one of --argmax, --threshold and --quantize; got ${chosen.join(' and ')}`);
  if (o.argmax) return { argmax: true, ...(o.background !== undefined ? { background: o.background } : {}) };
  if (o.threshold !== undefined) return { threshold: o.threshold };
  if (o.quantize) return { quantize: 'uint8' };
  return undefined;
}

/** `mask.npy` -> `mask.variance.npy`. */
function beside(output: string, what: string): string {
  const ext = extname(output);
  return join(dirname(output), `${basename(output, ext)}.${what}${ext || '.npy'}`);
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
  if (o.agg !== undefined && o.aggregation !== undefined && o.agg !== o.aggregation) {
    throw new Error(`--agg ${o.agg} and --aggregation ${o.aggregation} disagree; give one`);
  }
  const aggregation = o.aggregation ?? o.agg ?? 'mean';
  const reduce = reduction(o);
  if (o.background !== undefined && aggregation !== 'argmax' && !o.argmax) {
    throw new Error('--background applies to --aggregation argmax and --argmax only');
  }
  const weights = weightsOption(o.weights);
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
    // Memmap storage writes the result straight into the output file, which must not exist yet: the mask itself,
    // or, when the result is a reduction (argmax labels, thresholded or quantized bytes), the reduction band by
    // band from an accumulator in temporary files.
    const reduced = reduce !== undefined || aggregation === 'argmax';
    const persisted = o.memmap && !reduced;
    const counter = persisted && aggregation === 'mean' ? [counterPath(o.output)] : [];
    refuseExisting(o.output, o.force, counter);
    if (o.memmap && o.force) {
      rmSync(o.output, { force: true });
      for (const path of counter) rmSync(path, { force: true });
    }
    const memmap: object = o.memmap
      ? {
          storage: 'memmap',
          ...(persisted ? { filename: o.output, ...(counter.length ? { overlapCounterFilename: counter[0] } : {}) } : {}),
        }
      : {};
    const builder = new MaskBuilder({
      sourceExtents: o.source,
      sourceTileExtent: perDimension('--tile', o.tile, ndim),
      outputTileExtent: outputTile,
      stride: perDimension('--stride', o.stride, ndim),
      nChannels: tiles.shape[1],
      aggregation,
      dtype: tiles.dtype === 'float64' ? 'float64' : 'float32',
      ...(weights !== undefined ? { weights } : {}),
      ...(aggregation === 'argmax' && o.background !== undefined ? { background: o.background } : {}),
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
      const toFile = o.memmap && reduced ? { outputFilename: o.output } : {};
      const finalized: unknown = await builder.finalizeAsync({ ...reduce, ...toFile } as FinalizeOptions);
      const result = finalized as Record<string, unknown>;
      const seconds = (performance.now() - started) / 1000;
      progress.stop();
      const extra: string[] = [];
      let written: NdArray;
      if ('labels' in result) {
        written = result.labels as NdArray;
      } else if ('variance' in result) {
        written = result.mean as NdArray;
        extra.push(beside(o.output, 'variance'));
        writeNpy(extra[0], result.variance as NdArray);
      } else {
        written = ('mask' in result ? result.mask : result) as NdArray;
      }
      // Memmap storage already wrote the output.
      if (!o.memmap) {
        // Checked again: the file may have appeared while the mask was built.
        refuseExisting(o.output, o.force, []);
        writeNpy(o.output, written);
        // The memmap path's builder writes it at finalize; `export` reads the geometry from it.
        const geometry = geometryOf(written);
        if (geometry) writeSidecar(o.output, geometry);
      }
      return { tiles: total, seconds, shape: written.shape, dtype: written.dtype, extra };
    } finally {
      // A build that failed leaves no half-written --memmap output behind.
      builder.cleanup({ unfinished: 'remove' });
    }
  } finally {
    tiles.close();
    coords.close();
  }
}
