/**
 * wsi-mask-builder: assemble whole-slide image masks from per-tile model
 * outputs. Rust kernels through napi-rs, with a pure-JavaScript backend of
 * the same API.
 */

export { MaskBuilder, type ResultOf } from './mask-builder';
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
export type { MaskBuilderOptions, BackendName } from './options';
export type { BatchInput, CoordsInput, EdgeClippingInput } from './inputs';
export type { Geometry } from './backend';
export type { NdArray, FloatDtype, CounterDtype, ArrayDtype, FloatArray, CounterArray, NumericArray } from './ndarray';
export { ErrorCode, type MaskBuilderError } from './errors';
export { loadNative as nativeBinding } from './native-backend';
