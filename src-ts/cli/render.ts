/** `wsi-mask-builder render`: a heatmap image of one channel of a mask NPY file. */

import { type ColormapName, type EncodedImage, type ImageFormat, type MaskLayout, toImage } from '../image';
import { readNpy } from '../npy';

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
}

export async function render(path: string, o: RenderOptions): Promise<EncodedImage> {
  const array = readNpy(path);
  const data =
    array.data instanceof Float32Array || array.data instanceof Float64Array ? array.data : Float64Array.from(array.data);
  return toImage(
    { data, shape: array.shape },
    {
      filename: o.output,
      channel: o.channel,
      colormap: o.colormap,
      range: o.range,
      format: o.format,
      pyramid: o.pyramid,
      tileSize: o.tileSize,
      mpp: o.mpp,
      layout: o.layout,
    },
  );
}
