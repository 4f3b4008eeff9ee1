//! The background pool: kernels of updates that run off the caller's thread,
//! in call order, at a lower priority than the thread that issued them.

use std::sync::OnceLock;

use crate::error::{codes, Error, Result};
use crate::sequencer::Ticket;

/// Threads for kernels started from a worker thread: one core fewer than the
/// machine has (at least one), at a lower priority than the caller's thread,
/// so an event loop (and its garbage collector) keeps a core and wakes
/// promptly while an update runs.
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
/// bug) becomes an `ERR_WSI_INTERNAL` error: unwinding out of a foreign
/// thread pool's callback (libuv's, in Node) would abort the process.
pub(crate) fn in_turn(ticket: Ticket, f: impl FnOnce() -> Result<()> + Send) -> Result<()> {
  let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ticket.wait_turn();
    background_pool().install(f)
  }))
  .unwrap_or_else(|payload| Err(internal_error(payload.as_ref())));
  drop(ticket);
  result
}

/// Runs `f` once the turn of every ticket has come (tickets of several
/// builders, taken together by the caller, so two such jobs can never wait
/// for each other), on the background pool.
pub(crate) fn in_turns<R: Send>(tickets: Vec<Ticket>, f: impl FnOnce() -> Result<R> + Send) -> Result<R> {
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

fn internal_error(payload: &(dyn std::any::Any + Send)) -> Error {
  let what = payload
    .downcast_ref::<&str>()
    .map(|s| s.to_string())
    .or_else(|| payload.downcast_ref::<String>().cloned())
    .unwrap_or_else(|| "unknown panic".to_string());
  Error::state(codes::INTERNAL, format!("internal error in the native backend (please report it): {what}"))
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::sequencer::Sequencer;

  #[test]
  fn a_panic_in_an_update_is_an_error_and_releases_the_turn() {
    let sequencer = Sequencer::new();
    let first = sequencer.ticket();
    let second = sequencer.ticket();
    let err = in_turn(first, || panic!("index out of bounds")).unwrap_err();
    assert_eq!(err.code, codes::INTERNAL);
    assert!(err.message.contains("index out of bounds"), "{}", err.message);
    assert!(in_turn(second, || Ok(())).is_ok());
    sequencer.wait_idle();
  }
}
