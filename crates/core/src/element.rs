//! The numeric types the accumulator and the overlap counter can hold.

use std::fmt::Debug;

/// Floating-point accumulator element types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
  Float32,
  Float64,
}

impl Dtype {
  pub fn name(self) -> &'static str {
    match self {
      Dtype::Float32 => "float32",
      Dtype::Float64 => "float64",
    }
  }

  pub fn size(self) -> usize {
    match self {
      Dtype::Float32 => 4,
      Dtype::Float64 => 8,
    }
  }

  /// NPY type descriptor.
  pub fn descr(self) -> &'static str {
    match self {
      Dtype::Float32 => "<f4",
      Dtype::Float64 => "<f8",
    }
  }
}

/// Overlap counter element types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterDtype {
  Uint16,
  Uint32,
}

impl CounterDtype {
  pub fn name(self) -> &'static str {
    match self {
      CounterDtype::Uint16 => "uint16",
      CounterDtype::Uint32 => "uint32",
    }
  }

  pub fn size(self) -> usize {
    match self {
      CounterDtype::Uint16 => 2,
      CounterDtype::Uint32 => 4,
    }
  }

  pub fn max_count(self) -> u64 {
    match self {
      CounterDtype::Uint16 => u16::MAX as u64,
      CounterDtype::Uint32 => u32::MAX as u64,
    }
  }
}

/// Anything that can be stored in a plain, zero-initialisable array.
pub trait Pod: bytemuck::Pod + Send + Sync + Debug + 'static {}
impl<T: bytemuck::Pod + Send + Sync + Debug + 'static> Pod for T {}

/// An accumulator element: `f32` or `f64`.
pub trait Element:
  Pod
  + PartialOrd
  + std::ops::Add<Output = Self>
  + std::ops::Sub<Output = Self>
  + std::ops::Mul<Output = Self>
  + std::ops::Div<Output = Self>
{
  const DTYPE: Dtype;
  const ZERO: Self;
  const NEG_INFINITY: Self;
  const INFINITY: Self;
  fn from_count(count: u32) -> Self;
  fn is_nan(self) -> bool;
  /// Rounds an `f64` (a weight) to this type.
  fn from_f64(value: f64) -> Self;
  fn to_f64(self) -> f64;
}

impl Element for f32 {
  const DTYPE: Dtype = Dtype::Float32;
  const ZERO: Self = 0.0;
  const NEG_INFINITY: Self = f32::NEG_INFINITY;
  const INFINITY: Self = f32::INFINITY;
  #[inline(always)]
  fn from_count(count: u32) -> Self {
    count as f32
  }
  #[inline(always)]
  fn is_nan(self) -> bool {
    self.is_nan()
  }
  #[inline(always)]
  fn from_f64(value: f64) -> Self {
    value as f32
  }
  #[inline(always)]
  fn to_f64(self) -> f64 {
    self as f64
  }
}

impl Element for f64 {
  const DTYPE: Dtype = Dtype::Float64;
  const ZERO: Self = 0.0;
  const NEG_INFINITY: Self = f64::NEG_INFINITY;
  const INFINITY: Self = f64::INFINITY;
  #[inline(always)]
  fn from_count(count: u32) -> Self {
    count as f64
  }
  #[inline(always)]
  fn is_nan(self) -> bool {
    self.is_nan()
  }
  #[inline(always)]
  fn from_f64(value: f64) -> Self {
    value
  }
  #[inline(always)]
  fn to_f64(self) -> f64 {
    self
  }
}

/// An overlap counter element: `u16` or `u32`.
pub trait CounterElement: Pod + Ord {
  const DTYPE: CounterDtype;
  fn increment(self) -> Self;
  fn to_u32(self) -> u32;
  /// Adds another count (merges); capacity is checked before any write.
  fn add_count(self, other: Self) -> Self;
  /// A count derived in u32 (from tile rectangles) known to fit this type.
  fn from_u32(count: u32) -> Self;
}

impl CounterElement for u16 {
  #[inline(always)]
  fn add_count(self, other: Self) -> Self {
    self.wrapping_add(other)
  }
  const DTYPE: CounterDtype = CounterDtype::Uint16;
  #[inline(always)]
  fn increment(self) -> Self {
    // Capacity is checked for the whole batch before any write.
    self.wrapping_add(1)
  }
  #[inline(always)]
  fn to_u32(self) -> u32 {
    self as u32
  }
  #[inline(always)]
  fn from_u32(count: u32) -> Self {
    count as u16
  }
}

impl CounterElement for u32 {
  #[inline(always)]
  fn add_count(self, other: Self) -> Self {
    self.wrapping_add(other)
  }
  const DTYPE: CounterDtype = CounterDtype::Uint32;
  #[inline(always)]
  fn increment(self) -> Self {
    self.wrapping_add(1)
  }
  #[inline(always)]
  fn to_u32(self) -> u32 {
    self
  }
  #[inline(always)]
  fn from_u32(count: u32) -> Self {
    count
  }
}
