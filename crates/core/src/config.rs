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
  /// The window of the mask this builder holds; `None`: the whole mask.
  pub region: Option<MaskRegion>,
}

impl BuilderConfig {
  /// The region held: `region`, or the whole mask.
  pub fn region_held(&self) -> MaskRegion {
    self.region.clone().unwrap_or_else(|| MaskRegion::whole(&self.geometry))
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
}

pub fn aggregation_name(a: Aggregation) -> &'static str {
  match a {
    Aggregation::Mean => "mean",
    Aggregation::Max => "max",
  }
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
