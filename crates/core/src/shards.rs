//! Distributing one slide: a builder's partial state saved and merged, in
//! the builder's call order. Several processes or threads each build a
//! region shard (or a share of the tiles); their states merge into one
//! builder that finalizes as a single build over all tiles would.

use std::path::PathBuf;

use crate::background::in_turns;
use crate::error::{codes, Error, Result};
use crate::mask_builder::MaskBuilder;
use crate::mask_region::MaskRegion;
use crate::partial::{write_arrays, AuxFile, OpenPartial, PartialSpec};
use crate::sequencer::Ticket;

/// A saved partial, as its manifest describes it.
#[derive(Debug, Clone)]
pub struct PartialRef {
  pub dir: PathBuf,
  pub region: MaskRegion,
  pub tiles_applied: u64,
  pub tiles_skipped: u64,
}

/// Save or merge work with its place in the call order of every builder it
/// touches; [`PendingJob::run`] waits for those turns (on any thread) and
/// returns the target's tile counts (applied, skipped).
pub struct PendingJob {
  tickets: Vec<Ticket>,
  job: Option<Job>,
}

/// The work of a [`PendingJob`]: returns the target's tile counts.
type Job = Box<dyn FnOnce() -> Result<(u64, u64)> + Send>;

impl PendingJob {
  /// Waits for its turns and runs on the background pool. Blocks: call it
  /// from a worker thread. Runs once; later calls return (0, 0).
  pub fn run(&mut self) -> Result<(u64, u64)> {
    let Some(job) = self.job.take() else { return Ok((0, 0)) };
    in_turns(std::mem::take(&mut self.tickets), job)
  }

  /// Waits for its turns and runs on the calling thread (and the global
  /// pool), as a synchronous update does: for callers that block anyway.
  fn run_here(mut self) -> Result<(u64, u64)> {
    let Some(job) = self.job.take() else { return Ok((0, 0)) };
    for ticket in &self.tickets {
      ticket.wait_turn();
    }
    let result = job();
    drop(std::mem::take(&mut self.tickets));
    result
  }
}

impl MaskBuilder {
  /// The window of the mask held (the whole mask unless the config gave a region).
  pub fn region(&self) -> MaskRegion {
    let spec = &self.shared.spec;
    spec.region.clone().unwrap_or_else(|| MaskRegion::whole(&spec.geometry))
  }

  /// Tiles applied and tiles skipped (wholly outside the region), after pending updates.
  pub fn tile_counts(&self) -> Result<(u64, u64)> {
    self.check("tileCounts", false)?;
    self.shared.sequencer.wait_idle();
    self.with(|a| Ok(a.tile_counts()))
  }

  /// Writes the un-normalized arrays into the existing directory `dir`
  /// after pending updates; returns the tile counts of the state written.
  pub fn save_partial_arrays(&self, dir: impl Into<PathBuf>) -> Result<(u64, u64)> {
    self.save_partial_arrays_later(dir)?.run_here()
  }

  /// [`Self::save_partial_arrays`] in call order, run by [`PendingJob::run`].
  pub fn save_partial_arrays_later(&self, dir: impl Into<PathBuf>) -> Result<PendingJob> {
    self.check("savePartial", true)?;
    let (me, dir) = (self.clone(), dir.into());
    Ok(PendingJob {
      tickets: vec![self.shared.sequencer.ticket()],
      job: Some(Box::new(move || {
        me.with(|a| {
          write_arrays(a, &dir)?;
          Ok(a.tile_counts())
        })
      })),
    })
  }

  /// Checks every saved partial's arrays against this builder (dtype, shape,
  /// length, region inside this one's) before merging any, then merges them.
  pub fn merge_partials(&self, partials: &[PartialRef]) -> Result<(u64, u64)> {
    self.merge_partials_later(partials)?.run_here()
  }

  /// [`Self::merge_partials`] in call order, run by [`PendingJob::run`].
  pub fn merge_partials_later(&self, partials: &[PartialRef]) -> Result<PendingJob> {
    self.check("loadPartials", true)?;
    let region = self.region();
    let spec = self.shared.spec.clone();
    let partials = partials.to_vec();
    let me = self.clone();
    Ok(PendingJob {
      tickets: vec![self.shared.sequencer.ticket()],
      job: Some(Box::new(move || {
        let opened: Vec<OpenPartial> = partials
          .into_iter()
          .map(|p| {
            if !region.contains(&p.region) {
              return Err(Error::range(
                codes::PARTIAL_MISMATCH,
                format!("region: the partial {} holds a region outside the one this builder holds", p.dir.display()),
              ));
            }
            OpenPartial::open(PartialSpec {
              dir: p.dir,
              dtype: spec.dtype,
              channels: spec.channels,
              counter_dtype: spec.aggregation.counts_overlaps().then_some(spec.counter_dtype),
              aux: AuxFile::of(&spec),
              region: p.region,
              tiles_applied: p.tiles_applied,
              tiles_skipped: p.tiles_skipped,
            })
          })
          .collect::<Result<_>>()?;
        me.with(|a| {
          for p in &opened {
            p.merge_into(a)?;
          }
          Ok(a.tile_counts())
        })
      })),
    })
  }

  /// Merges `other`'s state (same options, region inside this one's) after
  /// the pending updates of both; `other` is unchanged.
  pub fn merge_from(&self, other: &MaskBuilder) -> Result<(u64, u64)> {
    self.merge_from_later(other)?.run_here()
  }

  /// [`Self::merge_from`] in call order (of both builders), run by [`PendingJob::run`].
  pub fn merge_from_later(&self, other: &MaskBuilder) -> Result<PendingJob> {
    self.check("mergeFrom", true)?;
    other.check("mergeFrom (the other builder)", true)?;
    if std::sync::Arc::ptr_eq(&self.shared, &other.shared) {
      return Err(Error::type_error(codes::PARTIAL_MISMATCH, "mergeFrom: a builder cannot merge itself"));
    }
    let (target, source) = (self.clone(), other.clone());
    Ok(PendingJob {
      tickets: vec![self.shared.sequencer.ticket(), other.shared.sequencer.ticket()],
      job: Some(Box::new(move || {
        // Both locked in address order: two merges never deadlock.
        let (t, s) = (&target.shared.accumulator, &source.shared.accumulator);
        let target_first = (t as *const _ as usize) < (s as *const _ as usize);
        let (mut a, b) = if target_first {
          let a = crate::mask_builder::lock(t);
          (a, crate::mask_builder::lock(s))
        } else {
          let b = crate::mask_builder::lock(s);
          (crate::mask_builder::lock(t), b)
        };
        match (a.as_mut(), b.as_ref()) {
          (Some(t), Some(s)) => {
            t.merge_from(s)?;
            Ok(t.tile_counts())
          }
          _ => Err(Error::state(codes::CLEANED_UP, "mergeFrom: a builder was cleaned up")),
        }
      })),
    })
  }
}
