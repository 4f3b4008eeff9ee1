//! Builder options as the TypeScript facade sends them: plain data, already
//! checked for form and broadcast to one entry per dimension. `normalize`
//! turns them into the core's configuration; the core checks the values.

use napi_derive::napi;
use std::path::PathBuf;
use wsi_mask_core::npy::NpyVersion;
use wsi_mask_core::shards::PartialRef;
use wsi_mask_core::{Aggregation, BuilderConfig, CounterDtype, Dtype, Error, Geometry, MaskRegion, StorageConfig};

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
  /// The window of the mask held, in mask pixels; the whole mask when absent.
  pub region: Option<NativeRegion>,
}

/// A mask window `{ start, extent }` in mask pixels.
#[napi(object)]
pub struct NativeRegion {
  pub start: Vec<f64>,
  pub extent: Vec<f64>,
}

impl From<&MaskRegion> for NativeRegion {
  fn from(r: &MaskRegion) -> Self {
    let floats = |v: &[u64]| v.iter().map(|&x| x as f64).collect();
    Self { start: floats(&r.start), extent: floats(&r.extent) }
  }
}

impl TryFrom<&NativeRegion> for MaskRegion {
  type Error = Error;
  fn try_from(r: &NativeRegion) -> Result<Self, Error> {
    Ok(MaskRegion { start: to_u64_vec("region.start", &r.start)?, extent: to_u64_vec("region.extent", &r.extent)? })
  }
}

/// A saved partial whose manifest the facade has read and checked against
/// this builder's options.
#[napi(object)]
pub struct NativePartial {
  pub dir: String,
  pub region: NativeRegion,
  pub tiles_applied: f64,
  pub tiles_skipped: f64,
}

impl TryFrom<&NativePartial> for PartialRef {
  type Error = Error;
  fn try_from(p: &NativePartial) -> Result<Self, Error> {
    Ok(PartialRef {
      dir: PathBuf::from(&p.dir),
      region: MaskRegion::try_from(&p.region)?,
      tiles_applied: to_u64("tilesApplied", p.tiles_applied)?,
      tiles_skipped: to_u64("tilesSkipped", p.tiles_skipped)?,
    })
  }
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
    region: options.region.as_ref().map(MaskRegion::try_from).transpose()?,
  };
  let max_view_bytes = match options.max_view_bytes {
    Some(b) => to_u64("maxViewBytes", b)? as usize,
    None => DEFAULT_MAX_VIEW_BYTES,
  };
  Ok(Normalized { dtype: options.dtype.into(), config, max_view_bytes })
}
