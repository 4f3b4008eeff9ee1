/**
 * Which axis of a mask file holds the channels, one rule for `info` and
 * `render`: of a 3-D array's first and last axes, the shorter: `[C, H, W]`
 * (a builder's mask) or `[H, W, C]` (what resizeToSource writes). When they
 * are equal the file does not say, and a flag must.
 */

export type ChannelAxis = 'first' | 'second' | 'last';

/** The channel axis of `shape`; null for a 2-D array (no channels) or when the shape does not decide it. */
export function channelAxisOf(shape: readonly number[]): ChannelAxis | null {
  if (shape.length >= 4) return 'second';
  if (shape.length !== 3) return null;
  const [first, , last] = shape;
  return first === last ? null : first < last ? 'first' : 'last';
}
