//! `MaskBuilder`: the builder as callers use it. It owns the one lifecycle
//! (building, finalized, cleaned up) and runs every update, on any thread, in
//! call order.

use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::background::in_turn;
use crate::batch_data::{BatchData, Floats, OwnedBatchData};
use crate::config::{BuilderConfig, BuilderSpec};
use crate::dispatch::AnyAccumulator;
use crate::element::Dtype;
use crate::error::{codes, Error, Result};
use crate::geometry::Geometry;
use crate::memmap::CreatedFile;
use crate::plan::{BatchPlan, Coords, EdgeClipping};
use crate::raw_array::RawArray;
use crate::reduce::{check_finalize_request, FinalizeRequest};
use crate::region::RegionData;
use crate::sequencer::{Sequencer, Ticket};

/// Where a builder is in its life. Calls that need another state are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
  /// Accepting batches.
  Building,
  /// `finalize` was called: the mask is (or, once pending work has run, will
  /// be) final; batches are refused.
  Finalized,
  /// The storage was released; only `cleanup` (a no-op) is accepted.
  CleanedUp,
}

/// The mask of either float type as an ndarray view `[C, ...maskExtents]`.
pub type MaskView<'a> = Floats<ndarray::ArrayViewD<'a, f32>, ndarray::ArrayViewD<'a, f64>>;

/// Batch data an update reads when its turn comes.
pub trait BatchSource: Send {
  fn batch(&self) -> BatchData<'_>;
  /// Memory the builder may reuse for its next copy, once the update ran.
  fn take_spare(&mut self) -> Option<OwnedBatchData> {
    None
  }
}

impl BatchSource for OwnedBatchData {
  fn batch(&self) -> BatchData<'_> {
    self.view()
  }

  fn take_spare(&mut self) -> Option<OwnedBatchData> {
    Some(std::mem::replace(self, crate::batch_data::Floats::F32(Vec::new())))
  }
}

/// Copies of applied batches kept for reuse: recycled memory copies without
/// page faults.
const SPARE_BATCHES: usize = 2;

pub(crate) struct Shared {
  pub(crate) spec: BuilderSpec,
  /// Changed only by the caller's thread, in call order; never held while a
  /// kernel runs.
  state: Mutex<State>,
  pub(crate) accumulator: Mutex<Option<AnyAccumulator>>,
  pub(crate) sequencer: Arc<Sequencer>,
  spares: Mutex<Vec<OwnedBatchData>>,
  /// Origin lists of applied plans, so planning allocates nothing per call.
  spare_origins: Mutex<Vec<Vec<usize>>>,
  /// Updates issued with `apply_later` that may not have started, in call
  /// order: a synchronous call runs them itself instead of waiting for a
  /// worker thread that a saturated pool may never free.
  queued: Mutex<Vec<Weak<dyn Claimable>>>,
}

/// An update that whichever thread gets to it first runs.
trait Claimable: Send + Sync {
  /// Runs the update on this thread unless another has started it.
  fn run_here(&self, builder: &MaskBuilder);
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
  m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A mask under construction; a cheap handle (clones share the builder).
///
/// ```
/// use wsi_mask_core::{Aggregation, BatchData, BuilderConfig, Coords, CounterDtype, Dtype, EdgeClipping, Floats};
/// use wsi_mask_core::{Geometry, MaskBuilder, StorageConfig, Weights};
///
/// // A 4 x 4 source covered by 2 x 2 tiles every 2 pixels, one value per tile.
/// let config = BuilderConfig {
///   geometry: Geometry::new(&[4, 4], &[2, 2], &[1, 1], &[2, 2]).unwrap(),
///   channels: 1,
///   aggregation: Aggregation::Mean,
///   counter_dtype: CounterDtype::Uint16,
///   storage: StorageConfig::InMemory { max_bytes: None },
///   weights: Weights::Uniform,
///   region: None,
/// };
/// let builder = MaskBuilder::new(Dtype::Float32, config).unwrap();
/// let tiles = [1.0f32, 2.0, 3.0, 4.0];
/// let coords = [0i32, 0, 0, 2, 2, 0, 2, 2];
/// let clipping = EdgeClipping::none(2);
/// builder.update_batch(BatchData::F32(&tiles), &[4, 1], Coords::I32(&coords), &[4, 2], &clipping).unwrap();
/// builder.finalize().unwrap();
/// // The mask as an ndarray view over the storage: [channels, y, x].
/// let corners = builder
///   .with_mask(|mask| match mask {
///     Floats::F32(m) => [m[[0, 0, 0]], m[[0, 0, 1]], m[[0, 1, 0]], m[[0, 1, 1]]],
///     Floats::F64(_) => unreachable!("built as float32"),
///   })
///   .unwrap();
/// assert_eq!(corners, [1.0, 2.0, 3.0, 4.0]);
/// let window = builder.read_region(false, 0, &[0, 0], &[2, 2], usize::MAX).unwrap();
/// assert_eq!(window.into_f64(), vec![1.0, 2.0, 3.0, 4.0]);
/// builder.cleanup().unwrap();
/// ```
#[derive(Clone)]
pub struct MaskBuilder {
  pub(crate) shared: Arc<Shared>,
}

impl MaskBuilder {
  /// Allocates the storage (in memory or as memory-mapped NPY files).
  pub fn new(dtype: Dtype, config: BuilderConfig) -> Result<Self> {
    let accumulator = AnyAccumulator::new(dtype, config)?;
    Ok(Self {
      shared: Arc::new(Shared {
        spec: accumulator.spec(),
        state: Mutex::new(State::Building),
        accumulator: Mutex::new(Some(accumulator)),
        sequencer: Sequencer::new(),
        spares: Mutex::new(Vec::new()),
        spare_origins: Mutex::new(Vec::new()),
        queued: Mutex::new(Vec::new()),
      }),
    })
  }

  /// What planning needs: geometry, channels and dtype.
  pub fn spec(&self) -> &BuilderSpec {
    &self.shared.spec
  }

  pub fn geometry(&self) -> &Geometry {
    &self.shared.spec.geometry
  }

  /// `[C, ...extent]` of the region held (`[C, ...maskExtents]` for the whole mask).
  pub fn mask_shape(&self) -> Vec<u64> {
    let spec = &self.shared.spec;
    std::iter::once(spec.channels as u64).chain(self.region().extent).collect()
  }

  pub fn state(&self) -> State {
    *lock(&self.shared.state)
  }

  /// Updates issued and not yet applied (or finalizations not yet run).
  pub fn pending(&self) -> u64 {
    self.shared.sequencer.pending()
  }

  /// Refuses `call` unless the builder is usable (not cleaned up) and, with
  /// `building`, still accepts batches.
  pub fn check(&self, call: &str, building: bool) -> Result<()> {
    match self.state() {
      State::CleanedUp => Err(Error::state(
        codes::CLEANED_UP,
        format!("{call} after cleanup(): the mask builder was cleaned up; create a new one"),
      )),
      State::Finalized if building => {
        Err(Error::state(codes::FINALIZED, format!("{call} after finalize(): the mask is already finalized")))
      }
      _ => Ok(()),
    }
  }

  /// Validates a batch and places its tiles; nothing is written.
  pub fn plan(
    &self,
    data: &BatchData<'_>,
    batch_shape: &[usize],
    coords: Coords<'_>,
    coords_shape: &[usize],
    clipping: &EdgeClipping,
  ) -> Result<BatchPlan> {
    self.check("updateBatch", true)?;
    let origins = lock(&self.shared.spare_origins).pop().unwrap_or_default();
    self.shared.spec.plan_into(data, batch_shape, coords, coords_shape, clipping, origins)
  }

  /// Gives an applied plan's memory back for the next one.
  pub fn recycle_plan(&self, plan: BatchPlan) {
    let mut spares = lock(&self.shared.spare_origins);
    if spares.len() < SPARE_BATCHES {
      spares.push(plan.origins);
    }
  }

  /// Writes a planned batch now, after every update issued before it.
  pub fn apply(&self, plan: &BatchPlan, data: BatchData<'_>) -> Result<()> {
    self.run_queued();
    let ticket = self.shared.sequencer.ticket();
    ticket.wait_turn();
    self.with(|a| a.apply(plan, data))
  }

  /// Validates and applies a batch in one call.
  pub fn update_batch(
    &self,
    data: BatchData<'_>,
    batch_shape: &[usize],
    coords: Coords<'_>,
    coords_shape: &[usize],
    clipping: &EdgeClipping,
  ) -> Result<()> {
    let plan = self.plan(&data, batch_shape, coords, coords_shape, clipping)?;
    let applied = self.apply(&plan, data);
    self.recycle_plan(plan);
    applied
  }

  /// A copy of `data` owned by the builder, in recycled memory if any: for
  /// updates that run after the caller's buffer may be gone.
  pub fn copy_batch(&self, data: &BatchData<'_>) -> OwnedBatchData {
    let spare = lock(&self.shared.spares).pop();
    OwnedBatchData::copy_of(data, spare)
  }

  /// Takes the planned batch's place in the call order now; it is written
  /// when [`PendingUpdate::run`] gets its turn (on any thread).
  pub fn apply_later<S: BatchSource + 'static>(&self, plan: BatchPlan, data: S) -> PendingUpdate<S> {
    let ticket = self.shared.sequencer.ticket();
    let slot = Arc::new(Mutex::new(UpdateSlot { ticket: Some(ticket), plan, data, result: None }));
    self.queue(Arc::clone(&slot) as Arc<dyn Claimable>);
    PendingUpdate { builder: self.clone(), slot }
  }

  fn queue(&self, work: Arc<dyn Claimable>) {
    let mut queued = lock(&self.shared.queued);
    queued.retain(|w| w.strong_count() > 0);
    queued.push(Arc::downgrade(&work));
  }

  /// Runs, on this thread and in call order, every queued update and
  /// finalization no worker has started, so a synchronous call never waits
  /// on the thread pool (which other work may hold indefinitely).
  fn run_queued(&self) {
    let queued: Vec<Arc<dyn Claimable>> = lock(&self.shared.queued).drain(..).filter_map(|w| w.upgrade()).collect();
    for work in queued {
      work.run_here(self);
    }
  }

  /// Waits for pending updates, then divides (mean) or turns pixels no tile
  /// reached into 0 (max, min). Calling it again changes nothing.
  pub fn finalize(&self) -> Result<()> {
    self.finalize_with(&FinalizeRequest::default())
  }

  /// `finalize`, then the requested reduction (argmax builders always
  /// reduce on the first call). A refused request changes nothing, not even
  /// the state; later calls may ask for another reduction of the same mask.
  pub fn finalize_with(&self, request: &FinalizeRequest) -> Result<()> {
    self.check("finalize", false)?;
    check_finalize_request(self.shared.spec.aggregation, self.shared.spec.channels, request)?;
    self.run_queued();
    self.shared.sequencer.wait_idle();
    let first = std::mem::replace(&mut *lock(&self.shared.state), State::Finalized) == State::Building;
    finalize_in(self, request, first)
  }

  /// `finalize_with` in call order, run by [`PendingFinalize::run`] (on any
  /// thread). The builder refuses batches from now on.
  pub fn finalize_later(&self, request: FinalizeRequest) -> Result<PendingFinalize> {
    self.check("finalizeAsync", false)?;
    check_finalize_request(self.shared.spec.aggregation, self.shared.spec.channels, &request)?;
    let ticket = self.shared.sequencer.ticket();
    let first = {
      let mut state = lock(&self.shared.state);
      std::mem::replace(&mut *state, State::Finalized) == State::Building
    };
    let slot = Arc::new(Mutex::new(FinalizeSlot { ticket: Some(ticket), first, request, result: None }));
    self.queue(Arc::clone(&slot) as Arc<dyn Claimable>);
    Ok(PendingFinalize { builder: self.clone(), slot })
  }

  /// Waits for pending updates, writes file-backed storage through and
  /// releases it. Calling it again does nothing.
  pub fn cleanup(&self) -> Result<()> {
    self.release(true)
  }

  /// [`Self::cleanup`] for a build being abandoned (its files are about to
  /// be deleted): a persisted file not created yet is not written first.
  pub fn abandon(&self) -> Result<()> {
    self.release(false)
  }

  fn release(&self, write_unfinished: bool) -> Result<()> {
    if self.state() == State::CleanedUp {
      return Ok(());
    }
    self.run_queued();
    self.shared.sequencer.wait_idle();
    *lock(&self.shared.state) = State::CleanedUp;
    let mut accumulator = lock(&self.shared.accumulator).take();
    // Files that persist get written (a mean's counter file may not exist
    // yet) and written through before they are unmapped.
    let flushed = accumulator.as_mut().map_or(Ok(()), |a| {
      if write_unfinished {
        a.prepare_release()?;
      }
      a.flush()
    });
    drop(accumulator);
    lock(&self.shared.spares).clear();
    flushed
  }

  /// Writes the files a persisted memmap builder released unfinished keeps
  /// beside its sums (a uniform mean's counter file, which otherwise is
  /// written at finalize), so they can be listed before [`Self::cleanup`].
  pub fn prepare_release(&self) -> Result<()> {
    if self.state() == State::CleanedUp {
      return Ok(());
    }
    self.with(|a| a.prepare_release())
  }

  /// Copies a window of one channel of the mask (or of the counter).
  pub fn read_region(
    &self,
    counter: bool,
    channel: usize,
    start: &[u64],
    extent: &[u64],
    max_bytes: usize,
  ) -> Result<RegionData> {
    self.check("readRegion", false)?;
    self.with(|a| a.read_region(counter, channel, start, extent, max_bytes))
  }

  /// Runs `f` on the mask `[C, ...maskExtents]` as an ndarray view over the
  /// storage itself (for memmap, the mapped file), after pending updates.
  pub fn with_mask<R>(&self, f: impl FnOnce(MaskView<'_>) -> R) -> Result<R> {
    self.check("storage", false)?;
    self.shared.sequencer.wait_idle();
    self.with(|a| {
      Ok(f(match a {
        AnyAccumulator::F32(b) => Floats::F32(b.mask_view()),
        AnyAccumulator::F64(b) => Floats::F64(b.mask_view()),
      }))
    })
  }

  /// Raw view of the accumulator (or of one channel plane).
  pub fn mask_raw(&self, channel: Option<usize>) -> Result<RawArray> {
    self.check("storage", false)?;
    self.with(|a| a.mask_raw(channel))
  }

  /// Bytes of the per-pixel overlap counter held now (0 for max and min, and
  /// while a uniform mean keeps tile rectangles instead).
  pub fn counter_bytes(&self) -> usize {
    lock(&self.shared.accumulator).as_ref().map_or(0, |a| a.counter_bytes())
  }

  /// Raw view of the overlap counter; `None` for max and min. A uniform
  /// mean's counter is made from its tile rectangles on first use.
  pub fn counter_raw(&self) -> Result<Option<RawArray>> {
    self.check("overlapCounter", false)?;
    self.with(|a| a.counter_raw())
  }

  /// Raw view of the weight sum (weighted mean and sum) or the variances
  /// (variance); `None` otherwise.
  pub fn aux_raw(&self) -> Result<Option<RawArray>> {
    self.check("weightSum", false)?;
    self.with(|a| Ok(a.aux_raw()))
  }

  /// Raw views of the latest reduction: `(labels or bytes, confidence)`.
  pub fn reduced_raw(&self) -> Result<Option<(RawArray, Option<RawArray>)>> {
    self.check("finalize", false)?;
    self.with(|a| Ok(a.reduced_raw()))
  }

  /// Files backing memory-mapped storage (mask first); empty in memory and
  /// after cleanup.
  pub fn files(&self) -> Vec<CreatedFile> {
    lock(&self.shared.accumulator).as_ref().map_or_else(Vec::new, |a| a.files().to_vec())
  }

  pub(crate) fn with<T>(&self, f: impl FnOnce(&mut AnyAccumulator) -> Result<T>) -> Result<T> {
    match lock(&self.shared.accumulator).as_mut() {
      Some(accumulator) => f(accumulator),
      None => Err(Error::state(codes::CLEANED_UP, "the mask builder was cleaned up; create a new one")),
    }
  }

  fn recycle(&self, data: OwnedBatchData) {
    let mut spares = lock(&self.shared.spares);
    if spares.len() < SPARE_BATCHES {
      spares.push(data);
    }
  }
}

/// An update that has its place in the call order and waits to be written.
/// Dropped without running, it gives up its place.
pub struct PendingUpdate<S> {
  builder: MaskBuilder,
  slot: Arc<Mutex<UpdateSlot<S>>>,
}

struct UpdateSlot<S> {
  /// Taken by whichever thread runs the update.
  ticket: Option<Ticket>,
  plan: BatchPlan,
  data: S,
  result: Option<Result<()>>,
}

impl<S: BatchSource> UpdateSlot<S> {
  fn run(&mut self, builder: &MaskBuilder) {
    let Some(ticket) = self.ticket.take() else { return };
    let (plan, data) = (&mut self.plan, &mut self.data);
    let result = in_turn(ticket, || {
      let applied = builder.with(|a| a.apply(plan, data.batch()));
      builder.recycle_plan(std::mem::replace(plan, BatchPlan::empty()));
      // Recycled within the turn, so cleanup (which waits for every turn) finds it.
      if let Some(spare) = data.take_spare() {
        builder.recycle(spare);
      }
      applied
    });
    self.result = Some(result);
  }
}

impl<S: BatchSource> Claimable for Mutex<UpdateSlot<S>> {
  fn run_here(&self, builder: &MaskBuilder) {
    lock(self).run(builder);
  }
}

impl<S: BatchSource> PendingUpdate<S> {
  /// Waits for its turn and writes the batch on the background pool (unless
  /// a synchronous call on the builder already did): blocks, so call it from
  /// a worker thread. Returns the update's result; later calls return Ok.
  pub fn run(&mut self) -> Result<()> {
    let mut slot = lock(&self.slot);
    slot.run(&self.builder);
    slot.result.take().unwrap_or(Ok(()))
  }

  /// The batch source, e.g. to release it on the thread that owns it.
  pub fn with_data<R>(&mut self, f: impl FnOnce(&mut S) -> R) -> R {
    f(&mut lock(&self.slot).data)
  }
}

/// Finalizes the accumulator; a first finalize refused before the mask
/// changed (e.g. no room for the memmap counter file) leaves the builder
/// building, so it can be retried.
fn finalize_in(builder: &MaskBuilder, request: &FinalizeRequest, first: bool) -> Result<()> {
  let result = builder.with(|a| a.finalize_with(request, first));
  if first && result.is_err() && builder.with(|a| Ok(!a.is_finalized())).unwrap_or(false) {
    let mut state = lock(&builder.shared.state);
    if *state == State::Finalized {
      *state = State::Building;
    }
  }
  result
}

/// A finalization that has its place in the call order.
pub struct PendingFinalize {
  builder: MaskBuilder,
  slot: Arc<Mutex<FinalizeSlot>>,
}

struct FinalizeSlot {
  ticket: Option<Ticket>,
  /// False when an earlier call already finalized: this one only reduces
  /// (if asked to) or waits.
  first: bool,
  request: FinalizeRequest,
  result: Option<Result<()>>,
}

impl FinalizeSlot {
  fn run(&mut self, builder: &MaskBuilder) {
    let Some(ticket) = self.ticket.take() else { return };
    let (first, request) = (self.first, &self.request);
    self.result = Some(in_turn(ticket, || finalize_in(builder, request, first)));
  }
}

impl Claimable for Mutex<FinalizeSlot> {
  fn run_here(&self, builder: &MaskBuilder) {
    lock(self).run(builder);
  }
}

impl PendingFinalize {
  /// Waits for every earlier update, then finalizes (unless a synchronous
  /// call already did). Blocks: call it from a worker thread.
  pub fn run(&mut self) -> Result<()> {
    let mut slot = lock(&self.slot);
    slot.run(&self.builder);
    slot.result.take().unwrap_or(Ok(()))
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::config::{Aggregation, StorageConfig};
  use crate::element::CounterDtype;
  use crate::weights::Weights;

  fn builder() -> MaskBuilder {
    let config = BuilderConfig {
      geometry: Geometry::new(&[16, 16], &[8, 8], &[8, 8], &[4, 4]).unwrap(),
      channels: 1,
      aggregation: Aggregation::Mean,
      counter_dtype: CounterDtype::Uint16,
      storage: StorageConfig::InMemory { max_bytes: None },
      weights: Weights::Uniform,
      region: None,
    };
    MaskBuilder::new(Dtype::Float32, config).unwrap()
  }

  fn batch(b: &MaskBuilder, value: f32) -> Result<()> {
    let data = vec![value; 64];
    b.update_batch(BatchData::F32(&data), &[1, 1, 8, 8], Coords::I32(&[0, 0]), &[1, 2], &EdgeClipping::none(2))
  }

  fn first(b: &MaskBuilder) -> f64 {
    b.read_region(false, 0, &[0, 0], &[1, 1], 64).unwrap().into_f64()[0]
  }

  #[test]
  fn finalize_twice_divides_once_and_refuses_batches() {
    let b = builder();
    batch(&b, 2.0).unwrap();
    batch(&b, 4.0).unwrap();
    b.finalize().unwrap();
    b.finalize().unwrap();
    b.finalize_later(FinalizeRequest::default()).unwrap().run().unwrap();
    assert_eq!(first(&b), 3.0);
    assert_eq!(b.state(), State::Finalized);
    assert_eq!(batch(&b, 1.0).unwrap_err().code, codes::FINALIZED);
  }

  #[test]
  fn later_work_runs_in_call_order_across_threads() {
    let b = builder();
    let data = OwnedBatchData::copy_of(&BatchData::F32(&[6.0; 64]), None);
    let plan = b.plan(&data.view(), &[1, 1, 8, 8], Coords::I32(&[0, 0]), &[1, 2], &EdgeClipping::none(2)).unwrap();
    let mut update = b.apply_later(plan, data);
    let mut finalize = b.finalize_later(FinalizeRequest::default()).unwrap();
    // Refused at once, though nothing has run yet.
    assert_eq!(batch(&b, 1.0).unwrap_err().code, codes::FINALIZED);
    assert_eq!(b.pending(), 2);
    let finalizer = std::thread::spawn(move || finalize.run());
    std::thread::sleep(std::time::Duration::from_millis(20));
    update.run().unwrap();
    finalizer.join().unwrap().unwrap();
    assert_eq!(b.pending(), 0);
    assert_eq!(first(&b), 6.0);
  }

  #[test]
  fn cleanup_waits_releases_and_refuses_everything_after() {
    let b = builder();
    let data = OwnedBatchData::copy_of(&BatchData::F32(&[1.0; 64]), None);
    let plan = b.plan(&data.view(), &[1, 1, 8, 8], Coords::I32(&[0, 0]), &[1, 2], &EdgeClipping::none(2)).unwrap();
    let mut update = b.apply_later(plan, data);
    let worker = std::thread::spawn(move || {
      std::thread::sleep(std::time::Duration::from_millis(20));
      update.run()
    });
    b.cleanup().unwrap();
    // Cleanup returned only after the update ran.
    worker.join().unwrap().unwrap();
    assert_eq!(b.pending(), 0);
    b.cleanup().unwrap();
    assert_eq!(b.state(), State::CleanedUp);
    for e in [batch(&b, 1.0).unwrap_err(), b.finalize().unwrap_err(), b.mask_raw(None).err().unwrap()] {
      assert_eq!(e.code, codes::CLEANED_UP);
      assert!(e.message.contains("after cleanup()"), "{}", e.message);
    }
    assert!(b.files().is_empty());
  }

  #[test]
  fn a_dropped_pending_update_gives_up_its_turn() {
    let b = builder();
    let data = OwnedBatchData::copy_of(&BatchData::F32(&[1.0; 64]), None);
    let plan = b.plan(&data.view(), &[1, 1, 8, 8], Coords::I32(&[0, 0]), &[1, 2], &EdgeClipping::none(2)).unwrap();
    drop(b.apply_later(plan, data));
    batch(&b, 5.0).unwrap();
    b.finalize().unwrap();
    assert_eq!(first(&b), 5.0);
  }
}
