//! Errors with a stable code, a kind that tells the binding which JavaScript
//! error class to throw, and a message that names the argument, what was
//! expected and what was received.

use std::fmt;

/// Which JavaScript error class an error maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
  /// A value of the wrong type or form (`TypeError`).
  Type,
  /// A value of the right type outside the accepted range (`RangeError`).
  Range,
  /// A call that the builder's lifecycle does not allow now (`Error`).
  State,
  /// An operating-system failure (`Error` with the errno name as `code`).
  Io,
}

/// Stable error codes, shared with the TypeScript backend.
pub mod codes {
  pub const OPTION_TYPE: &str = "ERR_WSI_OPTION_TYPE";
  pub const OPTION_RANGE: &str = "ERR_WSI_OPTION_RANGE";
  pub const DIMS_MISMATCH: &str = "ERR_WSI_DIMS_MISMATCH";
  pub const DTYPE: &str = "ERR_WSI_DTYPE";
  pub const MASK_TOO_LARGE: &str = "ERR_WSI_MASK_TOO_LARGE";
  pub const BATCH_TYPE: &str = "ERR_WSI_BATCH_TYPE";
  pub const BATCH_SHAPE: &str = "ERR_WSI_BATCH_SHAPE";
  pub const COORDS_TYPE: &str = "ERR_WSI_COORDS_TYPE";
  pub const COORDS_SHAPE: &str = "ERR_WSI_COORDS_SHAPE";
  pub const COORDS_VALUE: &str = "ERR_WSI_COORDS_VALUE";
  pub const TILE_OUTSIDE_MASK: &str = "ERR_WSI_TILE_OUTSIDE_MASK";
  pub const EDGE_CLIPPING: &str = "ERR_WSI_EDGE_CLIPPING";
  pub const COUNTER_OVERFLOW: &str = "ERR_WSI_COUNTER_OVERFLOW";
  pub const FINALIZED: &str = "ERR_WSI_FINALIZED";
  pub const CLEANED_UP: &str = "ERR_WSI_CLEANED_UP";
  pub const VIEW_TOO_LARGE: &str = "ERR_WSI_VIEW_TOO_LARGE";
  pub const NPY_FORMAT: &str = "ERR_WSI_NPY_FORMAT";
  pub const REGION: &str = "ERR_WSI_REGION";
  pub const STORAGE: &str = "ERR_WSI_STORAGE";
  pub const IMAGE_TYPE: &str = "ERR_WSI_IMAGE_TYPE";
  pub const IMAGE_SHAPE: &str = "ERR_WSI_IMAGE_SHAPE";
  pub const OUTPUT_TOO_LARGE: &str = "ERR_WSI_OUTPUT_TOO_LARGE";
  /// A partial state of another slide, geometry or options than the builder's.
  pub const PARTIAL_MISMATCH: &str = "ERR_WSI_PARTIAL_MISMATCH";
  /// A saved partial whose manifest or arrays are missing, malformed or truncated.
  pub const PARTIAL_CORRUPT: &str = "ERR_WSI_PARTIAL_CORRUPT";
  /// A write aimed at a file this process has mapped (it would SIGBUS).
  pub const FILE_MAPPED: &str = "ERR_WSI_FILE_MAPPED";
  /// A bug: a panic caught at the boundary instead of aborting the process.
  pub const INTERNAL: &str = "ERR_WSI_INTERNAL";
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
  pub kind: ErrorKind,
  pub code: &'static str,
  pub message: String,
}

impl Error {
  pub fn type_error(code: &'static str, message: impl Into<String>) -> Self {
    Self { kind: ErrorKind::Type, code, message: message.into() }
  }

  pub fn range(code: &'static str, message: impl Into<String>) -> Self {
    Self { kind: ErrorKind::Range, code, message: message.into() }
  }

  pub fn state(code: &'static str, message: impl Into<String>) -> Self {
    Self { kind: ErrorKind::State, code, message: message.into() }
  }

  /// An I/O error; `code` is the errno name (`EEXIST`, `ENOSPC`, ...) when known.
  pub fn io(context: &str, err: &std::io::Error) -> Self {
    Self { kind: ErrorKind::Io, code: errno_name(err), message: format!("{context}: {err}") }
  }
}

impl fmt::Display for Error {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{} [{}]", self.message, self.code)
  }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

fn errno_name(err: &std::io::Error) -> &'static str {
  use std::io::ErrorKind as K;
  match err.raw_os_error() {
    Some(libc::EEXIST) => "EEXIST",
    Some(libc::ENOSPC) => "ENOSPC",
    Some(libc::ENOENT) => "ENOENT",
    Some(libc::EACCES) => "EACCES",
    Some(libc::EPERM) => "EPERM",
    Some(libc::ENOMEM) => "ENOMEM",
    Some(libc::EFBIG) => "EFBIG",
    Some(libc::EISDIR) => "EISDIR",
    Some(libc::ENOTDIR) => "ENOTDIR",
    Some(libc::EROFS) => "EROFS",
    Some(libc::ENAMETOOLONG) => "ENAMETOOLONG",
    Some(libc::ELOOP) => "ELOOP",
    Some(libc::EXDEV) => "EXDEV",
    Some(libc::EBUSY) => "EBUSY",
    Some(libc::EMLINK) => "EMLINK",
    Some(libc::EDQUOT) => "EDQUOT",
    Some(libc::EAGAIN) => "EAGAIN",
    _ => match err.kind() {
      K::AlreadyExists => "EEXIST",
      K::NotFound => "ENOENT",
      K::PermissionDenied => "EACCES",
      K::OutOfMemory => "ENOMEM",
      _ => "EIO",
    },
  }
}

/// Formats a list of numbers as `[a, b, c]` for messages.
pub(crate) fn list<T: fmt::Display>(values: &[T]) -> String {
  let parts: Vec<String> = values.iter().map(|v| v.to_string()).collect();
  format!("[{}]", parts.join(", "))
}

/// Formats a number the way JavaScript's `String(x)` does for the values a
/// message reports (NaN, infinities, exponents), so both backends agree.
pub(crate) fn js_number(x: f64) -> String {
  if x.is_nan() {
    return "NaN".into();
  }
  if x.is_infinite() {
    return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
  }
  if x == 0.0 {
    return "0".into();
  }
  if x.abs() >= 1e21 || x.abs() < 1e-6 {
    let text = format!("{x:e}");
    return match text.split_once('e') {
      Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
      _ => text,
    };
  }
  format!("{x}")
}

#[cfg(test)]
mod tests {
  use super::js_number;

  #[test]
  fn numbers_print_as_in_javascript() {
    assert_eq!(js_number(f64::NAN), "NaN");
    assert_eq!(js_number(f64::INFINITY), "Infinity");
    assert_eq!(js_number(f64::NEG_INFINITY), "-Infinity");
    assert_eq!(js_number(-0.0), "0");
    assert_eq!(js_number(0.5), "0.5");
    assert_eq!(js_number(-4.0), "-4");
    assert_eq!(js_number(9007199254740992.0), "9007199254740992");
    assert_eq!(js_number(1e21), "1e+21");
    assert_eq!(js_number(1.5e-7), "1.5e-7");
  }
}
