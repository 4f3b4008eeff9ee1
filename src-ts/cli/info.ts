/** `wsi-mask-builder info`: shape, dtype, NPY version and per-channel statistics of an NPY file, read in blocks. */

import { NpyRows } from './npy-rows';

export type ChannelAxis = 'first' | 'last';

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
  channels: ChannelStats[];
}

/** Elements read per block: bounded memory whatever the file size. */
const BLOCK = 1 << 22;

/**
 * A 3-D array's channel axis: first for `[C, H, W]` (a builder's mask), last
 * for `[H, W, C]` (resizeToSource output); unless given, the shorter of the two.
 */
function channelAxis(shape: number[], axis: ChannelAxis | undefined): ChannelAxis | null {
  if (shape.length < 3) return null;
  if (axis) return axis;
  return shape.length === 3 && shape[2] < shape[0] ? 'last' : 'first';
}

export function npyInfo(path: string, axis?: ChannelAxis): NpyInfo {
  const file = new NpyRows(path);
  try {
    const { shape } = file;
    const where = channelAxis(shape, axis);
    // Bounded by what the file holds: a file of no elements has no channel
    // statistics, however long its axes (shape (400000000, 0, 400000001)).
    const nChannels = file.length === 0 ? 0 : where === null ? 1 : where === 'first' ? shape[0] : shape[shape.length - 1];
    const perChannel = where === 'first' ? file.length / Math.max(nChannels, 1) : 0;
    const min = new Array<number>(nChannels).fill(Number.POSITIVE_INFINITY);
    const max = new Array<number>(nChannels).fill(Number.NEGATIVE_INFINITY);
    const sum = new Array<number>(nChannels).fill(0);
    const count = new Array<number>(nChannels).fill(0);
    const nan = new Array<number>(nChannels).fill(0);
    for (let start = 0; start < file.length; start += BLOCK) {
      const block = file.read(start, Math.min(BLOCK, file.length - start));
      for (let i = 0; i < block.length; i++) {
        const index = start + i;
        const c = where === null ? 0 : where === 'first' ? Math.floor(index / perChannel) : index % nChannels;
        const v = Number(block[i]);
        if (Number.isNaN(v)) {
          nan[c]++;
          continue;
        }
        if (v < min[c]) min[c] = v;
        if (v > max[c]) max[c] = v;
        sum[c] += v;
        count[c]++;
      }
    }
    return {
      path,
      shape,
      dtype: file.dtype,
      version: `${file.header.version[0]}.${file.header.version[1]}`,
      channelAxis: where,
      channels: min.map((_, c) =>
        count[c] > 0
          ? { min: min[c], max: max[c], mean: sum[c] / count[c], nan: nan[c] }
          : { min: Number.NaN, max: Number.NaN, mean: Number.NaN, nan: nan[c] },
      ),
    };
  } finally {
    file.close();
  }
}

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(6));

export function formatInfo(info: NpyInfo): string {
  const axisNote = info.channelAxis === null ? '' : info.channelAxis === 'first' ? ' (channels first)' : ' (channels last)';
  const lines = [
    `${info.path}`,
    `  shape   [${info.shape.join(', ')}]${axisNote}`,
    `  dtype   ${info.dtype}`,
    `  version NPY ${info.version}`,
  ];
  if (info.channels.length === 0) lines.push('  no elements');
  info.channels.forEach((s, c) => {
    const nan = s.nan > 0 ? `  nan=${s.nan}` : '';
    lines.push(`  channel ${c}: min=${fmt(s.min)}  max=${fmt(s.max)}  mean=${fmt(s.mean)}${nan}`);
  });
  return lines.join('\n');
}
