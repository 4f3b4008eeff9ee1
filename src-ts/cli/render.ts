/** `wsi-mask-builder render`: a heatmap image of one channel of a mask NPY file. */

import { type ColormapName, type EncodedImage, type ImageFormat, type MaskLayout, toImage } from '../image';
import { channelAxisOf } from './layout';
import { NpyRows } from './npy-rows';
import { refuseExisting } from './output';

export interface RenderOptions {
  output: string;
  channel: number;
  colormap: ColormapName;
  range?: [number, number];
  format?: ImageFormat;
  pyramid: boolean;
  tileSize: number;
  mpp?: number;
  layout?: MaskLayout;
  colorbar?: boolean;
  force?: boolean;
}

/** The layout of a 3-D mask: the flag, else the rule `info` uses; a shape that does not decide it is refused. */
function layoutOf(path: string, shape: number[], flag: MaskLayout | undefined): MaskLayout | undefined {
  if (flag !== undefined || shape.length !== 3) return flag;
  const axis = channelAxisOf(shape);
  if (axis === null) {
    throw new Error(
      `${path} has shape [${shape.join(', ')}], which does not say which axis holds the channels; ` +
        'pass --layout chw ([C, H, W], a builder mask) or --layout hwc ([H, W, C], resizeToSource output)',
    );
  }
  return axis === 'first' ? 'chw' : 'hwc';
}

export async function render(path: string, o: RenderOptions): Promise<EncodedImage> {
  refuseExisting(o.output, o.force, []);
  const file = new NpyRows(path);
  let values: ArrayLike<number | bigint>;
  try {
    values = file.shape.length === 0 ? file.read(0, 1) : file.readRows(0, file.shape[0]);
  } finally {
    file.close();
  }
  const data =
    values instanceof Float32Array || values instanceof Float64Array
      ? values
      : Float64Array.from(values as ArrayLike<number>, Number);
  return toImage(
    { data, shape: file.shape },
    {
      filename: o.output,
      channel: o.channel,
      colormap: o.colormap,
      range: o.range,
      format: o.format,
      pyramid: o.pyramid,
      tileSize: o.tileSize,
      mpp: o.mpp,
      layout: layoutOf(path, file.shape, o.layout),
      colorbar: o.colorbar ?? false,
    },
  );
}
