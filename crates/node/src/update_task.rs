//! Updates and finalization on the libuv thread pool, in call order.

use std::sync::{Arc, OnceLock};

use napi::bindgen_prelude::{TypedArray, TypedArrayType};
use napi::{sys, Env, JsValue, Task};
use wsi_mask_core::sequencer::Ticket;
use wsi_mask_core::{BatchData, BatchPlan, Error};

use crate::errors::rejection;
use crate::mask_builder::Shared;

/// A batch's typed array, kept alive by a strong reference until the task
/// settles; its memory is read on the pool thread without copying.
pub struct HeldBatch {
  ptr: *const u8,
  byte_len: usize,
  float64: bool,
  reference: sys::napi_ref,
}

// SAFETY: the typed array stays referenced (so not collected) until
// `release` runs on the JavaScript thread; its bytes are plain numbers.
unsafe impl Send for HeldBatch {}

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
    })
  }

  fn view(&self) -> BatchData<'_> {
    let bytes = if self.byte_len == 0 {
      &[][..]
    } else {
      // SAFETY: the referenced typed array keeps these bytes alive.
      unsafe { std::slice::from_raw_parts(self.ptr, self.byte_len) }
    };
    // Typed arrays are aligned to their element size; an empty cast is fine.
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

/// A planned batch waiting for its turn.
pub struct UpdateTask {
  shared: Arc<Shared>,
  ticket: Option<Ticket>,
  plan: BatchPlan,
  data: HeldBatch,
  failure: Option<Error>,
}

impl UpdateTask {
  pub fn new(shared: Arc<Shared>, ticket: Ticket, plan: BatchPlan, data: HeldBatch) -> Self {
    Self { shared, ticket: Some(ticket), plan, data, failure: None }
  }
}

/// Threads for kernels started from the thread pool, at a lower priority
/// than the JavaScript thread: on a machine with few cores the event loop
/// then wakes promptly while an update runs.
fn background_pool() -> &'static rayon::ThreadPool {
  static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
  POOL.get_or_init(|| {
    rayon::ThreadPoolBuilder::new()
      .thread_name(|i| format!("wsi-mask-bg-{i}"))
      .start_handler(|_| lower_priority())
      .build()
      .unwrap_or_else(|_| rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a one-thread pool"))
  })
}

#[cfg(target_os = "linux")]
fn lower_priority() {
  // SAFETY: plain syscalls on the calling thread; failure leaves it as is.
  unsafe {
    let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
    libc::setpriority(libc::PRIO_PROCESS, tid, 5);
  }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

/// Runs `f` in `ticket`'s turn on the background pool, then lets the next
/// ticket go, so a failing update never blocks the ones after it.
fn in_turn(ticket: &mut Option<Ticket>, f: impl FnOnce() -> Result<(), Error> + Send) -> Result<(), Error> {
  let Some(ticket) = ticket.take() else { return Ok(()) };
  ticket.wait_turn();
  let result = background_pool().install(f);
  drop(ticket);
  result
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
    let (shared, plan, data) = (&self.shared, &self.plan, self.data.view());
    let result = in_turn(&mut self.ticket, || shared.with(|b| b.apply(plan, data)));
    settle(&mut self.failure, result)
  }

  fn finally(mut self, env: Env) -> napi::Result<()> {
    self.data.release(&env);
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
  shared: Arc<Shared>,
  ticket: Option<Ticket>,
  failure: Option<Error>,
}

impl FinalizeTask {
  pub fn new(shared: Arc<Shared>, ticket: Ticket) -> Self {
    Self { shared, ticket: Some(ticket), failure: None }
  }
}

impl Task for FinalizeTask {
  type Output = ();
  type JsValue = ();

  fn compute(&mut self) -> napi::Result<()> {
    let shared = &self.shared;
    let result = in_turn(&mut self.ticket, || shared.with(|b| b.finalize()));
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
