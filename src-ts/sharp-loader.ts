/** sharp, the optional image encoder, loaded on first use. Kept out of the public declarations so that
 * consumers without sharp installed still type-check. */

import type SharpModule from 'sharp';
import { ErrorCode, stateError } from './errors';

let sharpModule: typeof SharpModule | undefined;

/** sharp, loaded on first use; a clear error when it is not installed. */
export function loadSharp(): typeof SharpModule {
  if (sharpModule === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      sharpModule = require('sharp') as typeof SharpModule;
    } catch (e) {
      const reason = e instanceof Error ? e.message.split('\n')[0] : String(e);
      throw stateError(
        ErrorCode.SHARP_MISSING,
        `writing PNG or TIFF images needs the optional dependency sharp, which did not load (${reason}); install it with 'npm install sharp'`,
      );
    }
  }
  return sharpModule;
}
