/** The exports run in the Rust core; they ask for the native addon through the shared `requireNative`. */

export { requireNative as nativeFor } from '../native-backend';
