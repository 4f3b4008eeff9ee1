//! Reductions at finalize: argmax labels, thresholds and 8-bit quantization
//! computed from the finalized accumulator run by run (a run is a chunk of
//! pixels of every plane), into new arrays: anonymous memory, or NPY files
//! mapped into memory that the page cache writes out as they fill. Never a
//! second full-size float array.

use rayon::prelude::*;
use std::path::PathBuf;

use crate::config::{Aggregation, MAX_ARGMAX_CLASSES};
use crate::element::{CounterElement, Element};
use crate::error::{codes, Error, Result};
use crate::memmap::{check_absent, create_npy, Backing, CreatedFile};
use crate::npy::NpyVersion;
use crate::rows;
use crate::storage::Array;

/// Pixels per run of a reduction: large enough for sequential reads of
/// every plane, small enough to spread over threads.
const RUN: usize = 1 << 16;

/// What `finalize` reduces the mask to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reduction {
  /// `{ labels, confidence }`: the class with the highest value per pixel.
  Argmax { background: u16 },
  /// uint8 0/1 per channel: `v >= threshold`.
  Threshold(f64),
  /// uint8 per channel: `round(clamp(v, 0, 1) * 255)`.
  QuantizeU8,
}

impl Reduction {
  pub fn name(&self) -> &'static str {
    match self {
      Reduction::Argmax { .. } => "argmax",
      Reduction::Threshold(_) => "threshold",
      Reduction::QuantizeU8 => "quantize",
    }
  }
}

/// What `finalize` should produce besides the finalized accumulator.
#[derive(Debug, Clone, Default)]
pub struct FinalizeRequest {
  pub reduction: Option<Reduction>,
  /// The NPY file for the reduced labels or bytes; must not exist.
  pub output_filename: Option<PathBuf>,
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
  check_reduction(reduction)?;
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

/// Argmax labels: uint8 for up to 256 classes, else uint16.
pub enum Labels {
  U8(Array<u8>),
  U16(Array<u16>),
}

/// A reduction's arrays.
pub enum Reduced<T: Element> {
  /// Labels `[1, ...maskExtents]` and the winning value `[1, ...maskExtents]`.
  Argmax { labels: Labels, confidence: Array<T> },
  /// uint8 `[C, ...maskExtents]`.
  Bytes(Array<u8>),
}

/// Where reduced arrays go.
#[derive(Debug, Clone)]
pub struct Output {
  /// Memory-mapped storage puts temporaries here; `None` keeps them in memory.
  pub temp_dir: Option<PathBuf>,
  /// The NPY file for the labels or bytes; must not exist.
  pub filename: Option<PathBuf>,
  pub npy_version: NpyVersion,
}

fn allocate<E: crate::element::Pod>(
  output: &Output,
  persist: bool,
  descr: &str,
  shape: &[u64],
  files: &mut Vec<CreatedFile>,
) -> Result<Array<E>> {
  let backing = match (&output.filename, &output.temp_dir) {
    (Some(path), _) if persist => Backing::File(path.clone()),
    (_, Some(dir)) => Backing::Temporary(dir.clone()),
    _ => return Array::zeroed(shape.iter().product::<u64>() as usize),
  };
  let (array, file) = create_npy::<E>(&backing, descr, shape, output.npy_version)?;
  files.push(file);
  Ok(array)
}

/// Refuses a threshold that is not a number.
pub fn check_reduction(reduction: &Reduction) -> Result<()> {
  if let Reduction::Threshold(t) = reduction {
    if t.is_nan() {
      return Err(Error::range(codes::OPTION_RANGE, "finalize option threshold must be a number; received NaN"));
    }
  }
  Ok(())
}

/// Reduces `mask` (`channels` planes of `plane_len`) run by run. `counts`
/// (the overlap counter) marks the pixels no tile reached for argmax.
pub fn reduce<T: Element, K: CounterElement>(
  mask: &[T],
  channels: usize,
  extents: &[u64],
  counts: Option<&[K]>,
  reduction: Reduction,
  output: &Output,
) -> Result<(Reduced<T>, Vec<CreatedFile>)> {
  let plane_len = mask.len() / channels;
  let mut files = Vec::new();
  let plane_shape: Vec<u64> = std::iter::once(1).chain(extents.iter().copied()).collect();
  let reduced = match reduction {
    Reduction::Argmax { background } => {
      let planes: Vec<&[T]> = mask.chunks_exact(plane_len).collect();
      let mut confidence = allocate::<T>(output, false, T::DTYPE.descr(), &plane_shape, &mut files)?;
      let labels = if channels <= 256 {
        let mut labels = allocate::<u8>(output, true, "|u1", &plane_shape, &mut files)?;
        argmax_runs(&planes, counts, background as u8, labels.as_mut_slice(), confidence.as_mut_slice());
        Labels::U8(labels)
      } else {
        let mut labels = allocate::<u16>(output, true, "<u2", &plane_shape, &mut files)?;
        argmax_runs(&planes, counts, background, labels.as_mut_slice(), confidence.as_mut_slice());
        Labels::U16(labels)
      };
      Reduced::Argmax { labels, confidence }
    }
    Reduction::Threshold(t) => {
      let shape: Vec<u64> = std::iter::once(channels as u64).chain(extents.iter().copied()).collect();
      let mut bytes = allocate::<u8>(output, true, "|u1", &shape, &mut files)?;
      bytes
        .as_mut_slice()
        .par_chunks_mut(RUN)
        .zip(mask.par_chunks(RUN))
        .for_each(|(d, s)| rows::threshold_run(s, t, d));
      Reduced::Bytes(bytes)
    }
    Reduction::QuantizeU8 => {
      let shape: Vec<u64> = std::iter::once(channels as u64).chain(extents.iter().copied()).collect();
      let mut bytes = allocate::<u8>(output, true, "|u1", &shape, &mut files)?;
      bytes.as_mut_slice().par_chunks_mut(RUN).zip(mask.par_chunks(RUN)).for_each(|(d, s)| rows::quantize_run(s, d));
      Reduced::Bytes(bytes)
    }
  };
  Ok((reduced, files))
}

fn argmax_runs<T: Element, K: CounterElement, L: rows::Label + Send>(
  planes: &[&[T]],
  counts: Option<&[K]>,
  background: L,
  labels: &mut [L],
  confidence: &mut [T],
) {
  labels.par_chunks_mut(RUN).zip(confidence.par_chunks_mut(RUN)).enumerate().for_each(|(i, (labels, confidence))| {
    let start = i * RUN;
    let end = start + labels.len();
    let run: Vec<&[T]> = planes.iter().map(|p| &p[start..end]).collect();
    rows::argmax_run(&run, counts.map(|c| &c[start..end]), background, labels, confidence);
  });
}
