//! `AnyAccumulator`: an accumulator of the element type chosen at run time.

use crate::accumulator::{Accumulator, Counter};
use crate::batch_data::BatchData;
use crate::config::{check_data, BuilderConfig, BuilderSpec};
use crate::element::Dtype;
use crate::error::{codes, list, Error, Result};
use crate::geometry::Geometry;
use crate::memmap::CreatedFile;
use crate::plan::BatchPlan;
use crate::raw_array::RawArray;
use crate::region::{RegionData, Window};

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
