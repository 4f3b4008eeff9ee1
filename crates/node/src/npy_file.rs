//! `NativeNpyFile`: an existing NPY file mapped copy-on-write, read without copying.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use napi::bindgen_prelude::{Object, ObjectFinalize};
use napi::{Env, Result};
use napi_derive::napi;
use wsi_mask_core::error::codes;
use wsi_mask_core::memmap::MappedNpy;
use wsi_mask_core::{Error, RawArray};

use crate::errors::OrThrow;
use crate::numbers::to_u64;
use crate::views::{Views, DEFAULT_MAX_VIEW_BYTES};

/// An NPY file (version 1.0, 2.0 or 3.0) mapped into memory.
#[napi(custom_finalize)]
pub struct NativeNpyFile {
  mapped: MappedNpy,
  views: RefCell<Views>,
  max_view_bytes: usize,
  closed: Cell<bool>,
}

#[napi]
impl NativeNpyFile {
  /// Maps `path`; its header is parsed strictly and checked against the file size.
  #[napi(factory, catch_unwind)]
  pub fn open(env: Env, path: String, max_view_bytes: Option<f64>) -> Result<Self> {
    let open = || -> std::result::Result<Self, Error> {
      let max_view_bytes = max_view_bytes.map(|b| to_u64("maxViewBytes", b)).transpose()?;
      Ok(Self {
        mapped: MappedNpy::open(std::path::Path::new(&path))?,
        views: RefCell::new(Views::default()),
        max_view_bytes: max_view_bytes.map_or(DEFAULT_MAX_VIEW_BYTES, |b| b as usize),
        closed: Cell::new(false),
      })
    };
    open().or_throw(&env)
  }

  #[napi(getter, catch_unwind)]
  pub fn shape(&self) -> Vec<f64> {
    self.mapped.header.shape.iter().map(|&d| d as f64).collect()
  }

  /// The NPY type descriptor, e.g. `<f4`.
  #[napi(getter, catch_unwind)]
  pub fn descr(&self) -> String {
    self.mapped.header.descr.clone()
  }

  /// `[major, minor]`.
  #[napi(getter, catch_unwind)]
  pub fn version(&self) -> Vec<u32> {
    vec![self.mapped.header.version.0 as u32, self.mapped.header.version.1 as u32]
  }

  #[napi(getter, catch_unwind)]
  pub fn fortran_order(&self) -> bool {
    self.mapped.header.fortran_order
  }

  /// `{ buffer, live }` over the file's data (writes stay private to this process).
  #[napi(catch_unwind, ts_return_type = "{ buffer: ArrayBuffer; live: boolean }")]
  pub fn buffer<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
    if self.closed.get() {
      return Err(crate::errors::throw(env, &Error::state(codes::CLEANED_UP, "the NPY file was closed")));
    }
    // A file truncated since it was opened would SIGBUS on the first read.
    self.mapped.region.check_backing().or_throw(env)?;
    let header = &self.mapped.header;
    let byte_len = header.data_len().or_throw(env)? as usize;
    // SAFETY: `open` checked the data lies inside the mapping.
    let ptr = unsafe { self.mapped.region.as_ptr().add(header.data_offset) };
    let raw = RawArray { ptr, byte_len, region: Arc::clone(&self.mapped.region) };
    self.views.borrow_mut().create(env, raw, "NPY data", self.max_view_bytes)
  }

  /// Detaches every view and unmaps the file. Calling it again does nothing.
  #[napi(catch_unwind)]
  pub fn close(&self, env: Env) -> Result<()> {
    if !self.closed.replace(true) && self.views.borrow_mut().detach_all(&env) {
      // SAFETY: every view is detached and `buffer()` refuses once closed,
      // so nothing reads the mapping again; this also drops the file's lock.
      unsafe { self.mapped.region.release() };
    }
    Ok(())
  }
}

impl ObjectFinalize for NativeNpyFile {
  fn finalize(self, env: Env) -> Result<()> {
    self.views.borrow_mut().forget(&env);
    Ok(())
  }
}
