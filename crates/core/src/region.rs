//! Copying a window of one channel of the mask (or of the counter) out of
//! the storage, row by row.

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

/// A box inside a C-order array of `extents`.
pub(crate) struct Window<'a> {
  pub extents: &'a [usize],
  pub start: &'a [u64],
  pub extent: &'a [u64],
}

impl Window<'_> {
  /// Copies the box row by row.
  pub(crate) fn copy<E: Copy>(&self, plane: &[E]) -> Vec<E> {
    let n = self.extents.len();
    let strides = crate::geometry::c_strides(self.extents);
    let row = self.extent[n - 1] as usize;
    let rows: usize = self.extent[..n - 1].iter().map(|&e| e as usize).product();
    let mut out = Vec::with_capacity(rows * row);
    let mut index = vec![0usize; n - 1];
    for _ in 0..rows {
      let mut offset = self.start[n - 1] as usize;
      for d in 0..n - 1 {
        offset += (self.start[d] as usize + index[d]) * strides[d];
      }
      out.extend_from_slice(&plane[offset..offset + row]);
      for d in (0..n - 1).rev() {
        index[d] += 1;
        if index[d] < self.extent[d] as usize {
          break;
        }
        index[d] = 0;
      }
    }
    out
  }
}
