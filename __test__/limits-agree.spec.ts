// The TypeScript limits (src-ts/limits.ts) are the Rust core's, not a diverging copy.

import { MAX_CHANNELS, MAX_DIMS } from '../src-ts/limits';
import { loadNative } from '../src-ts/native-backend';

test('MAX_DIMS and MAX_CHANNELS match the core (exported by the binding)', () => {
  const native = loadNative();
  if (!native) throw new Error('this spec needs the native addon: run `npm run build:native`');
  expect(native.limits()).toEqual({ maxDims: MAX_DIMS, maxChannels: MAX_CHANNELS });
});
