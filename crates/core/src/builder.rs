//! The mask builder: geometry, accumulator storage and an aggregation
//! strategy, with a lifecycle (building, finalized).

use crate::element::{CounterDtype, CounterElement, Dtype, Element};
use crate::error::{codes, list, Error, Result};
use crate::geometry::Geometry;
use crate::kernels::{self, Combine, Maximum, Sum};
use crate::plan::{plan_batch, BatchPlan, Coords, EdgeClipping};
use crate::storage::Array;

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

/// Upper limit on channels; far above any model head, low enough that
/// size arithmetic cannot overflow.
pub const MAX_CHANNELS: usize = 1 << 20;

/// Batches up to this size get an exact overlap count near the counter limit.
const PAIRWISE_OVERLAP_LIMIT: usize = 4096;

pub struct MaskBuilder<T: Element> {
  config: BuilderConfig,
  plane_len: usize,
  mask: Array<T>,
  counter: Option<Counter>,
  /// Tiles applied so far: while below the counter's maximum no pixel can
  /// overflow, and the per-batch capacity check is skipped.
  tiles_applied: u64,
  finalized: bool,
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

impl<T: Element> MaskBuilder<T> {
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
    let StorageConfig::InMemory { max_bytes } = config.storage;
    if let Some(limit) = max_bytes {
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
    let mut mask = Array::<T>::zeroed(plane_len * config.channels)?;
    let counter = match config.aggregation {
      Aggregation::Mean => Some(match config.counter_dtype {
        CounterDtype::Uint16 => Counter::U16(Array::zeroed(plane_len)?),
        CounterDtype::Uint32 => Counter::U32(Array::zeroed(plane_len)?),
      }),
      Aggregation::Max => {
        // Start below every value so negative maxima survive; pixels no
        // tile reaches become 0 at finalize.
        kernels::fill(mask.as_mut_slice(), T::NEG_INFINITY);
        None
      }
    };
    Ok(Self { config, plane_len, mask, counter, tiles_applied: 0, finalized: false })
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

  pub fn is_finalized(&self) -> bool {
    self.finalized
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

  fn check_building(&self, call: &str) -> Result<()> {
    if self.finalized {
      return Err(Error::state(codes::FINALIZED, format!("{call} after finalize(): the mask is already finalized")));
    }
    Ok(())
  }

  /// Validates a batch and places its tiles; nothing is written.
  pub fn plan(
    &self,
    batch_shape: &[usize],
    data_len: usize,
    coords: Coords<'_>,
    coords_shape: &[usize],
    clipping: &EdgeClipping,
  ) -> Result<BatchPlan> {
    self.check_building("updateBatch")?;
    plan_batch(&self.config.geometry, self.config.channels, batch_shape, data_len, coords, coords_shape, clipping)
  }

  /// Writes a planned batch. Refuses, writing nothing, if the data does not
  /// match the plan or the overlap counter could overflow.
  pub fn apply(&mut self, plan: &BatchPlan, data: &[T]) -> Result<()> {
    self.check_building("updateBatch")?;
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
  pub fn update_batch(
    &mut self,
    data: &[T],
    batch_shape: &[usize],
    coords: Coords<'_>,
    coords_shape: &[usize],
    clipping: &EdgeClipping,
  ) -> Result<()> {
    let plan = self.plan(batch_shape, data.len(), coords, coords_shape, clipping)?;
    self.apply(&plan, data)
  }

  fn check_counter_capacity(&self, plan: &BatchPlan) -> Result<()> {
    let Some(counter) = &self.counter else { return Ok(()) };
    let max = counter.dtype().max_count();
    if self.tiles_applied + plan.tiles as u64 <= max {
      return Ok(());
    }
    let geometry = &self.config.geometry;
    for t in 0..plan.tiles {
      let peak = match counter {
        Counter::U16(c) => kernels::footprint_peak(geometry, plan, c.as_slice(), t),
        Counter::U32(c) => kernels::footprint_peak(geometry, plan, c.as_slice(), t),
      } as u64;
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

  /// Turns the accumulator into the final mask. Calling it again returns the
  /// same result without dividing again.
  pub fn finalize(&mut self) -> Result<()> {
    if self.finalized {
      return Ok(());
    }
    let mask = self.mask.as_mut_slice();
    match (&self.counter, self.config.aggregation) {
      (Some(Counter::U16(c)), Aggregation::Mean) => kernels::divide_by_counts(mask, c.as_slice(), self.plane_len),
      (Some(Counter::U32(c)), Aggregation::Mean) => kernels::divide_by_counts(mask, c.as_slice(), self.plane_len),
      _ => kernels::replace(mask, T::NEG_INFINITY, T::ZERO),
    }
    self.finalized = true;
    Ok(())
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
pub enum AnyMaskBuilder {
  F32(MaskBuilder<f32>),
  F64(MaskBuilder<f64>),
}

macro_rules! each {
  ($self:expr, $b:ident => $body:expr) => {
    match $self {
      AnyMaskBuilder::F32($b) => $body,
      AnyMaskBuilder::F64($b) => $body,
    }
  };
}

impl AnyMaskBuilder {
  pub fn new(dtype: Dtype, config: BuilderConfig) -> Result<Self> {
    Ok(match dtype {
      Dtype::Float32 => AnyMaskBuilder::F32(MaskBuilder::new(config)?),
      Dtype::Float64 => AnyMaskBuilder::F64(MaskBuilder::new(config)?),
    })
  }

  pub fn dtype(&self) -> Dtype {
    match self {
      AnyMaskBuilder::F32(_) => Dtype::Float32,
      AnyMaskBuilder::F64(_) => Dtype::Float64,
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

  pub fn is_finalized(&self) -> bool {
    each!(self, b => b.is_finalized())
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

  pub fn plan(
    &self,
    data: &BatchData<'_>,
    batch_shape: &[usize],
    coords: Coords<'_>,
    coords_shape: &[usize],
    clipping: &EdgeClipping,
  ) -> Result<BatchPlan> {
    each!(self, b => b.check_building("updateBatch"))?;
    self.spec().plan(data, batch_shape, coords, coords_shape, clipping)
  }

  pub fn apply(&mut self, plan: &BatchPlan, data: BatchData<'_>) -> Result<()> {
    check_data(self.dtype(), &data)?;
    match (self, data) {
      (AnyMaskBuilder::F32(b), BatchData::F32(d)) => b.apply(plan, d),
      (AnyMaskBuilder::F64(b), BatchData::F64(d)) => b.apply(plan, d),
      _ => unreachable!("checked above"),
    }
  }

  pub fn finalize(&mut self) -> Result<()> {
    each!(self, b => b.finalize())
  }

  /// Raw view of the accumulator for zero-copy export:
  /// (pointer, byte length, keep-alive handle).
  pub fn mask_raw(&self) -> RawArray {
    each!(self, b => RawArray::of(b.mask()))
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
  fn mean_of_constant_tiles_is_the_constant_and_finalize_is_idempotent() {
    let mut b = MaskBuilder::<f32>::new(config(Aggregation::Mean, CounterDtype::Uint16)).unwrap();
    let data = vec![0.25f32; 3 * 2 * 64];
    b.update_batch(&data, &[3, 2, 8, 8], Coords::I32(&[0, 0, 4, 4, 8, 8]), &[3, 2], &EdgeClipping::none(2)).unwrap();
    b.finalize().unwrap();
    let once: Vec<f32> = b.mask().as_slice().to_vec();
    b.finalize().unwrap();
    assert_eq!(once, b.mask().as_slice());
    assert!(once.iter().all(|&v| v == 0.25 || v == 0.0));
    assert_eq!(once[0], 0.25);
    let e = b.update_batch(&data, &[3, 2, 8, 8], Coords::I32(&[0, 0, 4, 4, 8, 8]), &[3, 2], &EdgeClipping::none(2));
    assert_eq!(e.unwrap_err().code, codes::FINALIZED);
  }

  #[test]
  fn max_reads_zero_where_no_tile_landed() {
    let mut b = MaskBuilder::<f64>::new(config(Aggregation::Max, CounterDtype::Uint16)).unwrap();
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
    let mut b = MaskBuilder::<f32>::new(cfg).unwrap();
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
    let mut b = MaskBuilder::<f32>::new(cfg).unwrap();
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
    let e = MaskBuilder::<f32>::new(cfg).err().unwrap();
    assert_eq!(e.code, codes::MASK_TOO_LARGE);
    assert!(e.message.contains("memmap"));
  }

  #[test]
  fn dtype_mismatch_is_a_type_error() {
    let b = AnyMaskBuilder::new(Dtype::Float32, config(Aggregation::Mean, CounterDtype::Uint16)).unwrap();
    let e =
      b.plan(&BatchData::F64(&[0.0, 0.0]), &[1, 2], Coords::I32(&[0, 0]), &[1, 2], &EdgeClipping::none(2)).unwrap_err();
    assert_eq!(e.code, codes::BATCH_TYPE);
    assert_eq!(e.kind, crate::error::ErrorKind::Type);
  }
}
