//! Partial states and merging on the native backend: `savePartial`,
//! `loadPartials` (the merge of saved partials) and `mergeFrom`. Conversion
//! and error mapping only; the core's `MaskBuilder` orders the work and
//! `wsi_mask_core::merge` does the arithmetic.

use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Result};
use napi_derive::napi;
use wsi_mask_core::shards::PartialRef;
use wsi_mask_core::Error;

use crate::errors::OrThrow;
use crate::mask_builder::NativeMaskBuilder;
use crate::options::{NativePartial, NativeRegion};
use crate::outputs::NativeTileCounts;
use crate::update_task::JobTask;

fn refs(partials: &[NativePartial]) -> std::result::Result<Vec<PartialRef>, Error> {
  partials.iter().map(PartialRef::try_from).collect()
}

#[napi]
impl NativeMaskBuilder {
  /// The window of the mask this builder holds.
  #[napi(getter, catch_unwind)]
  pub fn region(&self) -> NativeRegion {
    NativeRegion::from(&self.inner.region())
  }

  /// Tiles applied so far and tiles skipped for lying wholly outside the
  /// region, after pending updates.
  #[napi(catch_unwind)]
  pub fn tile_counts(&self, env: Env) -> Result<NativeTileCounts> {
    self.inner.tile_counts().map(NativeTileCounts::from).or_throw(&env)
  }

  /// Writes the un-normalized arrays into the existing directory `dir`
  /// after pending updates; returns the tile counts of the state written.
  #[napi(catch_unwind)]
  pub fn write_partial_arrays(&self, env: Env, dir: String) -> Result<NativeTileCounts> {
    self.inner.save_partial_arrays(dir).map(NativeTileCounts::from).or_throw(&env)
  }

  /// `writePartialArrays` on the thread pool, in call order.
  #[napi(catch_unwind, ts_return_type = "Promise<NativeTileCounts>")]
  pub fn write_partial_arrays_async(&self, env: Env, dir: String) -> Result<AsyncTask<JobTask>> {
    Ok(AsyncTask::new(JobTask::new(self.inner.save_partial_arrays_later(dir).or_throw(&env)?)))
  }

  /// Checks every partial's arrays against this builder, then merges them
  /// all (nothing is merged if any is refused).
  #[napi(catch_unwind)]
  pub fn merge_partials(&self, env: Env, partials: Vec<NativePartial>) -> Result<NativeTileCounts> {
    let partials = refs(&partials).or_throw(&env)?;
    self.inner.merge_partials(&partials).map(NativeTileCounts::from).or_throw(&env)
  }

  /// `mergePartials` on the thread pool, in call order.
  #[napi(catch_unwind, ts_return_type = "Promise<NativeTileCounts>")]
  pub fn merge_partials_async(&self, env: Env, partials: Vec<NativePartial>) -> Result<AsyncTask<JobTask>> {
    let partials = refs(&partials).or_throw(&env)?;
    Ok(AsyncTask::new(JobTask::new(self.inner.merge_partials_later(&partials).or_throw(&env)?)))
  }

  /// Merges `other`'s state (same options, region inside this one's) after
  /// the pending updates of both; `other` is unchanged.
  #[napi(catch_unwind)]
  pub fn merge_from(&self, env: Env, other: &NativeMaskBuilder) -> Result<NativeTileCounts> {
    self.inner.merge_from(&other.inner).map(NativeTileCounts::from).or_throw(&env)
  }

  /// `mergeFrom` on the thread pool, in the call order of both builders.
  #[napi(catch_unwind, ts_return_type = "Promise<NativeTileCounts>")]
  pub fn merge_from_async(&self, env: Env, other: &NativeMaskBuilder) -> Result<AsyncTask<JobTask>> {
    Ok(AsyncTask::new(JobTask::new(self.inner.merge_from_later(&other.inner).or_throw(&env)?)))
  }
}
