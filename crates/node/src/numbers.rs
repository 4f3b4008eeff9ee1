//! JavaScript numbers into Rust integers: a conversion, refused when it
//! would not be exact. What the values may be is the core's to check.

use wsi_mask_core::error::codes;
use wsi_mask_core::limits::MAX_SAFE_INTEGER;
use wsi_mask_core::Error;

/// A JavaScript number that must be a non-negative integer.
pub fn to_u64(name: &str, value: f64) -> Result<u64, Error> {
  if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= MAX_SAFE_INTEGER as f64 {
    Ok(value as u64)
  } else {
    Err(Error::range(codes::OPTION_RANGE, format!("{name} must be a non-negative integer; received {value}")))
  }
}

pub fn to_u64_vec(name: &str, values: &[f64]) -> Result<Vec<u64>, Error> {
  values.iter().enumerate().map(|(i, &v)| to_u64(&format!("{name}[{i}]"), v)).collect()
}
