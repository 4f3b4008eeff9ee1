/** Gives `finalize()` results their geometry, and persisted memmap masks their sidecar. */

import type { Geometry, StorageFile } from '../backend';
import { attachGeometry, maskGeometry, writeSidecar } from './geometry';
import { attachFile } from './input';

/**
 * Decorates a built-in aggregation's result (`{ mask, overlapCounter }` or
 * the mask) with `geometry`, and with the mask's NPY file when it persists
 * (writing the file's sidecar, so a later process exports it as is).
 */
export function decorateResult(result: unknown, g: Geometry, mpp: number[] | undefined, files: StorageFile[]): void {
  // finalize() again returns the same result: decorated once.
  if (result === null || typeof result !== 'object' || Object.hasOwn(result, 'geometry')) return;
  const geometry = maskGeometry(g, mpp);
  const mask = (result as { mask?: unknown }).mask ?? result;
  attachGeometry(result, geometry);
  if (mask !== null && typeof mask === 'object') {
    attachGeometry(mask, geometry);
    const file = files[0];
    if (file && !file.temporary) {
      attachFile(mask, file.path);
      writeSidecar(file.path, geometry);
    }
  }
}
