/** The CLI's one rule for output files: an existing one is refused unless `--force`. */

import { existsSync } from 'node:fs';

/** Throws when `path` (or one of the files written beside it) exists and `force` is not set. */
export function refuseExisting(path: string, force: boolean | undefined, beside: readonly string[]): void {
  if (force) return;
  const existing = [path, ...beside].find((p) => existsSync(p));
  if (existing !== undefined) {
    throw Object.assign(new Error(`${existing} exists; refusing to overwrite it (pass --force to replace it)`), {
      code: 'EEXIST',
    });
  }
}
