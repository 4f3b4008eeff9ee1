//! The mean's per-pixel overlap counter, of either element type: owned
//! (storage) or borrowed (a plane being saved or merged).

use crate::element::CounterDtype;
use crate::storage::Array;

/// The mean aggregator's overlap counter, `[1, ...maskExtents]`.
pub enum Counter {
  U16(Array<u16>),
  U32(Array<u32>),
}

impl Counter {
  pub fn dtype(&self) -> CounterDtype {
    match self {
      Counter::U16(_) => CounterDtype::Uint16,
      Counter::U32(_) => CounterDtype::Uint32,
    }
  }
}

/// A counter plane of either type, borrowed.
#[derive(Clone, Copy)]
pub enum CounterSlice<'a> {
  U16(&'a [u16]),
  U32(&'a [u32]),
}
