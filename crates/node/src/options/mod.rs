//! Option objects crossing the boundary, as the TypeScript facade sends them
//! (already validated for form and broadcast to one entry per dimension).

use napi::bindgen_prelude::Float64Array;
use napi_derive::napi;
use std::path::PathBuf;
use wsi_mask_core::error::codes;

use wsi_mask_core::npy::NpyVersion;
use wsi_mask_core::{
  Aggregation, CounterDtype, Dtype, Error, FinalizeRequest, Geometry, Reduction, StorageConfig, Weights, WindowKind,
};

/// Options of a native mask builder, normalized by the facade.
#[napi(object)]
pub struct NativeBuilderOptions {
  pub source_extents: Vec<f64>,
  pub source_tile_extent: Vec<f64>,
  pub output_tile_extent: Vec<f64>,
  pub stride: Vec<f64>,
  pub n_channels: f64,
  /// `'mean'`, `'max'`, `'min'`, `'sum'`, `'variance'` or `'argmax'`.
  pub aggregation: String,
  /// Argmax: the label of pixels no tile reached (default 0).
  pub background: Option<u32>,
  /// Weighted mean and sum; uniform when absent.
  pub weights: Option<NativeWeights>,
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
}

/// Weights, as the facade normalizes them.
#[napi(object)]
pub struct NativeWeights {
  /// `'uniform'`, `'gaussian'`, `'hann'`, `'hamming'`, `'triang'`, `'bartlett'`, `'blackman'` or `'map'`.
  pub kind: String,
  /// Scipy windows: `get_window(name, n, fftbins=False)` instead of the periodic default.
  pub symmetric: bool,
  /// Gaussian: sigma = sigmaScale * n, one entry per spatial dimension.
  pub sigma_scale: Vec<f64>,
  /// Map: values, row-major.
  pub map: Option<Float64Array>,
  /// Map: its shape.
  pub map_shape: Option<Vec<u32>>,
}

/// Options of `finalize`, as the facade normalizes them.
#[napi(object)]
pub struct NativeFinalizeOptions {
  /// `'argmax'`, `'threshold'` or `'quantize'`; none when absent.
  pub reduction: Option<String>,
  pub threshold: Option<f64>,
  /// Argmax: the label of pixels no tile reached.
  pub background: Option<u32>,
  /// The NPY file the reduction is written to, band by band.
  pub output_filename: Option<String>,
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

fn background(value: Option<u32>) -> Result<u16, Error> {
  let value = value.unwrap_or(0);
  u16::try_from(value).map_err(|_| {
    Error::range(codes::OPTION_RANGE, format!("background must be a class label from 0 to 65535; received {value}"))
  })
}

pub fn parse_aggregation(value: &str, background_label: Option<u32>) -> Result<Aggregation, Error> {
  match value {
    "mean" => Ok(Aggregation::Mean),
    "max" => Ok(Aggregation::Max),
    "min" => Ok(Aggregation::Min),
    "sum" => Ok(Aggregation::Sum),
    "variance" => Ok(Aggregation::Variance),
    "argmax" => Ok(Aggregation::Argmax { background: background(background_label)? }),
    other => Err(Error::type_error(
      codes::OPTION_TYPE,
      format!("aggregation must be 'mean', 'max', 'min', 'sum', 'variance' or 'argmax'; received '{other}'"),
    )),
  }
}

pub fn parse_weights(weights: Option<&NativeWeights>) -> Result<Weights, Error> {
  let Some(w) = weights else { return Ok(Weights::Uniform) };
  match w.kind.as_str() {
    "uniform" => Ok(Weights::Uniform),
    "map" => {
      let values = w.map.as_ref().map(|m| m.to_vec()).unwrap_or_default();
      let shape = w.map_shape.as_ref().map(|s| s.iter().map(|&d| d as usize).collect()).unwrap_or_default();
      Ok(Weights::Map { values, shape })
    }
    name => match WindowKind::parse(name) {
      Some(kind) => Ok(Weights::Window { kind, symmetric: w.symmetric, sigma_scale: w.sigma_scale.clone() }),
      None => Err(Error::type_error(
        codes::OPTION_TYPE,
        format!(
          "weights must be 'uniform', 'gaussian', 'hann', 'hamming', 'triang', 'bartlett', 'blackman' or a map; received '{name}'"
        ),
      )),
    },
  }
}

pub fn parse_finalize(options: Option<&NativeFinalizeOptions>) -> Result<FinalizeRequest, Error> {
  let Some(o) = options else { return Ok(FinalizeRequest::default()) };
  let reduction = match o.reduction.as_deref() {
    None => None,
    Some("argmax") => Some(Reduction::Argmax { background: background(o.background)? }),
    Some("threshold") => Some(Reduction::Threshold(o.threshold.unwrap_or(f64::NAN))),
    Some("quantize") => Some(Reduction::QuantizeU8),
    Some(other) => {
      return Err(Error::type_error(
        codes::OPTION_TYPE,
        format!("finalize reduction must be argmax, threshold or quantize; received '{other}'"),
      ))
    }
  };
  Ok(FinalizeRequest { reduction, output_filename: o.output_filename.as_ref().map(PathBuf::from) })
}
