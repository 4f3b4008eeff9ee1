//! Call-order execution of updates that run on other threads.
//!
//! Every update takes a [`Ticket`] on the JavaScript thread, in call order.
//! Whichever thread later runs it waits for its turn, so updates apply in
//! call order and never race. A ticket dropped without running (a task that
//! was never scheduled) is skipped rather than blocking the queue.

use std::collections::BTreeSet;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

#[derive(Default)]
struct Queue {
  next: u64,
  serving: u64,
  /// Tickets finished or abandoned ahead of `serving`.
  done_early: BTreeSet<u64>,
  /// Threads blocked on `turn`: with none, finishing a ticket wakes no one
  /// (no futex call per synchronous update).
  waiters: usize,
}

impl Queue {
  fn complete(&mut self, ticket: u64) {
    if ticket == self.serving {
      self.serving += 1;
      while self.done_early.remove(&self.serving) {
        self.serving += 1;
      }
    } else if ticket > self.serving {
      self.done_early.insert(ticket);
    }
  }
}

#[derive(Default)]
pub struct Sequencer {
  queue: Mutex<Queue>,
  turn: Condvar,
}

/// A place in the queue. Dropping it, run or not, lets the next one go.
pub struct Ticket {
  sequencer: Arc<Sequencer>,
  number: u64,
}

impl Sequencer {
  pub fn new() -> Arc<Self> {
    Arc::new(Self::default())
  }

  fn lock(&self) -> MutexGuard<'_, Queue> {
    self.queue.lock().unwrap_or_else(|p| p.into_inner())
  }

  pub fn ticket(self: &Arc<Self>) -> Ticket {
    let mut q = self.lock();
    let number = q.next;
    q.next += 1;
    Ticket { sequencer: Arc::clone(self), number }
  }

  /// Blocks until every ticket issued so far has finished.
  pub fn wait_idle(&self) {
    let mut q = self.lock();
    while q.serving < q.next {
      q.waiters += 1;
      q = self.turn.wait(q).unwrap_or_else(|p| p.into_inner());
      q.waiters -= 1;
    }
  }

  /// Tickets issued and not yet finished.
  pub fn pending(&self) -> u64 {
    let q = self.lock();
    q.next - q.serving
  }
}

impl Ticket {
  /// Blocks until every earlier ticket has finished. The turn lasts until
  /// the ticket is dropped.
  pub fn wait_turn(&self) {
    let s = &self.sequencer;
    let mut q = s.lock();
    while q.serving < self.number {
      q.waiters += 1;
      q = s.turn.wait(q).unwrap_or_else(|p| p.into_inner());
      q.waiters -= 1;
    }
  }
}

impl Drop for Ticket {
  fn drop(&mut self) {
    let s = &self.sequencer;
    let waiters = {
      let mut q = s.lock();
      q.complete(self.number);
      q.waiters
    };
    if waiters > 0 {
      s.turn.notify_all();
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::thread;
  use std::time::Duration;

  #[test]
  fn runs_in_ticket_order_across_threads() {
    let seq = Sequencer::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let tickets: Vec<Ticket> = (0..8).map(|_| seq.ticket()).collect();
    let handles: Vec<_> = tickets
      .into_iter()
      .enumerate()
      .rev()
      .map(|(i, t)| {
        let log = Arc::clone(&log);
        thread::spawn(move || {
          thread::sleep(Duration::from_millis((8 - i as u64) * 3));
          t.wait_turn();
          log.lock().unwrap().push(i);
          drop(t);
        })
      })
      .collect();
    for h in handles {
      h.join().unwrap();
    }
    seq.wait_idle();
    assert_eq!(*log.lock().unwrap(), (0..8).collect::<Vec<_>>());
  }

  #[test]
  fn abandoned_tickets_do_not_block() {
    let seq = Sequencer::new();
    let a = seq.ticket();
    let b = seq.ticket();
    let c = seq.ticket();
    drop(b);
    assert_eq!(seq.pending(), 3);
    drop(a);
    assert_eq!(seq.pending(), 1);
    c.wait_turn();
    drop(c);
    seq.wait_idle();
    assert_eq!(seq.pending(), 0);
  }
}
