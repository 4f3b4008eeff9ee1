//! Core errors become TypeError / RangeError / Error with a stable `code`.

use napi::bindgen_prelude::Unknown;
use napi::{sys, Env, JsValue, Status};
use wsi_mask_core::{Error, ErrorKind};

/// Throws `err` as the matching JavaScript error and returns the marker
/// napi-rs uses for "an exception is already pending".
pub fn throw(env: &Env, err: &Error) -> napi::Error {
  let _ = match err.kind {
    ErrorKind::Type => env.throw_type_error(&err.message, Some(err.code)),
    ErrorKind::Range => env.throw_range_error(&err.message, Some(err.code)),
    ErrorKind::State | ErrorKind::Io => env.throw_error(&err.message, Some(err.code)),
  };
  napi::Error::from_status(Status::PendingException)
}

pub trait OrThrow<T> {
  fn or_throw(self, env: &Env) -> napi::Result<T>;
}

impl<T> OrThrow<T> for Result<T, Error> {
  fn or_throw(self, env: &Env) -> napi::Result<T> {
    self.map_err(|e| throw(env, &e))
  }
}

/// `err` as a JavaScript error value, for rejecting a promise.
pub fn rejection(env: &Env, err: &Error) -> napi::Error {
  let build = || -> napi::Result<sys::napi_value> {
    let code = env.create_string(err.code)?;
    let message = env.create_string(&err.message)?;
    let mut value = std::ptr::null_mut();
    let create = match err.kind {
      ErrorKind::Type => sys::napi_create_type_error,
      ErrorKind::Range => sys::napi_create_range_error,
      ErrorKind::State | ErrorKind::Io => sys::napi_create_error,
    };
    // SAFETY: valid env and string handles from this scope.
    let status = unsafe { create(env.raw(), code.raw(), message.raw(), &mut value) };
    if status != sys::Status::napi_ok {
      return Err(napi::Error::from_status(Status::GenericFailure));
    }
    Ok(value)
  };
  match build() {
    // SAFETY: `value` is a live error object in this env.
    Ok(value) => napi::Error::from_unknown_without_coercion(unsafe { Unknown::from_raw_unchecked(env.raw(), value) }),
    Err(_) => napi::Error::new(Status::GenericFailure, format!("{} [{}]", err.message, err.code)),
  }
}
