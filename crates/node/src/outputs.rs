//! Plain objects the binding hands back to JavaScript.

use napi_derive::napi;
use wsi_mask_core::memmap::CreatedFile;
use wsi_mask_core::Geometry;

/// A file backing memory-mapped storage.
#[napi(object)]
pub struct NativeFileInfo {
  pub path: String,
  /// Removed at cleanup (on Unix it is unlinked at once and never visible).
  pub temporary: bool,
  /// Whether the blocks were reserved up front (fallocate).
  pub reserved: bool,
}

impl From<&CreatedFile> for NativeFileInfo {
  fn from(f: &CreatedFile) -> Self {
    Self { path: f.path.to_string_lossy().into_owned(), temporary: f.temporary, reserved: f.reserved }
  }
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

/// Limits the TypeScript side checks form against: the core's, not copies.
#[napi(object)]
pub struct NativeLimits {
  pub max_dims: u32,
  pub max_channels: u32,
}

/// The core's limits on dimensions and channels.
#[napi(catch_unwind)]
pub fn limits() -> NativeLimits {
  NativeLimits {
    max_dims: wsi_mask_core::limits::MAX_DIMS as u32,
    max_channels: wsi_mask_core::limits::MAX_CHANNELS as u32,
  }
}

/// Tiles applied and tiles skipped (wholly outside the region).
#[napi(object)]
pub struct NativeTileCounts {
  pub applied: f64,
  pub skipped: f64,
}

impl From<(u64, u64)> for NativeTileCounts {
  fn from((applied, skipped): (u64, u64)) -> Self {
    Self { applied: applied as f64, skipped: skipped as f64 }
  }
}
