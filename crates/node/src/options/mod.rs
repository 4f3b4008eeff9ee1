//! Option objects crossing the boundary, as the TypeScript facade sends them
//! (already validated for form and broadcast to one entry per dimension).

use napi_derive::napi;
use std::path::PathBuf;
use wsi_mask_core::error::codes;

use wsi_mask_core::npy::NpyVersion;
use wsi_mask_core::{Aggregation, CounterDtype, Dtype, Error, Geometry, MaskRegion, StorageConfig};

/// Options of a native mask builder, normalized by the facade.
#[napi(object)]
pub struct NativeBuilderOptions {
  pub source_extents: Vec<f64>,
  pub source_tile_extent: Vec<f64>,
  pub output_tile_extent: Vec<f64>,
  pub stride: Vec<f64>,
  pub n_channels: f64,
  /// `'mean'` or `'max'`.
  pub aggregation: String,
  /// `'float32'` or `'float64'`.
  pub dtype: String,
  /// `'uint16'` or `'uint32'`.
  pub counter_dtype: String,
  /// Refuse in-memory masks (with counter) above this many bytes.
  pub max_in_memory_bytes: Option<f64>,
  /// Largest ArrayBuffer this runtime can hold; views above it are refused.
  pub max_view_bytes: Option<f64>,
  /// `'inmemory'` or `'memmap'`.
  pub storage: String,
  /// Memmap: the mask's NPY path (kept after cleanup); temporary when absent.
  pub filename: Option<String>,
  /// Memmap: the overlap counter's NPY path; defaults beside `filename`.
  pub overlap_counter_filename: Option<String>,
  /// Memmap: NPY format version 1, 2 or 3 (default 3, as the reference).
  pub npy_version: Option<u32>,
  /// Memmap: directory for temporary files.
  pub temp_dir: Option<String>,
  /// The window of the mask held, in mask pixels (both or neither).
  pub region_start: Option<Vec<f64>>,
  pub region_extent: Option<Vec<f64>>,
}

/// A mask window `{ start, extent }` in mask pixels.
#[napi(object)]
pub struct NativeRegion {
  pub start: Vec<f64>,
  pub extent: Vec<f64>,
}

impl From<&MaskRegion> for NativeRegion {
  fn from(r: &MaskRegion) -> Self {
    Self { start: floats(&r.start), extent: floats(&r.extent) }
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

pub fn to_region(region: &NativeRegion) -> Result<MaskRegion, Error> {
  Ok(MaskRegion {
    start: to_u64_vec("region.start", &region.start)?,
    extent: to_u64_vec("region.extent", &region.extent)?,
  })
}

pub fn parse_region(options: &NativeBuilderOptions) -> Result<Option<MaskRegion>, Error> {
  match (&options.region_start, &options.region_extent) {
    (Some(start), Some(extent)) => Ok(Some(to_region(&NativeRegion { start: start.clone(), extent: extent.clone() })?)),
    (None, None) => Ok(None),
    _ => Err(Error::type_error(codes::REGION, "region needs both start and extent")),
  }
}

/// A file backing memory-mapped storage.
#[napi(object)]
pub struct NativeFileInfo {
  pub path: String,
  /// Removed at cleanup (on Unix it is unlinked at once and never visible).
  pub temporary: bool,
  /// Whether the blocks were reserved up front (fallocate).
  pub reserved: bool,
}

/// The builder's geometry, one entry per spatial dimension.
#[napi(object)]
pub struct NativeGeometry {
  pub source_extents: Vec<f64>,
  pub source_tile_extent: Vec<f64>,
  pub output_tile_extent: Vec<f64>,
  pub stride: Vec<f64>,
  pub span: Vec<f64>,
  pub mask_extents: Vec<f64>,
  pub mask_stride: Vec<f64>,
  pub upscale_factor: Vec<f64>,
}

fn floats(values: &[u64]) -> Vec<f64> {
  values.iter().map(|&v| v as f64).collect()
}

impl From<&Geometry> for NativeGeometry {
  fn from(g: &Geometry) -> Self {
    Self {
      source_extents: floats(&g.source_extents),
      source_tile_extent: floats(&g.source_tile_extent),
      output_tile_extent: floats(&g.output_tile_extent),
      stride: floats(&g.stride),
      span: floats(&g.span),
      mask_extents: floats(&g.mask_extents),
      mask_stride: floats(&g.mask_stride),
      upscale_factor: floats(&g.upscale_factor),
    }
  }
}

/// A JavaScript number that must be a non-negative integer.
pub fn to_u64(name: &str, value: f64) -> Result<u64, Error> {
  if value.is_finite()
    && value >= 0.0
    && value.fract() == 0.0
    && value <= wsi_mask_core::geometry::MAX_SAFE_INTEGER as f64
  {
    Ok(value as u64)
  } else {
    Err(Error::range(codes::OPTION_RANGE, format!("{name} must be a non-negative integer; received {value}")))
  }
}

pub fn to_u64_vec(name: &str, values: &[f64]) -> Result<Vec<u64>, Error> {
  values.iter().enumerate().map(|(i, &v)| to_u64(&format!("{name}[{i}]"), v)).collect()
}

pub fn parse_dtype(value: &str) -> Result<Dtype, Error> {
  match value {
    "float32" => Ok(Dtype::Float32),
    "float64" => Ok(Dtype::Float64),
    other => Err(Error::type_error(codes::DTYPE, format!("dtype must be 'float32' or 'float64'; received '{other}'"))),
  }
}

pub fn parse_counter_dtype(value: &str) -> Result<CounterDtype, Error> {
  match value {
    "uint16" => Ok(CounterDtype::Uint16),
    "uint32" => Ok(CounterDtype::Uint32),
    other => {
      Err(Error::type_error(codes::DTYPE, format!("counterDtype must be 'uint16' or 'uint32'; received '{other}'")))
    }
  }
}

pub fn parse_storage(options: &NativeBuilderOptions) -> Result<StorageConfig, Error> {
  let max_bytes = options.max_in_memory_bytes.map(|b| to_u64("maxInMemoryBytes", b)).transpose()?;
  match options.storage.as_str() {
    "inmemory" => Ok(StorageConfig::InMemory { max_bytes }),
    "memmap" => {
      let version = match options.npy_version.unwrap_or(3) {
        1 => NpyVersion::V1,
        2 => NpyVersion::V2,
        3 => NpyVersion::V3,
        other => {
          return Err(Error::range(codes::OPTION_RANGE, format!("npyVersion must be 1, 2 or 3; received {other}")));
        }
      };
      let temp_dir = options.temp_dir.as_ref().map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
      Ok(StorageConfig::memmap(
        options.filename.as_ref().map(PathBuf::from),
        options.overlap_counter_filename.as_ref().map(PathBuf::from),
        temp_dir,
        version,
      ))
    }
    other => {
      Err(Error::type_error(codes::OPTION_TYPE, format!("storage must be 'inmemory' or 'memmap'; received '{other}'")))
    }
  }
}

pub fn parse_aggregation(value: &str) -> Result<Aggregation, Error> {
  match value {
    "mean" => Ok(Aggregation::Mean),
    "max" => Ok(Aggregation::Max),
    other => {
      Err(Error::type_error(codes::OPTION_TYPE, format!("aggregation must be 'mean' or 'max'; received '{other}'")))
    }
  }
}
