//! What a builder is built from: geometry, channels, aggregation, counter
//! type and storage, and the immutable part planning needs.

use crate::batch_data::BatchData;
use crate::element::{CounterDtype, Dtype};
use crate::error::{codes, Error, Result};
use crate::geometry::Geometry;
use crate::mask_region::{clip_plan_to_region, MaskRegion};
use crate::memmap::{default_counter_path, Backing};
use crate::npy::NpyVersion;
use crate::plan::{plan_batch_into, BatchPlan, Coords, EdgeClipping};
use crate::weights::Weights;
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
  /// Weighted mean, sum and argmax; [`Weights::Uniform`] is the plain mean.
  pub weights: Weights,
  /// The window of the mask this builder holds; `None`: the whole mask.
  pub region: Option<MaskRegion>,
}

impl BuilderConfig {
  /// The region held: `region`, or the whole mask.
  pub fn region_held(&self) -> MaskRegion {
    self.region.clone().unwrap_or_else(|| MaskRegion::whole(&self.geometry))
  }

  /// Refuses option combinations the aggregation cannot honour.
  pub(crate) fn check_aggregation(&self) -> Result<()> {
    let aggregation = self.aggregation;
    if self.weights != Weights::Uniform && !aggregation.takes_weights() {
      return Err(Error::type_error(
        codes::OPTION_TYPE,
        format!(
          "weights apply to the mean, sum and argmax aggregations; aggregation is '{}'. Drop weights or use aggregation: 'mean'",
          aggregation.name()
        ),
      ));
    }
    if let Aggregation::Argmax { background } = aggregation {
      if !(2..=MAX_ARGMAX_CLASSES).contains(&self.channels) {
        return Err(Error::range(
          codes::OPTION_RANGE,
          format!(
            "aggregation 'argmax' needs nChannels from 2 to {MAX_ARGMAX_CLASSES} (one score per class); received nChannels {}",
            self.channels
          ),
        ));
      }
      if background as usize >= self.channels {
        return Err(Error::range(
          codes::OPTION_RANGE,
          format!("background must be a class label from 0 to {}; received {background}", self.channels - 1),
        ));
      }
    }
    Ok(())
  }

  /// Planes of the auxiliary array: the weight sum, or one M2 plane per channel.
  pub(crate) fn aux_planes(&self) -> usize {
    match self.aggregation {
      Aggregation::Variance => self.channels,
      a if a.takes_weights() && self.weights != Weights::Uniform => 1,
      _ => 0,
    }
  }
}

/// The immutable part of a builder: enough to validate and place a batch.
#[derive(Debug, Clone)]
pub struct BuilderSpec {
  pub geometry: Geometry,
  pub channels: usize,
  pub dtype: Dtype,
  pub region: Option<MaskRegion>,
  pub aggregation: Aggregation,
  pub counter_dtype: CounterDtype,
  /// Whether a weight map applies (the state then keeps a weight sum).
  pub weighted: bool,
}

pub fn aggregation_name(a: Aggregation) -> &'static str {
  a.name()
}

/// Plans a batch against the whole geometry, then cuts it to `region`; the
/// origins go into `origins`' memory (a recycled plan's).
#[allow(clippy::too_many_arguments)]
pub fn plan_in_region(
  geometry: &Geometry,
  region: Option<&MaskRegion>,
  channels: usize,
  batch_shape: &[usize],
  data_len: usize,
  coords: Coords<'_>,
  coords_shape: &[usize],
  clipping: &EdgeClipping,
  origins: Vec<usize>,
) -> Result<BatchPlan> {
  let mut plan = plan_batch_into(geometry, channels, batch_shape, data_len, coords, coords_shape, clipping, origins)?;
  if let Some(region) = region {
    clip_plan_to_region(&mut plan, region);
  }
  Ok(plan)
}

impl BuilderSpec {
  /// Planes of the auxiliary array: the weight sum, or one M2 plane per channel.
  pub fn aux_planes(&self) -> usize {
    match self.aggregation {
      Aggregation::Variance => self.channels,
      a if a.takes_weights() && self.weighted => 1,
      _ => 0,
    }
  }

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
    plan_in_region(
      &self.geometry,
      self.region.as_ref(),
      self.channels,
      batch_shape,
      data.len(),
      coords,
      coords_shape,
      clipping,
      origins,
    )
  }
}

pub(crate) fn check_data(dtype: Dtype, data: &BatchData<'_>) -> Result<()> {
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
