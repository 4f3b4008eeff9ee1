/** `wsi-mask-builder info`: shape, dtype, NPY version and per-channel statistics of an NPY file, read in blocks. */

import { type ChannelAxis, channelAxisOf } from './layout';
import { NpyRows } from './npy-rows';

export type { ChannelAxis } from './layout';

export interface ChannelStats {
  min: number;
  max: number;
  mean: number;
  /** NaN elements, left out of min, max and mean. */
  nan: number;
}

export interface NpyInfo {
  path: string;
  shape: number[];
  dtype: string;
  version: string;
  channelAxis: ChannelAxis | null;
  /** The array does not say which axis holds channels (pass `--channel-axis`). */
  ambiguous: boolean;
  fortranOrder: boolean;
  channels: ChannelStats[];
  /** All elements together. */
  overall: ChannelStats;
}

/** Elements read per block: bounded memory whatever the file size. */
const BLOCK = 1 << 22;

/** Channel lines printed before the rest are summarized. */
const SHOWN_CHANNELS = 16;

/** Channel of the element at `index` in the file's order, for channels on `axis` of `shape`. */
function channelIndexer(shape: number[], axis: ChannelAxis | null, fortran: boolean): (index: number) => number {
  if (axis === null) return () => 0;
  const at = axis === 'first' ? 0 : axis === 'second' ? 1 : shape.length - 1;
  const size = shape[at];
  // Elements between consecutive entries of the axis, in the file's order.
  const inner = fortran ? shape.slice(0, at).reduce((a, d) => a * d, 1) : shape.slice(at + 1).reduce((a, d) => a * d, 1);
  return (index) => Math.floor(index / inner) % size;
}

export function npyInfo(path: string, axis?: ChannelAxis): NpyInfo {
  const file = new NpyRows(path);
  try {
    const { shape } = file;
    const detected = channelAxisOf(shape);
    const ambiguous = axis === undefined && detected === null && shape.length === 3;
    const where = shape.length < 3 ? null : (axis ?? detected ?? 'first');
    // Bounded by what the file holds: a file of no elements has no channel
    // statistics, however long its axes (shape (400000000, 0, 400000001)).
    const nChannels =
      file.length === 0 ? 0 : where === null ? 1 : shape[where === 'first' ? 0 : where === 'second' ? 1 : shape.length - 1];
    const channelOf = channelIndexer(shape, where, file.fortranOrder);
    // One slot per channel, and one more for all of them.
    const slots = nChannels + 1;
    const min = new Array<number>(slots).fill(Number.POSITIVE_INFINITY);
    const max = new Array<number>(slots).fill(Number.NEGATIVE_INFINITY);
    const sum = new Array<number>(slots).fill(0);
    const count = new Array<number>(slots).fill(0);
    const nan = new Array<number>(slots).fill(0);
    const all = slots - 1;
    for (let start = 0; start < file.length; start += BLOCK) {
      const block = file.read(start, Math.min(BLOCK, file.length - start));
      for (let i = 0; i < block.length; i++) {
        const c = channelOf(start + i);
        const v = Number(block[i]);
        for (const k of [c, all]) {
          if (Number.isNaN(v)) {
            nan[k]++;
            continue;
          }
          if (v < min[k]) min[k] = v;
          if (v > max[k]) max[k] = v;
          sum[k] += v;
          count[k]++;
        }
      }
    }
    const stats = (k: number): ChannelStats =>
      count[k] > 0
        ? { min: min[k], max: max[k], mean: sum[k] / count[k], nan: nan[k] }
        : { min: Number.NaN, max: Number.NaN, mean: Number.NaN, nan: nan[k] };
    return {
      path,
      shape,
      dtype: file.dtype,
      version: `${file.header.version[0]}.${file.header.version[1]}`,
      channelAxis: where,
      ambiguous,
      fortranOrder: file.fortranOrder,
      channels: Array.from({ length: all }, (_, c) => stats(c)),
      overall: stats(all),
    };
  } finally {
    file.close();
  }
}

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(6));

const AXIS_NOTE: Record<ChannelAxis, string> = {
  first: ' (channels first)',
  second: ' (tiles [N, C, ...]: channels second)',
  last: ' (channels last)',
};

function statsLine(label: string, s: ChannelStats): string {
  const nan = s.nan > 0 ? `  nan=${s.nan}` : '';
  return `  ${label}: min=${fmt(s.min)}  max=${fmt(s.max)}  mean=${fmt(s.mean)}${nan}`;
}

export function formatInfo(info: NpyInfo): string {
  const axisNote =
    info.channelAxis === null
      ? ''
      : info.ambiguous
        ? ' (channels first? the shape does not say: pass --channel-axis first or last)'
        : AXIS_NOTE[info.channelAxis];
  const lines = [
    `${info.path}`,
    `  shape   [${info.shape.join(', ')}]${axisNote}`,
    `  dtype   ${info.dtype}`,
    `  version NPY ${info.version}${info.fortranOrder ? ', Fortran order' : ''}`,
  ];
  if (info.channels.length === 0) lines.push('  no elements');
  info.channels.slice(0, SHOWN_CHANNELS).forEach((s, c) => {
    lines.push(statsLine(`channel ${c}`, s));
  });
  if (info.channels.length > SHOWN_CHANNELS) lines.push(`  ... ${info.channels.length - SHOWN_CHANNELS} more channels`);
  if (info.channels.length > SHOWN_CHANNELS) lines.push(statsLine('all channels', info.overall));
  return lines.join('\n');
}
