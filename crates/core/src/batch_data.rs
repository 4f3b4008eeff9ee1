//! Data of either float type: one enum, `Floats`, for borrowed slices (batch
//! data, resize input) and owned vectors (copies of batches).

use crate::kernels;

/// A value of either accumulator type.
#[derive(Debug, Clone, Copy)]
pub enum Floats<A, B> {
  F32(A),
  F64(B),
}

/// Borrowed float data: a batch, or a mask's channel planes.
pub type FloatSlice<'a> = Floats<&'a [f32], &'a [f64]>;

/// Owned float data.
pub type FloatVec = Floats<Vec<f32>, Vec<f64>>;

/// Batch data of either accumulator type.
pub type BatchData<'a> = FloatSlice<'a>;

/// A copy of a batch's data owned by the builder, for updates that run
/// after the call returns: JavaScript may transfer or free the caller's
/// buffer at any time, so nothing may point into it once the call is over.
pub type OwnedBatchData = FloatVec;

impl FloatSlice<'_> {
  pub fn len(&self) -> usize {
    match self {
      Floats::F32(d) => d.len(),
      Floats::F64(d) => d.len(),
    }
  }

  pub fn is_empty(&self) -> bool {
    self.len() == 0
  }

  /// The JavaScript typed array this data comes from, for messages.
  pub fn type_name(&self) -> &'static str {
    match self {
      Floats::F32(_) => "Float32Array",
      Floats::F64(_) => "Float64Array",
    }
  }

  /// Address range of the data, to refuse an output that aliases it.
  pub fn byte_range(&self) -> std::ops::Range<usize> {
    let (ptr, bytes) = match self {
      Floats::F32(d) => (d.as_ptr() as usize, std::mem::size_of_val(*d)),
      Floats::F64(d) => (d.as_ptr() as usize, std::mem::size_of_val(*d)),
    };
    ptr..ptr + bytes
  }
}

impl FloatVec {
  /// Copies `data`, reusing `spare`'s memory when it has the same type and room.
  pub fn copy_of(data: &FloatSlice<'_>, spare: Option<Self>) -> Self {
    match (*data, spare) {
      (Floats::F32(d), Some(Floats::F32(v))) => Floats::F32(kernels::copy_into(v, d)),
      (Floats::F64(d), Some(Floats::F64(v))) => Floats::F64(kernels::copy_into(v, d)),
      (Floats::F32(d), _) => Floats::F32(kernels::copy_into(Vec::new(), d)),
      (Floats::F64(d), _) => Floats::F64(kernels::copy_into(Vec::new(), d)),
    }
  }

  pub fn view(&self) -> FloatSlice<'_> {
    match self {
      Floats::F32(d) => Floats::F32(d),
      Floats::F64(d) => Floats::F64(d),
    }
  }
}
