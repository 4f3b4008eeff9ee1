//! `AnyAccumulator`: an accumulator of the element type chosen at run time.

use crate::accumulator::Accumulator;
use crate::batch_data::BatchData;
use crate::config::{aggregation_name, check_data, BuilderConfig, BuilderSpec};
use crate::counter::Counter;
use crate::element::Dtype;
use crate::error::{codes, list, Error, Result};
use crate::geometry::Geometry;
use crate::mask_region::MaskRegion;
use crate::memmap::CreatedFile;
use crate::plan::BatchPlan;
use crate::raw_array::RawArray;
use crate::reduce::{FinalizeRequest, Labels, Reduced};
use crate::region::{copy_window, RegionData};
use ndarray::{ArrayViewD, Axis, IxDyn};

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

  /// Bytes of the per-pixel counter held now (0 while a mean keeps rectangles).
  pub fn counter_bytes(&self) -> usize {
    each!(self, b => b.counter_bytes())
  }

  /// The per-pixel counter, made from the tile rectangles first if need be.
  pub fn materialize_counter(&mut self) -> Result<Option<&Counter>> {
    each!(self, b => b.materialize_counter())
  }

  /// Whether the accumulator holds the final mask.
  pub fn is_finalized(&self) -> bool {
    each!(self, b => b.is_finalized())
  }

  /// See [`Accumulator::prepare_release`].
  pub fn prepare_release(&mut self) -> Result<()> {
    each!(self, b => b.prepare_release())
  }

  pub fn region(&self) -> &MaskRegion {
    each!(self, b => b.region())
  }

  pub fn tile_counts(&self) -> (u64, u64) {
    each!(self, b => b.tile_counts())
  }

  /// Refuses another builder's state unless everything but the region matches, naming the field.
  pub fn check_compatible(&self, other: &BuilderSpec, what: &str) -> Result<()> {
    let mine = self.spec();
    let config = self.config();
    let g = &mine.geometry;
    let o = &other.geometry;
    let fields: [(&str, String, String); 6] = [
      ("sourceExtents", list(&g.source_extents), list(&o.source_extents)),
      ("sourceTileExtent", list(&g.source_tile_extent), list(&o.source_tile_extent)),
      ("outputTileExtent", list(&g.output_tile_extent), list(&o.output_tile_extent)),
      ("stride", list(&g.stride), list(&o.stride)),
      ("nChannels", mine.channels.to_string(), other.channels.to_string()),
      ("dtype", mine.dtype.name().to_string(), other.dtype.name().to_string()),
    ];
    for (field, a, b) in fields {
      if a != b {
        return Err(mismatch(field, what, &a, &b));
      }
    }
    if config.aggregation != other.aggregation {
      return Err(mismatch(
        "aggregation",
        what,
        aggregation_name(config.aggregation),
        aggregation_name(other.aggregation),
      ));
    }
    if config.aggregation.counts_overlaps() && config.counter_dtype != other.counter_dtype {
      return Err(mismatch("counterDtype", what, config.counter_dtype.name(), other.counter_dtype.name()));
    }
    Ok(())
  }

  /// Merges `other`'s state (same configuration, region inside this one's).
  pub fn merge_from(&mut self, other: &AnyAccumulator) -> Result<()> {
    self.check_compatible(&other.spec(), "the other builder")?;
    if self.config().weights != other.config().weights {
      let describe = |w: &crate::weights::Weights| w.describe();
      return Err(mismatch(
        "weights",
        "the other builder",
        &describe(&self.config().weights),
        &describe(&other.config().weights),
      ));
    }
    match (self, other) {
      (AnyAccumulator::F32(a), AnyAccumulator::F32(b)) => a.merge(&b.state()),
      (AnyAccumulator::F64(a), AnyAccumulator::F64(b)) => a.merge(&b.state()),
      _ => unreachable!("dtype checked above"),
    }
  }

  /// What planning needs, detached from the storage so that batches can be
  /// validated while another thread writes the mask.
  pub fn spec(&self) -> BuilderSpec {
    let config = self.config();
    BuilderSpec {
      geometry: config.geometry.clone(),
      channels: config.channels,
      dtype: self.dtype(),
      region: config.region.clone(),
      aggregation: config.aggregation,
      counter_dtype: config.counter_dtype,
      weighted: config.weights != crate::weights::Weights::Uniform,
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

  pub fn finalize_with(&mut self, request: &FinalizeRequest, first: bool) -> Result<()> {
    each!(self, b => b.finalize_with(request, first))
  }

  /// Raw view of the weight sum or variances.
  pub fn aux_raw(&self) -> Option<RawArray> {
    each!(self, b => b.aux().map(RawArray::of))
  }

  /// Raw views of the latest reduction: `(labels or bytes, confidence)`.
  pub fn reduced_raw(&self) -> Option<(RawArray, Option<RawArray>)> {
    fn of<T: crate::element::Element>(r: &Reduced<T>) -> (RawArray, Option<RawArray>) {
      match r {
        Reduced::Argmax { labels: Labels::U8(l), confidence } => (RawArray::of(l), Some(RawArray::of(confidence))),
        Reduced::Argmax { labels: Labels::U16(l), confidence } => (RawArray::of(l), Some(RawArray::of(confidence))),
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
    &mut self,
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
    if counter && !each!(&*self, b => b.counts_overlaps()) {
      return Err(Error::range(
        codes::REGION,
        "this builder has no overlap counter (max and min aggregations)".to_string(),
      ));
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
    let held = self.region();
    for d in 0..n {
      let end = start[d].checked_add(extent[d]);
      if extent[d] == 0 || start[d] < held.start[d] || end.is_none_or(|e| e > held.end(d)) {
        let inside = if held.is_whole(g) {
          format!("the mask extents {}", list(&g.mask_extents))
        } else {
          format!("the region this builder holds (start {} extent {})", list(&held.start), list(&held.extent))
        };
        return Err(Error::range(
          codes::REGION,
          format!("the region start {} extent {} must be non-empty and lie inside {inside}", list(start), list(extent)),
        ));
      }
    }
    let start: Vec<u64> = start.iter().zip(&held.start).map(|(&s, &h)| s - h).collect();
    let start = &start[..];
    let count = extent.iter().try_fold(1u64, |a, &e| a.checked_mul(e)).unwrap_or(u64::MAX);
    let element = if counter { self.config().counter_dtype.size() } else { self.dtype().size() };
    if count.saturating_mul(element as u64) > max_bytes as u64 {
      return Err(Error::range(
        codes::VIEW_TOO_LARGE,
        format!(
          "a region of {} ({count} elements) is larger than the {max_bytes} bytes one ArrayBuffer holds; read it in smaller windows",
          list(extent)
        ),
      ));
    }
    if counter {
      self.materialize_counter()?;
    }
    let held = self.region();
    // Views and counters hold the region this builder keeps, not the whole mask.
    let extents: Vec<usize> = held.extent.iter().map(|&e| e as usize).collect();
    let this = &*self;
    Ok(match (counter, this, this.counter()) {
      (false, AnyAccumulator::F32(b), _) => {
        RegionData::F32(copy_window(b.mask_view().index_axis_move(Axis(0), channel), start, extent))
      }
      (false, AnyAccumulator::F64(b), _) => {
        RegionData::F64(copy_window(b.mask_view().index_axis_move(Axis(0), channel), start, extent))
      }
      (true, _, Some(Counter::U16(c))) => RegionData::U16(copy_window(plane(&extents, c.as_slice()), start, extent)),
      (true, _, Some(Counter::U32(c))) => RegionData::U32(copy_window(plane(&extents, c.as_slice()), start, extent)),
      (true, _, None) => unreachable!("checked above"),
    })
  }

  /// Raw view of the overlap counter (made from the tile rectangles first if need be).
  pub fn counter_raw(&mut self) -> Result<Option<RawArray>> {
    Ok(self.materialize_counter()?.map(|c| match c {
      Counter::U16(a) => RawArray::of(a),
      Counter::U32(a) => RawArray::of(a),
    }))
  }
}

/// The counter's one plane `[...extent held]` as an array view.
fn plane<'a, E>(extents: &[usize], data: &'a [E]) -> ArrayViewD<'a, E> {
  ArrayViewD::from_shape(IxDyn(extents), data).expect("the counter matches its shape")
}

fn mismatch(field: &str, what: &str, mine: &str, theirs: &str) -> Error {
  Error::range(
    codes::PARTIAL_MISMATCH,
    format!("{field}: {what} has {field} {theirs}, this builder {mine}; only states of the same slide, geometry and options merge"),
  )
}
