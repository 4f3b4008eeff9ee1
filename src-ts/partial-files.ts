/** File names inside a saved partial's directory (shared with the Rust core's `partial` module). */

export const ACCUMULATOR_FILE = 'accumulator.npy';
export const COUNTER_FILE = 'overlap_counter.npy';
export const WEIGHT_SUM_FILE = 'weight_sum.npy';
export const M2_FILE = 'm2.npy';
/** A custom weight map, as resolved (float64, the map's shape): what `loadPartials` rebuilds the builder with. */
export const WEIGHT_MAP_FILE = 'weight_map.npy';
export const MANIFEST_FILE = 'manifest.json';
