//! Exports of finished masks for viewers and analysis: OME-Zarr, OME-TIFF
//! pyramids and GeoJSON contours, streamed from memory or from NPY files.

pub mod contours;
pub mod geojson;
pub mod ome_tiff;
pub mod ome_zarr;
pub mod pyramid;
pub mod simplify;
pub mod source;

use std::path::Path;

use crate::error::codes;
use crate::{Error, Result};

pub use ome_tiff::{write_ome_tiff, OmeTiffOptions, TiffCompression};
pub use ome_zarr::{write_ome_zarr, ExportSummary, NgffVersion, OmeZarrOptions};
pub use source::{MaskSource, Plane, SampleKind};

/// Where a mask lies on its slide, `[y, x]` each.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExportGeometry {
  /// Source pixels per mask pixel (`span / maskExtents`).
  pub scale: [f64; 2],
  /// Micrometres per source pixel, when known.
  pub mpp: Option<[f64; 2]>,
}

impl ExportGeometry {
  pub fn new(scale: [f64; 2], mpp: Option<[f64; 2]>) -> Result<Self> {
    let positive = |name: &str, v: [f64; 2]| {
      for (d, x) in v.iter().enumerate() {
        if !(x.is_finite() && *x > 0.0) {
          return Err(Error::range(
            codes::OPTION_RANGE,
            format!("{name}[{d}] must be a positive number; received {x}"),
          ));
        }
      }
      Ok(())
    };
    positive("scale", scale)?;
    if let Some(mpp) = mpp {
      positive("mpp", mpp)?;
    }
    Ok(Self { scale, mpp })
  }

  /// The size of a mask pixel: micrometres when `mpp` is known, else source pixels.
  pub fn pixel_size(&self) -> [f64; 2] {
    match self.mpp {
      Some(mpp) => [self.scale[0] * mpp[0], self.scale[1] * mpp[1]],
      None => self.scale,
    }
  }
}

/// Refuses an existing `path` unless `overwrite` and it holds one of `markers`
/// (so only an earlier export is ever removed).
pub(crate) fn check_absent_or_replace(path: &Path, overwrite: bool, markers: &[&str]) -> Result<()> {
  let Ok(meta) = std::fs::symlink_metadata(path) else { return Ok(()) };
  let exists = |what: &str| {
    Error::state("EEXIST", format!("{} already exists{what}; remove it or pass overwrite: true", path.display()))
  };
  if !overwrite {
    return Err(exists(""));
  }
  if meta.is_dir() {
    if !markers.iter().any(|m| path.join(m).exists()) {
      return Err(Error::state(
        "EEXIST",
        format!("{} already exists and is not an export of this kind; overwrite removes only those", path.display()),
      ));
    }
    std::fs::remove_dir_all(path).map_err(|e| Error::io(&format!("cannot remove {}", path.display()), &e))
  } else if markers.is_empty() {
    std::fs::remove_file(path).map_err(|e| Error::io(&format!("cannot remove {}", path.display()), &e))
  } else {
    Err(exists(" and is not a directory"))
  }
}
