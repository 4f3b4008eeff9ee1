//! OME-Zarr and OME-TIFF writers and GeoJSON tracing in Rust: argument conversion and error
//! mapping around `wsi_mask_core::export`.

use std::path::Path;

use napi::bindgen_prelude::{AsyncTask, TypedArray, TypedArrayType};
use napi::{Env, Result};
use napi_derive::napi;
use wsi_mask_core::error::codes;
use wsi_mask_core::export::geojson::{to_geojson, GeoJsonOptions, RegionClass, Selection};
use wsi_mask_core::export::{
  self, ExportGeometry, MaskSource, NgffVersion, OmeTiffOptions, OmeZarrOptions, Plane, TiffCompression,
};
use wsi_mask_core::Error;

use crate::errors::OrThrow;
use crate::export_task::{ExportJob, ExportTask, OwnedSource};

/// Where the mask lies, validated by the facade.
#[napi(object)]
pub struct NativeExportGeometry {
  /// Source pixels per mask pixel `[y, x]`.
  pub scale: Vec<f64>,
  /// Micrometres per source pixel `[y, x]`, when known.
  pub mpp: Option<Vec<f64>>,
}

#[napi(string_enum)]
pub enum NativeNgffVersion {
  #[napi(value = "0.4")]
  V04,
  #[napi(value = "0.5")]
  V05,
}

impl From<NativeNgffVersion> for NgffVersion {
  fn from(v: NativeNgffVersion) -> Self {
    match v {
      NativeNgffVersion::V04 => NgffVersion::V04,
      NativeNgffVersion::V05 => NgffVersion::V05,
    }
  }
}

#[napi(string_enum)]
pub enum NativeCompression {
  #[napi(value = "none")]
  None,
  #[napi(value = "zstd")]
  Zstd,
  #[napi(value = "deflate")]
  Deflate,
}

/// Options of `writeOmeZarr`, normalized by the facade.
#[napi(object)]
pub struct NativeOmeZarrOptions {
  pub chunk: Vec<u32>,
  pub ngff_version: NativeNgffVersion,
  pub compression: NativeCompression,
  pub level: i32,
  pub channel_names: Vec<String>,
  pub name: String,
  pub overwrite: bool,
}

/// Options of `writeOmeTiff`, normalized by the facade.
#[napi(object)]
pub struct NativeOmeTiffOptions {
  pub tile: Vec<u32>,
  pub compression: NativeCompression,
  pub level: i32,
  /// Absent: BigTIFF when the file may pass 4 GiB.
  pub big_tiff: Option<bool>,
  pub channel_names: Vec<String>,
  pub name: String,
  pub overwrite: bool,
}

/// The mask to export: channel planes `[H, W]` in memory, or an NPY file.
#[napi(object)]
pub struct NativeExportSource {
  pub extents: Vec<u32>,
  /// An NPY file `[C, H, W]` or `[H, W]`, read band by band; `planes` is ignored.
  pub file: Option<String>,
}

pub(crate) fn pair<T: Copy>(name: &str, values: &[T]) -> std::result::Result<[T; 2], Error> {
  match values {
    [y, x] => Ok([*y, *x]),
    _ => {
      Err(Error::range(codes::DIMS_MISMATCH, format!("{name} must have 2 entries [y, x]; received {}", values.len())))
    }
  }
}

fn cast<T: bytemuck::Pod>(bytes: &[u8]) -> std::result::Result<&[T], Error> {
  bytemuck::try_cast_slice(bytes)
    .map_err(|_| Error::type_error(codes::IMAGE_TYPE, "the mask data is not aligned to its element size"))
}

pub(crate) fn plane<'a>(array: &'a TypedArray<'_>) -> std::result::Result<Plane<'a>, Error> {
  match array.typed_array_type {
    TypedArrayType::Float32 => Ok(Plane::F32(cast(&array.arraybuffer)?)),
    TypedArrayType::Float64 => Ok(Plane::F64(cast(&array.arraybuffer)?)),
    TypedArrayType::Uint8 => Ok(Plane::U8(&array.arraybuffer)),
    TypedArrayType::Uint16 => Ok(Plane::U16(cast(&array.arraybuffer)?)),
    other => Err(Error::type_error(
      codes::IMAGE_TYPE,
      format!(
        "mask data must be a Float32Array, Float64Array, Uint8Array or Uint16Array; received a {}",
        other.as_ref()
      ),
    )),
  }
}

fn with_source<R>(
  planes: &[TypedArray<'_>],
  source: &NativeExportSource,
  run: ExportJob<R>,
) -> std::result::Result<R, Error> {
  let mut mask = match &source.file {
    Some(file) => MaskSource::from_npy(Path::new(file))?,
    None => {
      let extents = pair("extents", &source.extents)?.map(|e| e as usize);
      MaskSource::from_planes(planes.iter().map(plane).collect::<std::result::Result<_, _>>()?, extents)?
    }
  };
  run(&mut mask)
}

fn geometry(g: &NativeExportGeometry) -> std::result::Result<ExportGeometry, Error> {
  ExportGeometry::new(pair("scale", &g.scale)?, g.mpp.as_deref().map(|m| pair("mpp", m)).transpose()?)
}

type Levels = Vec<Vec<u32>>;

fn levels(summary: export::ExportSummary) -> Levels {
  summary.levels.iter().map(|l| vec![l[0] as u32, l[1] as u32]).collect()
}

fn ome_zarr_job(
  geometry_: NativeExportGeometry,
  path: String,
  options: NativeOmeZarrOptions,
) -> std::result::Result<ExportJob<Levels>, Error> {
  let options = OmeZarrOptions {
    chunk: pair("chunk", &options.chunk)?.map(|c| c as usize),
    version: options.ngff_version.into(),
    zstd_level: match options.compression {
      NativeCompression::Zstd => Some(options.level),
      NativeCompression::None => None,
      NativeCompression::Deflate => {
        return Err(Error::range(codes::OPTION_RANGE, "OME-Zarr compression must be 'zstd' or 'none'"))
      }
    },
    channel_names: options.channel_names,
    name: options.name,
    overwrite: options.overwrite,
  };
  let g = geometry(&geometry_)?;
  Ok(Box::new(move |mask| Ok(levels(export::write_ome_zarr(mask, &g, Path::new(&path), &options)?))))
}

/// Writes an OME-Zarr image at `path`; returns the `[H, W]` of every level.
#[napi(catch_unwind)]
pub fn write_ome_zarr(
  env: Env,
  #[napi(ts_arg_type = "Array<Float32Array | Float64Array | Uint8Array | Uint16Array>")] planes: Vec<TypedArray>,
  source: NativeExportSource,
  geometry_: NativeExportGeometry,
  path: String,
  options: NativeOmeZarrOptions,
) -> Result<Vec<Vec<u32>>> {
  ome_zarr_job(geometry_, path, options).and_then(|job| with_source(&planes, &source, job)).or_throw(&env)
}

/// `writeOmeZarr` on the libuv thread pool. In-memory planes are copied
/// before the call returns (the caller may change them meanwhile); a file
/// is read on the pool.
#[napi(catch_unwind, ts_return_type = "Promise<Array<Array<number>>>")]
pub fn write_ome_zarr_async(
  env: Env,
  #[napi(ts_arg_type = "Array<Float32Array | Float64Array | Uint8Array | Uint16Array>")] planes: Vec<TypedArray>,
  source: NativeExportSource,
  geometry_: NativeExportGeometry,
  path: String,
  options: NativeOmeZarrOptions,
) -> Result<AsyncTask<ExportTask<Levels>>> {
  let run = || Ok(ExportTask::new(OwnedSource::copy(&planes, &source)?, ome_zarr_job(geometry_, path, options)?));
  run().map(AsyncTask::new).or_throw(&env)
}

fn ome_tiff_job(
  geometry_: NativeExportGeometry,
  path: String,
  options: NativeOmeTiffOptions,
) -> std::result::Result<ExportJob<Levels>, Error> {
  let options = OmeTiffOptions {
    tile: pair("tile", &options.tile)?.map(|c| c as usize),
    compression: match options.compression {
      NativeCompression::None => TiffCompression::None,
      NativeCompression::Deflate => TiffCompression::Deflate(options.level.max(0) as u32),
      NativeCompression::Zstd => TiffCompression::Zstd(options.level),
    },
    big_tiff: options.big_tiff,
    channel_names: options.channel_names,
    name: options.name,
    overwrite: options.overwrite,
  };
  let g = geometry(&geometry_)?;
  Ok(Box::new(move |mask| Ok(levels(export::write_ome_tiff(mask, &g, Path::new(&path), &options)?))))
}

/// Writes a tiled OME-TIFF pyramid at `path`; returns the `[H, W]` of every level.
#[napi(catch_unwind)]
pub fn write_ome_tiff(
  env: Env,
  #[napi(ts_arg_type = "Array<Float32Array | Float64Array | Uint8Array | Uint16Array>")] planes: Vec<TypedArray>,
  source: NativeExportSource,
  geometry_: NativeExportGeometry,
  path: String,
  options: NativeOmeTiffOptions,
) -> Result<Vec<Vec<u32>>> {
  ome_tiff_job(geometry_, path, options).and_then(|job| with_source(&planes, &source, job)).or_throw(&env)
}

/// `writeOmeTiff` on the libuv thread pool (in-memory planes copied first).
#[napi(catch_unwind, ts_return_type = "Promise<Array<Array<number>>>")]
pub fn write_ome_tiff_async(
  env: Env,
  #[napi(ts_arg_type = "Array<Float32Array | Float64Array | Uint8Array | Uint16Array>")] planes: Vec<TypedArray>,
  source: NativeExportSource,
  geometry_: NativeExportGeometry,
  path: String,
  options: NativeOmeTiffOptions,
) -> Result<AsyncTask<ExportTask<Levels>>> {
  let run = || Ok(ExportTask::new(OwnedSource::copy(&planes, &source)?, ome_tiff_job(geometry_, path, options)?));
  run().map(AsyncTask::new).or_throw(&env)
}

/// A class of traced regions: QuPath's classification.
#[napi(object)]
pub struct NativeRegionClass {
  /// The label it names (label maps only).
  pub label: Option<u32>,
  pub name: String,
  /// `[r, g, b]`, 0..255 each.
  pub color: Vec<u32>,
}

/// Options of `toGeoJSON`, normalized by the facade: a threshold on a
/// channel, or (`labels`) every non-zero label of a label map.
#[napi(object)]
pub struct NativeGeoJsonOptions {
  pub labels: bool,
  pub channel: u32,
  pub threshold: f64,
  /// The threshold's class, or the named labels' classes.
  pub classes: Vec<NativeRegionClass>,
  /// Regions below this area (source pixels squared) are dropped.
  pub min_area: f64,
  /// Simplification tolerance in slide pixels; 0 keeps the exact outlines.
  pub simplify: f64,
}

fn region_class(c: &NativeRegionClass) -> std::result::Result<RegionClass, Error> {
  let color = match c.color[..] {
    [r, g, b] if r < 256 && g < 256 && b < 256 => [r as u8, g as u8, b as u8],
    _ => return Err(Error::range(codes::OPTION_RANGE, "a class color must be [r, g, b] with entries 0 to 255")),
  };
  Ok(RegionClass { name: c.name.clone(), color })
}

fn geojson_job(
  geometry_: NativeExportGeometry,
  options: NativeGeoJsonOptions,
) -> std::result::Result<ExportJob<String>, Error> {
  let selection = if options.labels {
    let mut classes = Vec::new();
    for c in &options.classes {
      let label = c.label.unwrap_or(0) as usize;
      if classes.len() <= label {
        classes.resize(label + 1, None);
      }
      classes[label] = Some(region_class(c)?);
    }
    Selection::Labels { classes }
  } else {
    let class = options
      .classes
      .first()
      .ok_or_else(|| Error::range(codes::OPTION_RANGE, "a threshold needs one class"))
      .and_then(region_class)?;
    Selection::Threshold { channel: options.channel as usize, threshold: options.threshold, class }
  };
  let g = geometry(&geometry_)?;
  let options = GeoJsonOptions { selection, min_area: options.min_area, simplify: options.simplify };
  Ok(Box::new(move |mask| Ok(to_geojson(mask, &g, &options)?.to_string())))
}

/// Traces regions of the mask into a GeoJSON FeatureCollection (as JSON text).
#[napi(catch_unwind)]
pub fn to_geo_json(
  env: Env,
  #[napi(ts_arg_type = "Array<Float32Array | Float64Array | Uint8Array | Uint16Array>")] planes: Vec<TypedArray>,
  source: NativeExportSource,
  geometry_: NativeExportGeometry,
  options: NativeGeoJsonOptions,
) -> Result<String> {
  geojson_job(geometry_, options).and_then(|job| with_source(&planes, &source, job)).or_throw(&env)
}

/// `toGeoJson` on the libuv thread pool (in-memory planes copied first).
#[napi(catch_unwind, ts_return_type = "Promise<string>")]
pub fn to_geo_json_async(
  env: Env,
  #[napi(ts_arg_type = "Array<Float32Array | Float64Array | Uint8Array | Uint16Array>")] planes: Vec<TypedArray>,
  source: NativeExportSource,
  geometry_: NativeExportGeometry,
  options: NativeGeoJsonOptions,
) -> Result<AsyncTask<ExportTask<String>>> {
  let run = || Ok(ExportTask::new(OwnedSource::copy(&planes, &source)?, geojson_job(geometry_, options)?));
  run().map(AsyncTask::new).or_throw(&env)
}
