/**
 * A persisted memmap mask released by `cleanup()` before `finalize()` holds
 * raw accumulator values (mean: sums not yet divided by the overlap count;
 * max: -Infinity where no tile landed) that numpy opens without complaint.
 * It is marked unfinished in a JSON sidecar beside it, and a warning says so.
 */

import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { StorageFile } from './backend';

/** The sidecar of a persisted mask: `heat.npy` -> `heat.npy.json`. */
export function sidecarPath(mask: string): string {
  return `${mask}.json`;
}

export function markUnfinished(mask: string, aggregation: string, files: StorageFile[]): void {
  const raw =
    aggregation === 'mean'
      ? 'sums of the tiles, not yet divided by the overlap counter'
      : aggregation === 'max'
        ? 'maxima, with -Infinity where no tile landed'
        : 'the raw accumulator of the custom aggregation';
  const sidecar = sidecarPath(mask);
  let marked = true;
  try {
    const counter = files.find((f) => f.path !== mask && !f.temporary);
    writeFileSync(
      sidecar,
      `${JSON.stringify(
        {
          mask: basename(mask),
          finished: false,
          aggregation,
          holds: raw,
          ...(counter ? { overlapCounter: basename(counter.path) } : {}),
          writtenBy: 'wsi-mask-builder: cleanup() ran before finalize()',
        },
        null,
        2,
      )}\n`,
    );
  } catch {
    marked = false;
  }
  process.emitWarning(
    `wsi-mask-builder: cleanup() without finalize() left ${mask} unfinished: it holds the ${raw}` +
      `${marked ? `; marked in ${sidecar}` : ''}. Call finalize() (or finalizeAsync()) before cleanup() to finish it`,
    { code: 'WSI_MASK_UNFINISHED' },
  );
}
