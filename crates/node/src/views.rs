//! Zero-copy ArrayBuffers over the accumulator.
//!
//! Each buffer's finalizer holds an `Arc` of the mapping it reads, so the
//! memory outlives every view. The builder also keeps a weak reference to
//! each buffer so that `cleanup()` can detach them (reads then see an empty
//! array) and release the memory at once.

use std::collections::BTreeMap;
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::{JsObjectValue, Object};
use napi::{sys, Env, Status};
use wsi_mask_core::error::codes;
use wsi_mask_core::storage::Region;
use wsi_mask_core::{Error, RawArray};

/// Node 20 holds ArrayBuffers up to 4 GiB; asking for more aborts the process.
pub const DEFAULT_MAX_VIEW_BYTES: usize = 1 << 32;

/// What each external buffer keeps alive, under the key its finalizer gets
/// as `hint`. The hint is a plain number that owns nothing: when Node refuses
/// a buffer (Node 20 above 4 GiB) it runs the finalizer itself, and it may
/// then run it now, later or never, so releasing an entry is idempotent and
/// can never free anything twice.
static HELD: Mutex<BTreeMap<usize, Arc<Region>>> = Mutex::new(BTreeMap::new());
static NEXT_KEY: AtomicUsize = AtomicUsize::new(1);

fn held() -> std::sync::MutexGuard<'static, BTreeMap<usize, Arc<Region>>> {
  HELD.lock().unwrap_or_else(|p| p.into_inner())
}

unsafe extern "C" fn release_hint(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
  held().remove(&(hint as usize));
}

fn check(status: sys::napi_status) -> napi::Result<()> {
  if status == sys::Status::napi_ok {
    Ok(())
  } else {
    Err(napi::Error::new(Status::from(status), "cannot create a view of the mask".to_string()))
  }
}

/// The runtime refused a buffer: clears the exception it left pending (if
/// any) and throws a coded error in its place.
fn refused(env: &Env, byte_len: usize) -> napi::Error {
  let mut pending = false;
  // SAFETY: plain queries on this env; the cleared exception is dropped.
  unsafe {
    sys::napi_is_exception_pending(env.raw(), &mut pending);
    if pending {
      let mut exception = std::ptr::null_mut();
      sys::napi_get_and_clear_last_exception(env.raw(), &mut exception);
    }
  }
  let err = if byte_len as u64 > u32::MAX as u64 {
    Error::range(
      codes::VIEW_TOO_LARGE,
      format!(
        "this runtime refused an ArrayBuffer of {byte_len} bytes (Node 20 holds at most 4 GiB in one); read the array in parts with readRegion()"
      ),
    )
  } else {
    Error::state(codes::STORAGE, format!("this runtime refused an ArrayBuffer of {byte_len} bytes"))
  };
  crate::errors::throw(env, &err)
}

/// An ArrayBuffer over `raw` whose finalizer keeps `raw.region` alive:
/// `(buffer, true)`, or `(copy, false)` where the runtime refuses external
/// buffers (Electron's memory cage).
pub fn external_arraybuffer(env: &Env, raw: &RawArray) -> napi::Result<(sys::napi_value, bool)> {
  let mut buffer = std::ptr::null_mut();
  let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
  held().insert(key, Arc::clone(&raw.region));
  // SAFETY: `raw.ptr` is valid for `byte_len` bytes while the region lives,
  // and the entry under `key` keeps it alive until the finalizer runs.
  let status = unsafe {
    sys::napi_create_external_arraybuffer(
      env.raw(),
      raw.ptr.cast(),
      raw.byte_len,
      Some(release_hint),
      key as *mut c_void,
      &mut buffer,
    )
  };
  if status == sys::Status::napi_ok {
    return Ok((buffer, true));
  }
  // No buffer exists, whether or not the finalizer ran (removing twice is harmless).
  held().remove(&key);
  if status != sys::Status::napi_no_external_buffers_allowed {
    return Err(refused(env, raw.byte_len));
  }
  let mut data = std::ptr::null_mut();
  // SAFETY: plain allocation of `byte_len` bytes.
  if unsafe { sys::napi_create_arraybuffer(env.raw(), raw.byte_len, &mut data, &mut buffer) } != sys::Status::napi_ok
    || (data.is_null() && raw.byte_len > 0)
  {
    return Err(refused(env, raw.byte_len));
  }
  // SAFETY: `data` holds `byte_len` fresh bytes; `raw.ptr` is valid for as many.
  unsafe { std::ptr::copy_nonoverlapping(raw.ptr, data.cast::<u8>(), raw.byte_len) };
  Ok((buffer, false))
}

#[derive(Default)]
pub struct Views {
  weak: Vec<sys::napi_ref>,
  regions: Vec<Arc<Region>>,
}

impl Views {
  /// `{ buffer, live }`: an external ArrayBuffer over `raw` (`live: true`),
  /// or a copy where the runtime refuses external buffers (`live: false`).
  pub fn create<'env>(
    &mut self,
    env: &'env Env,
    raw: RawArray,
    what: &str,
    max_bytes: usize,
  ) -> napi::Result<Object<'env>> {
    if raw.byte_len > max_bytes {
      return Err(crate::errors::throw(
        env,
        &Error::range(
          codes::VIEW_TOO_LARGE,
          format!(
            "the {what} takes {} bytes, more than the {max_bytes} bytes one ArrayBuffer can hold in this runtime; read it in parts with readRegion()",
            raw.byte_len
          ),
        ),
      ));
    }
    let (buffer, live) = external_arraybuffer(env, &raw)?;
    if live {
      let mut weak = std::ptr::null_mut();
      // SAFETY: `buffer` is a live value in this scope.
      check(unsafe { sys::napi_create_reference(env.raw(), buffer, 0, &mut weak) })?;
      self.weak.push(weak);
      if !self.regions.iter().any(|r| Arc::ptr_eq(r, &raw.region)) {
        self.regions.push(Arc::clone(&raw.region));
      }
    }
    let mut result = Object::new(env)?;
    // SAFETY: `buffer` is a live ArrayBuffer value.
    result
      .set_named_property("buffer", unsafe { napi::bindgen_prelude::Unknown::from_raw_unchecked(env.raw(), buffer) })?;
    result.set_named_property("live", live)?;
    Ok(result)
  }

  /// Detaches every view still alive, then releases the memory when all of
  /// them are gone. Returns false if some view could not be detached (its
  /// memory then stays until that view is garbage-collected).
  pub fn detach_all(&mut self, env: &Env) -> bool {
    let mut all = true;
    for weak in self.weak.drain(..) {
      let mut value = std::ptr::null_mut();
      // SAFETY: references created in `create` on this env.
      unsafe {
        if sys::napi_get_reference_value(env.raw(), weak, &mut value) == sys::Status::napi_ok && !value.is_null() {
          let mut detached = false;
          sys::napi_is_detached_arraybuffer(env.raw(), value, &mut detached);
          if !detached && sys::napi_detach_arraybuffer(env.raw(), value) != sys::Status::napi_ok {
            all = false;
          }
        }
        sys::napi_delete_reference(env.raw(), weak);
      }
    }
    if all {
      for region in self.regions.drain(..) {
        // SAFETY: every view over the region is detached and the builder
        // that wrote it has been dropped by the caller.
        unsafe { region.release() };
      }
    }
    self.regions.clear();
    all
  }

  /// Drops the weak references without detaching (builder finalized by GC).
  pub fn forget(&mut self, env: &Env) {
    for weak in self.weak.drain(..) {
      // SAFETY: references created on this env.
      unsafe { sys::napi_delete_reference(env.raw(), weak) };
    }
    self.regions.clear();
  }
}
