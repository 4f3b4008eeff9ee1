//! Tiled OME-TIFF pyramids: one IFD per channel, reduced levels as SubIFDs.
//! The `tiff` crate encodes the directories; tiles are laid out here because
//! its image encoder writes strips only, and compressed with flate2 or zstd.

use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::Path;

use rayon::prelude::*;
use tiff::encoder::{DirectoryEncoder, TiffEncoder, TiffKind, TiffKindBig, TiffKindStandard};
use tiff::tags::Tag;

use super::pyramid::{chunk_of, level_extents, stream_plane, BandSink};
use super::source::{MaskSource, Sample, SampleKind};
use super::{check_absent_or_replace, ExportGeometry, ExportSummary};
use crate::error::codes;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TiffCompression {
  None,
  /// Adobe deflate (zlib), level 0..=9.
  Deflate(u32),
  /// zstd (TIFF compression 50000), level 1..=22.
  Zstd(i32),
}

#[derive(Debug, Clone)]
pub struct OmeTiffOptions {
  /// Tile `[y, x]`, multiples of 16 (TIFF's rule).
  pub tile: [usize; 2],
  pub compression: TiffCompression,
  /// Force BigTIFF on or off; `None` chooses it when the file may pass 4 GiB.
  pub big_tiff: Option<bool>,
  pub channel_names: Vec<String>,
  pub name: String,
  pub overwrite: bool,
}

fn tiff_error(e: impl std::fmt::Display) -> Error {
  Error::state(codes::STORAGE, format!("cannot write the OME-TIFF: {e}"))
}

struct LevelTiles {
  offsets: Vec<u64>,
  byte_counts: Vec<u64>,
}

struct TiffSink<'e, 'w, W: Write + Seek, K: TiffKind> {
  data: &'e mut DirectoryEncoder<'w, W, K>,
  levels: &'e [[usize; 2]],
  tiles: Vec<LevelTiles>,
  tile: [usize; 2],
  compression: TiffCompression,
}

fn compress(bytes: &[u8], compression: TiffCompression) -> Result<Vec<u8>> {
  match compression {
    TiffCompression::None => Ok(bytes.to_vec()),
    TiffCompression::Deflate(level) => {
      let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(level));
      encoder.write_all(bytes).map_err(tiff_error)?;
      encoder.finish().map_err(tiff_error)
    }
    TiffCompression::Zstd(level) => zstd::bulk::compress(bytes, level).map_err(tiff_error),
  }
}

impl<W: Write + Seek, K: TiffKind, T: Sample> BandSink<T> for TiffSink<'_, '_, W, K> {
  fn band(&mut self, level: usize, _y0: usize, rows: usize, data: &[T]) -> Result<()> {
    let width = self.levels[level][1];
    let (tile, compression) = (self.tile, self.compression);
    let compressed: Vec<Vec<u8>> = (0..width.div_ceil(tile[1]))
      .into_par_iter()
      .map_init(Vec::new, |buffer, j| {
        chunk_of(data, width, rows, j * tile[1], tile, buffer);
        compress(bytemuck::cast_slice(buffer), compression)
      })
      .collect::<Result<_>>()?;
    let tiles = &mut self.tiles[level];
    for bytes in compressed {
      tiles.offsets.push(self.data.write_data(&bytes[..]).map_err(tiff_error)?);
      tiles.byte_counts.push(bytes.len() as u64);
    }
    Ok(())
  }
}

fn escape(text: &str) -> String {
  text
    .chars()
    .map(|c| match c {
      '&' => "&amp;".to_string(),
      '<' => "&lt;".to_string(),
      '>' => "&gt;".to_string(),
      '"' => "&quot;".to_string(),
      c if c.is_ascii() && !c.is_ascii_control() => c.to_string(),
      // ImageDescription is ASCII: anything else becomes a character reference.
      c => format!("&#{};", c as u32),
    })
    .collect()
}

/// The OME-XML of the image (first IFD's ImageDescription).
pub fn ome_xml(extents: [usize; 2], kind: SampleKind, geometry: &ExportGeometry, options: &OmeTiffOptions) -> String {
  let pixel_type = match kind {
    SampleKind::F32 => "float",
    SampleKind::U8 => "uint8",
    SampleKind::U16 => "uint16",
  };
  // PhysicalSize's default unit is the micrometre.
  let physical = match geometry.mpp {
    Some(_) => {
      let size = geometry.pixel_size();
      format!(" PhysicalSizeX=\"{}\" PhysicalSizeY=\"{}\"", size[1], size[0])
    }
    None => String::new(),
  };
  let channels = options.channel_names.len();
  let mut xml = format!(
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<OME xmlns=\"http://www.openmicroscopy.org/Schemas/OME/2016-06\" \
xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
xsi:schemaLocation=\"http://www.openmicroscopy.org/Schemas/OME/2016-06 http://www.openmicroscopy.org/Schemas/OME/2016-06/ome.xsd\" \
Creator=\"wsi-mask-builder\">\
<Image ID=\"Image:0\" Name=\"{}\"><Pixels ID=\"Pixels:0\" DimensionOrder=\"XYCZT\" Type=\"{pixel_type}\" \
SizeX=\"{}\" SizeY=\"{}\" SizeC=\"{channels}\" SizeZ=\"1\" SizeT=\"1\"{physical} BigEndian=\"false\">",
    escape(&options.name),
    extents[1],
    extents[0],
  );
  for (c, name) in options.channel_names.iter().enumerate() {
    xml.push_str(&format!("<Channel ID=\"Channel:0:{c}\" Name=\"{}\" SamplesPerPixel=\"1\"/>", escape(name)));
  }
  for c in 0..channels {
    xml.push_str(&format!("<TiffData IFD=\"{c}\" FirstC=\"{c}\" FirstZ=\"0\" FirstT=\"0\" PlaneCount=\"1\"/>"));
  }
  xml.push_str("</Pixels></Image></OME>");
  xml
}

fn write_tags<W: Write + Seek, K: TiffKind>(
  dir: &mut DirectoryEncoder<'_, W, K>,
  extents: [usize; 2],
  kind: SampleKind,
  options: &OmeTiffOptions,
  tiles: &LevelTiles,
  reduced: bool,
) -> Result<()> {
  let convert = |values: &[u64]| values.iter().map(|&v| K::convert_offset(v)).collect::<tiff::TiffResult<Vec<_>>>();
  let offsets = convert(&tiles.offsets).map_err(tiff_error)?;
  let counts = convert(&tiles.byte_counts).map_err(tiff_error)?;
  let (bits, format) = match kind {
    SampleKind::F32 => (32u16, 3u16),
    SampleKind::U8 => (8, 1),
    SampleKind::U16 => (16, 1),
  };
  let compression: u16 = match options.compression {
    TiffCompression::None => 1,
    TiffCompression::Deflate(_) => 8,
    TiffCompression::Zstd(_) => 50000,
  };
  let e = |r: tiff::TiffResult<()>| r.map_err(tiff_error);
  e(dir.write_tag(Tag::NewSubfileType, if reduced { 1u32 } else { 0u32 }))?;
  e(dir.write_tag(Tag::ImageWidth, extents[1] as u32))?;
  e(dir.write_tag(Tag::ImageLength, extents[0] as u32))?;
  e(dir.write_tag(Tag::BitsPerSample, bits))?;
  e(dir.write_tag(Tag::Compression, compression))?;
  e(dir.write_tag(Tag::PhotometricInterpretation, 1u16))?;
  e(dir.write_tag(Tag::SamplesPerPixel, 1u16))?;
  e(dir.write_tag(Tag::PlanarConfiguration, 1u16))?;
  e(dir.write_tag(Tag::Software, "wsi-mask-builder"))?;
  e(dir.write_tag(Tag::TileWidth, options.tile[1] as u32))?;
  e(dir.write_tag(Tag::TileLength, options.tile[0] as u32))?;
  e(dir.write_tag(Tag::TileOffsets, K::convert_slice(&offsets)))?;
  e(dir.write_tag(Tag::TileByteCounts, K::convert_slice(&counts)))?;
  e(dir.write_tag(Tag::SampleFormat, format))
}

fn write_channel<W: Write + Seek, K: TiffKind, T: Sample>(
  encoder: &mut TiffEncoder<W, K>,
  source: &mut MaskSource,
  channel: usize,
  levels: &[[usize; 2]],
  geometry: &ExportGeometry,
  options: &OmeTiffOptions,
) -> Result<()> {
  let kind = source.kind();
  let single = levels.len() == 1;
  // Tile data goes through the directory that is written last: the channel's
  // own IFD when there is one level, else the smallest level's SubIFD.
  let mut data = if single { encoder.image_directory() } else { encoder.extra_directory() }.map_err(tiff_error)?;
  let tiles = {
    let mut sink = TiffSink {
      data: &mut data,
      levels,
      tiles: levels.iter().map(|_| LevelTiles { offsets: Vec::new(), byte_counts: Vec::new() }).collect(),
      tile: options.tile,
      compression: options.compression,
    };
    stream_plane::<T>(source, channel, levels, options.tile[0], &mut sink)?;
    sink.tiles
  };
  let description = (channel == 0).then(|| ome_xml(levels[0], kind, geometry, options));
  let last = levels.len() - 1;
  write_tags(&mut data, levels[last], kind, options, &tiles[last], !single)?;
  if single {
    if let Some(description) = &description {
      data.write_tag(Tag::ImageDescription, description.as_str()).map_err(tiff_error)?;
    }
    return data.finish().map_err(tiff_error);
  }
  let smallest = data.finish_with_offsets().map_err(tiff_error)?.offset;
  let mut offsets = Vec::with_capacity(last);
  for k in 1..last {
    let mut dir = encoder.extra_directory().map_err(tiff_error)?;
    write_tags(&mut dir, levels[k], kind, options, &tiles[k], true)?;
    offsets.push(dir.finish_with_offsets().map_err(tiff_error)?.offset);
  }
  offsets.push(smallest);
  let mut main = encoder.image_directory().map_err(tiff_error)?;
  write_tags(&mut main, levels[0], kind, options, &tiles[0], false)?;
  if let Some(description) = &description {
    main.write_tag(Tag::ImageDescription, description.as_str()).map_err(tiff_error)?;
  }
  main.write_tag(Tag::SubIfd, K::convert_slice(&offsets)).map_err(tiff_error)?;
  main.finish().map_err(tiff_error)
}

fn write_all<K: TiffKind>(
  file: File,
  source: &mut MaskSource,
  levels: &[[usize; 2]],
  geometry: &ExportGeometry,
  options: &OmeTiffOptions,
) -> Result<()> {
  let mut writer = BufWriter::with_capacity(1 << 20, file);
  {
    let mut encoder = TiffEncoder::<_, K>::new_generic(&mut writer).map_err(tiff_error)?;
    for channel in 0..source.channels() {
      match source.kind() {
        SampleKind::F32 => write_channel::<_, K, f32>(&mut encoder, source, channel, levels, geometry, options)?,
        SampleKind::U8 => write_channel::<_, K, u8>(&mut encoder, source, channel, levels, geometry, options)?,
        SampleKind::U16 => write_channel::<_, K, u16>(&mut encoder, source, channel, levels, geometry, options)?,
      }
    }
  }
  // Flushed here, not on drop, so a full disk is reported.
  writer.flush().map_err(|e| Error::io("cannot write the OME-TIFF", &e))
}

/// Whether the file may pass what 32-bit offsets reach.
fn needs_big_tiff(levels: &[[usize; 2]], channels: usize, tile: [usize; 2], sample: usize) -> bool {
  let padded: u64 =
    levels.iter().map(|e| (e[0].div_ceil(tile[0]) * tile[0]) as u64 * (e[1].div_ceil(tile[1]) * tile[1]) as u64).sum();
  // Compressors can grow incompressible tiles slightly; leave room for that and the directories.
  let bound = padded * channels as u64 * sample as u64;
  bound + bound / 64 + (1 << 24) > u64::from(u32::MAX)
}

/// Writes `source` as a tiled OME-TIFF pyramid at `path` (a new file).
pub fn write_ome_tiff(
  source: &mut MaskSource,
  geometry: &ExportGeometry,
  path: &Path,
  options: &OmeTiffOptions,
) -> Result<ExportSummary> {
  for (d, &t) in options.tile.iter().enumerate() {
    if t < 16 || !t.is_multiple_of(16) || t > 1 << 16 {
      return Err(Error::range(
        codes::OPTION_RANGE,
        format!(
          "tile[{d}] must be a multiple of 16 from 16 to 65536 (TIFF's rule; 512 or 1024 is usual); received {t}"
        ),
      ));
    }
  }
  match options.compression {
    TiffCompression::Deflate(level) if level > 9 => {
      return Err(Error::range(codes::OPTION_RANGE, format!("the deflate level must be 0 to 9; received {level}")))
    }
    TiffCompression::Zstd(level) if !(1..=22).contains(&level) => {
      return Err(Error::range(codes::OPTION_RANGE, format!("the zstd level must be 1 to 22; received {level}")))
    }
    _ => {}
  }
  if options.channel_names.len() != source.channels() {
    return Err(Error::range(
      codes::OPTION_RANGE,
      format!("channelNames has {} names; the mask has {} channels", options.channel_names.len(), source.channels()),
    ));
  }
  let [h, w] = source.extents();
  if h > u32::MAX as usize || w > u32::MAX as usize {
    return Err(Error::range(
      codes::IMAGE_SHAPE,
      format!("a TIFF holds at most 2^32 - 1 pixels a side; the mask is [{h}, {w}]"),
    ));
  }
  check_absent_or_replace(path, options.overwrite, &[])?;
  let levels = level_extents(source.extents(), options.tile);
  let big =
    options.big_tiff.unwrap_or_else(|| needs_big_tiff(&levels, source.channels(), options.tile, source.kind().size()));
  let file = File::create(path).map_err(|e| Error::io(&format!("cannot create {}", path.display()), &e))?;
  let written = if big {
    write_all::<TiffKindBig>(file, source, &levels, geometry, options)
  } else {
    write_all::<TiffKindStandard>(file, source, &levels, geometry, options)
  };
  if written.is_err() {
    let _ = std::fs::remove_file(path);
  }
  written.map(|()| ExportSummary { levels })
}
