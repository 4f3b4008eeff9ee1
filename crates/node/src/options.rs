//! Builder options as the TypeScript facade sends them: plain data, already
//! checked for form and broadcast to one entry per dimension. `normalize`
//! turns them into the core's configuration; the core checks the values.

use napi_derive::napi;
use std::path::PathBuf;
use wsi_mask_core::npy::NpyVersion;
use wsi_mask_core::{Aggregation, BuilderConfig, CounterDtype, Dtype, Error, Geometry, StorageConfig};

use crate::numbers::{to_u64, to_u64_vec};
use crate::views::DEFAULT_MAX_VIEW_BYTES;

/// How overlapping tiles combine.
#[napi(string_enum = "lowercase")]
pub enum NativeAggregation {
  Mean,
  Max,
}

impl From<NativeAggregation> for Aggregation {
  fn from(value: NativeAggregation) -> Self {
    match value {
      NativeAggregation::Mean => Aggregation::Mean,
      NativeAggregation::Max => Aggregation::Max,
    }
  }
}

/// Accumulator element type.
#[napi(string_enum = "lowercase")]
pub enum NativeDtype {
  Float32,
  Float64,
}

impl From<NativeDtype> for Dtype {
  fn from(value: NativeDtype) -> Self {
    match value {
      NativeDtype::Float32 => Dtype::Float32,
      NativeDtype::Float64 => Dtype::Float64,
    }
  }
}

/// Overlap counter element type.
#[napi(string_enum = "lowercase")]
pub enum NativeCounterDtype {
  Uint16,
  Uint32,
}

impl From<NativeCounterDtype> for CounterDtype {
  fn from(value: NativeCounterDtype) -> Self {
    match value {
      NativeCounterDtype::Uint16 => CounterDtype::Uint16,
      NativeCounterDtype::Uint32 => CounterDtype::Uint32,
    }
  }
}

/// Where the accumulator lives.
#[napi(string_enum = "lowercase")]
pub enum NativeStorage {
  Inmemory,
  Memmap,
}

/// Options of a native mask builder, normalized by the facade.
#[napi(object)]
pub struct NativeBuilderOptions {
  pub source_extents: Vec<f64>,
  pub source_tile_extent: Vec<f64>,
  pub output_tile_extent: Vec<f64>,
  pub stride: Vec<f64>,
  pub n_channels: f64,
  pub aggregation: NativeAggregation,
  pub dtype: NativeDtype,
  pub counter_dtype: NativeCounterDtype,
  /// Refuse in-memory masks (with counter) above this many bytes.
  pub max_in_memory_bytes: Option<f64>,
  /// Largest ArrayBuffer this runtime can hold; views above it are refused.
  pub max_view_bytes: Option<f64>,
  pub storage: NativeStorage,
  /// Memmap: the mask's NPY path (kept after cleanup); temporary when absent.
  pub filename: Option<String>,
  /// Memmap: the overlap counter's NPY path; defaults beside `filename`.
  pub overlap_counter_filename: Option<String>,
  /// Memmap: NPY format version 1, 2 or 3 (default 3, as the reference).
  #[napi(ts_type = "1 | 2 | 3")]
  pub npy_version: Option<u32>,
  /// Memmap: directory for temporary files.
  pub temp_dir: Option<String>,
}

/// What the core builds from the options.
pub struct Normalized {
  pub dtype: Dtype,
  pub config: BuilderConfig,
  pub max_view_bytes: usize,
}

/// The one conversion of builder options into core types.
pub fn normalize(options: NativeBuilderOptions) -> Result<Normalized, Error> {
  let geometry = Geometry::new(
    &to_u64_vec("sourceExtents", &options.source_extents)?,
    &to_u64_vec("sourceTileExtent", &options.source_tile_extent)?,
    &to_u64_vec("outputTileExtent", &options.output_tile_extent)?,
    &to_u64_vec("stride", &options.stride)?,
  )?;
  let max_bytes = options.max_in_memory_bytes.map(|b| to_u64("maxInMemoryBytes", b)).transpose()?;
  let storage = match options.storage {
    NativeStorage::Inmemory => StorageConfig::InMemory { max_bytes },
    NativeStorage::Memmap => StorageConfig::memmap(
      options.filename.map(PathBuf::from),
      options.overlap_counter_filename.map(PathBuf::from),
      options.temp_dir.map(PathBuf::from).unwrap_or_else(std::env::temp_dir),
      NpyVersion::try_from(options.npy_version.unwrap_or(3))?,
    ),
  };
  let config = BuilderConfig {
    geometry,
    channels: to_u64("nChannels", options.n_channels)? as usize,
    aggregation: options.aggregation.into(),
    counter_dtype: options.counter_dtype.into(),
    storage,
  };
  let max_view_bytes = match options.max_view_bytes {
    Some(b) => to_u64("maxViewBytes", b)? as usize,
    None => DEFAULT_MAX_VIEW_BYTES,
  };
  Ok(Normalized { dtype: options.dtype.into(), config, max_view_bytes })
}
