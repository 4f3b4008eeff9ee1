/**
 * The exports run in the Rust core. This is the one place they ask for the
 * native addon (to become the shared `requireNative(feature)` once it lands).
 */

import { ErrorCode, stateError } from '../errors';
import { loadNative, nativeLoadError } from '../native-backend';

export function nativeFor(feature: string): typeof import('../binding') {
  const binding = loadNative();
  if (!binding) {
    const error = nativeLoadError();
    const reason = error instanceof Error ? error.message.split('\n')[0] : 'unknown';
    throw stateError(
      ErrorCode.NATIVE_UNAVAILABLE,
      `${feature} needs the native addon, which did not load (${reason}); build it with 'npm run build:native'`,
    );
  }
  return binding;
}
