//! The accumulator: geometry, storage and an aggregation strategy. It has no
//! lifecycle of its own: `MaskBuilder` (mask_builder.rs) orders its calls.

use crate::element::{CounterDtype, CounterElement, Dtype, Element};
use crate::error::{codes, list, Error, Result};
use crate::geometry::Geometry;
use crate::kernels::{self, Combine, Maximum, Sum};
use crate::memmap::{check_absent, create_npy, default_counter_path, Backing, CreatedFile};
use crate::npy::NpyVersion;
use crate::plan::{plan_batch_into, BatchPlan, Coords, EdgeClipping};
use crate::storage::Array;
use std::path::PathBuf;

/// How overlapping tiles combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
  Mean,
  Max,
}

/// Where the accumulator lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageConfig {
  InMemory {
    /// Refuse masks whose accumulator and counter together exceed this.
    max_bytes: Option<u64>,
  },
  /// NPY files mapped into memory.
  MemMap { mask: Backing, counter: Backing, npy_version: NpyVersion },
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
    let mask = filename.map_or(Backing::Temporary(temp_dir), Backing::File);
    StorageConfig::MemMap { mask, counter, npy_version }
  }
}

#[derive(Debug, Clone)]
pub struct BuilderConfig {
  pub geometry: Geometry,
  pub channels: usize,
  pub aggregation: Aggregation,
  pub counter_dtype: CounterDtype,
  pub storage: StorageConfig,
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
  /// Tiles applied so far: while below the counter's maximum no pixel can
  /// overflow, and the per-batch capacity check is skipped.
  tiles_applied: u64,
  files: Vec<CreatedFile>,
}

fn storage_bytes(config: &BuilderConfig, plane_len: usize, dtype: Dtype) -> Option<u64> {
  let mask = (plane_len as u64).checked_mul(config.channels as u64)?.checked_mul(dtype.size() as u64)?;
  let counter = match config.aggregation {
    Aggregation::Mean => (plane_len as u64).checked_mul(config.counter_dtype.size() as u64)?,
    Aggregation::Max => 0,
  };
  mask.checked_add(counter)
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
    let plane_len = config.geometry.plane_len()?;
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
        let counter = match config.aggregation {
          Aggregation::Mean => Some(match config.counter_dtype {
            CounterDtype::Uint16 => Counter::U16(Array::zeroed(plane_len)?),
            CounterDtype::Uint32 => Counter::U32(Array::zeroed(plane_len)?),
          }),
          Aggregation::Max => None,
        };
        (mask, counter)
      }
      StorageConfig::MemMap { mask: mask_backing, counter: counter_backing, npy_version } => {
        let mean = config.aggregation == Aggregation::Mean;
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
    if config.aggregation == Aggregation::Max {
      // Start below every value so negative maxima survive; pixels no
      // tile reaches become 0 at finalize.
      kernels::fill(mask.as_mut_slice(), T::NEG_INFINITY);
    }
    Ok(Self { config, plane_len, mask, counter, tiles_applied: 0, files })
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
    let geometry = &self.config.geometry;
    let mask = self.mask.as_mut_slice();
    match (&mut self.counter, self.config.aggregation) {
      (Some(Counter::U16(c)), Aggregation::Mean) => {
        apply::<T, u16, Sum>(geometry, plan, data, mask, Some(c.as_mut_slice()), self.plane_len)
      }
      (Some(Counter::U32(c)), Aggregation::Mean) => {
        apply::<T, u32, Sum>(geometry, plan, data, mask, Some(c.as_mut_slice()), self.plane_len)
      }
      _ => apply::<T, u16, Maximum>(geometry, plan, data, mask, None, self.plane_len),
    }
    self.tiles_applied = self.tiles_applied.saturating_add(plan.tiles as u64);
    Ok(())
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
    let plan =
      crate::plan::plan_batch(g, self.config.channels, batch_shape, data.len(), coords, coords_shape, clipping)?;
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
    let mask = self.mask.as_mut_slice();
    match (&self.counter, self.config.aggregation) {
      (Some(Counter::U16(c)), Aggregation::Mean) => kernels::divide_by_counts(mask, c.as_slice(), self.plane_len),
      (Some(Counter::U32(c)), Aggregation::Mean) => kernels::divide_by_counts(mask, c.as_slice(), self.plane_len),
      _ => kernels::replace(mask, T::NEG_INFINITY, T::ZERO),
    }
    self.flush()
  }

  /// Writes file-backed storage through to disk (msync); no-op in memory.
  pub fn flush(&self) -> Result<()> {
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

fn apply<T: Element, K: CounterElement, C: Combine<T>>(
  geometry: &Geometry,
  plan: &BatchPlan,
  data: &[T],
  mask: &mut [T],
  counter: Option<&mut [K]>,
  plane_len: usize,
) {
  kernels::apply_batch::<T, K, C>(geometry, plan, data, mask, counter, plane_len);
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
    BuilderSpec { geometry: config.geometry.clone(), channels: config.channels, dtype: self.dtype() }
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
}

impl BuilderSpec {
  pub fn plan(
    &self,
    data: &BatchData<'_>,
    batch_shape: &[usize],
    coords: Coords<'_>,
    coords_shape: &[usize],
    clipping: &EdgeClipping,
  ) -> Result<BatchPlan> {
    self.plan_into(data, batch_shape, coords, coords_shape, clipping, Vec::new())
  }

  /// [`Self::plan`] with the origins written into `origins`' memory.
  pub fn plan_into(
    &self,
    data: &BatchData<'_>,
    batch_shape: &[usize],
    coords: Coords<'_>,
    coords_shape: &[usize],
    clipping: &EdgeClipping,
    origins: Vec<usize>,
  ) -> Result<BatchPlan> {
    check_data(self.dtype, data)?;
    plan_batch_into(&self.geometry, self.channels, batch_shape, data.len(), coords, coords_shape, clipping, origins)
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
