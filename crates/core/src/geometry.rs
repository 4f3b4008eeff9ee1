//! Mapping between source (slide) coordinates and mask coordinates.
//!
//! The formulas are the reference library's: the mask covers the span of a
//! regular tile grid, compressed by the greatest common divisor of the tile
//! extent and the stride measured in output pixels.

use crate::error::{codes, list, Error, Result};

pub use crate::limits::{MAX_DIMS, MAX_SAFE_INTEGER};

/// The builder's geometry, one entry per spatial dimension in [y, x, ...] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geometry {
  pub source_extents: Vec<u64>,
  pub source_tile_extent: Vec<u64>,
  pub output_tile_extent: Vec<u64>,
  pub stride: Vec<u64>,
  /// Tiles per dimension needed to cover the source.
  pub num_tiles: Vec<u64>,
  /// Source pixels covered by the tile grid (at least `source_extents`).
  pub span: Vec<u64>,
  pub mask_extents: Vec<u64>,
  /// Mask pixels between neighbouring grid positions.
  pub mask_stride: Vec<u64>,
  /// Mask pixels per output-tile pixel.
  pub upscale_factor: Vec<u64>,
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
  while b != 0 {
    (a, b) = (b, a % b);
  }
  a
}

fn check_positive(name: &str, values: &[u64]) -> Result<()> {
  for (i, &v) in values.iter().enumerate() {
    if v == 0 || v > MAX_SAFE_INTEGER {
      return Err(Error::range(
        codes::OPTION_RANGE,
        format!("{name}[{i}] must be a positive integer no larger than 2^53 - 1; received {v}"),
      ));
    }
  }
  Ok(())
}

fn too_large(what: &str) -> Error {
  Error::range(codes::MASK_TOO_LARGE, format!("the mask geometry overflows: {what} exceeds 2^53 - 1"))
}

impl Geometry {
  /// Computes the geometry from per-dimension options (already broadcast).
  pub fn new(
    source_extents: &[u64],
    source_tile_extent: &[u64],
    output_tile_extent: &[u64],
    stride: &[u64],
  ) -> Result<Self> {
    let n = source_extents.len();
    if n == 0 || n > MAX_DIMS {
      return Err(Error::range(
        codes::DIMS_MISMATCH,
        format!("sourceExtents must have between 1 and {MAX_DIMS} dimensions; received {n}"),
      ));
    }
    for (name, values) in
      [("sourceTileExtent", source_tile_extent), ("outputTileExtent", output_tile_extent), ("stride", stride)]
    {
      if values.len() != n {
        return Err(Error::range(
          codes::DIMS_MISMATCH,
          format!(
            "{name} must have one entry per spatial dimension ({n}, like sourceExtents); received {} entries",
            values.len()
          ),
        ));
      }
    }
    check_positive("sourceExtents", source_extents)?;
    check_positive("sourceTileExtent", source_tile_extent)?;
    check_positive("outputTileExtent", output_tile_extent)?;
    check_positive("stride", stride)?;

    let mut g = Geometry {
      source_extents: source_extents.to_vec(),
      source_tile_extent: source_tile_extent.to_vec(),
      output_tile_extent: output_tile_extent.to_vec(),
      stride: stride.to_vec(),
      num_tiles: Vec::with_capacity(n),
      span: Vec::with_capacity(n),
      mask_extents: Vec::with_capacity(n),
      mask_stride: Vec::with_capacity(n),
      upscale_factor: Vec::with_capacity(n),
    };
    for d in 0..n {
      let (s, t, o, st) = (source_extents[d], source_tile_extent[d], output_tile_extent[d], stride[d]);
      let num_tiles = s.saturating_sub(t).div_ceil(st) + 1;
      // In u128 (inputs are below 2^53), checked in the same order and with
      // the same messages as the JS backend.
      let span = (num_tiles as u128 - 1) * st as u128 + t as u128;
      if span > MAX_SAFE_INTEGER as u128 {
        return Err(too_large("span"));
      }
      let stride_out = st as u128 * o as u128;
      let divisor = gcd(t as u128, stride_out);
      let mask_extent = span * o as u128 / divisor;
      if mask_extent > MAX_SAFE_INTEGER as u128 {
        return Err(too_large(&format!("maskExtents[{d}]")));
      }
      g.num_tiles.push(num_tiles);
      g.span.push(span as u64);
      g.mask_extents.push(mask_extent as u64);
      // Beyond u64 only for a single tile, where the stride is never used.
      g.mask_stride.push(u64::try_from(stride_out / divisor).unwrap_or(u64::MAX));
      g.upscale_factor.push((t as u128 / divisor) as u64);
    }
    Ok(g)
  }

  pub fn ndim(&self) -> usize {
    self.source_extents.len()
  }

  /// Pixels in one channel plane of the mask, if it fits in `usize`.
  pub fn plane_len(&self) -> Result<usize> {
    let mut total: u64 = 1;
    for &e in &self.mask_extents {
      total = total.checked_mul(e).filter(|&t| t <= MAX_SAFE_INTEGER).ok_or_else(|| {
        Error::range(
          codes::MASK_TOO_LARGE,
          format!("the mask {} has more than 2^53 - 1 pixels per channel", list(&self.mask_extents)),
        )
      })?;
    }
    usize::try_from(total).map_err(|_| too_large("the mask size"))
  }

  /// Element strides of a C-order array with `mask_extents` (one plane).
  pub fn mask_strides(&self) -> Vec<usize> {
    c_strides(&self.mask_extents.iter().map(|&e| e as usize).collect::<Vec<_>>())
  }
}

/// C-order element strides for `extents`.
pub fn c_strides(extents: &[usize]) -> Vec<usize> {
  let mut strides = vec![1usize; extents.len()];
  for d in (0..extents.len().saturating_sub(1)).rev() {
    strides[d] = strides[d + 1] * extents[d + 1];
  }
  strides
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn reference_minimal_storage_shapes() {
    // The reference's own "minimal storage shape" cases.
    let g = Geometry::new(&[33, 53], &[8, 8], &[4, 4], &[4, 4]).unwrap();
    assert_eq!(g.mask_extents, vec![18, 28]);
    let g = Geometry::new(&[33, 53], &[8, 8], &[1, 1], &[4, 4]).unwrap();
    assert_eq!(g.mask_extents, vec![9, 14]);
  }

  #[test]
  fn scalar_tiles_compress_by_gcd() {
    let g = Geometry::new(&[100000, 80000], &[512, 512], &[1, 1], &[256, 256]).unwrap();
    assert_eq!(g.num_tiles, vec![390, 312]);
    assert_eq!(g.span, vec![100096, 80128]);
    assert_eq!(g.mask_extents, vec![391, 313]);
    assert_eq!(g.mask_stride, vec![1, 1]);
    assert_eq!(g.upscale_factor, vec![2, 2]);
  }

  #[test]
  fn dense_and_downsampled() {
    let g = Geometry::new(&[8192, 8192], &[512, 512], &[512, 512], &[256, 256]).unwrap();
    assert_eq!(g.mask_extents, vec![8192, 8192]);
    assert_eq!(g.mask_stride, vec![256, 256]);
    assert_eq!(g.upscale_factor, vec![1, 1]);
    let g = Geometry::new(&[16384, 16384], &[512, 512], &[128, 128], &[256, 256]).unwrap();
    assert_eq!(g.mask_extents, vec![4096, 4096]);
    assert_eq!(g.mask_stride, vec![64, 64]);
    assert_eq!(g.upscale_factor, vec![1, 1]);
  }

  #[test]
  fn source_smaller_than_tile_gives_one_tile() {
    let g = Geometry::new(&[5], &[8], &[8], &[4]).unwrap();
    assert_eq!(g.num_tiles, vec![1]);
    assert_eq!(g.span, vec![8]);
    assert_eq!(g.mask_extents, vec![8]);
  }

  #[test]
  fn rejects_bad_options() {
    let e = Geometry::new(&[16, 16], &[0, 4], &[1, 1], &[2, 2]).unwrap_err();
    assert_eq!(e.code, codes::OPTION_RANGE);
    assert!(e.message.contains("sourceTileExtent[0]"), "{}", e.message);
    let e = Geometry::new(&[16, 16], &[4], &[1, 1], &[2, 2]).unwrap_err();
    assert_eq!(e.code, codes::DIMS_MISMATCH);
    let e = Geometry::new(&[], &[], &[], &[]).unwrap_err();
    assert_eq!(e.code, codes::DIMS_MISMATCH);
    let big = MAX_SAFE_INTEGER;
    let e = Geometry::new(&[big], &[1], &[7], &[1]).unwrap_err();
    assert_eq!(e.code, codes::MASK_TOO_LARGE);
  }

  #[test]
  fn strides_are_c_order() {
    assert_eq!(c_strides(&[2, 3, 4]), vec![12, 4, 1]);
    assert_eq!(c_strides(&[7]), vec![1]);
  }
}
