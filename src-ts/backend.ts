/** What the facade needs from a backend; implemented in Rust (native) and in TypeScript (js). */

import type { Batch, Clipping, CoordsTable } from './inputs';
import type { LifecycleState } from './js/lifecycle';
import type { CounterArray, NdArray } from './ndarray';
import type { MaskRegion, ResolvedFinalize } from './options';

/** A saved partial to merge: its directory and what its manifest says of its arrays. */
export interface PartialRef {
  dir: string;
  region: MaskRegion;
  tilesApplied: number;
  tilesSkipped: number;
}

export interface TileCounts {
  /** Tiles applied (at least partly inside the region). */
  applied: number;
  /** Tiles given to the builder that lie wholly outside its region. */
  skipped: number;
}

/** The builder's geometry, one entry per spatial dimension. */
export interface Geometry {
  sourceExtents: number[];
  sourceTileExtent: number[];
  outputTileExtent: number[];
  stride: number[];
  span: number[];
  maskExtents: number[];
  maskStride: number[];
  upscaleFactor: number[];
}

/** A file backing memory-mapped storage. */
export interface StorageFile {
  path: string;
  /** Removed at cleanup; on Unix unlinked at once, so it never outlives the process. */
  temporary: boolean;
  /** Whether the disk blocks were reserved up front (fallocate); if not, free space was checked. */
  reserved: boolean;
}

/**
 * One builder's storage and kernels. Each backend owns its lifecycle (native:
 * the Rust core's state machine; js: `Lifecycle`, its mirror) and refuses
 * calls its state does not allow.
 */
export interface Backend {
  readonly name: 'native' | 'js';
  readonly geometry: Geometry;
  readonly state: LifecycleState;
  /** Throws what `call` throws for the state alone (cleaned up; finalized, with `building`). */
  check(call: string, building: boolean): void;
  /** Updates accepted but not yet applied. */
  readonly pending: number;
  /** Live view of the accumulator `[C, ...maskExtents]`. */
  storage(): NdArray;
  /** Live view of the mean overlap counter `[1, ...maskExtents]`, if any. */
  overlapCounter(): NdArray<CounterArray> | null;
  /** A copy of the box `start`..`start + extent` of one channel of the mask or of the counter. */
  readRegion(array: 'mask' | 'overlapCounter', channel: number, start: number[], extent: number[]): NdArray<any>;
  /** Files backing memory-mapped storage (mask first). */
  files(): StorageFile[];
  /** Applies a batch; refuses it (before its arguments) when the builder no longer accepts batches. */
  updateBatch(batch: Batch, coords: CoordsTable, clipping: Clipping): void;
  /** Throws what `updateBatch` would for a bad batch; writes nothing. */
  checkBatch(batch: Batch, coords: CoordsTable, clipping: Clipping): void;
  /** `transferred`: the batch's buffer belongs to the builder now (read in place, never copied). */
  updateBatchAsync(batch: Batch, coords: CoordsTable, clipping: Clipping, transferred: boolean): Promise<void>;
  /**
   * Finishes the mask in place (once; later calls return the same result) and computes the requested
   * reduction from it (anew on each call that asks); returns what the aggregation or reduction returns.
   */
  finalize(request?: ResolvedFinalize): unknown;
  finalizeAsync(request?: ResolvedFinalize): Promise<unknown>;
  /** Waits for pending updates and releases the storage; later calls do nothing. */
  /** `abandon`: the build's files are deleted next, so none not yet created is written first. */
  cleanup(abandon?: boolean): void;
  /**
   * Before an unfinished persisted memmap release: writes the files the storage keeps beside its sums
   * (native: a uniform mean's overlap counter, otherwise written at finalize), so `files()` lists them.
   */
  prepareRelease(): void;
  /** The window of the mask held (the whole mask unless the region option says otherwise). */
  readonly region: MaskRegion;
  tileCounts(): TileCounts;
  /**
   * Writes the un-normalized arrays into the existing directory `dir`
   * (accumulator.npy, overlap_counter.npy); returns the tile counts of the state written.
   */
  writePartialArrays(dir: string): TileCounts;
  writePartialArraysAsync(dir: string): Promise<TileCounts>;
  /** Checks every partial's arrays, then merges them all; nothing merged if one is refused. */
  mergePartials(partials: PartialRef[]): void;
  mergePartialsAsync(partials: PartialRef[]): Promise<void>;
  /** Merges another backend of the same kind, options and a region inside this one's. */
  mergeFrom(other: Backend): void;
  mergeFromAsync(other: Backend): Promise<void>;
}
