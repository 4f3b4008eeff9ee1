/**
 * wsi-mask-builder: assemble whole-slide image masks from per-tile model
 * outputs. Rust kernels through napi-rs, with a pure-JavaScript backend of
 * the same API.
 */

export type { Geometry } from './backend';
export { ErrorCode, type MaskBuilderError } from './errors';
export type { BatchInput, CoordsInput, EdgeClippingInput } from './inputs';
export { MaskBuilder, type ResultOf } from './mask-builder';
export { loadNative as nativeBinding } from './native-backend';
export type { ArrayDtype, CounterArray, CounterDtype, FloatArray, FloatDtype, NdArray, NumericArray } from './ndarray';
export type { BackendName, MaskBuilderOptions, UpdateAsyncOptions } from './options';
export {
  Aggregator,
  type AggregatorClass,
  type AggregatorContext,
  InMemory,
  MaxAggregator,
  MeanAggregator,
  type MeanResult,
  type StorageFactory,
} from './strategies';
