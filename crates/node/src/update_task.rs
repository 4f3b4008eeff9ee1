//! Updates and finalization on the libuv thread pool, in call order.

use std::sync::{Arc, OnceLock};

use napi::bindgen_prelude::{TypedArray, TypedArrayType};
use napi::{sys, Env, JsValue, Task};
use wsi_mask_core::error::codes;
use wsi_mask_core::sequencer::Ticket;
use wsi_mask_core::storage::Region;
use wsi_mask_core::{BatchData, BatchPlan, Error, OwnedBatchData};

use crate::errors::rejection;
use crate::mask_builder::Shared;

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

  fn view(&self) -> BatchData<'_> {
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

/// A planned batch waiting for its turn. It never points into memory the
/// caller could free: the data is copied, or its buffer was transferred.
pub struct UpdateTask {
  shared: Arc<Shared>,
  ticket: Option<Ticket>,
  plan: BatchPlan,
  copied: Option<OwnedBatchData>,
  held: Option<HeldBatch>,
  failure: Option<Error>,
}

impl UpdateTask {
  pub fn new(shared: Arc<Shared>, ticket: Ticket, plan: BatchPlan, source: BatchSource) -> Self {
    let (copied, held) = match source {
      BatchSource::Copied(data) => (Some(data), None),
      BatchSource::Held(data) => (None, Some(data)),
    };
    Self { shared, ticket: Some(ticket), plan, copied, held, failure: None }
  }
}

/// Threads for kernels started from the thread pool: one core fewer than
/// the machine has (at least one), at a lower priority than the JavaScript
/// thread, so the event loop (and V8's garbage collector) keep a core and
/// wake promptly while an update runs.
fn background_pool() -> &'static rayon::ThreadPool {
  static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
  POOL.get_or_init(|| {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    rayon::ThreadPoolBuilder::new()
      .num_threads(cores.saturating_sub(1).max(1))
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
/// ticket go, so a failing update never blocks the ones after it. A panic (a
/// bug) becomes an `ERR_WSI_INTERNAL` error: unwinding out of the thread
/// pool's C callback would abort Node.
fn in_turn(ticket: &mut Option<Ticket>, f: impl FnOnce() -> Result<(), Error> + Send) -> Result<(), Error> {
  let Some(ticket) = ticket.take() else { return Ok(()) };
  let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ticket.wait_turn();
    background_pool().install(f)
  }))
  .unwrap_or_else(|payload| Err(internal_error(payload.as_ref())));
  drop(ticket);
  result
}

fn internal_error(payload: &(dyn std::any::Any + Send)) -> Error {
  let what = payload
    .downcast_ref::<&str>()
    .map(|s| s.to_string())
    .or_else(|| payload.downcast_ref::<String>().cloned())
    .unwrap_or_else(|| "unknown panic".to_string());
  Error::state(codes::INTERNAL, format!("internal error in the native backend (please report it): {what}"))
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
    let (shared, plan, copied, held) = (&self.shared, &self.plan, self.copied.take(), &self.held);
    let result = in_turn(&mut self.ticket, || match (copied, held) {
      (Some(data), _) => {
        let applied = shared.with(|b| b.apply(plan, data.view()));
        // Recycled within the turn, so cleanup (which waits for every turn) finds it.
        shared.recycle(data);
        applied
      }
      (None, Some(data)) => shared.with(|b| b.apply(plan, data.view())),
      (None, None) => Ok(()),
    });
    settle(&mut self.failure, result)
  }

  fn finally(mut self, env: Env) -> napi::Result<()> {
    if let Some(held) = self.held.as_mut() {
      held.release(&env);
    }
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

/// Work on one or more builders' storage (save, merge) that runs once every
/// earlier call on each of them has finished: it holds a ticket of each.
/// Tickets are taken together on the JavaScript thread, so two jobs can
/// never wait for each other.
/// It resolves with the tile counts of the builder it wrote (applied, skipped).
pub struct JobTask {
  tickets: Vec<Ticket>,
  job: Option<Box<dyn FnOnce() -> Result<(u64, u64), Error> + Send>>,
  failure: Option<Error>,
}

impl JobTask {
  pub fn new(tickets: Vec<Ticket>, job: impl FnOnce() -> Result<(u64, u64), Error> + Send + 'static) -> Self {
    Self { tickets, job: Some(Box::new(job)), failure: None }
  }
}

/// Runs `f` once every ticket's turn has come (see [`in_turn`]).
pub fn in_turns<R: Send>(tickets: Vec<Ticket>, f: impl FnOnce() -> Result<R, Error> + Send) -> Result<R, Error> {
  let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    for ticket in &tickets {
      ticket.wait_turn();
    }
    background_pool().install(f)
  }))
  .unwrap_or_else(|payload| Err(internal_error(payload.as_ref())));
  drop(tickets);
  result
}

impl Task for JobTask {
  type Output = (u64, u64);
  type JsValue = crate::merge::NativeTileCounts;

  fn compute(&mut self) -> napi::Result<(u64, u64)> {
    let tickets = std::mem::take(&mut self.tickets);
    let Some(job) = self.job.take() else { return Ok((0, 0)) };
    match in_turns(tickets, job) {
      Ok(counts) => Ok(counts),
      Err(e) => {
        self.failure = Some(e);
        Err(napi::Error::from_reason("job failed"))
      }
    }
  }

  fn resolve(&mut self, _env: Env, (applied, skipped): (u64, u64)) -> napi::Result<crate::merge::NativeTileCounts> {
    Ok(crate::merge::NativeTileCounts { applied: applied as f64, skipped: skipped as f64 })
  }

  fn reject(&mut self, env: Env, err: napi::Error) -> napi::Result<crate::merge::NativeTileCounts> {
    Err(match &self.failure {
      Some(e) => rejection(&env, e),
      None => err,
    })
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use wsi_mask_core::sequencer::Sequencer;

  #[test]
  fn a_panic_in_an_update_is_an_error_and_releases_the_turn() {
    let sequencer = Sequencer::new();
    let mut first = Some(sequencer.ticket());
    let mut second = Some(sequencer.ticket());
    let err = in_turn(&mut first, || panic!("index out of bounds")).unwrap_err();
    assert_eq!(err.code, codes::INTERNAL);
    assert!(err.message.contains("index out of bounds"), "{}", err.message);
    assert!(in_turn(&mut second, || Ok(())).is_ok());
    sequencer.wait_idle();
  }
}
