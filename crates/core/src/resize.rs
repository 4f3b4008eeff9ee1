//! Bringing a 2-D mask back to slide resolution.
//!
//! A mask pixel covers `span / maskExtents` source pixels per axis (the tile
//! grid's span, not the slide's extent), so the mask is scaled by exactly that
//! and the result cropped to `sourceExtents`. Nothing outside the crop is ever
//! computed: each horizontal band of the output is resized on its own from the
//! mask rows its kernel reaches, which keeps memory bounded and lets bands run
//! in parallel or stream into an NPY file.
//!
//! Resampling is fast_image_resize's, one channel plane at a time, in float32
//! (float64 masks are converted row window by row window); the output is
//! `[H, W, C]`, channels interleaved.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use ndarray::ArrayView3;
use rayon::prelude::*;

use crate::batch_data::Floats;
use crate::error::{codes, list, Error, Result};
use crate::files::{check_absent, refuse_if_mapped, PendingFile};
use crate::geometry::MAX_SAFE_INTEGER;
use crate::npy::{encode_header, NpyVersion};

/// Output bytes aimed at per band: large enough that the horizontal pass over
/// the band's mask rows is a small overhead, small enough to stay in cache-ish
/// memory and to keep both cores busy.
const BAND_BYTES: usize = 8 << 20;

/// Resampling kernels, named as libvips names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResizeKernel {
  Nearest,
  Bilinear,
  /// Catmull-Rom.
  Cubic,
  Mitchell,
  Lanczos3,
}

impl ResizeKernel {
  pub const NAMES: [&'static str; 5] = ["nearest", "bilinear", "cubic", "mitchell", "lanczos3"];

  pub fn parse(name: &str) -> Result<Self> {
    Ok(match name {
      "nearest" => Self::Nearest,
      "bilinear" => Self::Bilinear,
      "cubic" => Self::Cubic,
      "mitchell" => Self::Mitchell,
      "lanczos3" => Self::Lanczos3,
      other => {
        return Err(Error::type_error(
          codes::OPTION_TYPE,
          format!("kernel must be one of {}; received '{other}'", Self::NAMES.join(", ")),
        ))
      }
    })
  }

  fn algorithm(self) -> ResizeAlg {
    match self {
      Self::Nearest => ResizeAlg::Nearest,
      Self::Bilinear => ResizeAlg::Convolution(FilterType::Bilinear),
      Self::Cubic => ResizeAlg::Convolution(FilterType::CatmullRom),
      Self::Mitchell => ResizeAlg::Convolution(FilterType::Mitchell),
      Self::Lanczos3 => ResizeAlg::Convolution(FilterType::Lanczos3),
    }
  }

  /// Kernel radius in output-scale units (fast_image_resize's filter support).
  fn support(self) -> f64 {
    match self {
      Self::Nearest => 0.0,
      Self::Bilinear => 1.0,
      Self::Cubic | Self::Mitchell => 2.0,
      Self::Lanczos3 => 3.0,
    }
  }
}

/// The mask to resize, channel planes first: `[C, H_mask, W_mask]` views
/// in standard (C) layout; [`SourceResize::planes`] makes them from a flat
/// slice.
pub type MaskPlanes<'a> = Floats<ArrayView3<'a, f32>, ArrayView3<'a, f64>>;

/// The planes' memory, flat: what the row loops read.
type FlatPlanes<'a> = crate::batch_data::FloatSlice<'a>;

/// Extents of a resize, `[y, x]` each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResizeGeometry {
  pub mask_extents: [u64; 2],
  /// Source pixels the mask covers (the tile grid's span).
  pub span: [u64; 2],
  /// The output is cropped to this.
  pub source_extents: [u64; 2],
}

/// A validated resize of one mask to source resolution.
#[derive(Debug, Clone)]
pub struct SourceResize {
  geometry: ResizeGeometry,
  channels: usize,
  kernel: ResizeKernel,
  /// Mask pixels per output pixel, `[y, x]`.
  scale: [f64; 2],
}

fn check_extents(name: &str, values: &[u64; 2]) -> Result<()> {
  for (i, &v) in values.iter().enumerate() {
    if v == 0 || v > u32::MAX as u64 {
      return Err(Error::range(
        codes::OPTION_RANGE,
        format!("{name}[{i}] must be a positive integer no larger than {}; received {v}", u32::MAX),
      ));
    }
  }
  Ok(())
}

impl SourceResize {
  pub fn new(geometry: ResizeGeometry, channels: usize, kernel: ResizeKernel) -> Result<Self> {
    check_extents("maskExtents", &geometry.mask_extents)?;
    check_extents("span", &geometry.span)?;
    check_extents("sourceExtents", &geometry.source_extents)?;
    for d in 0..2 {
      if geometry.source_extents[d] > geometry.span[d] {
        return Err(Error::range(
          codes::OPTION_RANGE,
          format!(
            "span[{d}] must be at least sourceExtents[{d}] (the mask covers the whole slide); received span {} and sourceExtents {}",
            list(&geometry.span),
            list(&geometry.source_extents)
          ),
        ));
      }
    }
    if channels == 0 {
      return Err(Error::range(codes::IMAGE_SHAPE, "the image must have at least one channel; received 0".to_string()));
    }
    let scale = [0, 1].map(|d| geometry.mask_extents[d] as f64 / geometry.span[d] as f64);
    let resize = Self { geometry, channels, kernel, scale };
    resize.output_len()?;
    Ok(resize)
  }

  pub fn geometry(&self) -> &ResizeGeometry {
    &self.geometry
  }

  pub fn channels(&self) -> usize {
    self.channels
  }

  /// `[H_source, W_source, C]`.
  pub fn output_shape(&self) -> [u64; 3] {
    let [h, w] = self.geometry.source_extents;
    [h, w, self.channels as u64]
  }

  /// Elements of the output.
  pub fn output_len(&self) -> Result<usize> {
    let [h, w, c] = self.output_shape();
    h.checked_mul(w)
      .and_then(|n| n.checked_mul(c))
      .filter(|&n| n <= MAX_SAFE_INTEGER)
      .and_then(|n| usize::try_from(n).ok())
      .ok_or_else(|| {
        Error::range(
          codes::OUTPUT_TOO_LARGE,
          format!("the resized image {} has more than 2^53 - 1 elements", list(&self.output_shape())),
        )
      })
  }

  /// `data` (`[C, H_mask, W_mask]`, C order, flat) as the planes this
  /// resize reads; refuses a length that is not that shape's.
  pub fn planes<'a>(&self, data: FlatPlanes<'a>) -> Result<MaskPlanes<'a>> {
    let [mh, mw] = self.geometry.mask_extents;
    let expected = self.channels as u128 * mh as u128 * mw as u128;
    if data.len() as u128 != expected {
      return Err(Error::range(
        codes::IMAGE_SHAPE,
        format!(
          "the image must hold [C, H_mask, W_mask] = [{}, {mh}, {mw}] = {expected} elements; received {}",
          self.channels,
          data.len()
        ),
      ));
    }
    let shape = (self.channels, mh as usize, mw as usize);
    let view_error = |_| Error::range(codes::IMAGE_SHAPE, "the image's shape does not fit its data".to_string());
    Ok(match data {
      Floats::F32(d) => Floats::F32(ArrayView3::from_shape(shape, d).map_err(view_error)?),
      Floats::F64(d) => Floats::F64(ArrayView3::from_shape(shape, d).map_err(view_error)?),
    })
  }

  /// The planes' memory, once their shape is `[C, H_mask, W_mask]` and
  /// their layout standard (the row loops read contiguous rows).
  fn flat<'a>(&self, input: &MaskPlanes<'a>) -> Result<FlatPlanes<'a>> {
    let [mh, mw] = self.geometry.mask_extents;
    let want = [self.channels, mh as usize, mw as usize];
    let shape = match input {
      Floats::F32(v) => v.shape(),
      Floats::F64(v) => v.shape(),
    };
    if shape != want {
      return Err(Error::range(
        codes::IMAGE_SHAPE,
        format!("the image must have shape [C, H_mask, W_mask] = {want:?}; received {shape:?}"),
      ));
    }
    let not_standard =
      || Error::range(codes::IMAGE_SHAPE, "the image planes must be in standard (C) layout".to_string());
    Ok(match input {
      Floats::F32(v) => Floats::F32(v.to_slice().ok_or_else(not_standard)?),
      Floats::F64(v) => Floats::F64(v.to_slice().ok_or_else(not_standard)?),
    })
  }

  fn row_elements(&self) -> usize {
    self.geometry.source_extents[1] as usize * self.channels
  }

  /// Output rows per band: about `BAND_BYTES`, and at least four bands per
  /// thread when the image is tall enough.
  fn band_rows(&self, band_bytes: usize) -> usize {
    let height = self.geometry.source_extents[0] as usize;
    let by_bytes = (band_bytes / (self.row_elements() * 4)).max(1);
    let by_threads = height.div_ceil(rayon::current_num_threads() * 4).max(1);
    by_bytes.min(by_threads)
  }

  /// Resizes the whole output into `out` (`[H, W, C]` interleaved), bands in parallel.
  pub fn resize_into(&self, input: MaskPlanes, out: &mut [f32]) -> Result<()> {
    let input = self.flat(&input)?;
    let len = self.output_len()?;
    if out.len() != len {
      return Err(Error::range(
        codes::IMAGE_SHAPE,
        format!("the output must hold {len} elements ({}); received {}", list(&self.output_shape()), out.len()),
      ));
    }
    let band_elements = self.band_rows(BAND_BYTES) * self.row_elements();
    out.par_chunks_mut(band_elements).enumerate().try_for_each_init(BandScratch::default, |scratch, (i, band)| {
      self.resize_band(input, (i * band_elements / self.row_elements()) as u64, band, scratch)
    })
  }

  /// Streams the output into a new NPY file (`<f4`, `[H, W, C]`) band by
  /// band; memory stays at a few bands whatever the image size. A file left
  /// by a failed write is removed.
  /// The file appears under `path` only once complete (a temporary, then
  /// linked or renamed into place): an existing file is refused with
  /// `EEXIST` unless `overwrite`, then replaced (a symlink itself, never its
  /// target), and is never deleted or truncated; a file this process maps is
  /// refused either way.
  pub fn resize_to_npy(&self, input: MaskPlanes, path: &Path, version: NpyVersion, overwrite: bool) -> Result<()> {
    let input = self.flat(&input)?;
    let header = encode_header("<f4", &self.output_shape(), version)?;
    refuse_if_mapped(path)?;
    if !overwrite {
      check_absent(path)?;
    }
    let what = format!("cannot write {}", path.display());
    let mut pending = PendingFile::new(path)?;
    self.write_bands(input, &header, pending.file_mut(), &what, BAND_BYTES)?;
    pending.persist(overwrite).map(drop)
  }

  /// Streams the output after `header`: bands of whole rows, or, where one
  /// row alone exceeds `band_bytes`, each row in pieces of columns, so that
  /// memory stays bounded by bytes whatever the shape.
  fn write_bands(
    &self,
    input: FlatPlanes,
    header: &[u8],
    file: &mut File,
    what: &str,
    band_bytes: usize,
  ) -> Result<()> {
    let mut writer = BufWriter::with_capacity(1 << 20, &mut *file);
    writer.write_all(header).map_err(|e| Error::io(what, &e))?;
    if self.row_elements() * 4 > band_bytes {
      self.write_wide_rows(input, &mut writer, what, band_bytes)?;
    } else {
      self.write_row_bands(input, &mut writer, what, band_bytes)?;
    }
    writer.into_inner().map_err(|e| Error::io(what, e.error()))?;
    file.sync_all().map_err(|e| Error::io(what, &e))
  }

  /// Rows wider than a band: each row in pieces of `cols` columns, up to one
  /// piece per thread resized in parallel, then written in order.
  fn write_wide_rows(&self, input: FlatPlanes, writer: &mut impl Write, what: &str, band_bytes: usize) -> Result<()> {
    let [height, width] = self.geometry.source_extents;
    // The horizontal pass keeps about (kernel rows) x cols floats too.
    let cols = (band_bytes / 4 / (self.channels + 16)).max(1) as u64;
    let group = rayon::current_num_threads().max(1) as u64;
    let pieces: Vec<(u64, u64)> =
      (0..height).flat_map(|r| (0..width.div_ceil(cols)).map(move |k| (r, k * cols))).collect();
    let mut buffers: Vec<Vec<f32>> = Vec::new();
    for batch in pieces.chunks(group as usize) {
      buffers.resize_with(batch.len(), Vec::new);
      buffers.par_iter_mut().zip(batch).try_for_each_init(PieceScratch::default, |scratch, (buffer, &(row, x0))| {
        let x1 = (x0 + cols).min(width);
        buffer.resize((x1 - x0) as usize * self.channels, 0.0);
        self.resize_piece(input, row, x0, x1, buffer, scratch)
      })?;
      for buffer in &buffers[..batch.len()] {
        write_f32_le(writer, buffer).map_err(|e| Error::io(what, &e))?;
      }
    }
    Ok(())
  }

  /// Output row `row`, columns `[x0, x1)`, into `piece` (`(x1 - x0) * C`,
  /// interleaved): the same as that part of the whole row, from a window of
  /// mask columns wide enough for the kernel.
  fn resize_piece(
    &self,
    input: FlatPlanes,
    row: u64,
    x0: u64,
    x1: u64,
    piece: &mut [f32],
    scratch: &mut PieceScratch,
  ) -> Result<()> {
    let [mask_h, mask_w] = self.geometry.mask_extents.map(|v| v as usize);
    let channels = self.channels;
    let cols = (x1 - x0) as usize;
    let (first, end, top, height) = self.row_window(row, 1);
    let scale = self.scale[1];
    let crop_right = (self.geometry.source_extents[1] as f64 * scale).min(mask_w as f64);
    let left = x0 as f64 * scale;
    let right = (x1 as f64 * scale).min(crop_right);
    let radius = self.kernel.support() * scale.max(1.0);
    let c0 = (left - radius - 1.0).floor().max(0.0) as usize;
    let c1 = ((right + radius + 1.0).ceil().min(mask_w as f64) as usize).max(c0 + 1);
    let options = ResizeOptions::new().resize_alg(self.kernel.algorithm()).use_alpha(false).crop(
      left - c0 as f64,
      top,
      right - left,
      height,
    );
    let plane = mask_h * mask_w;
    let window_w = c1 - c0;
    for c in 0..channels {
      // The window's rows, copied contiguous (converted from float64 if need be).
      scratch.window.clear();
      for y in first..end {
        let at = c * plane + y * mask_w;
        match input {
          FlatPlanes::F32(data) => scratch.window.extend_from_slice(&data[at + c0..at + c1]),
          FlatPlanes::F64(data) => scratch.window.extend(data[at + c0..at + c1].iter().map(|&v| v as f32)),
        }
      }
      let src =
        ImageRef::new(window_w as u32, (end - first) as u32, bytemuck::cast_slice(&scratch.window), PixelType::F32)
          .map_err(|e| internal(&e))?;
      scratch.plane.resize(cols, 0.0);
      let mut dst = Image::from_slice_u8(cols as u32, 1, bytemuck::cast_slice_mut(&mut scratch.plane), PixelType::F32)
        .map_err(|e| internal(&e))?;
      scratch.resizer.resize(&src, &mut dst, &options).map_err(|e| internal(&e))?;
      for (pixel, &value) in piece.chunks_exact_mut(channels).zip(&scratch.plane) {
        pixel[c] = value;
      }
    }
    Ok(())
  }

  fn write_row_bands(&self, input: FlatPlanes, writer: &mut impl Write, what: &str, band_bytes: usize) -> Result<()> {
    let height = self.geometry.source_extents[0];
    let rows = self.band_rows(band_bytes) as u64;
    let group = rayon::current_num_threads().max(1);
    let mut buffers: Vec<Vec<f32>> = Vec::new();
    let mut first = 0u64;
    while first < height {
      // Up to one band per thread, resized in parallel, then written in order.
      let starts: Vec<u64> = (0..group as u64).map(|k| first + k * rows).take_while(|&s| s < height).collect();
      buffers.resize_with(starts.len(), Vec::new);
      buffers.par_iter_mut().zip(&starts).try_for_each_init(BandScratch::default, |scratch, (buffer, &start)| {
        let band_rows = rows.min(height - start) as usize;
        buffer.resize(band_rows * self.row_elements(), 0.0);
        self.resize_band(input, start, buffer, scratch)
      })?;
      for buffer in &buffers[..starts.len()] {
        write_f32_le(writer, buffer).map_err(|e| Error::io(what, &e))?;
      }
      first += rows * starts.len() as u64;
    }
    Ok(())
  }

  /// Mask rows `[first, end)` that the kernel reaches for output rows
  /// `[row0, row0 + rows)`, and the crop box top within that window.
  fn row_window(&self, row0: u64, rows: u64) -> (usize, usize, f64, f64) {
    let mask_h = self.geometry.mask_extents[0] as f64;
    let scale = self.scale[0];
    let top = row0 as f64 * scale;
    let height = (rows as f64 * scale).min(mask_h - top);
    // Downscaling widens the kernel by the scale, as fast_image_resize does.
    let radius = self.kernel.support() * scale.max(1.0);
    let first = (top - radius - 1.0).floor().max(0.0) as usize;
    let end = ((top + height + radius + 1.0).ceil().min(mask_h) as usize).max(first + 1);
    (first, end, top - first as f64, height)
  }

  /// Resizes output rows `[row0, row0 + band.len() / (W * C))` into `band`.
  fn resize_band(&self, input: FlatPlanes, row0: u64, band: &mut [f32], scratch: &mut BandScratch) -> Result<()> {
    let [mask_h, mask_w] = self.geometry.mask_extents.map(|v| v as usize);
    let width = self.geometry.source_extents[1] as usize;
    let channels = self.channels;
    let rows = band.len() / (width * channels);
    let (first, end, top, height) = self.row_window(row0, rows as u64);
    let crop_width = (width as f64 * self.scale[1]).min(mask_w as f64);
    let options =
      ResizeOptions::new().resize_alg(self.kernel.algorithm()).use_alpha(false).crop(0.0, top, crop_width, height);
    let plane = mask_h * mask_w;
    for c in 0..channels {
      let window = match input {
        FlatPlanes::F32(data) => &data[c * plane + first * mask_w..c * plane + end * mask_w],
        FlatPlanes::F64(data) => {
          let rows = &data[c * plane + first * mask_w..c * plane + end * mask_w];
          scratch.converted.clear();
          scratch.converted.extend(rows.iter().map(|&v| v as f32));
          &scratch.converted[..]
        }
      };
      let src = ImageRef::new(mask_w as u32, (end - first) as u32, bytemuck::cast_slice(window), PixelType::F32)
        .map_err(|e| internal(&e))?;
      if channels == 1 {
        let mut dst = Image::from_slice_u8(width as u32, rows as u32, bytemuck::cast_slice_mut(band), PixelType::F32)
          .map_err(|e| internal(&e))?;
        scratch.resizer.resize(&src, &mut dst, &options).map_err(|e| internal(&e))?;
      } else {
        scratch.plane.resize(rows * width, 0.0);
        let mut dst =
          Image::from_slice_u8(width as u32, rows as u32, bytemuck::cast_slice_mut(&mut scratch.plane), PixelType::F32)
            .map_err(|e| internal(&e))?;
        scratch.resizer.resize(&src, &mut dst, &options).map_err(|e| internal(&e))?;
        for (pixel, &value) in band.chunks_exact_mut(channels).zip(&scratch.plane) {
          pixel[c] = value;
        }
      }
    }
    Ok(())
  }
}

/// Per-thread buffers reused across bands.
struct BandScratch {
  resizer: Resizer,
  /// One channel of the band, before interleaving.
  plane: Vec<f32>,
  /// A float64 row window converted to float32.
  converted: Vec<f32>,
}

impl Default for BandScratch {
  fn default() -> Self {
    Self { resizer: Resizer::new(), plane: Vec::new(), converted: Vec::new() }
  }
}

/// Per-thread buffers for pieces of wide rows.
#[derive(Default)]
struct PieceScratch {
  resizer: Resizer,
  /// The mask window's rows, contiguous.
  window: Vec<f32>,
  /// One channel of the piece, before interleaving.
  plane: Vec<f32>,
}

/// Validation makes these unreachable; they still must not panic.
fn internal(err: &dyn std::fmt::Display) -> Error {
  Error::range(codes::IMAGE_SHAPE, format!("resizing failed: {err}"))
}

fn write_f32_le(writer: &mut impl Write, values: &[f32]) -> std::io::Result<()> {
  if cfg!(target_endian = "little") {
    writer.write_all(bytemuck::cast_slice(values))
  } else {
    values.iter().try_for_each(|v| writer.write_all(&v.to_le_bytes()))
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn geometry(mask: [u64; 2], span: [u64; 2], source: [u64; 2]) -> ResizeGeometry {
    ResizeGeometry { mask_extents: mask, span, source_extents: source }
  }

  fn resize(g: ResizeGeometry, channels: usize, kernel: ResizeKernel, input: FlatPlanes) -> Vec<f32> {
    let r = SourceResize::new(g, channels, kernel).unwrap();
    let mut out = vec![f32::NAN; r.output_len().unwrap()];
    r.resize_into(r.planes(input).unwrap(), &mut out).unwrap();
    out
  }

  /// A deterministic pseudo-random mask in [0, 1).
  fn noise(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..len)
      .map(|_| {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (s >> 40) as f32 / (1u64 << 24) as f32
      })
      .collect()
  }

  #[test]
  fn nearest_with_integer_scale_repeats_each_mask_pixel_as_a_block() {
    // 5 x 7 mask, 4 source pixels per mask pixel, cropped to 18 x 25.
    let mask = noise(2 * 5 * 7, 1);
    let g = geometry([5, 7], [20, 28], [18, 25]);
    let out = resize(g, 2, ResizeKernel::Nearest, FlatPlanes::F32(&mask));
    assert_eq!(out.len(), 18 * 25 * 2);
    for y in 0..18 {
      for x in 0..25 {
        for c in 0..2 {
          assert_eq!(out[(y * 25 + x) * 2 + c], mask[c * 35 + (y / 4) * 7 + x / 4], "({y}, {x}, {c})");
        }
      }
    }
  }

  #[test]
  fn constant_masks_stay_constant_under_every_kernel() {
    for name in ResizeKernel::NAMES {
      let kernel = ResizeKernel::parse(name).unwrap();
      for (g, value) in [
        (geometry([9, 14], [36, 56], [33, 53]), 0.625f32),
        (geometry([40, 30], [20, 15], [19, 15]), -3.5),
        (geometry([3, 3], [768, 768], [700, 600]), 1.0),
      ] {
        let mask = vec![value; 40 * 30];
        let len = (g.mask_extents[0] * g.mask_extents[1]) as usize;
        let out = resize(g, 1, kernel, FlatPlanes::F32(&mask[..len]));
        for (i, &v) in out.iter().enumerate() {
          assert!((v - value).abs() <= 1e-5 * value.abs().max(1.0), "{name} {g:?} [{i}] = {v}");
        }
      }
    }
  }

  #[test]
  fn ramps_stay_monotone_under_every_kernel() {
    let (mh, mw) = (6usize, 9usize);
    let mask: Vec<f32> = (0..mh * mw).map(|i| (i % mw) as f32 / (mw - 1) as f32).collect();
    for name in ResizeKernel::NAMES {
      let out = resize(
        geometry([mh as u64, mw as u64], [48, 72], [45, 70]),
        1,
        ResizeKernel::parse(name).unwrap(),
        FlatPlanes::F32(&mask),
      );
      for y in 0..45 {
        let row = &out[y * 70..(y + 1) * 70];
        for x in 1..70 {
          assert!(row[x] >= row[x - 1] - 1e-6, "{name}: row {y} decreases at {x}: {} < {}", row[x], row[x - 1]);
        }
        if matches!(name, "nearest" | "bilinear") {
          // Convex weights: no value outside the mask's range.
          assert!(row.iter().all(|&v| (-1e-6..=1.0 + 1e-6).contains(&v)), "{name}: row {y} leaves [0, 1]");
        }
      }
    }
  }

  #[test]
  fn output_is_cropped_to_the_source_extents() {
    let g = geometry([9, 14], [36, 56], [33, 53]);
    let r = SourceResize::new(g, 3, ResizeKernel::Lanczos3).unwrap();
    assert_eq!(r.output_shape(), [33, 53, 3]);
    assert_eq!(r.output_len().unwrap(), 33 * 53 * 3);
  }

  #[test]
  fn cropping_equals_resizing_the_whole_span_then_cutting() {
    let mask = noise(9 * 14, 7);
    for name in ResizeKernel::NAMES {
      let kernel = ResizeKernel::parse(name).unwrap();
      let whole = resize(geometry([9, 14], [36, 56], [36, 56]), 1, kernel, FlatPlanes::F32(&mask));
      let cropped = resize(geometry([9, 14], [36, 56], [33, 53]), 1, kernel, FlatPlanes::F32(&mask));
      for y in 0..33 {
        for x in 0..53 {
          let (a, b) = (cropped[y * 53 + x], whole[y * 56 + x]);
          assert!((a - b).abs() <= 1e-5, "{name} ({y}, {x}): {a} != {b}");
        }
      }
    }
  }

  #[test]
  fn float64_input_matches_float32_input() {
    let mask = noise(2 * 11 * 13, 3);
    let wide: Vec<f64> = mask.iter().map(|&v| v as f64).collect();
    let g = geometry([11, 13], [88, 104], [80, 100]);
    let a = resize(g, 2, ResizeKernel::Cubic, FlatPlanes::F32(&mask));
    let b = resize(g, 2, ResizeKernel::Cubic, FlatPlanes::F64(&wide));
    assert_eq!(a, b);
  }

  #[test]
  fn bands_of_any_height_give_the_same_image() {
    // 700 rows of 600 x 3 floats are several bands.
    let mask = noise(3 * 7 * 6, 11);
    let g = geometry([7, 6], [700, 600], [690, 600]);
    let r = SourceResize::new(g, 3, ResizeKernel::Lanczos3).unwrap();
    assert!(r.band_rows(BAND_BYTES) < 690);
    let mut whole = vec![0f32; r.output_len().unwrap()];
    let mut scratch = BandScratch::default();
    r.resize_band(FlatPlanes::F32(&mask), 0, &mut whole, &mut scratch).unwrap();
    for rows in [1usize, 7, 64, 333] {
      let mut banded = vec![0f32; whole.len()];
      for (i, band) in banded.chunks_mut(rows * 600 * 3).enumerate() {
        r.resize_band(FlatPlanes::F32(&mask), (i * rows) as u64, band, &mut scratch).unwrap();
      }
      let worst = whole.iter().zip(&banded).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
      assert!(worst <= 1e-6, "bands of {rows} rows differ by {worst}");
    }
    let mut parallel = vec![0f32; whole.len()];
    r.resize_into(r.planes(FlatPlanes::F32(&mask)).unwrap(), &mut parallel).unwrap();
    let worst = whole.iter().zip(&parallel).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(worst <= 1e-6, "parallel bands differ by {worst}");
  }

  /// Regression: a row wider than a band (e.g. `[2, 100000000, 1]`) was
  /// one band, so streamed memory grew with the row (2.3 GB for an 800 MB
  /// output). Rows are now cut into pieces of columns, with the same values.
  #[test]
  fn regression_wide_rows_stream_in_pieces_with_the_same_values() {
    let kernels = [
      ResizeKernel::Nearest,
      ResizeKernel::Bilinear,
      ResizeKernel::Cubic,
      ResizeKernel::Mitchell,
      ResizeKernel::Lanczos3,
    ];
    for (k, kernel) in kernels.into_iter().enumerate() {
      for (mask, span, source, channels) in
        [([3, 37], [7, 1184], [6, 1170], 2), ([2, 64], [2, 8192], [2, 8192], 1), ([5, 400], [10, 200], [9, 190], 3)]
      {
        let data = noise(channels * mask[0] as usize * mask[1] as usize, 11 + k as u64);
        let r = SourceResize::new(geometry(mask, span, source), channels, kernel).unwrap();
        let mut expected = vec![0f32; r.output_len().unwrap()];
        r.resize_into(r.planes(FlatPlanes::F32(&data)).unwrap(), &mut expected).unwrap();
        let wide: Vec<f64> = data.iter().map(|&v| v as f64).collect();
        for input in [FlatPlanes::F32(&data), FlatPlanes::F64(&wide)] {
          // 1 KiB bands: every row here is wider, so it goes in pieces.
          assert!(r.row_elements() * 4 > 1024);
          let path = std::env::temp_dir().join(format!("wsi-resize-wide-{}-{k}.npy", std::process::id()));
          let mut file = File::create(&path).unwrap();
          r.write_bands(input, b"", &mut file, "test", 1024).unwrap();
          let bytes = std::fs::read(&path).unwrap();
          std::fs::remove_file(&path).unwrap();
          let body: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
          assert_eq!(body.len(), expected.len());
          let worst = body.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
          assert!(worst <= 1e-5, "{kernel:?} {mask:?}: pieces differ from the whole row by {worst}");
        }
      }
    }
  }

  #[test]
  fn npy_streaming_writes_the_same_values() {
    let mask = noise(2 * 5 * 8, 5);
    let g = geometry([5, 8], [300, 480], [290, 470]);
    let r = SourceResize::new(g, 2, ResizeKernel::Bilinear).unwrap();
    let mut expected = vec![0f32; r.output_len().unwrap()];
    r.resize_into(r.planes(FlatPlanes::F32(&mask)).unwrap(), &mut expected).unwrap();
    let path = std::env::temp_dir().join(format!("wsi-resize-{}.npy", std::process::id()));
    r.resize_to_npy(r.planes(FlatPlanes::F32(&mask)).unwrap(), &path, NpyVersion::V1, false).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let header = crate::npy::parse_header(&bytes).unwrap();
    assert_eq!(header.shape, vec![290, 470, 2]);
    assert_eq!(header.descr, "<f4");
    let body: Vec<f32> =
      bytes[header.data_offset..].chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    assert_eq!(body, expected);
  }

  #[test]
  fn rejects_bad_geometry_and_input() {
    let e = SourceResize::new(geometry([4, 4], [16, 16], [17, 16]), 1, ResizeKernel::Nearest).unwrap_err();
    assert_eq!(e.code, codes::OPTION_RANGE);
    assert!(e.message.contains("span[0]"), "{}", e.message);
    let e = SourceResize::new(geometry([0, 4], [16, 16], [16, 16]), 1, ResizeKernel::Nearest).unwrap_err();
    assert!(e.message.contains("maskExtents[0]"), "{}", e.message);
    let e = ResizeKernel::parse("lanczos2").unwrap_err();
    assert_eq!(e.code, codes::OPTION_TYPE);
    let r = SourceResize::new(geometry([4, 4], [16, 16], [16, 16]), 2, ResizeKernel::Nearest).unwrap();
    let mut out = vec![0f32; 16 * 16 * 2];
    let e = r.planes(FlatPlanes::F32(&[0.0; 16])).unwrap_err();
    assert_eq!(e.code, codes::IMAGE_SHAPE);
    // A view of the wrong shape, or not in C layout, from Rust callers.
    let data = [0.0f32; 32];
    let wrong = ArrayView3::from_shape((2, 2, 8), &data[..]).unwrap();
    assert_eq!(r.resize_into(Floats::F32(wrong), &mut out).unwrap_err().code, codes::IMAGE_SHAPE);
    let fortran = ArrayView3::from_shape(ndarray::ShapeBuilder::f((2, 4, 4)), &data[..]).unwrap();
    assert_eq!(r.resize_into(Floats::F32(fortran), &mut out).unwrap_err().code, codes::IMAGE_SHAPE);
    let e = r.resize_into(r.planes(FlatPlanes::F32(&[0.0; 32])).unwrap(), &mut out[1..]).unwrap_err();
    assert_eq!(e.code, codes::IMAGE_SHAPE);
  }

  #[test]
  fn failed_npy_writes_leave_no_file() {
    let r = SourceResize::new(geometry([2, 2], [4, 4], [4, 4]), 1, ResizeKernel::Nearest).unwrap();
    let e = r
      .resize_to_npy(
        r.planes(FlatPlanes::F32(&[0.0; 4])).unwrap(),
        Path::new("/nonexistent-dir/x.npy"),
        NpyVersion::V1,
        false,
      )
      .unwrap_err();
    assert_eq!(e.code, "ENOENT");
  }
}
