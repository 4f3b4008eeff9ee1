//! What a builder is built from: geometry, channels, aggregation, counter
//! type and storage, and the immutable part planning needs.

use crate::batch_data::BatchData;
use crate::element::{CounterDtype, Dtype};
use crate::error::{codes, Error, Result};
use crate::geometry::Geometry;
use crate::memmap::{default_counter_path, Backing};
use crate::npy::NpyVersion;
use crate::plan::{plan_batch, BatchPlan, Coords, EdgeClipping};
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
