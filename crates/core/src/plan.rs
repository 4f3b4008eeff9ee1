//! Validation of one batch against the geometry, and its placement in the mask.
//!
//! Everything about a batch is checked here, before any pixel is written, so
//! a rejected batch leaves the mask untouched. The result, a [`BatchPlan`],
//! holds the mask-space origin of every tile's clipped footprint; the kernels
//! only read it.

use crate::error::{codes, js_number, list, Error, Result};
use crate::geometry::{Geometry, MAX_DIMS, MAX_SAFE_INTEGER};

/// Top-left source coordinates of a batch, row-major `[B, N]`.
#[derive(Debug, Clone, Copy)]
pub enum Coords<'a> {
  I32(&'a [i32]),
  I64(&'a [i64]),
  F64(&'a [f64]),
}

impl Coords<'_> {
  pub fn len(&self) -> usize {
    match self {
      Coords::I32(v) => v.len(),
      Coords::I64(v) => v.len(),
      Coords::F64(v) => v.len(),
    }
  }

  pub fn is_empty(&self) -> bool {
    self.len() == 0
  }

  /// The value at `i` as a non-negative integer, or why it is not one.
  fn get(&self, i: usize) -> std::result::Result<u64, String> {
    match *self {
      Coords::I32(v) => u64::try_from(v[i]).map_err(|_| v[i].to_string()),
      Coords::I64(v) => match u64::try_from(v[i]) {
        Ok(x) if x <= MAX_SAFE_INTEGER => Ok(x),
        _ => Err(v[i].to_string()),
      },
      Coords::F64(v) => {
        let x = v[i];
        if x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x <= MAX_SAFE_INTEGER as f64 {
          Ok(x as u64)
        } else {
          Err(js_number(x))
        }
      }
    }
  }
}

/// Pixels removed from each side of every output tile, in output-tile pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeClipping {
  pub start: Vec<u64>,
  pub end: Vec<u64>,
}

impl EdgeClipping {
  pub fn none(ndim: usize) -> Self {
    Self { start: vec![0; ndim], end: vec![0; ndim] }
  }

  pub fn uniform(ndim: usize, value: u64) -> Self {
    Self { start: vec![value; ndim], end: vec![value; ndim] }
  }
}

/// How tile values are laid out in the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileLayout {
  /// `[B, C]`: one value per tile and channel, constant over the footprint.
  Scalar,
  /// `[B, C, ...outputTileExtent]`.
  Dense,
}

/// One value per spatial dimension, held inline: planning a batch allocates
/// nothing but its origins.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Dims {
  len: usize,
  values: [usize; MAX_DIMS],
}

impl Dims {
  fn new() -> Self {
    Self { len: 0, values: [0; MAX_DIMS] }
  }

  fn push(&mut self, value: usize) {
    self.values[self.len] = value;
    self.len += 1;
  }
}

impl std::ops::Deref for Dims {
  type Target = [usize];
  fn deref(&self) -> &[usize] {
    &self.values[..self.len]
  }
}

impl<'a> IntoIterator for &'a Dims {
  type Item = &'a usize;
  type IntoIter = std::slice::Iter<'a, usize>;
  fn into_iter(self) -> Self::IntoIter {
    self.iter()
  }
}

impl std::fmt::Debug for Dims {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    f.debug_list().entries(self.iter()).finish()
  }
}

impl PartialEq<Vec<usize>> for Dims {
  fn eq(&self, other: &Vec<usize>) -> bool {
    **self == other[..]
  }
}

/// A validated batch: where each tile's clipped footprint lands in the mask.
#[derive(Debug, Clone)]
pub struct BatchPlan {
  pub tiles: usize,
  pub channels: usize,
  pub layout: TileLayout,
  /// Mask-space extent of every clipped, upscaled footprint.
  pub footprint: Dims,
  /// Clip start per dimension, in output-tile pixels.
  pub clip_start: Dims,
  /// Mask-space origins, row-major `[tiles, ndim]`.
  pub origins: Vec<usize>,
  /// Elements per tile in the batch data (C * prod(outputTileExtent), or C).
  pub tile_len: usize,
  /// For a builder holding a region: per tile, where the kept part starts
  /// within the footprint and its extent, `[tiles, 2 * ndim]` (an empty
  /// extent for a tile outside the region). `None`: every tile whole.
  pub boxes: Option<Vec<usize>>,
  /// Tiles wholly outside the builder's region.
  pub skipped: usize,
}

impl BatchPlan {
  /// A plan of no tiles (what a run update leaves behind).
  pub fn empty() -> Self {
    Self {
      tiles: 0,
      channels: 0,
      layout: TileLayout::Scalar,
      footprint: Dims::new(),
      clip_start: Dims::new(),
      origins: Vec::new(),
      tile_len: 0,
      boxes: None,
      skipped: 0,
    }
  }

  pub fn origin(&self, tile: usize) -> &[usize] {
    let n = self.footprint.len();
    &self.origins[tile * n..(tile + 1) * n]
  }

  pub fn footprint_len(&self) -> usize {
    self.footprint.iter().product()
  }

  /// The part of tile `t` written: `(skip, extent)` within its footprint.
  pub fn tile_box(&self, t: usize) -> (&[usize], &[usize]) {
    let n = self.footprint.len();
    match &self.boxes {
      Some(b) => (&b[t * 2 * n..t * 2 * n + n], &b[t * 2 * n + n..(t + 1) * 2 * n]),
      None => (&ZEROS[..n], &self.footprint),
    }
  }

  /// Mask elements the batch writes per channel.
  pub fn written_len(&self) -> usize {
    match &self.boxes {
      None => self.tiles * self.footprint_len(),
      Some(_) => (0..self.tiles).map(|t| self.tile_box(t).1.iter().product::<usize>()).sum(),
    }
  }

  /// Range of mask rows along dimension 0 that the batch touches.
  pub fn row_range(&self) -> (usize, usize) {
    let n = self.footprint.len();
    let mut lo = usize::MAX;
    let mut hi = 0;
    for t in 0..self.tiles {
      let extent = self.tile_box(t).1[0];
      if extent == 0 {
        continue;
      }
      let o = self.origins[t * n];
      lo = lo.min(o);
      hi = hi.max(o + extent);
    }
    if lo > hi {
      (0, 0)
    } else {
      (lo, hi)
    }
  }
}

const ZEROS: [usize; crate::geometry::MAX_DIMS] = [0; crate::geometry::MAX_DIMS];

fn shape_error(message: String) -> Error {
  Error::range(codes::BATCH_SHAPE, message)
}

/// Checks the batch shape, the coordinates and the clipping against the
/// geometry and places every tile. `batch_shape` is `[B, C]` or
/// `[B, C, ...outputTileExtent]`; `data_len` the number of elements given.
pub fn plan_batch(
  geometry: &Geometry,
  channels: usize,
  batch_shape: &[usize],
  data_len: usize,
  coords: Coords<'_>,
  coords_shape: &[usize],
  clipping: &EdgeClipping,
) -> Result<BatchPlan> {
  plan_batch_into(geometry, channels, batch_shape, data_len, coords, coords_shape, clipping, Vec::new())
}

/// [`plan_batch`], writing the origins into `origins`' memory (a recycled
/// plan's), so that planning allocates nothing once it has enough.
#[allow(clippy::too_many_arguments)]
pub fn plan_batch_into(
  geometry: &Geometry,
  channels: usize,
  batch_shape: &[usize],
  data_len: usize,
  coords: Coords<'_>,
  coords_shape: &[usize],
  clipping: &EdgeClipping,
  mut origins: Vec<usize>,
) -> Result<BatchPlan> {
  let n = geometry.ndim();
  let out = &geometry.output_tile_extent;

  // Batch shape.
  let layout = if batch_shape.len() == 2 {
    TileLayout::Scalar
  } else if batch_shape.len() == 2 + n {
    TileLayout::Dense
  } else {
    return Err(shape_error(format!(
      "batch must have shape [B, C] or [B, C, {}] (rank 2 or {}); received shape {} (rank {})",
      out.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
      2 + n,
      list(batch_shape),
      batch_shape.len()
    )));
  };
  let tiles = batch_shape[0];
  if batch_shape[1] != channels {
    return Err(shape_error(format!(
      "batch shape[1] (channels) must be nChannels = {channels}; received {} in shape {}",
      batch_shape[1],
      list(batch_shape)
    )));
  }
  if layout == TileLayout::Dense {
    for d in 0..n {
      if batch_shape[2 + d] as u64 != out[d] {
        return Err(shape_error(format!(
          "batch tile extent must equal outputTileExtent {}; received shape {}",
          list(out),
          list(batch_shape)
        )));
      }
    }
  }
  let tile_len = batch_shape[1..].iter().try_fold(1usize, |a, &b| a.checked_mul(b));
  let expected_len = tile_len.and_then(|t| t.checked_mul(tiles));
  let tile_len = match (tile_len, expected_len) {
    (Some(t), Some(e)) if e == data_len => t,
    _ => {
      return Err(shape_error(format!(
        "batch data length must equal the product of its shape {}; received {} elements",
        list(batch_shape),
        data_len
      )))
    }
  };

  // Coordinates shape.
  if coords_shape.len() != 2 || coords_shape[1] != n {
    return Err(Error::range(
      codes::COORDS_SHAPE,
      format!("coords must have shape [B, {n}] (one [y, x, ...] row per tile); received shape {}", list(coords_shape)),
    ));
  }
  if coords_shape[0] != tiles {
    return Err(Error::range(
      codes::COORDS_SHAPE,
      format!("coords must have one row per tile: batch has B = {tiles}, coords has {} rows", coords_shape[0]),
    ));
  }
  if coords.len() != tiles * n {
    return Err(Error::range(
      codes::COORDS_SHAPE,
      format!("coords data length must be B * N = {}; received {}", tiles * n, coords.len()),
    ));
  }

  // Clipping.
  if clipping.start.len() != n || clipping.end.len() != n {
    return Err(Error::range(
      codes::EDGE_CLIPPING,
      format!("edgeClipping must give {n} dimensions; received {}", clipping.start.len().max(clipping.end.len())),
    ));
  }
  let mut footprint = Dims::new();
  let mut clip_start = Dims::new();
  for (d, &extent) in out.iter().enumerate() {
    let (cs, ce) = (clipping.start[d], clipping.end[d]);
    let kept = cs.checked_add(ce).and_then(|c| extent.checked_sub(c)).filter(|&k| k > 0);
    let Some(kept) = kept else {
      return Err(Error::range(
        codes::EDGE_CLIPPING,
        format!(
          "edgeClipping [{cs}, {ce}] on dimension {d} leaves no pixel of the {extent}-pixel output tile; start + end must be less than {extent}"
        ),
      ));
    };
    footprint.push((kept * geometry.upscale_factor[d]) as usize);
    clip_start.push(cs as usize);
  }

  // Placement of every tile. Per dimension, once: a tile fits when its grid
  // index is at most `max_grid` (so nothing below can overflow).
  let mut stride = [1u64; MAX_DIMS];
  let mut mask_stride = [0usize; MAX_DIMS];
  let mut offset = [0usize; MAX_DIMS];
  let mut max_grid = [0u64; MAX_DIMS];
  let mut fits = true;
  for d in 0..n {
    stride[d] = geometry.stride[d];
    mask_stride[d] = geometry.mask_stride[d] as usize;
    let off = clip_start[d] as u64 * geometry.upscale_factor[d];
    offset[d] = off as usize;
    match geometry.mask_extents[d].checked_sub(off + footprint[d] as u64) {
      Some(room) => max_grid[d] = room / geometry.mask_stride[d],
      None => fits = false,
    }
  }
  origins.clear();
  origins.reserve(tiles * n);
  let place = |t: usize, d: usize, c: u64, origins: &mut Vec<usize>| -> Result<()> {
    // Off-grid coordinates are floored to the stride grid, as the reference
    // does; 32-bit division where it suffices (most coordinates).
    let grid = if c <= u32::MAX as u64 && stride[d] <= u32::MAX as u64 {
      (c as u32 / stride[d] as u32) as u64
    } else {
      c / stride[d]
    };
    if !fits || grid > max_grid[d] {
      return Err(outside_mask(geometry, &clipping.start, &footprint, coords, t));
    }
    origins.push(grid as usize * mask_stride[d] + offset[d]);
    Ok(())
  };
  let bad_value = |t: usize, d: usize, received: String| {
    Error::range(
      codes::COORDS_VALUE,
      format!("coords[{t}][{d}] must be a non-negative integer no larger than 2^53 - 1; received {received}"),
    )
  };
  // One loop per coordinate type, so the type is matched once per batch.
  match coords {
    Coords::I32(values) => {
      for (t, row) in values.chunks_exact(n).enumerate() {
        for (d, &v) in row.iter().enumerate() {
          let c = u64::try_from(v).map_err(|_| bad_value(t, d, v.to_string()))?;
          place(t, d, c, &mut origins)?;
        }
      }
    }
    _ => {
      for t in 0..tiles {
        for d in 0..n {
          let c = coords.get(t * n + d).map_err(|received| bad_value(t, d, received))?;
          place(t, d, c, &mut origins)?;
        }
      }
    }
  }

  Ok(BatchPlan { tiles, channels, layout, footprint, clip_start, origins, tile_len, boxes: None, skipped: 0 })
}

fn outside_mask(geometry: &Geometry, clip_start: &[u64], footprint: &[usize], coords: Coords<'_>, t: usize) -> Error {
  let n = geometry.ndim();
  let row: Vec<String> = (0..n).map(|d| coords.get(t * n + d).map(|v| v.to_string()).unwrap_or_else(|e| e)).collect();
  // Largest top-left source coordinate whose footprint still fits.
  let limit: Vec<String> = (0..n)
    .map(|d| {
      let room = geometry.mask_extents[d] - footprint[d] as u64 - clip_start[d] * geometry.upscale_factor[d];
      let max_grid = room / geometry.mask_stride[d];
      (max_grid * geometry.stride[d] + geometry.stride[d] - 1).to_string()
    })
    .collect();
  Error::range(
    codes::TILE_OUTSIDE_MASK,
    format!(
      "coords[{t}] = [{}] places the tile outside the mask (source span {}); each coordinate must be at most [{}]",
      row.join(", "),
      list(&geometry.span),
      limit.join(", ")
    ),
  )
}

#[cfg(test)]
mod tests {
  use super::*;

  fn geom() -> Geometry {
    Geometry::new(&[32, 64], &[8, 8], &[8, 8], &[4, 4]).unwrap()
  }

  #[test]
  fn places_dense_tiles_with_clipping() {
    let g = geom();
    let clip = EdgeClipping { start: vec![2, 3], end: vec![1, 0] };
    let coords = [4i64, 8, 5, 9];
    let p = plan_batch(&g, 3, &[2, 3, 8, 8], 2 * 3 * 64, Coords::I64(&coords), &[2, 2], &clip).unwrap();
    assert_eq!(p.layout, TileLayout::Dense);
    assert_eq!(p.footprint, vec![5, 5]);
    assert_eq!(p.origin(0), &[6, 11]);
    // Off-grid coordinates floor to the grid.
    assert_eq!(p.origin(1), &[6, 11]);
    assert_eq!(p.row_range(), (6, 11));
  }

  #[test]
  fn scalar_tiles_upscale() {
    let g = Geometry::new(&[16, 16], &[4, 4], &[1, 1], &[2, 2]).unwrap();
    let p = plan_batch(&g, 1, &[1, 1], 1, Coords::I32(&[12, 12]), &[1, 2], &EdgeClipping::none(2)).unwrap();
    assert_eq!(p.layout, TileLayout::Scalar);
    assert_eq!(p.footprint, vec![2, 2]);
    assert_eq!(p.origin(0), &[6, 6]);
  }

  #[test]
  fn rejects_with_codes() {
    let g = geom();
    let none = EdgeClipping::none(2);
    let c = Coords::F64(&[0.0, 0.0]);
    let err = |shape: &[usize], len: usize, coords: Coords, cshape: &[usize], clip: &EdgeClipping| {
      plan_batch(&g, 3, shape, len, coords, cshape, clip).unwrap_err().code
    };
    assert_eq!(err(&[1, 3, 8], 24, c, &[1, 2], &none), codes::BATCH_SHAPE);
    assert_eq!(err(&[1, 2, 8, 8], 128, c, &[1, 2], &none), codes::BATCH_SHAPE);
    assert_eq!(err(&[1, 3, 8, 4], 96, c, &[1, 2], &none), codes::BATCH_SHAPE);
    assert_eq!(err(&[1, 3], 4, c, &[1, 2], &none), codes::BATCH_SHAPE);
    assert_eq!(err(&[2, 3], 6, c, &[1, 2], &none), codes::COORDS_SHAPE);
    assert_eq!(err(&[1, 3], 3, c, &[1, 3], &none), codes::COORDS_SHAPE);
    assert_eq!(err(&[1, 3], 3, Coords::F64(&[0.5, 0.0]), &[1, 2], &none), codes::COORDS_VALUE);
    assert_eq!(err(&[1, 3], 3, Coords::I32(&[-1, 0]), &[1, 2], &none), codes::COORDS_VALUE);
    assert_eq!(err(&[1, 3], 3, Coords::I64(&[1 << 60, 0]), &[1, 2], &none), codes::COORDS_VALUE);
    assert_eq!(err(&[1, 3], 3, Coords::F64(&[f64::NAN, 0.0]), &[1, 2], &none), codes::COORDS_VALUE);
    assert_eq!(err(&[1, 3], 3, Coords::I32(&[28, 0]), &[1, 2], &none), codes::TILE_OUTSIDE_MASK);
    assert_eq!(err(&[1, 3], 3, Coords::I32(&[0, 60]), &[1, 2], &none), codes::TILE_OUTSIDE_MASK);
    // A huge coordinate times a large mask stride must not wrap into the mask.
    let wide = Geometry::new(&[10], &[1], &[2048], &[1]).unwrap();
    let far = Coords::F64(&[(MAX_SAFE_INTEGER) as f64]);
    let e = plan_batch(&wide, 1, &[1, 1, 2048], 2048, far, &[1, 1], &EdgeClipping::none(1)).unwrap_err();
    assert_eq!(e.code, codes::TILE_OUTSIDE_MASK);
    let full = EdgeClipping::uniform(2, 4);
    assert_eq!(err(&[1, 3], 3, c, &[1, 2], &full), codes::EDGE_CLIPPING);
    let short = EdgeClipping::none(1);
    assert_eq!(err(&[1, 3], 3, c, &[1, 2], &short), codes::EDGE_CLIPPING);
  }

  #[test]
  fn last_grid_position_fits_exactly() {
    let g = geom();
    let p = plan_batch(&g, 1, &[1, 1], 1, Coords::I32(&[24, 56]), &[1, 2], &EdgeClipping::none(2)).unwrap();
    assert_eq!(p.origin(0), &[24, 56]);
    let e = plan_batch(&g, 1, &[1, 1], 1, Coords::I32(&[27, 60]), &[1, 2], &EdgeClipping::none(2)).unwrap_err();
    assert!(e.message.contains("at most [27, 59]"), "{}", e.message);
  }

  #[test]
  fn empty_batch_is_a_valid_no_op_plan() {
    let g = geom();
    let p = plan_batch(&g, 2, &[0, 2], 0, Coords::I32(&[]), &[0, 2], &EdgeClipping::none(2)).unwrap();
    assert_eq!(p.tiles, 0);
    assert_eq!(p.row_range(), (0, 0));
  }
}
