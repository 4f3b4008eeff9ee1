/** `wsi-mask-builder assemble`: a mask from tile predictions and coordinates saved as NPY files. */

import { basename, dirname, extname, join } from 'node:path';
import { WINDOW_NAMES } from '../js/weights';
import { MaskBuilder } from '../mask-builder';
import type { NdArray } from '../ndarray';
import { readNpy, writeNpy } from '../npy';
import type { FinalizeOptions, WeightsInput } from '../options';
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
  agg?: Aggregation;
  aggregation?: Aggregation;
  /** A window name (`uniform`, `gaussian`, `hann`, ...) or an NPY file holding a weight map. */
  weights?: string;
  /** Argmax: the label of pixels no tile reached. */
  background?: number;
  argmax?: boolean;
  threshold?: number;
  quantize?: boolean;
  clip?: number[];
  memmap?: boolean;
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

function edgeClipping(clip: number[] | undefined, ndim: number): number | number[][] {
  if (clip === undefined) return 0;
  if (clip.length === 1) return clip[0];
  if (clip.length === 2) return new Array(ndim).fill([clip[0], clip[1]]);
  throw new Error(`--clip takes N (every edge) or START,END (for every dimension); got ${clip.length} values`);
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
    // Memmap storage writes the result straight into the output file, which must not exist yet: the mask itself,
    // or, when the result is a reduction (argmax labels, thresholded or quantized bytes), the reduction band by
    // band from an accumulator in temporary files.
    const reduced = reduce !== undefined || aggregation === 'argmax';
    const memmap: object = o.memmap ? { storage: 'memmap', ...(reduced ? {} : { filename: o.output }) } : {};
    const builder = new MaskBuilder({
      sourceExtents: o.source,
      sourceTileExtent: perDimension('--tile', o.tile, ndim),
      outputTileExtent: outputTile,
      stride: perDimension('--stride', o.stride, ndim),
      nChannels: tiles.shape[1],
      aggregation,
      dtype: tiles.dtype,
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
      if (!o.memmap) writeNpy(o.output, written);
      return { tiles: total, seconds, shape: written.shape, dtype: written.dtype, extra };
    } finally {
      builder.cleanup();
    }
  } finally {
    tiles.close();
    coords.close();
  }
}
