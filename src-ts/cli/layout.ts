/**
 * Which axis of a mask file holds the channels, one rule for `info` and
 * `render`: `[C, H, W]` (a builder's mask) when the first axis is shorter
 * than both others, `[H, W, C]` (what resizeToSource writes) when the last
 * is; otherwise the file does not say, and a flag must.
 */

export type ChannelAxis = 'first' | 'second' | 'last';

/** The channel axis of `shape`; null for a 2-D array (no channels) or when the shape does not decide it. */
export function channelAxisOf(shape: readonly number[]): ChannelAxis | null {
  if (shape.length >= 4) return 'second';
  if (shape.length !== 3) return null;
  const [a, b, c] = shape;
  const first = a < Math.min(b, c);
  const last = c < Math.min(a, b);
  return first === last ? null : first ? 'first' : 'last';
}
