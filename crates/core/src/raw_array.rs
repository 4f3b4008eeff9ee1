//! A typed array's memory, for zero-copy views handed to JavaScript.

use crate::storage::Array;

/// A typed array's memory, for views handed to JavaScript.
pub struct RawArray {
  pub ptr: *mut u8,
  pub byte_len: usize,
  pub region: std::sync::Arc<crate::storage::Region>,
}

impl RawArray {
  pub(crate) fn of<E: crate::element::Pod>(array: &Array<E>) -> Self {
    Self {
      ptr: array.as_ptr().cast(),
      byte_len: array.len() * std::mem::size_of::<E>(),
      region: std::sync::Arc::clone(array.region()),
    }
  }
}
