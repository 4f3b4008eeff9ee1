#!/usr/bin/env node
/**
 * `wsi-mask-builder`: the command-line tool. Commands: `assemble` (a mask from
 * tile predictions saved as NPY), `render` (a heatmap image of a mask), `export`
 * (OME-Zarr, OME-TIFF or GeoJSON for viewers) and `info` (what an NPY file holds). Any failure is one line on stderr and exit
 * code 1.
 */

import { Command, Option } from 'commander';
import {
  clipList,
  finiteNumber,
  nonNegativeInteger,
  nonNegativeNumber,
  positiveInteger,
  positiveList,
  positiveNumber,
  range,
} from './cli/args';
import { AGGREGATIONS, assemble, WEIGHT_NAMES } from './cli/assemble';
import { exportMask } from './cli/export';
import { formatInfo, npyInfo } from './cli/info';
import { render } from './cli/render';

const NAME = 'wsi-mask-builder';

function fail(error: unknown): never {
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  const code = (error as { code?: unknown })?.code;
  process.stderr.write(`${NAME}: ${message}${typeof code === 'string' && !message.includes(code) ? ` [${code}]` : ''}\n`);
  process.exit(1);
}

function program(): Command {
  const cli = new Command(NAME)
    .description('Assemble whole-slide image masks from per-tile model outputs, render them, and inspect NPY files.')
    .version(require('../package.json').version)
    .showSuggestionAfterError(false)
    .configureOutput({ outputError: (text, write) => write(`${NAME}: ${text.replace(/^error: /, '')}`) });

  cli
    .command('assemble')
    .description('Assemble a mask from tile predictions (NPY [N, C] or [N, C, ...out]) and tile coordinates (NPY [N, 2]).')
    .requiredOption(
      '--tiles <file>',
      'predictions, one row per tile: [N, C] or [N, C, out_y, out_x], float32/float64 (float16 and 8/16-bit integers converted)',
    )
    .requiredOption('--coords <file>', 'top-left [y, x] of each tile in slide pixels, [N, 2], any integer type or float')
    .requiredOption('--source <H,W>', 'slide extents in pixels', positiveList)
    .requiredOption('--tile <T>', 'model input tile extent in slide pixels (T or Ty,Tx)', positiveList)
    .requiredOption('--stride <S>', 'distance between tiles in slide pixels (S or Sy,Sx)', positiveList)
    .option('--output-tile <O>', 'model output tile extent (default: from the shape of --tiles)', positiveList)
    .addOption(new Option('--aggregation <name>', 'how overlapping tiles merge (default: mean)').choices(AGGREGATIONS))
    .addOption(new Option('--agg <name>', 'short for --aggregation').choices(AGGREGATIONS))
    .option(
      '--weights <name|file>',
      `per-pixel tile weights for mean, sum and argmax: ${WEIGHT_NAMES.join(', ')}, or an NPY weight map (default: uniform)`,
    )
    .option('--background <label>', 'argmax: the label of pixels no tile reached', nonNegativeInteger)
    .option('--argmax', 'write the winning class per pixel (uint8 or uint16 labels) instead of the float mask')
    .option('--threshold <t>', 'write uint8 0/1 per channel (value >= t) instead of the float mask', finiteNumber)
    .option('--quantize', 'write uint8 round(clamp(value, 0, 1) * 255) per channel instead of the float mask')
    .option(
      '--clip <N>',
      'output-tile pixels to drop at tile edges, as edgeClipping: N (every edge), Y,X (per dimension), START:END (every dimension) or Y0:Y1,X0:X1',
      clipList,
    )
    .option('--memmap', 'accumulate in a memory-mapped NPY file, the output itself, instead of RAM')
    .option('--force', 'replace an existing output file (and, with --memmap, its .overlaps.npy counter)')
    .option('--batch-size <B>', 'tiles read and applied at a time', positiveInteger, 512)
    .option('--progress', 'show the progress bar even when stderr is not a terminal')
    .option('--no-progress', 'never show the progress bar')
    .addOption(new Option('--backend <name>', 'native (default) or the pure-JavaScript backend').choices(['native', 'js']))
    .requiredOption(
      '-o, --output <file>',
      'NPY file to write: the mask [C, H_mask, W_mask] (variance: the mean, and the variances beside it), or the reduction; an existing file needs --force',
    )
    .action(async (o) => {
      const summary = await assemble({ ...o, clip: o.clip, outputTile: o.outputTile });
      const rate = summary.seconds > 0 ? summary.tiles / summary.seconds : summary.tiles;
      process.stdout.write(
        `assembled ${summary.tiles} tiles in ${summary.seconds.toFixed(2)} s (${rate.toFixed(0)} tiles/s): ` +
          `mask [${summary.shape.join(', ')}] ${summary.dtype} -> ${o.output}` +
          summary.extra.map((file) => `, ${file}`).join('') +
          '\n',
      );
    });

  cli
    .command('render')
    .description('Write a heatmap of one channel of a mask NPY file: PNG, or tiled pyramidal TIFF for viewers.')
    .argument('<mask>', 'mask NPY file, [C, H, W] (or [H, W, C] with --layout hwc, or [H, W])')
    .requiredOption('-o, --output <file>', 'image to write (.png, .jpg, .tif or .tiff); an existing file needs --force')
    .option('--channel <c>', 'channel to render', nonNegativeInteger, 0)
    .addOption(new Option('--colormap <name>', 'colormap').choices(['viridis', 'magma', 'gray']).default('viridis'))
    .option('--range <low,high>', 'values at the ends of the colormap (default: the channel minimum and maximum)', range)
    .addOption(new Option('--format <format>', 'image format (default: from the extension)').choices(['png', 'jpeg', 'tiff']))
    .option('--colorbar', 'add a colour bar with the value range below the heatmap')
    .option('--force', 'replace an existing output file')
    .option('--no-pyramid', 'TIFF: write only the full-resolution level')
    .option('--tile-size <px>', 'TIFF tile edge', positiveInteger, 512)
    .option('--mpp <microns>', 'TIFF: microns per pixel, recorded as the resolution', positiveNumber)
    .addOption(
      new Option(
        '--layout <layout>',
        "axis order of a 3-D mask (default: the shorter of the first and last axes, as info's)",
      ).choices(['chw', 'hwc']),
    )
    .action(async (mask, o) => {
      const image = await render(mask, o);
      process.stdout.write(
        `wrote ${image.width} x ${image.height} ${image.format} heatmap of channel ${o.channel} -> ${o.output}\n`,
      );
    });

  cli
    .command('export')
    .description('Export a mask NPY file for viewers: OME-Zarr, OME-TIFF pyramid or QuPath GeoJSON (geometry from its sidecar).')
    .argument('<mask>', 'mask NPY file, [C, H, W] or [H, W] (from assemble, or a memmap builder)')
    .addOption(
      new Option('--format <format>', 'what to write').choices(['ome-zarr', 'ome-tiff', 'geojson']).makeOptionMandatory(),
    )
    .requiredOption('-o, --output <path>', 'store, file or .geojson to write')
    .option('--mpp <microns>', 'microns per slide pixel (default: from the sidecar)', positiveNumber)
    .option('--chunk <px>', 'OME-Zarr chunk or OME-TIFF tile edge (default 1024 / 512)', positiveInteger)
    .addOption(new Option('--ngff <version>', 'OME-Zarr: NGFF version').choices(['0.4', '0.5']))
    .addOption(
      new Option('--compression <name>', 'zstd or none (OME-Zarr); deflate, zstd or none (OME-TIFF)').choices([
        'zstd',
        'deflate',
        'none',
      ]),
    )
    .option('--channel <c>', 'GeoJSON: channel to threshold', nonNegativeInteger)
    .option('--threshold <t>', 'GeoJSON: inside at or above this (default 0.5)', Number)
    .option('--class-name <name>', 'GeoJSON: QuPath classification of the regions')
    .option('--min-area <px2>', 'GeoJSON: drop regions smaller than this, in slide pixels squared', Number)
    .option(
      '--simplify <px>',
      'GeoJSON: simplify outlines with this tolerance in slide pixels, topology kept (default 0: exact pixel edges)',
      nonNegativeNumber,
    )
    .option('--overwrite', 'replace an earlier export at the output path')
    .action((mask, o) => {
      process.stdout.write(`${exportMask(mask, o)}\n`);
    });

  cli
    .command('info')
    .description('Print the shape, dtype, NPY version and per-channel min/max/mean of an NPY file.')
    .argument('<file>', 'NPY file')
    .addOption(
      new Option(
        '--channel-axis <axis>',
        'channel axis (default: 3-D, the shorter of first and last; 4-D and more, second, as in tiles [N, C, ...])',
      ).choices(['first', 'second', 'last']),
    )
    .action((file, o) => {
      process.stdout.write(`${formatInfo(npyInfo(file, o.channelAxis))}\n`);
    });

  return cli;
}

// `info ... | head` closes the pipe early: that is the reader being done, not a failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  fail(error);
});

program()
  .parseAsync(process.argv)
  .catch((error) => fail(error));
