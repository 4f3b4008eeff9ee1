//! The accumulator: geometry, storage and an aggregation strategy. It has no
//! lifecycle of its own: `MaskBuilder` (mask_builder.rs) orders its calls.

use crate::element::{CounterDtype, Dtype, Element};
use crate::error::{codes, list, Error, Result};
use crate::geometry::Geometry;
use crate::kernels::{self, AccumulatorSlices, Update};
use crate::memmap::{check_absent, create_npy, default_counter_path, Backing, CreatedFile};
use crate::npy::NpyVersion;
use crate::plan::{plan_batch, BatchPlan, Coords, EdgeClipping};
use crate::reduce::{self, Output, Reduced, Reduction};
use crate::storage::Array;
use crate::weights::{self, Weights};
use std::path::PathBuf;

/// How overlapping tiles combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
  Mean,
  Max,
  /// The true minimum (untouched pixels read 0 after finalize).
  Min,
  /// Sums without division.
  Sum,
  /// Per-pixel mean and population variance (Welford).
  Variance,
  /// The (weighted) mean per class, reduced at finalize to labels and
  /// confidence; `background` labels the pixels no tile reached.
  Argmax {
    background: u16,
  },
}

/// Most classes argmax labels (uint16).
pub const MAX_ARGMAX_CLASSES: usize = 1 << 16;

impl Aggregation {
  pub fn name(self) -> &'static str {
    match self {
      Aggregation::Mean => "mean",
      Aggregation::Max => "max",
      Aggregation::Min => "min",
      Aggregation::Sum => "sum",
      Aggregation::Variance => "variance",
      Aggregation::Argmax { .. } => "argmax",
    }
  }

  /// Whether the builder keeps an overlap counter.
  pub fn counts_overlaps(self) -> bool {
    !matches!(self, Aggregation::Max | Aggregation::Min)
  }

  /// Whether `weights` applies.
  pub fn takes_weights(self) -> bool {
    matches!(self, Aggregation::Mean | Aggregation::Sum | Aggregation::Argmax { .. })
  }
}

/// Where the accumulator lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageConfig {
  InMemory {
    /// Refuse masks whose accumulator and counter together exceed this.
    max_bytes: Option<u64>,
  },
  /// NPY files mapped into memory; further arrays (weight sums, variances,
  /// reductions) are temporary files in `temp_dir`.
  MemMap { mask: Backing, counter: Backing, npy_version: NpyVersion, temp_dir: PathBuf },
}

impl StorageConfig {
  /// Memory-mapped storage: `filename` persists the mask (and, by default,
  /// the counter beside it as `<stem>.overlaps.<ext>`); without it both are
  /// temporary files in `temp_dir`.
  pub fn memmap(
    filename: Option<PathBuf>,
    overlap_counter_filename: Option<PathBuf>,
    temp_dir: PathBuf,
    npy_version: NpyVersion,
  ) -> Self {
    let counter = match (&overlap_counter_filename, &filename) {
      (Some(c), _) => Backing::File(c.clone()),
      (None, Some(m)) => Backing::File(default_counter_path(m)),
      (None, None) => Backing::Temporary(temp_dir.clone()),
    };
    let mask = filename.map_or(Backing::Temporary(temp_dir.clone()), Backing::File);
    StorageConfig::MemMap { mask, counter, npy_version, temp_dir }
  }
}

#[derive(Debug, Clone)]
pub struct BuilderConfig {
  pub geometry: Geometry,
  pub channels: usize,
  pub aggregation: Aggregation,
  pub counter_dtype: CounterDtype,
  pub storage: StorageConfig,
  /// Weighted mean and sum; [`Weights::Uniform`] is the plain mean.
  pub weights: Weights,
}

/// What `finalize` should produce besides the finalized accumulator.
#[derive(Debug, Clone, Default)]
pub struct FinalizeRequest {
  pub reduction: Option<Reduction>,
  /// The NPY file for the reduced labels or bytes; must not exist.
  pub output_filename: Option<PathBuf>,
}

/// The mean aggregator's overlap counter, `[1, ...maskExtents]`.
pub enum Counter {
  U16(Array<u16>),
  U32(Array<u32>),
}

impl Counter {
  pub fn dtype(&self) -> CounterDtype {
    match self {
      Counter::U16(_) => CounterDtype::Uint16,
      Counter::U32(_) => CounterDtype::Uint32,
    }
  }
}

pub use crate::limits::MAX_CHANNELS;

/// Batches up to this size get an exact overlap count near the counter limit.
const PAIRWISE_OVERLAP_LIMIT: usize = 4096;

pub struct Accumulator<T: Element> {
  config: BuilderConfig,
  plane_len: usize,
  mask: Array<T>,
  counter: Option<Counter>,
  /// The weight sum plane (weighted), or the sums of squared deviations per
  /// channel (variance).
  aux: Option<Array<T>>,
  /// The weight map over a whole footprint, and its clipped copy for the
  /// clipping of the latest batch (clip start, footprint, map).
  weight_map: Option<Vec<T>>,
  clipped_weights: Option<(Vec<usize>, Vec<usize>, Vec<T>)>,
  reduced: Option<Reduced<T>>,
  /// Tiles applied so far: while below the counter's maximum no pixel can
  /// overflow, and the per-batch capacity check is skipped.
  tiles_applied: u64,
  files: Vec<CreatedFile>,
}

/// Planes of the auxiliary array: the weight sum, or one M2 plane per channel.
fn aux_planes(config: &BuilderConfig) -> usize {
  match config.aggregation {
    Aggregation::Variance => config.channels,
    a if a.takes_weights() && config.weights != Weights::Uniform => 1,
    _ => 0,
  }
}

fn storage_bytes(config: &BuilderConfig, plane_len: usize, dtype: Dtype) -> Option<u64> {
  let planes = (config.channels as u64).checked_add(aux_planes(config) as u64)?;
  let mask = (plane_len as u64).checked_mul(planes)?.checked_mul(dtype.size() as u64)?;
  let counter = if config.aggregation.counts_overlaps() {
    (plane_len as u64).checked_mul(config.counter_dtype.size() as u64)?
  } else {
    0
  };
  mask.checked_add(counter)
}

/// Refuses option combinations the aggregation cannot honour.
fn check_aggregation(config: &BuilderConfig) -> Result<()> {
  let aggregation = config.aggregation;
  if config.weights != Weights::Uniform && !aggregation.takes_weights() {
    return Err(Error::type_error(
      codes::OPTION_TYPE,
      format!(
        "weights apply to the mean, sum and argmax aggregations; aggregation is '{}'. Drop weights or use aggregation: 'mean'",
        aggregation.name()
      ),
    ));
  }
  if let Aggregation::Argmax { background } = aggregation {
    if !(2..=MAX_ARGMAX_CLASSES).contains(&config.channels) {
      return Err(Error::range(
        codes::OPTION_RANGE,
        format!(
          "aggregation 'argmax' needs nChannels from 2 to {MAX_ARGMAX_CLASSES} (one score per class); received nChannels {}",
          config.channels
        ),
      ));
    }
    if background as usize >= config.channels {
      return Err(Error::range(
        codes::OPTION_RANGE,
        format!("background must be a class label from 0 to {}; received {background}", config.channels - 1),
      ));
    }
  }
  Ok(())
}

fn human_bytes(bytes: u64) -> String {
  const GIB: f64 = (1u64 << 30) as f64;
  format!("{:.2} GiB", bytes as f64 / GIB)
}

impl<T: Element> Accumulator<T> {
  pub fn new(config: BuilderConfig) -> Result<Self> {
    if config.channels == 0 || config.channels > MAX_CHANNELS {
      return Err(Error::range(
        codes::OPTION_RANGE,
        format!("nChannels must be an integer from 1 to {MAX_CHANNELS}; received {}", config.channels),
      ));
    }
    check_aggregation(&config)?;
    let plane_len = config.geometry.plane_len()?;
    let upscale: Vec<usize> = config.geometry.upscale_factor.iter().map(|&u| u as usize).collect();
    let output_tile: Vec<usize> = config.geometry.output_tile_extent.iter().map(|&o| o as usize).collect();
    let weight_map = weights::footprint_weights(&config.weights, &output_tile, &upscale)?
      .map(|map| map.into_iter().map(T::from_f64).collect::<Vec<T>>());
    let bytes = storage_bytes(&config, plane_len, T::DTYPE)
      .filter(|&b| usize::try_from(b).is_ok_and(|b| b <= isize::MAX as usize))
      .ok_or_else(|| {
        Error::range(
          codes::MASK_TOO_LARGE,
          format!(
            "a mask of {} x {} does not fit in the address space",
            config.channels,
            list(&config.geometry.mask_extents)
          ),
        )
      })?;
    let mut files = Vec::new();
    let (mut mask, counter) = match &config.storage {
      StorageConfig::InMemory { max_bytes } => {
        if let Some(limit) = *max_bytes {
          if bytes > limit {
            return Err(Error::range(
              codes::MASK_TOO_LARGE,
              format!(
                "an in-memory mask of {} x {} {} needs {} with its counter, more than the {} this machine allows; use storage: 'memmap'",
                config.channels,
                list(&config.geometry.mask_extents),
                T::DTYPE.name(),
                human_bytes(bytes),
                human_bytes(limit)
              ),
            ));
          }
        }
        let mask = Array::<T>::zeroed(plane_len * config.channels)?;
        let counter = if config.aggregation.counts_overlaps() {
          Some(match config.counter_dtype {
            CounterDtype::Uint16 => Counter::U16(Array::zeroed(plane_len)?),
            CounterDtype::Uint32 => Counter::U32(Array::zeroed(plane_len)?),
          })
        } else {
          None
        };
        (mask, counter)
      }
      StorageConfig::MemMap { mask: mask_backing, counter: counter_backing, npy_version, .. } => {
        let mean = config.aggregation.counts_overlaps();
        // Refuse before creating anything, so an existing file is never touched.
        for backing in std::iter::once(mask_backing).chain(mean.then_some(counter_backing)) {
          if let Backing::File(path) = backing {
            check_absent(path)?;
          }
        }
        let mask_shape: Vec<u64> =
          std::iter::once(config.channels as u64).chain(config.geometry.mask_extents.iter().copied()).collect();
        let (mask, mask_file) = create_npy::<T>(mask_backing, T::DTYPE.descr(), &mask_shape, *npy_version)?;
        files.push(mask_file);
        let counter = if mean {
          let shape: Vec<u64> = std::iter::once(1).chain(config.geometry.mask_extents.iter().copied()).collect();
          let created = match config.counter_dtype {
            CounterDtype::Uint16 => {
              create_npy::<u16>(counter_backing, "<u2", &shape, *npy_version).map(|(a, f)| (Counter::U16(a), f))
            }
            CounterDtype::Uint32 => {
              create_npy::<u32>(counter_backing, "<u4", &shape, *npy_version).map(|(a, f)| (Counter::U32(a), f))
            }
          };
          match created {
            Ok((counter, file)) => {
              files.push(file);
              Some(counter)
            }
            Err(e) => {
              // Leave nothing behind: the mask file was ours.
              drop(mask);
              if let Backing::File(path) = mask_backing {
                let _ = std::fs::remove_file(path);
              }
              return Err(e);
            }
          }
        } else {
          None
        };
        (mask, counter)
      }
    };
    let aux = match aux_planes(&config) {
      0 => None,
      planes => match allocate_aux::<T>(&config.storage, planes, &config.geometry.mask_extents) {
        Ok(aux) => Some(aux),
        Err(e) => {
          // Leave nothing behind: the files were ours.
          drop((mask, counter));
          for file in files.iter().filter(|f| !f.temporary) {
            let _ = std::fs::remove_file(&file.path);
          }
          return Err(e);
        }
      },
    };
    match config.aggregation {
      // Start beyond every value so negative maxima (positive minima)
      // survive; pixels no tile reaches become 0 at finalize.
      Aggregation::Max => kernels::fill(mask.as_mut_slice(), T::NEG_INFINITY),
      Aggregation::Min => kernels::fill(mask.as_mut_slice(), T::INFINITY),
      _ => {}
    }
    Ok(Self {
      config,
      plane_len,
      mask,
      counter,
      aux,
      weight_map,
      clipped_weights: None,
      reduced: None,
      tiles_applied: 0,
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

  /// `[C, ...maskExtents]`.
  pub fn mask_shape(&self) -> Vec<u64> {
    std::iter::once(self.config.channels as u64).chain(self.config.geometry.mask_extents.iter().copied()).collect()
  }

  pub fn mask(&self) -> &Array<T> {
    &self.mask
  }

  pub fn counter(&self) -> Option<&Counter> {
    self.counter.as_ref()
  }

  /// Writes a planned batch. Refuses, writing nothing, if the data does not
  /// match the plan or the overlap counter could overflow.
  pub fn apply(&mut self, plan: &BatchPlan, data: &[T]) -> Result<()> {
    if data.len() != plan.tiles * plan.tile_len || plan.channels != self.config.channels {
      return Err(Error::range(codes::BATCH_SHAPE, "batch data does not match its plan".to_string()));
    }
    self.check_counter_capacity(plan)?;
    self.clip_weights(plan);
    let geometry = &self.config.geometry;
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
    self.tiles_applied = self.tiles_applied.saturating_add(plan.tiles as u64);
    Ok(())
  }

  /// Cuts the weight map to the batch's clipping (kept while it stays the same).
  fn clip_weights(&mut self, plan: &BatchPlan) {
    let Some(map) = &self.weight_map else { return };
    if let Some((start, footprint, _)) = &self.clipped_weights {
      if *start == plan.clip_start && *footprint == plan.footprint {
        return;
      }
    }
    let g = &self.config.geometry;
    let full: Vec<usize> =
      g.output_tile_extent.iter().zip(&g.upscale_factor).map(|(&o, &u)| (o * u) as usize).collect();
    let start: Vec<usize> = plan.clip_start.iter().zip(&g.upscale_factor).map(|(&c, &u)| c * u as usize).collect();
    let clipped = weights::clip_map(map, &full, &start, &plan.footprint);
    self.clipped_weights = Some((plan.clip_start.clone(), plan.footprint.clone(), clipped));
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

  fn check_counter_capacity(&self, plan: &BatchPlan) -> Result<()> {
    let Some(counter) = &self.counter else { return Ok(()) };
    let max = counter.dtype().max_count();
    if self.tiles_applied + plan.tiles as u64 <= max {
      return Ok(());
    }
    let geometry = &self.config.geometry;
    let peaks = match counter {
      Counter::U16(c) => kernels::footprint_peaks(geometry, plan, c.as_slice()),
      Counter::U32(c) => kernels::footprint_peaks(geometry, plan, c.as_slice()),
    };
    for (t, &peak) in peaks.iter().enumerate() {
      let peak = peak as u64;
      if peak + plan.tiles as u64 <= max {
        continue;
      }
      // Close to the limit: count the batch's tiles that overlap this one
      // (for huge batches, assume they all do rather than go quadratic).
      let overlapping = if plan.tiles <= PAIRWISE_OVERLAP_LIMIT {
        (0..plan.tiles).filter(|&u| footprints_overlap(plan, t, u)).count() as u64
      } else {
        plan.tiles as u64
      };
      if peak + overlapping > max {
        return Err(Error::range(
          codes::COUNTER_OVERFLOW,
          format!(
            "tile {t} of this batch would push the overlap counter past {max} ({} holds at most {max} overlapping tiles per pixel); nothing was written. Build with counterDtype: 'uint32' for more overlaps",
            counter.dtype().name()
          ),
        ));
      }
    }
    Ok(())
  }

  /// Turns the accumulator into the final mask, once: `MaskBuilder`'s
  /// lifecycle makes sure it is never called twice.
  pub fn finalize(&mut self) -> Result<()> {
    self.finalize_with(&FinalizeRequest::default(), true)
  }

  fn check_request(&self, request: &FinalizeRequest) -> Result<()> {
    check_finalize_request(self.config.aggregation, self.config.channels, request)
  }
}

/// Refuses a reduction the aggregation cannot give, and an output file that
/// exists; changes nothing.
pub fn check_finalize_request(aggregation: Aggregation, channels: usize, request: &FinalizeRequest) -> Result<()> {
  if let Some(path) = &request.output_filename {
    check_absent(path)?;
  }
  let Some(reduction) = &request.reduction else {
    if request.output_filename.is_some() && !matches!(aggregation, Aggregation::Argmax { .. }) {
      return Err(Error::type_error(
        codes::OPTION_TYPE,
        "finalize option outputFilename needs a reduction (argmax, threshold or quantize) or aggregation 'argmax'",
      ));
    }
    return Ok(());
  };
  reduce::check_reduction(reduction)?;
  let fits = match aggregation {
    Aggregation::Mean | Aggregation::Sum | Aggregation::Max | Aggregation::Min => true,
    Aggregation::Argmax { .. } | Aggregation::Variance => false,
  };
  if !fits {
    return Err(Error::type_error(
      codes::OPTION_TYPE,
      format!(
        "finalize option {} applies to the mean, sum, max and min aggregations; aggregation '{}' {}",
        reduction.name(),
        aggregation.name(),
        if matches!(aggregation, Aggregation::Argmax { .. }) {
          "already returns { labels, confidence }"
        } else {
          "returns { mean, variance, overlapCounter }"
        }
      ),
    ));
  }
  if let Reduction::Argmax { background } = reduction {
    if !(2..=MAX_ARGMAX_CLASSES).contains(&channels) {
      return Err(Error::range(
        codes::OPTION_RANGE,
        format!(
          "finalize option argmax needs nChannels from 2 to {MAX_ARGMAX_CLASSES}; this mask has {channels} channel(s)"
        ),
      ));
    }
    if *background as usize >= channels {
      return Err(Error::range(
        codes::OPTION_RANGE,
        format!("finalize option background must be a class label from 0 to {}; received {background}", channels - 1),
      ));
    }
  }
  Ok(())
}

impl<T: Element> Accumulator<T> {
  /// Turns the accumulator into the final mask when `first` (`MaskBuilder`'s
  /// lifecycle passes it on the first finalize only), then computes the
  /// requested reduction from it (argmax builders reduce on the first
  /// finalize, and again into a requested file). A refused request changes
  /// nothing.
  pub fn finalize_with(&mut self, request: &FinalizeRequest, first: bool) -> Result<()> {
    self.check_request(request)?;
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
      self.finalize_accumulator();
    }
    if let Some(reduction) = reduction {
      let channels = self.config.channels;
      let extents = &self.config.geometry.mask_extents;
      let mask = self.mask.as_slice();
      let (reduced, files) = match &self.counter {
        Some(Counter::U16(c)) => reduce::reduce(mask, channels, extents, Some(c.as_slice()), reduction, &output)?,
        Some(Counter::U32(c)) => reduce::reduce(mask, channels, extents, Some(c.as_slice()), reduction, &output)?,
        None => reduce::reduce::<T, u16>(mask, channels, extents, None, reduction, &output)?,
      };
      for file in &files {
        if !file.temporary {
          self.files.push(file.clone());
        }
      }
      self.reduced = Some(reduced);
    }
    self.flush()
  }

  fn finalize_accumulator(&mut self) {
    let mask = self.mask.as_mut_slice();
    let plane_len = self.plane_len;
    let weighted = self.weight_map.is_some();
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
}

fn footprints_overlap(plan: &BatchPlan, a: usize, b: usize) -> bool {
  let (oa, ob) = (plan.origin(a), plan.origin(b));
  oa.iter().zip(ob).zip(&plan.footprint).all(|((&x, &y), &f)| x < y + f && y < x + f)
}

/// The auxiliary planes: anonymous memory, or a temporary NPY file beside
/// the memory-mapped mask.
fn allocate_aux<T: Element>(storage: &StorageConfig, planes: usize, extents: &[u64]) -> Result<Array<T>> {
  let plane: u64 = extents.iter().product();
  match storage {
    StorageConfig::InMemory { .. } => Array::zeroed(plane as usize * planes),
    StorageConfig::MemMap { npy_version, temp_dir, .. } => {
      let shape: Vec<u64> = std::iter::once(planes as u64).chain(extents.iter().copied()).collect();
      create_npy::<T>(&Backing::Temporary(temp_dir.clone()), T::DTYPE.descr(), &shape, *npy_version).map(|(a, _)| a)
    }
  }
}

/// Batch data of either accumulator type.
#[derive(Clone, Copy)]
pub enum BatchData<'a> {
  F32(&'a [f32]),
  F64(&'a [f64]),
}

impl BatchData<'_> {
  pub fn len(&self) -> usize {
    match self {
      BatchData::F32(d) => d.len(),
      BatchData::F64(d) => d.len(),
    }
  }

  pub fn is_empty(&self) -> bool {
    self.len() == 0
  }

  fn type_name(&self) -> &'static str {
    match self {
      BatchData::F32(_) => "Float32Array",
      BatchData::F64(_) => "Float64Array",
    }
  }
}

/// A copy of a batch's data owned by the builder, for updates that run
/// after the call returns: JavaScript may transfer or free the caller's
/// buffer at any time, so nothing may point into it once the call is over.
pub enum OwnedBatchData {
  F32(Vec<f32>),
  F64(Vec<f64>),
}

impl OwnedBatchData {
  /// Copies `data`, reusing `spare`'s memory when it has the same type and room.
  pub fn copy_of(data: &BatchData<'_>, spare: Option<Self>) -> Self {
    match (*data, spare) {
      (BatchData::F32(d), Some(OwnedBatchData::F32(v))) => OwnedBatchData::F32(kernels::copy_into(v, d)),
      (BatchData::F32(d), _) => OwnedBatchData::F32(kernels::copy_into(Vec::new(), d)),
      (BatchData::F64(d), Some(OwnedBatchData::F64(v))) => OwnedBatchData::F64(kernels::copy_into(v, d)),
      (BatchData::F64(d), _) => OwnedBatchData::F64(kernels::copy_into(Vec::new(), d)),
    }
  }

  pub fn view(&self) -> BatchData<'_> {
    match self {
      OwnedBatchData::F32(d) => BatchData::F32(d),
      OwnedBatchData::F64(d) => BatchData::F64(d),
    }
  }
}

/// A builder of either accumulator type, chosen at run time.
pub enum AnyAccumulator {
  F32(Accumulator<f32>),
  F64(Accumulator<f64>),
}

macro_rules! each {
  ($self:expr, $b:ident => $body:expr) => {
    match $self {
      AnyAccumulator::F32($b) => $body,
      AnyAccumulator::F64($b) => $body,
    }
  };
}

impl AnyAccumulator {
  pub fn new(dtype: Dtype, config: BuilderConfig) -> Result<Self> {
    Ok(match dtype {
      Dtype::Float32 => AnyAccumulator::F32(Accumulator::new(config)?),
      Dtype::Float64 => AnyAccumulator::F64(Accumulator::new(config)?),
    })
  }

  pub fn dtype(&self) -> Dtype {
    match self {
      AnyAccumulator::F32(_) => Dtype::Float32,
      AnyAccumulator::F64(_) => Dtype::Float64,
    }
  }

  pub fn geometry(&self) -> &Geometry {
    each!(self, b => b.geometry())
  }

  pub fn config(&self) -> &BuilderConfig {
    each!(self, b => b.config())
  }

  pub fn mask_shape(&self) -> Vec<u64> {
    each!(self, b => b.mask_shape())
  }

  pub fn counter(&self) -> Option<&Counter> {
    each!(self, b => b.counter())
  }

  /// What planning needs, detached from the storage so that batches can be
  /// validated while another thread writes the mask.
  pub fn spec(&self) -> BuilderSpec {
    let config = self.config();
    BuilderSpec {
      geometry: config.geometry.clone(),
      channels: config.channels,
      dtype: self.dtype(),
      aggregation: config.aggregation,
    }
  }

  pub fn apply(&mut self, plan: &BatchPlan, data: BatchData<'_>) -> Result<()> {
    check_data(self.dtype(), &data)?;
    match (self, data) {
      (AnyAccumulator::F32(b), BatchData::F32(d)) => b.apply(plan, d),
      (AnyAccumulator::F64(b), BatchData::F64(d)) => b.apply(plan, d),
      _ => unreachable!("checked above"),
    }
  }

  pub fn finalize(&mut self) -> Result<()> {
    each!(self, b => b.finalize())
  }

  pub fn finalize_with(&mut self, request: &FinalizeRequest, first: bool) -> Result<()> {
    each!(self, b => b.finalize_with(request, first))
  }

  /// Raw view of the weight sum or variances.
  pub fn aux_raw(&self) -> Option<RawArray> {
    each!(self, b => b.aux().map(RawArray::of))
  }

  /// Raw views of the latest reduction: `(labels or bytes, confidence)`.
  pub fn reduced_raw(&self) -> Option<(RawArray, Option<RawArray>)> {
    fn of<T: Element>(r: &Reduced<T>) -> (RawArray, Option<RawArray>) {
      match r {
        Reduced::Argmax { labels: reduce::Labels::U8(l), confidence } => {
          (RawArray::of(l), Some(RawArray::of(confidence)))
        }
        Reduced::Argmax { labels: reduce::Labels::U16(l), confidence } => {
          (RawArray::of(l), Some(RawArray::of(confidence)))
        }
        Reduced::Bytes(b) => (RawArray::of(b), None),
      }
    }
    each!(self, b => b.reduced().map(of))
  }

  pub fn flush(&self) -> Result<()> {
    each!(self, b => b.flush())
  }

  pub fn files(&self) -> &[CreatedFile] {
    each!(self, b => b.files())
  }

  /// Raw view of the accumulator (or of one channel plane) for zero-copy export.
  pub fn mask_raw(&self, channel: Option<usize>) -> Result<RawArray> {
    let raw = each!(self, b => RawArray::of(b.mask()));
    let Some(c) = channel else { return Ok(raw) };
    let channels = self.config().channels;
    if c >= channels {
      return Err(Error::range(
        codes::REGION,
        format!("channel must be an integer from 0 to {}; received {c}", channels - 1),
      ));
    }
    let plane_bytes = raw.byte_len / channels;
    // SAFETY: in bounds: channel < channels.
    Ok(RawArray { ptr: unsafe { raw.ptr.add(c * plane_bytes) }, byte_len: plane_bytes, region: raw.region })
  }

  /// Copies a window of one channel of the mask (or of the counter) out of
  /// the storage: `start` and `extent` per spatial dimension. Refuses
  /// windows of more than `max_bytes`.
  pub fn read_region(
    &self,
    counter: bool,
    channel: usize,
    start: &[u64],
    extent: &[u64],
    max_bytes: usize,
  ) -> Result<RegionData> {
    let g = self.geometry();
    let n = g.ndim();
    let what = if counter { "overlapCounter" } else { "mask" };
    let channels = if counter { 1 } else { self.config().channels };
    if counter && self.counter().is_none() {
      return Err(Error::range(codes::REGION, "this builder has no overlap counter (max aggregation)".to_string()));
    }
    if channel >= channels {
      return Err(Error::range(
        codes::REGION,
        format!("channel must be an integer from 0 to {} for the {what}; received {channel}", channels - 1),
      ));
    }
    if start.len() != n || extent.len() != n {
      return Err(Error::range(
        codes::REGION,
        format!(
          "start and extent must have {n} entries (one per spatial dimension); received {} and {}",
          start.len(),
          extent.len()
        ),
      ));
    }
    for d in 0..n {
      let end = start[d].checked_add(extent[d]);
      if extent[d] == 0 || end.is_none_or(|e| e > g.mask_extents[d]) {
        return Err(Error::range(
          codes::REGION,
          format!(
            "the region start {} extent {} must be non-empty and lie inside the mask extents {}",
            list(start),
            list(extent),
            list(&g.mask_extents)
          ),
        ));
      }
    }
    let count = extent.iter().try_fold(1u64, |a, &e| a.checked_mul(e)).unwrap_or(u64::MAX);
    let element = if counter { self.counter().map_or(2, |c| c.dtype().size()) } else { self.dtype().size() };
    if count.saturating_mul(element as u64) > max_bytes as u64 {
      return Err(Error::range(
        codes::VIEW_TOO_LARGE,
        format!(
          "a region of {} ({count} elements) is larger than the {max_bytes} bytes one ArrayBuffer holds; read it in smaller windows",
          list(extent)
        ),
      ));
    }
    let extents: Vec<usize> = g.mask_extents.iter().map(|&e| e as usize).collect();
    let plane = extents.iter().product::<usize>();
    let window = Window { extents: &extents, start, extent };
    Ok(match (counter, self, self.counter()) {
      (false, AnyAccumulator::F32(b), _) => {
        RegionData::F32(window.copy(&b.mask().as_slice()[channel * plane..][..plane]))
      }
      (false, AnyAccumulator::F64(b), _) => {
        RegionData::F64(window.copy(&b.mask().as_slice()[channel * plane..][..plane]))
      }
      (true, _, Some(Counter::U16(c))) => RegionData::U16(window.copy(c.as_slice())),
      (true, _, Some(Counter::U32(c))) => RegionData::U32(window.copy(c.as_slice())),
      (true, _, None) => unreachable!("checked above"),
    })
  }

  pub fn counter_raw(&self) -> Option<RawArray> {
    self.counter().map(|c| match c {
      Counter::U16(a) => RawArray::of(a),
      Counter::U32(a) => RawArray::of(a),
    })
  }
}

/// The immutable part of a builder: enough to validate and place a batch.
#[derive(Debug, Clone)]
pub struct BuilderSpec {
  pub geometry: Geometry,
  pub channels: usize,
  pub dtype: Dtype,
  pub aggregation: Aggregation,
}

impl BuilderSpec {
  /// What `finalize_with` refuses, checked before anything is queued.
  pub fn check_finalize(&self, request: &FinalizeRequest) -> Result<()> {
    check_finalize_request(self.aggregation, self.channels, request)
  }

  pub fn plan(
    &self,
    data: &BatchData<'_>,
    batch_shape: &[usize],
    coords: Coords<'_>,
    coords_shape: &[usize],
    clipping: &EdgeClipping,
  ) -> Result<BatchPlan> {
    check_data(self.dtype, data)?;
    plan_batch(&self.geometry, self.channels, batch_shape, data.len(), coords, coords_shape, clipping)
  }
}

fn check_data(dtype: Dtype, data: &BatchData<'_>) -> Result<()> {
  match (dtype, data) {
    (Dtype::Float32, BatchData::F32(_)) | (Dtype::Float64, BatchData::F64(_)) => Ok(()),
    _ => Err(Error::type_error(
      codes::BATCH_TYPE,
      format!(
        "batch data must be a {} for dtype '{}'; received a {}",
        match dtype {
          Dtype::Float32 => "Float32Array",
          Dtype::Float64 => "Float64Array",
        },
        dtype.name(),
        data.type_name()
      ),
    )),
  }
}

/// A copied window of the storage.
pub enum RegionData {
  F32(Vec<f32>),
  F64(Vec<f64>),
  U16(Vec<u16>),
  U32(Vec<u32>),
}

impl RegionData {
  /// The values as f64 (exact for every element type).
  pub fn into_f64(self) -> Vec<f64> {
    match self {
      RegionData::F32(v) => v.into_iter().map(f64::from).collect(),
      RegionData::F64(v) => v,
      RegionData::U16(v) => v.into_iter().map(f64::from).collect(),
      RegionData::U32(v) => v.into_iter().map(f64::from).collect(),
    }
  }
}

/// A box inside a C-order array of `extents`.
struct Window<'a> {
  extents: &'a [usize],
  start: &'a [u64],
  extent: &'a [u64],
}

impl Window<'_> {
  /// Copies the box row by row.
  fn copy<E: Copy>(&self, plane: &[E]) -> Vec<E> {
    let n = self.extents.len();
    let strides = crate::geometry::c_strides(self.extents);
    let row = self.extent[n - 1] as usize;
    let rows: usize = self.extent[..n - 1].iter().map(|&e| e as usize).product();
    let mut out = Vec::with_capacity(rows * row);
    let mut index = vec![0usize; n - 1];
    for _ in 0..rows {
      let mut offset = self.start[n - 1] as usize;
      for d in 0..n - 1 {
        offset += (self.start[d] as usize + index[d]) * strides[d];
      }
      out.extend_from_slice(&plane[offset..offset + row]);
      for d in (0..n - 1).rev() {
        index[d] += 1;
        if index[d] < self.extent[d] as usize {
          break;
        }
        index[d] = 0;
      }
    }
    out
  }
}

/// A typed array's memory, for views handed to JavaScript.
pub struct RawArray {
  pub ptr: *mut u8,
  pub byte_len: usize,
  pub region: std::sync::Arc<crate::storage::Region>,
}

impl RawArray {
  fn of<E: crate::element::Pod>(array: &Array<E>) -> Self {
    Self {
      ptr: array.as_ptr().cast(),
      byte_len: array.len() * std::mem::size_of::<E>(),
      region: std::sync::Arc::clone(array.region()),
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn config(aggregation: Aggregation, counter_dtype: CounterDtype) -> BuilderConfig {
    BuilderConfig {
      geometry: Geometry::new(&[16, 16], &[8, 8], &[8, 8], &[4, 4]).unwrap(),
      channels: 2,
      aggregation,
      counter_dtype,
      storage: StorageConfig::InMemory { max_bytes: None },
      weights: Weights::Uniform,
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
    let Some(Counter::U16(c)) = b.counter() else { panic!() };
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
    assert_eq!(b.files().len(), 2);
    b.update_batch(&[2.0, 4.0], &[1, 2], Coords::I32(&[0, 0]), &[1, 2], &EdgeClipping::none(2)).unwrap();
    b.finalize().unwrap();
    drop(b);
    let saved = crate::npy::NpyFile::read(&mask).unwrap();
    assert_eq!(saved.header.shape, vec![2, 16, 16]);
    assert_eq!(saved.header.version, (3, 0));
    assert_eq!(saved.to_f64().unwrap()[256], 4.0);
    let counts = crate::npy::NpyFile::read(&counter).unwrap();
    assert_eq!(counts.header.descr, "<u2");
    std::fs::remove_dir_all(&dir).unwrap();
  }
}
