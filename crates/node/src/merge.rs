//! Partial states and merging: `savePartial`, `loadPartials` (the merge of
//! saved partials) and `mergeFrom` on the native backend. Conversion and
//! error mapping only; the arithmetic is `wsi_mask_core::merge`.

use std::path::PathBuf;
use std::sync::Arc;

use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Result};
use napi_derive::napi;
use wsi_mask_core::error::codes;
use wsi_mask_core::partial::{write_arrays, OpenPartial, PartialSpec};
use wsi_mask_core::{AnyMaskBuilder, Error};

use crate::errors::OrThrow;
use crate::mask_builder::{NativeMaskBuilder, Shared};
use crate::options::{to_region, to_u64, NativePartial, NativeRegion};
use crate::update_task::{in_turns, JobTask};

/// Tiles applied and tiles skipped (wholly outside the region).
#[napi(object)]
pub struct NativeTileCounts {
  pub applied: f64,
  pub skipped: f64,
}

/// Writes the arrays; returns the tile counts of the state written.
fn save(shared: &Shared, dir: &str) -> std::result::Result<(u64, u64), Error> {
  shared.with(|b| {
    write_arrays(b, &PathBuf::from(dir))?;
    Ok(b.tile_counts())
  })
}

fn counts(shared: &Shared) -> std::result::Result<(u64, u64), Error> {
  shared.with(|b| Ok(b.tile_counts()))
}

/// Opens and checks every partial (files, shapes, regions) before merging any.
fn open_all(
  spec: &wsi_mask_core::BuilderSpec,
  region: &wsi_mask_core::MaskRegion,
  partials: &[NativePartial],
) -> std::result::Result<Vec<OpenPartial>, Error> {
  partials
    .iter()
    .map(|p| {
      let partial_region = to_region(&p.region)?;
      if !region.contains(&partial_region) {
        return Err(Error::range(
          codes::PARTIAL_MISMATCH,
          format!("region: the partial {} holds a region outside the one this builder holds", p.dir),
        ));
      }
      OpenPartial::open(PartialSpec {
        dir: PathBuf::from(&p.dir),
        dtype: spec.dtype,
        channels: spec.channels,
        counter_dtype: (spec.aggregation == wsi_mask_core::Aggregation::Mean).then_some(spec.counter_dtype),
        region: partial_region,
        tiles_applied: to_u64("tilesApplied", p.tiles_applied)?,
        tiles_skipped: to_u64("tilesSkipped", p.tiles_skipped)?,
      })
    })
    .collect()
}

fn merge_all(builder: &mut AnyMaskBuilder, partials: &[OpenPartial]) -> std::result::Result<(), Error> {
  for p in partials {
    p.merge_into(builder)?;
  }
  Ok(())
}

/// Locks both builders in address order (no two merges can deadlock) and merges `source` into `target`.
fn merge_shared(target: &Shared, source: &Shared) -> std::result::Result<(), Error> {
  let target_first = (target as *const Shared) < (source as *const Shared);
  let (mut a, b) = if target_first {
    let a = target.lock();
    (a, source.lock())
  } else {
    let b = source.lock();
    (target.lock(), b)
  };
  match (a.as_mut(), b.as_ref()) {
    (Some(t), Some(s)) => t.merge_from(s),
    (None, _) => Err(Error::state(codes::CLEANED_UP, "mergeFrom after cleanup(): this builder was cleaned up")),
    (_, None) => Err(Error::state(codes::CLEANED_UP, "mergeFrom: the other builder was cleaned up")),
  }
}

#[napi]
impl NativeMaskBuilder {
  /// The window of the mask this builder holds.
  #[napi(getter, catch_unwind)]
  pub fn region(&self) -> NativeRegion {
    match &self.spec.region {
      Some(r) => NativeRegion::from(r),
      None => NativeRegion::from(&wsi_mask_core::MaskRegion::whole(&self.spec.geometry)),
    }
  }

  /// Tiles applied so far and tiles skipped for lying wholly outside the region.
  #[napi(catch_unwind)]
  pub fn tile_counts(&self) -> NativeTileCounts {
    self.shared.sequencer.wait_idle();
    let (applied, skipped) = self.shared.with(|b| Ok(b.tile_counts())).unwrap_or((0, 0));
    NativeTileCounts { applied: applied as f64, skipped: skipped as f64 }
  }

  /// Writes the un-normalized arrays into the existing directory `dir`
  /// (after pending updates); returns the tile counts of the state written.
  #[napi(catch_unwind)]
  pub fn write_partial_arrays(&self, env: Env, dir: String) -> Result<NativeTileCounts> {
    self.check_building("savePartial").or_throw(&env)?;
    self.shared.sequencer.wait_idle();
    let (applied, skipped) = save(&self.shared, &dir).or_throw(&env)?;
    Ok(NativeTileCounts { applied: applied as f64, skipped: skipped as f64 })
  }

  /// `writePartialArrays` on the thread pool, after pending updates.
  #[napi(catch_unwind, ts_return_type = "Promise<NativeTileCounts>")]
  pub fn write_partial_arrays_async(&self, env: Env, dir: String) -> Result<AsyncTask<JobTask>> {
    self.check_building("savePartialAsync").or_throw(&env)?;
    let shared = Arc::clone(&self.shared);
    let ticket = self.shared.sequencer.ticket();
    Ok(AsyncTask::new(JobTask::new(vec![ticket], move || save(&shared, &dir))))
  }

  /// Checks every partial's arrays against this builder, then merges them
  /// all (nothing is merged if any is refused).
  #[napi(catch_unwind)]
  pub fn merge_partials(&self, env: Env, partials: Vec<NativePartial>) -> Result<()> {
    self.check_building("loadPartials").or_throw(&env)?;
    let region = self.region_held();
    let opened = open_all(&self.spec, &region, &partials).or_throw(&env)?;
    let ticket = self.shared.sequencer.ticket();
    let shared = &self.shared;
    in_turns(vec![ticket], || shared.with(|b| merge_all(b, &opened))).or_throw(&env)
  }

  /// `mergePartials` on the thread pool.
  #[napi(catch_unwind, ts_return_type = "Promise<NativeTileCounts>")]
  pub fn merge_partials_async(&self, env: Env, partials: Vec<NativePartial>) -> Result<AsyncTask<JobTask>> {
    self.check_building("loadPartialsAsync").or_throw(&env)?;
    let shared = Arc::clone(&self.shared);
    let spec = self.spec.clone();
    let region = self.region_held();
    let ticket = self.shared.sequencer.ticket();
    Ok(AsyncTask::new(JobTask::new(vec![ticket], move || {
      let opened = open_all(&spec, &region, &partials)?;
      shared.with(|b| merge_all(b, &opened))?;
      counts(&shared)
    })))
  }

  /// Merges `other`'s state (same options, region inside this one's) after
  /// the pending updates of both; `other` is unchanged.
  #[napi(catch_unwind)]
  pub fn merge_from(&self, env: Env, other: &NativeMaskBuilder) -> Result<()> {
    self.check_merge(other).or_throw(&env)?;
    let tickets = vec![self.shared.sequencer.ticket(), other.shared.sequencer.ticket()];
    let (target, source) = (&self.shared, &other.shared);
    in_turns(tickets, || merge_shared(target, source)).or_throw(&env)
  }

  /// `mergeFrom` on the thread pool.
  #[napi(catch_unwind, ts_return_type = "Promise<NativeTileCounts>")]
  pub fn merge_from_async(&self, env: Env, other: &NativeMaskBuilder) -> Result<AsyncTask<JobTask>> {
    self.check_merge(other).or_throw(&env)?;
    let tickets = vec![self.shared.sequencer.ticket(), other.shared.sequencer.ticket()];
    let (target, source) = (Arc::clone(&self.shared), Arc::clone(&other.shared));
    Ok(AsyncTask::new(JobTask::new(tickets, move || {
      merge_shared(&target, &source)?;
      counts(&target)
    })))
  }
}

impl NativeMaskBuilder {
  fn region_held(&self) -> wsi_mask_core::MaskRegion {
    self.spec.region.clone().unwrap_or_else(|| wsi_mask_core::MaskRegion::whole(&self.spec.geometry))
  }

  fn check_merge(&self, other: &NativeMaskBuilder) -> std::result::Result<(), Error> {
    self.check_building("mergeFrom")?;
    other.check_usable("mergeFrom (the other builder)")?;
    if Arc::ptr_eq(&self.shared, &other.shared) {
      return Err(Error::type_error(codes::PARTIAL_MISMATCH, "mergeFrom: a builder cannot merge itself"));
    }
    Ok(())
  }
}
