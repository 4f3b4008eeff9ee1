//! Updates and finalization as libuv tasks: thin adapters that run the
//! core's pending work on the thread pool and settle its promise.

use std::sync::Arc;

use napi::bindgen_prelude::{TypedArray, TypedArrayType};
use napi::{sys, Env, JsValue, Task};
use wsi_mask_core::shards::PendingJob;

use crate::outputs::NativeTileCounts;
use wsi_mask_core::storage::Region;
use wsi_mask_core::{BatchData, Error, OwnedBatchData, PendingFinalize, PendingUpdate};

use crate::errors::rejection;

/// A batch read in place by the pool thread, without copying. Either its
/// buffer was just transferred to the builder (`transfer: true`: no
/// JavaScript code can reach it to detach it, and a strong reference keeps it
/// alive until the task settles), or it lies in a pinned batch buffer whose
/// mapping the task holds itself.
pub struct HeldBatch {
  ptr: *const u8,
  byte_len: usize,
  float64: bool,
  reference: sys::napi_ref,
  /// For a batch in a pinned buffer: the mapping itself, kept alive here
  /// (only by being held) whatever JavaScript does with its ArrayBuffer.
  _mapping: Option<Arc<Region>>,
}

// SAFETY: the typed array stays referenced (so not collected) and cannot be
// detached (nothing else holds its buffer) until `release` runs on the
// JavaScript thread; its bytes are plain numbers.
unsafe impl Send for HeldBatch {}
// SAFETY: only read, from one thread at a time (the update's turn).
unsafe impl Sync for HeldBatch {}

impl HeldBatch {
  /// Holds `data`, which the caller has already checked is Float32/Float64.
  pub fn new(env: &Env, data: &TypedArray<'_>) -> napi::Result<Self> {
    let mut reference = std::ptr::null_mut();
    // SAFETY: `data` is a live value in this call's scope.
    let status = unsafe { sys::napi_create_reference(env.raw(), data.raw(), 1, &mut reference) };
    if status != sys::Status::napi_ok {
      return Err(napi::Error::from_reason("cannot hold the batch"));
    }
    let bytes: &[u8] = &data.arraybuffer;
    Ok(Self {
      ptr: bytes.as_ptr(),
      byte_len: bytes.len(),
      float64: data.typed_array_type == TypedArrayType::Float64,
      reference,
      _mapping: None,
    })
  }

  /// Holds `data` when it lies in a pinned batch buffer (see
  /// `allocateBatchBuffer`): no copy, no reference to the ArrayBuffer.
  pub fn pinned(data: &TypedArray<'_>) -> Option<Self> {
    let bytes: &[u8] = &data.arraybuffer;
    let region = crate::batch_buffer::pinned_region(bytes.as_ptr(), bytes.len())?;
    Some(Self {
      ptr: bytes.as_ptr(),
      byte_len: bytes.len(),
      float64: data.typed_array_type == TypedArrayType::Float64,
      reference: std::ptr::null_mut(),
      _mapping: Some(region),
    })
  }

  pub(crate) fn view(&self) -> BatchData<'_> {
    let bytes = if self.byte_len == 0 {
      &[][..]
    } else {
      // SAFETY: the referenced, unreachable typed array keeps these bytes alive.
      unsafe { std::slice::from_raw_parts(self.ptr, self.byte_len) }
    };
    // Typed arrays are aligned to their element size; a failed cast reads as
    // empty, which `apply` refuses as not matching the plan.
    if self.float64 {
      BatchData::F64(bytemuck::try_cast_slice(bytes).unwrap_or(&[]))
    } else {
      BatchData::F32(bytemuck::try_cast_slice(bytes).unwrap_or(&[]))
    }
  }

  fn release(&mut self, env: &Env) {
    if !self.reference.is_null() {
      // SAFETY: created in `new` on this env; released once.
      unsafe { sys::napi_delete_reference(env.raw(), self.reference) };
      self.reference = std::ptr::null_mut();
    }
  }
}

/// Where an asynchronous update reads its tiles.
pub enum BatchSource {
  /// The builder's own copy (the default: the caller may reuse its buffer).
  Copied(OwnedBatchData),
  /// A transferred buffer, read in place.
  Held(HeldBatch),
}

impl wsi_mask_core::BatchSource for BatchSource {
  fn batch(&self) -> BatchData<'_> {
    match self {
      BatchSource::Copied(data) => data.view(),
      BatchSource::Held(data) => data.view(),
    }
  }

  fn take_spare(&mut self) -> Option<OwnedBatchData> {
    match self {
      BatchSource::Copied(data) => data.take_spare(),
      BatchSource::Held(_) => None,
    }
  }
}

/// A planned batch waiting for its turn. It never points into memory the
/// caller could free: the data is copied, or its buffer was transferred.
pub struct UpdateTask {
  inner: PendingUpdate<BatchSource>,
  failure: Option<Error>,
}

impl UpdateTask {
  pub fn new(inner: PendingUpdate<BatchSource>) -> Self {
    Self { inner, failure: None }
  }
}

fn settle(failure: &mut Option<Error>, result: Result<(), Error>) -> napi::Result<()> {
  if let Err(e) = result {
    *failure = Some(e);
    return Err(napi::Error::from_reason("update failed"));
  }
  Ok(())
}

impl Task for UpdateTask {
  type Output = ();
  type JsValue = ();

  fn compute(&mut self) -> napi::Result<()> {
    let result = self.inner.run();
    settle(&mut self.failure, result)
  }

  fn finally(mut self, env: Env) -> napi::Result<()> {
    self.inner.with_data(|data| {
      if let BatchSource::Held(held) = data {
        held.release(&env);
      }
    });
    Ok(())
  }

  fn resolve(&mut self, _env: Env, _output: ()) -> napi::Result<()> {
    Ok(())
  }

  fn reject(&mut self, env: Env, err: napi::Error) -> napi::Result<()> {
    Err(match &self.failure {
      Some(e) => rejection(&env, e),
      None => err,
    })
  }
}

/// `finalize()` after every update issued before it.
pub struct FinalizeTask {
  inner: PendingFinalize,
  failure: Option<Error>,
}

impl FinalizeTask {
  pub fn new(inner: PendingFinalize) -> Self {
    Self { inner, failure: None }
  }
}

impl Task for FinalizeTask {
  type Output = ();
  type JsValue = ();

  fn compute(&mut self) -> napi::Result<()> {
    let result = self.inner.run();
    settle(&mut self.failure, result)
  }

  fn resolve(&mut self, _env: Env, _output: ()) -> napi::Result<()> {
    Ok(())
  }

  fn reject(&mut self, env: Env, err: napi::Error) -> napi::Result<()> {
    Err(match &self.failure {
      Some(e) => rejection(&env, e),
      None => err,
    })
  }
}

/// Save or merge work in the call order of the builders it touches; resolves
/// with the target's tile counts.
pub struct JobTask {
  inner: PendingJob,
  failure: Option<Error>,
}

impl JobTask {
  pub fn new(inner: PendingJob) -> Self {
    Self { inner, failure: None }
  }
}

impl Task for JobTask {
  type Output = (u64, u64);
  type JsValue = NativeTileCounts;

  fn compute(&mut self) -> napi::Result<(u64, u64)> {
    self.inner.run().map_err(|e| {
      self.failure = Some(e);
      napi::Error::from_reason("job failed")
    })
  }

  fn resolve(&mut self, _env: Env, counts: (u64, u64)) -> napi::Result<NativeTileCounts> {
    Ok(NativeTileCounts::from(counts))
  }

  fn reject(&mut self, env: Env, err: napi::Error) -> napi::Result<NativeTileCounts> {
    Err(match &self.failure {
      Some(e) => rejection(&env, e),
      None => err,
    })
  }
}
