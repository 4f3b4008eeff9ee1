//! OME-Zarr (NGFF 0.4 on Zarr v2 by default, or 0.5 on Zarr v3) written with
//! `zarrs`, one chunk row of every level at a time.

use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;
use serde_json::{json, Value};
use zarrs::array::{Array, ArrayMetadata, Element};
use zarrs::filesystem::FilesystemStore;
use zarrs::group::{Group, GroupMetadata};

use super::pyramid::{chunk_of, level_extents, stream_plane, BandSink};
use super::source::{MaskSource, Sample, SampleKind};
use super::{check_absent_or_replace, ExportGeometry};
use crate::error::codes;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NgffVersion {
  /// Zarr v2: what every OME-Zarr reader opens today (Bio-Formats, QuPath, napari, vizarr, OMERO).
  V04,
  /// Zarr v3.
  V05,
}

#[derive(Debug, Clone)]
pub struct OmeZarrOptions {
  /// Chunk `[y, x]` of every level (the channel axis is chunked by 1).
  pub chunk: [usize; 2],
  pub version: NgffVersion,
  /// zstd level (1..=22), or None for uncompressed chunks.
  pub zstd_level: Option<i32>,
  pub channel_names: Vec<String>,
  pub name: String,
  /// Replace an existing store at the path (only if it is a Zarr store).
  pub overwrite: bool,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct ExportSummary {
  /// `[H, W]` of every level, full resolution first.
  pub levels: Vec<[usize; 2]>,
}

fn storage_error(e: impl std::fmt::Display) -> Error {
  Error::state(codes::STORAGE, format!("cannot write the OME-Zarr store: {e}"))
}

fn dtype_names(kind: SampleKind) -> (&'static str, &'static str) {
  match kind {
    SampleKind::F32 => ("<f4", "float32"),
    SampleKind::U8 => ("|u1", "uint8"),
    SampleKind::U16 => ("<u2", "uint16"),
  }
}

fn array_metadata(kind: SampleKind, shape: [usize; 3], options: &OmeZarrOptions) -> Result<ArrayMetadata> {
  let chunks = [1, options.chunk[0], options.chunk[1]];
  let (v2_dtype, v3_dtype) = dtype_names(kind);
  let fill: Value = if kind == SampleKind::F32 { json!(0.0) } else { json!(0) };
  let value = match options.version {
    NgffVersion::V04 => json!({
      "zarr_format": 2,
      "shape": shape,
      "chunks": chunks,
      "dtype": v2_dtype,
      "compressor": options.zstd_level.map(|level| json!({ "id": "zstd", "level": level, "checksum": false })),
      "fill_value": fill,
      "order": "C",
      "filters": null,
      "dimension_separator": "/",
    }),
    NgffVersion::V05 => {
      let mut codecs = vec![json!({ "name": "bytes", "configuration": { "endian": "little" } })];
      if let Some(level) = options.zstd_level {
        codecs.push(json!({ "name": "zstd", "configuration": { "level": level, "checksum": false } }));
      }
      json!({
        "zarr_format": 3,
        "node_type": "array",
        "shape": shape,
        "data_type": v3_dtype,
        "chunk_grid": { "name": "regular", "configuration": { "chunk_shape": chunks } },
        "chunk_key_encoding": { "name": "default", "configuration": { "separator": "/" } },
        "fill_value": fill,
        "codecs": codecs,
        "dimension_names": ["c", "y", "x"],
        "attributes": {},
      })
    }
  };
  serde_json::from_value(value).map_err(storage_error)
}

/// The NGFF `multiscales` and `omero` attributes.
pub fn ngff_attributes(
  levels: &[[usize; 2]],
  kind: SampleKind,
  geometry: &ExportGeometry,
  options: &OmeZarrOptions,
) -> Value {
  let unit = geometry.mpp.map(|_| "micrometer");
  let axis = |name: &str| match unit {
    Some(unit) => json!({ "name": name, "type": "space", "unit": unit }),
    None => json!({ "name": name, "type": "space" }),
  };
  // Level 0 pixels in source pixels, or micrometres when the source's mpp is known.
  let base = geometry.pixel_size();
  let datasets: Vec<Value> = (0..levels.len())
    .map(|k| {
      let factor = f64::from(1u32 << k);
      let scale = [1.0, base[0] * factor, base[1] * factor];
      // A level-k pixel's centre is the centre of the 2^k x 2^k block it averages.
      let translation = [0.0, base[0] * (factor - 1.0) / 2.0, base[1] * (factor - 1.0) / 2.0];
      let mut transforms = vec![json!({ "type": "scale", "scale": scale })];
      if k > 0 {
        transforms.push(json!({ "type": "translation", "translation": translation }));
      }
      json!({ "path": k.to_string(), "coordinateTransformations": transforms })
    })
    .collect();
  let mut multiscale = json!({
    "name": options.name,
    "axes": [{ "name": "c", "type": "channel" }, axis("y"), axis("x")],
    "datasets": datasets,
    "type": if kind.is_label() { "nearest" } else { "mean" },
    "metadata": { "method": "wsi-mask-builder 2x2", "sourceScale": geometry.scale, "mpp": geometry.mpp },
  });
  let max = match kind {
    SampleKind::F32 => 1.0,
    SampleKind::U8 => 255.0,
    SampleKind::U16 => 65535.0,
  };
  const COLORS: [&str; 6] = ["FF0000", "00FF00", "0000FF", "FFFF00", "FF00FF", "00FFFF"];
  let channels: Vec<Value> = options
    .channel_names
    .iter()
    .enumerate()
    .map(|(c, label)| {
      json!({
        "label": label,
        "color": COLORS[c % COLORS.len()],
        "active": true,
        "coefficient": 1,
        "family": "linear",
        "inverted": false,
        "window": { "min": 0.0, "max": max, "start": 0.0, "end": max },
      })
    })
    .collect();
  let omero = json!({ "name": options.name, "channels": channels, "rdefs": { "model": "color" } });
  match options.version {
    NgffVersion::V04 => {
      multiscale["version"] = json!("0.4");
      json!({ "multiscales": [multiscale], "omero": omero })
    }
    NgffVersion::V05 => json!({ "ome": { "version": "0.5", "multiscales": [multiscale], "omero": omero } }),
  }
}

struct ZarrSink<'a, T> {
  arrays: &'a [Array<FilesystemStore>],
  channel: usize,
  chunk: [usize; 2],
  levels: &'a [[usize; 2]],
  _sample: std::marker::PhantomData<T>,
}

impl<T: Sample + Element> BandSink<T> for ZarrSink<'_, T> {
  fn band(&mut self, level: usize, y0: usize, rows: usize, data: &[T]) -> Result<()> {
    let width = self.levels[level][1];
    let row = (y0 / self.chunk[0]) as u64;
    let columns = width.div_ceil(self.chunk[1]);
    let array = &self.arrays[level];
    (0..columns).into_par_iter().try_for_each_init(Vec::new, |chunk, j| {
      chunk_of(data, width, rows, j * self.chunk[1], self.chunk, chunk);
      array.store_chunk_elements(&[self.channel as u64, row, j as u64], chunk).map_err(storage_error)
    })
  }
}

fn write_levels<T: Sample + Element>(
  source: &mut MaskSource,
  arrays: &[Array<FilesystemStore>],
  levels: &[[usize; 2]],
  chunk: [usize; 2],
) -> Result<()> {
  for channel in 0..source.channels() {
    let mut sink = ZarrSink::<T> { arrays, channel, chunk, levels, _sample: std::marker::PhantomData };
    stream_plane(source, channel, levels, chunk[0], &mut sink)?;
  }
  Ok(())
}

/// Writes `source` as an OME-Zarr image at `path` (a new directory).
pub fn write_ome_zarr(
  source: &mut MaskSource,
  geometry: &ExportGeometry,
  path: &Path,
  options: &OmeZarrOptions,
) -> Result<ExportSummary> {
  check_options(source, options)?;
  check_absent_or_replace(path, options.overwrite, &[".zgroup", "zarr.json"])?;
  let store = Arc::new(FilesystemStore::new(path).map_err(storage_error)?);
  let kind = source.kind();
  let levels = level_extents(source.extents(), options.chunk);
  let attributes = ngff_attributes(&levels, kind, geometry, options);
  let group_metadata: GroupMetadata = match options.version {
    NgffVersion::V04 => {
      // Zarr v2 keeps a group's attributes in their own file; zarrs' v2 metadata flattens them.
      let mut value = attributes;
      value["zarr_format"] = json!(2);
      serde_json::from_value(value)
    }
    NgffVersion::V05 => {
      serde_json::from_value(json!({ "zarr_format": 3, "node_type": "group", "attributes": attributes }))
    }
  }
  .map_err(storage_error)?;
  let group = Group::new_with_metadata(store.clone(), "/", group_metadata).map_err(storage_error)?;
  group.store_metadata().map_err(storage_error)?;
  let arrays = levels
    .iter()
    .enumerate()
    .map(|(k, e)| {
      let metadata = array_metadata(kind, [source.channels(), e[0], e[1]], options)?;
      let array = Array::new_with_metadata(store.clone(), &format!("/{k}"), metadata).map_err(storage_error)?;
      array.store_metadata().map_err(storage_error)?;
      Ok(array)
    })
    .collect::<Result<Vec<_>>>()?;
  match kind {
    SampleKind::F32 => write_levels::<f32>(source, &arrays, &levels, options.chunk)?,
    SampleKind::U8 => write_levels::<u8>(source, &arrays, &levels, options.chunk)?,
    SampleKind::U16 => write_levels::<u16>(source, &arrays, &levels, options.chunk)?,
  }
  Ok(ExportSummary { levels })
}

fn check_options(source: &MaskSource, options: &OmeZarrOptions) -> Result<()> {
  for (d, &c) in options.chunk.iter().enumerate() {
    if c < 2 || !c.is_multiple_of(2) || c > 1 << 16 {
      return Err(Error::range(
        codes::OPTION_RANGE,
        format!("chunk[{d}] must be an even integer from 2 to 65536 (1024 is usual); received {c}"),
      ));
    }
  }
  if let Some(level) = options.zstd_level {
    if !(1..=22).contains(&level) {
      return Err(Error::range(codes::OPTION_RANGE, format!("the zstd level must be 1 to 22; received {level}")));
    }
  }
  if options.channel_names.len() != source.channels() {
    return Err(Error::range(
      codes::OPTION_RANGE,
      format!("channelNames has {} names; the mask has {} channels", options.channel_names.len(), source.channels()),
    ));
  }
  Ok(())
}
