//! The accumulator: storage plus an aggregation, dispatched to the row
//! kernels. It has no lifecycle of its own: `MaskBuilder` (mask_builder.rs)
//! orders its calls and calls `finalize` once.

use crate::allocation::{allocate, allocate_counter, Storage};
use crate::capacity::check_counter_capacity;
use crate::config::{Aggregation, BuilderConfig, StorageConfig};
use crate::counter::{Counter, CounterSlice};
use crate::element::{CounterDtype, CounterElement, Element};
use crate::error::{codes, list, Error, Result};
use crate::geometry::Geometry;
use crate::kernels::{self, AccumulatorSlices, Maximum, Minimum, Sum, Update};
use crate::mask_region::{storage_geometry, MaskRegion};
use crate::memmap::{Backing, CreatedFile};
use crate::merge::{self, Placement};
use crate::npy::NpyVersion;
use crate::plan::BatchPlan;
#[cfg(test)]
use crate::plan::{plan_batch, Coords, EdgeClipping};
use crate::rects::TileRects;
use crate::reduce::{self, FinalizeRequest, Output, Reduced, Reduction};
use crate::storage::Array;
use crate::weights;
use ndarray::{ArrayViewD, ArrayViewMutD, IxDyn};

pub use crate::limits::MAX_CHANNELS;

pub struct Accumulator<T: Element> {
  config: BuilderConfig,
  /// The region held (the whole mask unless `config.region` says otherwise).
  region: MaskRegion,
  /// The geometry with the region's extents as mask extents: what the kernels walk.
  storage_geometry: Geometry,
  plane_len: usize,
  mask: Array<T>,
  counter: Option<Counter>,
  /// The uniform mean's overlap counts as the rectangles of the tiles
  /// applied, while no per-pixel counter exists (`counter` is `None`).
  rects: Option<TileRects>,
  /// The weight sum plane (weighted), or the sums of squared deviations per
  /// channel (variance).
  aux: Option<Array<T>>,
  /// The weight map over a whole footprint, and its clipped copy for the
  /// clipping of the latest batch (clip start, footprint, map).
  weight_map: Option<Vec<T>>,
  clipped_weights: Option<(Vec<usize>, Vec<usize>, Vec<T>)>,
  /// The latest reduction computed by finalize.
  reduced: Option<Reduced<T>>,
  /// Tiles applied so far: while below the counter's maximum no pixel can
  /// overflow, and the per-batch capacity check is skipped.
  tiles_applied: u64,
  /// Tiles given to this builder that lie wholly outside its region.
  tiles_skipped: u64,
  /// Whether the accumulator holds the final mask.
  finalized: bool,
  files: Vec<CreatedFile>,
}

impl<T: Element> Accumulator<T> {
  pub fn new(config: BuilderConfig) -> Result<Self> {
    if config.channels == 0 || config.channels > MAX_CHANNELS {
      return Err(Error::range(
        codes::OPTION_RANGE,
        format!("nChannels must be an integer from 1 to {MAX_CHANNELS}; received {}", config.channels),
      ));
    }
    config.check_aggregation()?;
    let upscale: Vec<usize> = config.geometry.upscale_factor.iter().map(|&u| u as usize).collect();
    let output_tile: Vec<usize> = config.geometry.output_tile_extent.iter().map(|&o| o as usize).collect();
    let weight_map = weights::footprint_weights(&config.weights, &output_tile, &upscale)?
      .map(|map| map.into_iter().map(T::from_f64).collect::<Vec<T>>());
    let region = config.region_held();
    // The mean (uniform or weighted: a weighted mean divides by its weight
    // sum, so it needs counts only as a result) keeps tile rectangles
    // instead of a counter until the counts are needed; Welford (variance)
    // and argmax read the live counter.
    let rects = (config.aggregation == Aggregation::Mean).then(|| TileRects::new(&region.extent)).flatten();
    let Storage { plane_len, mut mask, counter, aux, files } = allocate::<T>(&config, rects.is_some())?;
    match config.aggregation {
      // Start beyond every value so negative maxima (positive minima)
      // survive; pixels no tile reaches become 0 at finalize.
      Aggregation::Max => kernels::fill(mask.as_mut_slice(), T::NEG_INFINITY),
      Aggregation::Min => kernels::fill(mask.as_mut_slice(), T::INFINITY),
      _ => {}
    }
    let storage_geometry = storage_geometry(&config.geometry, &region);
    Ok(Self {
      config,
      region,
      storage_geometry,
      plane_len,
      mask,
      counter,
      rects,
      aux,
      weight_map,
      clipped_weights: None,
      reduced: None,
      tiles_applied: 0,
      tiles_skipped: 0,
      finalized: false,
      files,
    })
  }

  pub fn geometry(&self) -> &Geometry {
    &self.config.geometry
  }

  pub fn config(&self) -> &BuilderConfig {
    &self.config
  }

  pub fn channels(&self) -> usize {
    self.config.channels
  }

  /// `[C, ...extent]` of the region held (the mask extents for the whole mask).
  pub fn mask_shape(&self) -> Vec<u64> {
    std::iter::once(self.config.channels as u64).chain(self.region.extent.iter().copied()).collect()
  }

  /// The window of the mask held.
  pub fn region(&self) -> &MaskRegion {
    &self.region
  }

  /// Tiles applied (at least partly inside the region) and tiles skipped (wholly outside).
  pub fn tile_counts(&self) -> (u64, u64) {
    (self.tiles_applied, self.tiles_skipped)
  }

  /// `[C, ...extent held]` as usize (the storage fits the address space).
  fn view_shape(&self) -> Vec<usize> {
    std::iter::once(self.config.channels).chain(self.region.extent.iter().map(|&e| e as usize)).collect()
  }

  /// The accumulator `[C, ...extent held]` (the mask extents unless a region
  /// is held) as an array view over the storage
  /// itself (for memmap, the mapped file).
  pub fn mask_view(&self) -> ArrayViewD<'_, T> {
    ArrayViewD::from_shape(IxDyn(&self.view_shape()), self.mask.as_slice()).expect("the storage matches its shape")
  }

  /// The accumulator, writable (e.g. to seed it from Rust).
  pub fn mask_view_mut(&mut self) -> ArrayViewMutD<'_, T> {
    let shape = self.view_shape();
    ArrayViewMutD::from_shape(IxDyn(&shape), self.mask.as_mut_slice()).expect("the storage matches its shape")
  }

  pub fn mask(&self) -> &Array<T> {
    &self.mask
  }

  /// The per-pixel overlap counter, if one exists now: a uniform mean keeps
  /// rectangles until [`Self::materialize_counter`].
  pub fn counter(&self) -> Option<&Counter> {
    self.counter.as_ref()
  }

  pub fn is_finalized(&self) -> bool {
    self.finalized
  }

  /// Whether this builder counts overlaps (per pixel or as rectangles).
  pub fn counts_overlaps(&self) -> bool {
    self.counter.is_some() || self.rects.is_some()
  }

  /// Bytes of the per-pixel counter held now.
  pub fn counter_bytes(&self) -> usize {
    self.counter.as_ref().map_or(0, |c| self.plane_len * c.dtype().size())
  }

  /// Turns the rectangles into a per-pixel counter (memmap: creates the
  /// counter file), which this builder then updates per pixel as usual.
  /// Nothing changes if that fails.
  pub fn materialize_counter(&mut self) -> Result<Option<&Counter>> {
    if let Some(rects) = &self.rects {
      let (mut counter, file) = allocate_counter(&self.config, &self.region.extent)?;
      match &mut counter {
        Counter::U16(c) => rects.fill_counts(c.as_mut_slice()),
        Counter::U32(c) => rects.fill_counts(c.as_mut_slice()),
      }
      self.adopt_counter(counter, file);
    }
    Ok(self.counter.as_ref())
  }

  /// Takes a per-pixel counter holding the rectangles' counts (and its
  /// file, if memmap) in place of the rectangles.
  fn adopt_counter(&mut self, counter: Counter, file: Option<CreatedFile>) {
    self.files.extend(file);
    self.counter = Some(counter);
    self.rects = None;
  }

  /// Before the storage is released unfinished: a persisted memmap counter
  /// file gets written, as it would have been all along with a per-pixel counter.
  pub fn prepare_release(&mut self) -> Result<()> {
    match &self.config.storage {
      StorageConfig::MemMap { counter: Backing::File(_), .. } if self.rects.is_some() => {
        self.materialize_counter().map(|_| ())
      }
      _ => Ok(()),
    }
  }

  /// Writes a planned batch. Refuses, writing nothing, if the data does not
  /// match the plan or the overlap counter could overflow.
  pub fn apply(&mut self, plan: &BatchPlan, data: &[T]) -> Result<()> {
    if data.len() != plan.tiles * plan.tile_len || plan.channels != self.config.channels {
      return Err(Error::range(codes::BATCH_SHAPE, "batch data does not match its plan".to_string()));
    }
    if plan.boxes.is_some() != self.config.region.is_some() {
      return Err(Error::range(codes::BATCH_SHAPE, "batch plan was made for another region".to_string()));
    }
    if let Some(rects) = &self.rects {
      // Rectangles while no pixel can overflow the counter's type and they
      // take less memory than the counter; past that, per-pixel counts and
      // the exact capacity check.
      let max = self.config.counter_dtype.max_count();
      let rect_bytes = (rects.len() + plan.tiles) as u64 * rects.rect_bytes() as u64;
      let counter_bytes = (self.plane_len * self.config.counter_dtype.size()) as u64;
      if self.tiles_applied + plan.tiles as u64 > max || rect_bytes > counter_bytes.max(1 << 20) {
        self.check_files()?;
        self.materialize_counter()?;
      }
    }
    check_counter_capacity(&self.storage_geometry, plan, self.counter.as_ref(), self.tiles_applied)?;
    self.check_files()?;
    self.clip_weights(plan);
    let geometry = &self.storage_geometry;
    let update = match (self.config.aggregation, &self.clipped_weights) {
      (Aggregation::Max, _) => Update::Max,
      (Aggregation::Min, _) => Update::Min,
      (Aggregation::Variance, _) => Update::Welford,
      (_, Some((_, _, map))) if self.weight_map.is_some() => Update::Weighted(map),
      _ => Update::Sum,
    };
    let mask = self.mask.as_mut_slice();
    let aux = self.aux.as_mut().map(|a| a.as_mut_slice());
    let plane_len = self.plane_len;
    match &mut self.counter {
      Some(Counter::U16(c)) => kernels::apply_batch(
        geometry,
        plan,
        data,
        AccumulatorSlices { mask, counter: Some(c.as_mut_slice()), aux, plane_len },
        update,
      ),
      Some(Counter::U32(c)) => kernels::apply_batch(
        geometry,
        plan,
        data,
        AccumulatorSlices { mask, counter: Some(c.as_mut_slice()), aux, plane_len },
        update,
      ),
      None => kernels::apply_batch::<T, u16>(
        geometry,
        plan,
        data,
        AccumulatorSlices { mask, counter: None, aux, plane_len },
        update,
      ),
    }
    if let Some(rects) = &mut self.rects {
      rects.record(plan);
    }
    self.tiles_applied = self.tiles_applied.saturating_add((plan.tiles - plan.skipped) as u64);
    self.tiles_skipped = self.tiles_skipped.saturating_add(plan.skipped as u64);
    Ok(())
  }

  /// Cuts the weight map to the batch's clipping (kept while it stays the same).
  fn clip_weights(&mut self, plan: &BatchPlan) {
    let Some(map) = &self.weight_map else { return };
    if let Some((start, footprint, _)) = &self.clipped_weights {
      if start[..] == plan.clip_start[..] && footprint[..] == plan.footprint[..] {
        return;
      }
    }
    let g = &self.config.geometry;
    let full: Vec<usize> =
      g.output_tile_extent.iter().zip(&g.upscale_factor).map(|(&o, &u)| (o * u) as usize).collect();
    let start: Vec<usize> = plan.clip_start.iter().zip(&g.upscale_factor).map(|(&c, &u)| c * u as usize).collect();
    let clipped = weights::clip_map(map, &full, &start, &plan.footprint);
    self.clipped_weights = Some((plan.clip_start.to_vec(), plan.footprint.to_vec(), clipped));
  }

  /// Validates and applies a batch in one call.
  #[cfg(test)]
  fn update_batch(
    &mut self,
    data: &[T],
    batch_shape: &[usize],
    coords: Coords<'_>,
    coords_shape: &[usize],
    clipping: &EdgeClipping,
  ) -> Result<()> {
    let g = &self.config.geometry;
    let plan = plan_batch(g, self.config.channels, batch_shape, data.len(), coords, coords_shape, clipping)?;
    self.apply(&plan, data)
  }

  /// Turns the accumulator into the final mask, once: `MaskBuilder`'s
  /// lifecycle makes sure it is never called twice.
  #[cfg(test)]
  fn finalize(&mut self) -> Result<()> {
    self.finalize_with(&FinalizeRequest::default(), true)
  }

  /// Turns the accumulator into the final mask when `first` (`MaskBuilder`'s
  /// lifecycle passes it on the first finalize only), then computes the
  /// requested reduction from it (argmax builders reduce on the first
  /// finalize, and again into a requested file). `MaskBuilder` checked the
  /// request before anything changed.
  pub fn finalize_with(&mut self, request: &FinalizeRequest, first: bool) -> Result<()> {
    self.check_files()?;
    let reduction = match self.config.aggregation {
      Aggregation::Argmax { background } => {
        (first || request.output_filename.is_some()).then_some(Reduction::Argmax { background })
      }
      _ => request.reduction,
    };
    let output = Output {
      temp_dir: match &self.config.storage {
        StorageConfig::MemMap { temp_dir, .. } => Some(temp_dir.clone()),
        StorageConfig::InMemory { .. } => None,
      },
      filename: request.output_filename.clone(),
      npy_version: match &self.config.storage {
        StorageConfig::MemMap { npy_version, .. } => *npy_version,
        StorageConfig::InMemory { .. } => NpyVersion::V3,
      },
    };
    if first {
      // A memmap counter file is created before anything changes (it is
      // written by the division pass); in memory the counts stay rectangles
      // until asked for.
      let counter_file = match (&self.rects, &self.config.storage) {
        (Some(_), StorageConfig::MemMap { .. }) => Some(allocate_counter(&self.config, &self.region.extent)?),
        _ => None,
      };
      self.finalize_accumulator(counter_file);
      self.finalized = true;
    }
    if reduction.is_some() {
      self.materialize_counter()?;
    }
    if let Some(reduction) = reduction {
      let channels = self.config.channels;
      let extents = &self.region.extent;
      let mask = self.mask.as_slice();
      let (reduced, files) = match &self.counter {
        Some(Counter::U16(c)) => reduce::reduce(mask, channels, extents, Some(c.as_slice()), reduction, &output)?,
        Some(Counter::U32(c)) => reduce::reduce(mask, channels, extents, Some(c.as_slice()), reduction, &output)?,
        None => reduce::reduce::<T, u16>(mask, channels, extents, None, reduction, &output)?,
      };
      self.files.extend(files.into_iter().filter(|f| !f.temporary));
      self.reduced = Some(reduced);
    }
    self.flush()
  }

  fn finalize_accumulator(&mut self, counter_file: Option<(Counter, Option<CreatedFile>)>) {
    let mask = self.mask.as_mut_slice();
    let plane_len = self.plane_len;
    let weighted = self.weight_map.is_some();
    if let (Some(rects), true) = (&self.rects, weighted) {
      // The weight sum divides; counts stay rectangles (memmap: written
      // into the counter file now, as the uniform mean's are).
      let sums = self.aux.as_ref().expect("weighted builders keep the weight sum");
      kernels::divide_by_sums(mask, sums.as_slice(), plane_len);
      if let Some((mut counter, file)) = counter_file {
        match &mut counter {
          Counter::U16(c) => rects.fill_counts(c.as_mut_slice()),
          Counter::U32(c) => rects.fill_counts(c.as_mut_slice()),
        }
        self.adopt_counter(counter, file);
      }
      return;
    }
    if let Some(rects) = &self.rects {
      // Counts derived row by row, fused with the division; memmap writes
      // the counter file in the same pass.
      match counter_file {
        Some((mut counter, file)) => {
          match &mut counter {
            Counter::U16(c) => rects.divide(mask, plane_len, Some(c.as_mut_slice())),
            Counter::U32(c) => rects.divide(mask, plane_len, Some(c.as_mut_slice())),
          }
          self.adopt_counter(counter, file);
        }
        None => rects.divide::<T, u16>(mask, plane_len, None),
      }
      return;
    }
    match self.config.aggregation {
      Aggregation::Max => kernels::replace(mask, T::NEG_INFINITY, T::ZERO),
      Aggregation::Min => kernels::replace(mask, T::INFINITY, T::ZERO),
      Aggregation::Sum => {}
      Aggregation::Mean | Aggregation::Argmax { .. } if weighted => {
        let sums = self.aux.as_ref().expect("weighted builders keep the weight sum");
        kernels::divide_by_sums(mask, sums.as_slice(), plane_len);
      }
      Aggregation::Mean | Aggregation::Argmax { .. } => match &self.counter {
        Some(Counter::U16(c)) => kernels::divide_by_counts(mask, c.as_slice(), plane_len),
        Some(Counter::U32(c)) => kernels::divide_by_counts(mask, c.as_slice(), plane_len),
        None => unreachable!("the mean counts overlaps"),
      },
      Aggregation::Variance => {
        let m2 = self.aux.as_mut().expect("variance keeps M2").as_mut_slice();
        match &self.counter {
          Some(Counter::U16(c)) => kernels::variance_from_m2(m2, c.as_slice(), plane_len),
          Some(Counter::U32(c)) => kernels::variance_from_m2(m2, c.as_slice(), plane_len),
          None => unreachable!("variance counts overlaps"),
        }
      }
    }
  }

  /// The weight sum (weighted mean and sum) or the variances (variance).
  pub fn aux(&self) -> Option<&Array<T>> {
    self.aux.as_ref()
  }

  /// The latest reduction computed by finalize.
  pub fn reduced(&self) -> Option<&Reduced<T>> {
    self.reduced.as_ref()
  }

  /// Refuses to touch file-backed storage that another process truncated.
  fn check_files(&self) -> Result<()> {
    self.mask.region().check_backing()?;
    match &self.counter {
      Some(Counter::U16(c)) => c.region().check_backing(),
      Some(Counter::U32(c)) => c.region().check_backing(),
      None => Ok(()),
    }
  }

  /// Writes file-backed storage through to disk (msync); no-op in memory.
  pub fn flush(&self) -> Result<()> {
    match &self.reduced {
      Some(Reduced::Argmax { labels: reduce::Labels::U8(l), .. }) => l.region().flush()?,
      Some(Reduced::Argmax { labels: reduce::Labels::U16(l), .. }) => l.region().flush()?,
      Some(Reduced::Bytes(b)) => b.region().flush()?,
      None => {}
    }
    if matches!(self.config.storage, StorageConfig::MemMap { .. }) {
      self.mask.region().flush()?;
      match &self.counter {
        Some(Counter::U16(c)) => c.region().flush()?,
        Some(Counter::U32(c)) => c.region().flush()?,
        None => {}
      }
    }
    Ok(())
  }

  /// Files backing the storage (mask first), for memory-mapped storage.
  pub fn files(&self) -> &[CreatedFile] {
    &self.files
  }

  /// The un-normalized state, for merging into another builder or saving.
  pub fn state(&self) -> SourceState<'_, T> {
    SourceState {
      region: &self.region,
      mask: self.mask.as_slice(),
      counter: self.counter.as_ref().map(|c| match c {
        Counter::U16(a) => CounterSlice::U16(a.as_slice()),
        Counter::U32(a) => CounterSlice::U32(a.as_slice()),
      }),
      rects: self.rects.as_ref(),
      aux: self.aux.as_ref().map(|a| a.as_slice()),
      tiles_applied: self.tiles_applied,
      tiles_skipped: self.tiles_skipped,
    }
  }

  /// Merges another state of the same configuration whose region lies
  /// inside this builder's. Refuses, writing nothing, a state of another
  /// shape or one whose counts would overflow the counter.
  pub fn merge(&mut self, source: &SourceState<'_, T>) -> Result<()> {
    self.check_files()?;
    if !self.region.contains(source.region) {
      return Err(Error::range(
        codes::PARTIAL_MISMATCH,
        format!(
          "region: the merged state's region (start {} extent {}) must lie inside the region this builder holds (start {} extent {})",
          list(&source.region.start),
          list(&source.region.extent),
          list(&self.region.start),
          list(&self.region.extent)
        ),
      ));
    }
    let placement = Placement {
      dst_extent: self.region.extent.iter().map(|&e| e as usize).collect(),
      src_extent: source.region.extent.iter().map(|&e| e as usize).collect(),
      offset: source.region.start.iter().zip(&self.region.start).map(|(&s, &d)| (s - d) as usize).collect(),
    };
    let src_plane = placement.src_plane_len();
    if source.mask.len() != src_plane * self.config.channels {
      return Err(Error::range(
        codes::PARTIAL_MISMATCH,
        format!(
          "accumulator: the merged state holds {} values; its region and nChannels {} need {}",
          source.mask.len(),
          self.config.channels,
          src_plane * self.config.channels
        ),
      ));
    }
    let aux_len = self.config.aux_planes() * src_plane;
    if source.aux.map_or(0, |a| a.len()) != aux_len {
      let field = if self.config.aggregation == Aggregation::Variance { "m2" } else { "weightSum" };
      return Err(Error::range(
        codes::PARTIAL_MISMATCH,
        format!(
          "{field}: the merged state holds {} values there; this builder's aggregation '{}' and weights need {aux_len}",
          source.aux.map_or(0, |a| a.len()),
          self.config.aggregation.name()
        ),
      ));
    }
    let max = self.config.counter_dtype.max_count();
    let tiles = self.tiles_applied + source.tiles_applied;
    let derived_u16: Vec<u16>;
    let derived_u32: Vec<u32>;
    let mut source_counter = source.counter;
    match (&mut self.rects, source.rects) {
      // Both keep rectangles and no pixel can overflow: the lists join.
      (Some(rects), Some(theirs)) if tiles <= max => {
        rects.append_shifted(theirs, &placement.offset);
        source_counter = None;
      }
      (_, theirs) => {
        if self.rects.is_some() {
          self.materialize_counter()?;
        }
        if let Some(theirs) = theirs {
          source_counter = Some(match self.config.counter_dtype {
            CounterDtype::Uint16 => {
              derived_u16 = theirs.counter_plane(src_plane);
              CounterSlice::U16(&derived_u16)
            }
            CounterDtype::Uint32 => {
              derived_u32 = theirs.counter_plane(src_plane);
              CounterSlice::U32(&derived_u32)
            }
          });
        }
      }
    }
    match (&mut self.counter, &source_counter) {
      (None, None) => {}
      (Some(Counter::U16(d)), Some(CounterSlice::U16(s))) => merge_checked_counts(
        d.as_mut_slice(),
        s,
        &placement,
        self.tiles_applied + source.tiles_applied,
        max,
        src_plane,
      )?,
      (Some(Counter::U32(d)), Some(CounterSlice::U32(s))) => merge_checked_counts(
        d.as_mut_slice(),
        s,
        &placement,
        self.tiles_applied + source.tiles_applied,
        max,
        src_plane,
      )?,
      _ => {
        return Err(Error::range(
          codes::PARTIAL_MISMATCH,
          format!(
          "overlapCounter: the merged state's overlap counter does not match this builder's ({} for aggregation '{}')",
          if self.counter.is_some() { self.config.counter_dtype.name() } else { "none" },
          self.config.aggregation.name()
        ),
        ))
      }
    }
    let mask = self.mask.as_mut_slice();
    let channels = self.config.channels;
    match self.config.aggregation {
      Aggregation::Mean | Aggregation::Sum | Aggregation::Argmax { .. } => {
        merge::merge_values::<T, Sum>(mask, source.mask, channels, &placement)
      }
      Aggregation::Max => merge::merge_values::<T, Maximum>(mask, source.mask, channels, &placement),
      Aggregation::Min => merge::merge_values::<T, Minimum>(mask, source.mask, channels, &placement),
      Aggregation::Variance => {
        // Chan et al.'s pairwise combination of (count, mean, M2); the
        // counter already holds the merged counts.
        let m2 = self.aux.as_mut().expect("variance keeps M2").as_mut_slice();
        let src_m2 = source.aux.expect("checked above");
        match (&self.counter, &source.counter) {
          (Some(Counter::U16(c)), Some(CounterSlice::U16(s))) => {
            merge::merge_welford(mask, m2, c.as_slice(), source.mask, src_m2, s, channels, &placement)
          }
          (Some(Counter::U32(c)), Some(CounterSlice::U32(s))) => {
            merge::merge_welford(mask, m2, c.as_slice(), source.mask, src_m2, s, channels, &placement)
          }
          _ => unreachable!("variance counts overlaps; checked above"),
        }
      }
    }
    if let (Some(sums), Some(src_sums), true) = (self.aux.as_mut(), source.aux, self.weight_map.is_some()) {
      merge::merge_values::<T, Sum>(sums.as_mut_slice(), src_sums, 1, &placement);
    }
    self.tiles_applied = self.tiles_applied.saturating_add(source.tiles_applied);
    self.tiles_skipped = self.tiles_skipped.saturating_add(source.tiles_skipped);
    Ok(())
  }
}

/// Checks the merged counts fit (exactly, unless the tiles seen cannot
/// overflow), then adds them. Values are merged only after this succeeds.
fn merge_checked_counts<K: CounterElement>(
  dst: &mut [K],
  src: &[K],
  placement: &Placement,
  tiles: u64,
  max: u64,
  src_plane: usize,
) -> Result<()> {
  if src.len() != src_plane {
    return Err(Error::range(
      codes::PARTIAL_MISMATCH,
      format!("overlapCounter: the merged state holds {} counts; its region needs {src_plane}", src.len()),
    ));
  }
  if tiles > max && !merge::counts_fit(dst, src, placement, max as u32) {
    return Err(Error::range(
      codes::COUNTER_OVERFLOW,
      format!(
        "merging would push the overlap counter past {max} at some pixel; nothing was merged. Build with counterDtype: 'uint32' for more overlaps"
      ),
    ));
  }
  merge::merge_counts(dst, src, placement);
  Ok(())
}

/// A builder's un-normalized state: accumulator planes `[C, ...region.extent]`,
/// overlap counts, and the tiles it saw.
pub struct SourceState<'a, T> {
  pub region: &'a MaskRegion,
  pub mask: &'a [T],
  pub counter: Option<CounterSlice<'a>>,
  /// The counts as tile rectangles, when the source keeps no counter.
  pub rects: Option<&'a TileRects>,
  /// The weight sum plane (weighted), or the M2 planes per channel (variance).
  pub aux: Option<&'a [T]>,
  pub tiles_applied: u64,
  pub tiles_skipped: u64,
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::batch_data::BatchData;
  use crate::config::StorageConfig;
  use crate::dispatch::AnyAccumulator;
  use crate::element::Dtype;
  use crate::npy::NpyVersion;
  use crate::region::RegionData;

  fn config(aggregation: Aggregation, counter_dtype: CounterDtype) -> BuilderConfig {
    BuilderConfig {
      geometry: Geometry::new(&[16, 16], &[8, 8], &[8, 8], &[4, 4]).unwrap(),
      channels: 2,
      aggregation,
      counter_dtype,
      storage: StorageConfig::InMemory { max_bytes: None },
      weights: crate::weights::Weights::Uniform,
      region: None,
    }
  }

  #[test]
  fn mean_of_constant_tiles_is_the_constant() {
    let mut b = Accumulator::<f32>::new(config(Aggregation::Mean, CounterDtype::Uint16)).unwrap();
    let data = vec![0.25f32; 3 * 2 * 64];
    b.update_batch(&data, &[3, 2, 8, 8], Coords::I32(&[0, 0, 4, 4, 8, 8]), &[3, 2], &EdgeClipping::none(2)).unwrap();
    b.finalize().unwrap();
    let once: Vec<f32> = b.mask().as_slice().to_vec();
    assert!(once.iter().all(|&v| v == 0.25 || v == 0.0));
    assert_eq!(once[0], 0.25);
  }

  #[test]
  fn max_reads_zero_where_no_tile_landed() {
    let mut b = Accumulator::<f64>::new(config(Aggregation::Max, CounterDtype::Uint16)).unwrap();
    b.update_batch(&[-2.0, -3.0], &[1, 2], Coords::I64(&[0, 0]), &[1, 2], &EdgeClipping::none(2)).unwrap();
    assert_eq!(b.mask().as_slice()[255], f64::NEG_INFINITY);
    b.finalize().unwrap();
    let m = b.mask().as_slice();
    assert_eq!(m[0], -2.0);
    assert_eq!(m[256], -3.0);
    assert_eq!(m[255], 0.0);
  }

  #[test]
  fn counter_overflow_is_refused_without_writing() {
    let mut cfg = config(Aggregation::Mean, CounterDtype::Uint16);
    cfg.channels = 1;
    let mut b = Accumulator::<f32>::new(cfg).unwrap();
    let data = vec![1.0f32; 64];
    let batch: Vec<f32> = data.iter().cycle().take(64 * 1000).copied().collect();
    let coords = vec![0i32; 2000];
    for _ in 0..65 {
      b.update_batch(&batch, &[1000, 1, 8, 8], Coords::I32(&coords), &[1000, 2], &EdgeClipping::none(2)).unwrap();
    }
    let before = b.mask().as_slice().to_vec();
    let Some(Counter::U16(c)) = b.materialize_counter().unwrap() else { panic!() };
    let counts_before = c.as_slice().to_vec();
    let e =
      b.update_batch(&batch, &[1000, 1, 8, 8], Coords::I32(&coords), &[1000, 2], &EdgeClipping::none(2)).unwrap_err();
    assert_eq!(e.code, codes::COUNTER_OVERFLOW);
    assert!(e.message.contains("uint32"));
    assert_eq!(b.mask().as_slice(), &before[..]);
    let Some(Counter::U16(c)) = b.counter() else { panic!() };
    assert_eq!(c.as_slice(), &counts_before[..]);
    // 535 more still fit exactly.
    b.update_batch(
      &batch[..535 * 64],
      &[535, 1, 8, 8],
      Coords::I32(&coords[..1070]),
      &[535, 2],
      &EdgeClipping::none(2),
    )
    .unwrap();
    let Some(Counter::U16(c)) = b.counter() else { panic!() };
    assert_eq!(c.as_slice()[0], u16::MAX);
  }

  #[test]
  fn refusal_straight_from_rectangles_is_exact() {
    let mut cfg = config(Aggregation::Mean, CounterDtype::Uint16);
    cfg.channels = 1;
    let mut b = Accumulator::<f32>::new(cfg).unwrap();
    let batch = vec![1.0f32; 64 * 1000];
    let coords = vec![0i32; 2000];
    let clipping = EdgeClipping::none(2);
    for _ in 0..65 {
      b.update_batch(&batch, &[1000, 1, 8, 8], Coords::I32(&coords), &[1000, 2], &clipping).unwrap();
    }
    assert!(b.counter().is_none(), "65000 tiles cannot overflow: still rectangles");
    let before = b.mask().as_slice().to_vec();
    let e = b.update_batch(&batch, &[1000, 1, 8, 8], Coords::I32(&coords), &[1000, 2], &clipping).unwrap_err();
    assert_eq!(e.code, codes::COUNTER_OVERFLOW);
    assert_eq!(b.mask().as_slice(), &before[..]);
    b.update_batch(&batch[..535 * 64], &[535, 1, 8, 8], Coords::I32(&coords[..1070]), &[535, 2], &clipping).unwrap();
    b.finalize().unwrap();
    let Some(Counter::U16(c)) = b.materialize_counter().unwrap() else { panic!() };
    assert_eq!(c.as_slice()[0], u16::MAX);
    assert_eq!(b.mask().as_slice()[0], 1.0);
  }

  #[test]
  fn more_tiles_than_uint16_holds_are_fine_when_no_pixel_overflows() {
    let mut cfg = config(Aggregation::Mean, CounterDtype::Uint16);
    cfg.geometry = Geometry::new(&[256, 256], &[1, 1], &[1, 1], &[1, 1]).unwrap();
    cfg.channels = 1;
    let mut b = Accumulator::<f32>::new(cfg).unwrap();
    let tiles = 70000;
    let coords: Vec<i32> = (0..tiles).flat_map(|t| [((t / 256) % 256) as i32, (t % 256) as i32]).collect();
    let data = vec![2.0f32; tiles];
    for (chunk, values) in coords.chunks(2 * 10000).zip(data.chunks(10000)) {
      let k = values.len();
      b.update_batch(values, &[k, 1], Coords::I32(chunk), &[k, 2], &EdgeClipping::none(2)).unwrap();
    }
    b.finalize().unwrap();
    assert!(b.mask().as_slice().iter().all(|&v| v == 2.0));
    let Some(Counter::U16(c)) = b.counter() else { panic!("crossing 65535 tiles materializes the counter") };
    assert_eq!(c.as_slice().iter().map(|&k| k as usize).sum::<usize>(), tiles);
  }

  #[test]
  fn uint32_counter_goes_past_65535() {
    let mut cfg = config(Aggregation::Mean, CounterDtype::Uint32);
    cfg.channels = 1;
    let mut b = Accumulator::<f32>::new(cfg).unwrap();
    let coords = vec![0i32; 2 * 70000];
    let data = vec![1.0f32; 70000];
    b.update_batch(&data, &[70000, 1], Coords::I32(&coords), &[70000, 2], &EdgeClipping::none(2)).unwrap();
    let Some(Counter::U32(c)) = b.counter() else { panic!() };
    assert_eq!(c.as_slice()[0], 70000);
  }

  #[test]
  fn in_memory_limit_suggests_memmap() {
    let mut cfg = config(Aggregation::Mean, CounterDtype::Uint16);
    cfg.storage = StorageConfig::InMemory { max_bytes: Some(1000) };
    let e = Accumulator::<f32>::new(cfg).err().unwrap();
    assert_eq!(e.code, codes::MASK_TOO_LARGE);
    assert!(e.message.contains("memmap"));
  }

  #[test]
  fn dtype_mismatch_is_a_type_error() {
    let b = AnyAccumulator::new(Dtype::Float32, config(Aggregation::Mean, CounterDtype::Uint16)).unwrap();
    let e = b
      .spec()
      .plan(&BatchData::F64(&[0.0, 0.0]), &[1, 2], Coords::I32(&[0, 0]), &[1, 2], &EdgeClipping::none(2))
      .unwrap_err();
    assert_eq!(e.code, codes::BATCH_TYPE);
    assert_eq!(e.kind, crate::error::ErrorKind::Type);
  }

  #[test]
  fn read_region_copies_a_window_row_by_row() {
    let mut b = AnyAccumulator::new(Dtype::Float32, config(Aggregation::Mean, CounterDtype::Uint16)).unwrap();
    let data: Vec<f32> = (0..2 * 64).map(|v| v as f32).collect();
    let plan = b
      .spec()
      .plan(&BatchData::F32(&data), &[1, 2, 8, 8], Coords::I32(&[4, 4]), &[1, 2], &EdgeClipping::none(2))
      .unwrap();
    b.apply(&plan, BatchData::F32(&data)).unwrap();
    let RegionData::F32(w) = b.read_region(false, 1, &[5, 6], &[2, 3], 1 << 20).unwrap() else { panic!() };
    // Mask (5, 6) is tile pixel (1, 2) of channel 1.
    assert_eq!(w, vec![64.0 + 10.0, 64.0 + 11.0, 64.0 + 12.0, 64.0 + 18.0, 64.0 + 19.0, 64.0 + 20.0]);
    let RegionData::U16(c) = b.read_region(true, 0, &[3, 3], &[2, 2], 1 << 20).unwrap() else { panic!() };
    assert_eq!(c, vec![0, 0, 0, 1]);
    for (ch, start, extent) in [(2, [0, 0], [1, 1]), (0, [15, 0], [2, 1]), (0, [0, 0], [0, 1])] {
      assert_eq!(b.read_region(false, ch, &start, &extent, 1 << 20).err().unwrap().code, codes::REGION);
    }
    assert_eq!(b.read_region(false, 0, &[0, 0], &[16, 16], 100).err().unwrap().code, codes::VIEW_TOO_LARGE);
  }

  #[test]
  fn memmap_refuses_existing_files_and_touches_nothing() {
    let dir = std::env::temp_dir().join(format!("wsi-mask-builder-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mask = dir.join("heat.npy");
    let counter = dir.join("heat.overlaps.npy");
    let _ = std::fs::remove_file(&mask);
    std::fs::write(&counter, b"precious").unwrap();
    let mut cfg = config(Aggregation::Mean, CounterDtype::Uint16);
    cfg.storage = StorageConfig::memmap(Some(mask.clone()), None, dir.clone(), NpyVersion::V3);
    let e = Accumulator::<f32>::new(cfg.clone()).err().unwrap();
    assert_eq!(e.code, "EEXIST");
    assert!(!mask.exists());
    assert_eq!(std::fs::read(&counter).unwrap(), b"precious");
    std::fs::remove_file(&counter).unwrap();
    let mut b = Accumulator::<f32>::new(cfg).unwrap();
    // A mean builds without its counter file; finalize writes it.
    assert_eq!(b.files().len(), 1);
    b.update_batch(&[2.0, 4.0], &[1, 2], Coords::I32(&[0, 0]), &[1, 2], &EdgeClipping::none(2)).unwrap();
    assert!(!counter.exists());
    b.finalize().unwrap();
    assert_eq!(b.files().len(), 2);
    drop(b);
    // Read back with ndarray-npy: an independent reader of what we wrote.
    use ndarray_npy::ReadNpyExt;
    let bytes = std::fs::read(&mask).unwrap();
    assert_eq!(crate::npy::parse_header(&bytes).unwrap().version, (3, 0));
    let saved = ndarray::ArrayD::<f32>::read_npy(&bytes[..]).unwrap();
    assert_eq!(saved.shape(), &[2, 16, 16]);
    assert_eq!(saved[[1, 0, 0]], 4.0);
    let counts = ndarray::ArrayD::<u16>::read_npy(std::fs::File::open(&counter).unwrap()).unwrap();
    assert_eq!(counts.shape(), &[1, 16, 16]);
    std::fs::remove_dir_all(&dir).unwrap();
  }
}
