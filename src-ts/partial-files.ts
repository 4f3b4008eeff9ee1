/** File names inside a saved partial's directory (shared with the Rust core's `partial` module). */

export const ACCUMULATOR_FILE = 'accumulator.npy';
export const COUNTER_FILE = 'overlap_counter.npy';
export const MANIFEST_FILE = 'manifest.json';
