//! Copying a window of one channel of the mask (or of the counter) out of
//! the storage, row by row.

use ndarray::{ArrayViewD, Slice};

/// A copied window of the storage.
pub enum RegionData {
  F32(Vec<f32>),
  F64(Vec<f64>),
  U16(Vec<u16>),
  U32(Vec<u32>),
}

impl RegionData {
  /// The values as f64 (exact for every element type).
  pub fn into_f64(self) -> Vec<f64> {
    match self {
      RegionData::F32(v) => v.into_iter().map(f64::from).collect(),
      RegionData::F64(v) => v,
      RegionData::U16(v) => v.into_iter().map(f64::from).collect(),
      RegionData::U32(v) => v.into_iter().map(f64::from).collect(),
    }
  }
}

/// Copies the box `start`..`start + extent` of `plane` row by row (each row a
/// contiguous slice of the last axis).
pub(crate) fn copy_window<E: Copy>(plane: ArrayViewD<'_, E>, start: &[u64], extent: &[u64]) -> Vec<E> {
  let window = plane.slice_each_axis(|axis| {
    let d = axis.axis.index();
    let from = start[d] as usize;
    Slice::from(from..from + extent[d] as usize)
  });
  let mut out = Vec::with_capacity(window.len());
  for row in window.rows() {
    match row.as_slice() {
      Some(row) => out.extend_from_slice(row),
      None => out.extend(row.iter().copied()),
    }
  }
  out
}
