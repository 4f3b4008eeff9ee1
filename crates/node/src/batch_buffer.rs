//! Batch buffers in memory the binding owns ("pinned"): `updateBatchAsync`
//! reads a batch in such a buffer in place. Whatever JavaScript then does
//! with the ArrayBuffer (transfer it, drop it), the memory stays mapped
//! while an update reads it, because the update holds the mapping too.

use std::sync::{Arc, Mutex, Weak};

use napi::bindgen_prelude::{JsObjectValue, Object, Unknown};
use napi::{Env, Result};
use napi_derive::napi;
use wsi_mask_core::error::codes;
use wsi_mask_core::storage::Region;
use wsi_mask_core::{Error, RawArray};

use crate::errors::OrThrow;
use crate::numbers::to_u64;
use crate::views::{external_arraybuffer, DEFAULT_MAX_VIEW_BYTES};

struct Pinned {
  start: usize,
  end: usize,
  region: Weak<Region>,
}

static PINNED: Mutex<Vec<Pinned>> = Mutex::new(Vec::new());

fn pinned() -> std::sync::MutexGuard<'static, Vec<Pinned>> {
  PINNED.lock().unwrap_or_else(|p| p.into_inner())
}

/// The pinned mapping holding all of `[ptr, ptr + len)`, if any.
pub fn pinned_region(ptr: *const u8, len: usize) -> Option<Arc<Region>> {
  let (start, end) = (ptr as usize, (ptr as usize).checked_add(len)?);
  pinned().iter().find(|p| p.start <= start && end <= p.end).and_then(|p| p.region.upgrade())
}

/// `{ buffer, live }`: a zero-filled ArrayBuffer of `byteLength` bytes in
/// memory the binding owns, for batches that `updateBatchAsync` reads in place.
#[napi(catch_unwind, ts_return_type = "{ buffer: ArrayBuffer; live: boolean }")]
pub fn allocate_batch_buffer<'env>(env: &'env Env, byte_length: f64) -> Result<Object<'env>> {
  let len = to_u64("byteLength", byte_length).or_throw(env)? as usize;
  if len == 0 || len > DEFAULT_MAX_VIEW_BYTES {
    return Err(crate::errors::throw(
      env,
      &Error::range(
        codes::OPTION_RANGE,
        format!("a batch buffer must hold from 1 to {DEFAULT_MAX_VIEW_BYTES} bytes; received {len}"),
      ),
    ));
  }
  let region = Region::anonymous(len).or_throw(env)?;
  let raw = RawArray { ptr: region.as_ptr(), byte_len: len, region: Arc::clone(&region) };
  let (buffer, live) = external_arraybuffer(env, &raw)?;
  if live {
    let mut list = pinned();
    list.retain(|p| p.region.strong_count() > 0);
    list.push(Pinned { start: raw.ptr as usize, end: raw.ptr as usize + len, region: Arc::downgrade(&region) });
  }
  let mut result = Object::new(env)?;
  // SAFETY: `buffer` is a live ArrayBuffer value in this scope.
  result.set_named_property("buffer", unsafe { Unknown::from_raw_unchecked(env.raw(), buffer) })?;
  result.set_named_property("live", live)?;
  Ok(result)
}
