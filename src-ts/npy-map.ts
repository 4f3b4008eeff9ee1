/** Opening existing NPY files through the native core's memory mapping (no copy, any size on disk). */

import { describe, ErrorCode, rangeError, typeError } from './errors';
import { type MaskGeometry, readSidecar } from './export/geometry';
import { RUNTIME_MAX_VIEW_BYTES, requireNative } from './native-backend';
import { lazyArray, type NdArray } from './ndarray';
import { NPY_TYPES } from './npy-dtypes';

export interface MappedNpy {
  shape: number[];
  /** numpy's name: `float32`, `uint16`, `int64`, ... */
  dtype: string;
  version: [number, number];
  fortranOrder: boolean;
  /** The data, mapped copy-on-write: reading `data` maps nothing new, writes stay private. */
  array: NdArray<any>;
  /** The file's path (exports stream from it). */
  path: string;
  /** From the file's sidecar (`<path>.json`, written for persisted memmap masks), when there is one. */
  geometry?: MaskGeometry;
  /** Channel names from the sidecar, when it has them. */
  channelNames?: string[];
  /** Detaches `array.data` (it then reads as empty) and unmaps the file. */
  close(): void;
}

/** Maps an NPY file (version 1.0, 2.0 or 3.0) written by numpy or by this package. Needs the native addon. */
export function openNpy(path: string, options: { maxViewBytes?: number } = {}): MappedNpy {
  const native = requireNative('openNpy');
  if (options === null || typeof options !== 'object') {
    throw typeError(ErrorCode.OPTION_TYPE, `options must be an object; received ${describe(options)}`);
  }
  const maxViewBytes = options.maxViewBytes ?? RUNTIME_MAX_VIEW_BYTES;
  if (typeof maxViewBytes !== 'number' || !Number.isSafeInteger(maxViewBytes) || maxViewBytes < 1) {
    throw rangeError(ErrorCode.OPTION_RANGE, `maxViewBytes must be a positive integer; received ${describe(maxViewBytes)}`);
  }
  // Never ask for more than one ArrayBuffer holds here, as for MaskBuilder.
  const file = native.NativeNpyFile.open(path, Math.min(maxViewBytes, RUNTIME_MAX_VIEW_BYTES));
  const sidecar = readSidecar(path);
  const entry = NPY_TYPES[file.descr];
  if (!entry) throw rangeError(ErrorCode.NPY_FORMAT, `${path}: unsupported NPY dtype '${file.descr}'`);
  const { dtype, ctor } = entry;
  const shape = file.shape;
  const array = lazyArray<any>(
    shape,
    dtype,
    () => new ctor(file.buffer().buffer),
    () => rangeError(ErrorCode.VIEW_TOO_LARGE, `${path} is larger than one view may hold`),
  );
  const mapped: MappedNpy = {
    shape,
    dtype,
    version: file.version as [number, number],
    fortranOrder: file.fortranOrder,
    array,
    path,
    close: () => file.close(),
  };
  if (sidecar) {
    const { channelNames, ...geometry } = sidecar;
    mapped.geometry = geometry;
    if (channelNames) mapped.channelNames = channelNames;
  }
  return mapped;
}
