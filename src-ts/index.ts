/**
 * wsi-mask-builder: assemble whole-slide image masks from per-tile model
 * outputs. Rust kernels through napi-rs, with a pure-JavaScript backend of
 * the same API.
 */

export type { Geometry, StorageFile, TileCounts } from './backend';
export { allocateBatch } from './batch-buffer';
export { ErrorCode, type MaskBuilderError } from './errors';
export {
  type GeoJsonFeature,
  type GeoJsonFeatureCollection,
  type GeoJsonOptions,
  type RegionClass,
  toGeoJSON,
  toGeoJSONAsync,
  writeGeoJSON,
  writeGeoJSONAsync,
} from './export/geojson';
export { type MaskGeometry, sidecarPath } from './export/geometry';
export type { ExportInput } from './export/input';
export {
  type ExportedImage,
  type OmeTiffOptions,
  type OmeZarrOptions,
  writeOmeTiff,
  writeOmeTiffAsync,
  writeOmeZarr,
  writeOmeZarrAsync,
} from './export/ome';
export {
  type ColorizeOptions,
  type ColormapName,
  colorize,
  colormapTable,
  type EncodedImage,
  type EncodeOptions,
  type ImageFormat,
  type ImageOptions,
  type MaskLayout,
  type OverlayOptions,
  overlay,
  type RgbImage,
  toImage,
  writeImage,
} from './image';
export type { BatchInput, CoordsArray, CoordsInput, EdgeClippingInput, TensorLike } from './inputs';
export { type BatchArgument, MaskBuilder, type ReducedResult, type ResultOf } from './mask-builder';
export { loadNative as nativeBinding } from './native-backend';
export type {
  ArrayDtype,
  CounterArray,
  CounterDtype,
  FloatArray,
  FloatDtype,
  LargeNdArray,
  NdArray,
  NumericArray,
} from './ndarray';
export { type NpyHeader, parseNpyHeader, readNpy, writeNpy } from './npy';
export { type MappedNpy, openNpy } from './npy-map';
export type {
  BackendName,
  BuiltinAggregation,
  FinalizeOptions,
  MaskBuilderOptions,
  MaskRegion,
  MaskRegionInput,
  UpdateAsyncOptions,
  WeightsInput,
} from './options';
export { PARTIAL_FORMAT_VERSION, type PartialManifest } from './partial';
export { maskRegionOfSourceBox, planRegions, type RegionPlan, type RegionPlanOptions, type RegionShard } from './regions';
export {
  type ResizedFile,
  type ResizedImage,
  type ResizeGeometry,
  type ResizeKernel,
  type ResizeOptions,
  resizeToSource,
} from './resize';
export {
  Aggregator,
  type AggregatorClass,
  type AggregatorContext,
  ArgmaxAggregator,
  type ArgmaxResult,
  InMemory,
  MaxAggregator,
  MeanAggregator,
  type MeanResult,
  MinAggregator,
  type StorageFactory,
  SumAggregator,
  type SumResult,
  VarianceAggregator,
  type VarianceResult,
} from './strategies';
export type { TileOrigins, TileOriginsOptions } from './tile-grid';
export { otsuThreshold, type TissueMask, type TissueMaskOptions, tissueMask } from './tissue';
