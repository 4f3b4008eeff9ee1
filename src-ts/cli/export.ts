/** `wsi-mask-builder export`: a mask NPY file (geometry from its sidecar) as OME-Zarr, OME-TIFF or GeoJSON. */

import { writeGeoJSON } from '../export/geojson';
import { writeOmeTiff, writeOmeZarr } from '../export/ome';
import { openNpy } from '../npy-map';

export interface ExportCliOptions {
  format: 'ome-zarr' | 'ome-tiff' | 'geojson';
  output: string;
  mpp?: number;
  chunk?: number;
  ngff?: '0.4' | '0.5';
  compression?: string;
  channel?: number;
  threshold?: number;
  className?: string;
  minArea?: number;
  simplify?: number;
  overwrite?: boolean;
}

/** Writes the export; returns the line to print. */
export function exportMask(mask: string, o: ExportCliOptions): string {
  const mapped = openNpy(mask);
  try {
    const common = { ...(o.mpp !== undefined ? { mpp: o.mpp } : {}) };
    const geometry = mapped.geometry ? `scale ${mapped.geometry.scale.join(' x ')}` : 'no sidecar: mask pixels as slide pixels';
    if (o.format === 'geojson') {
      const written = writeGeoJSON(mapped, o.output, {
        ...common,
        ...(mapped.dtype.startsWith('uint')
          ? {}
          : {
              channel: o.channel ?? 0,
              threshold: o.threshold ?? 0.5,
              ...(o.className ? { classification: { name: o.className } } : {}),
            }),
        minArea: o.minArea ?? 0,
        simplify: o.simplify ?? 0,
      });
      return `wrote ${written.features} regions (${geometry}) -> ${o.output}`;
    }
    const options = {
      ...common,
      ...(o.chunk !== undefined ? (o.format === 'ome-zarr' ? { chunk: o.chunk } : { tile: o.chunk }) : {}),
      ...(o.compression ? { compression: o.compression as any } : {}),
      overwrite: o.overwrite ?? false,
    };
    const written =
      o.format === 'ome-zarr'
        ? writeOmeZarr(mapped, o.output, { ...options, ...(o.ngff ? { ngffVersion: o.ngff } : {}) })
        : writeOmeTiff(mapped, o.output, options);
    const [h, w] = written.levels[0];
    return `wrote ${o.format} ${h} x ${w} ${written.dtype}, ${written.levels.length} levels (${geometry}) -> ${o.output}`;
  } finally {
    mapped.close();
  }
}
