//! Saved partial states: a builder's un-normalized arrays as NPY files that
//! numpy opens (`accumulator.npy`, `[C, ...region.extent]`, and for the mean
//! `overlap_counter.npy`, `[1, ...region.extent]`), read back mapped
//! copy-on-write so that merging streams them from disk.
//!
//! The manifest beside them (geometry, options, region, tile counts, format
//! version) is written and checked by the TypeScript facade, which shares it
//! between both backends; this module checks the arrays against what the
//! manifest promises before anything is merged.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::accumulator::SourceState;
use crate::counter::CounterSlice;
use crate::dispatch::AnyAccumulator;
use crate::element::{CounterDtype, Dtype};
use crate::error::{codes, list, Error, Result};
use crate::mask_region::MaskRegion;
use crate::memmap::MappedNpy;
use crate::npy::{encode_header, NpyVersion};

pub const ACCUMULATOR_FILE: &str = "accumulator.npy";
pub const COUNTER_FILE: &str = "overlap_counter.npy";

/// Bytes written per call: large enough to stream at disk speed.
const WRITE_CHUNK: usize = 8 << 20;

fn write_npy(path: &Path, descr: &str, shape: &[u64], bytes: &[u8]) -> Result<()> {
  let header = encode_header(descr, shape, NpyVersion::V1).or_else(|_| encode_header(descr, shape, NpyVersion::V2))?;
  let mut file = OpenOptions::new()
    .write(true)
    .create_new(true)
    .open(path)
    .map_err(|e| Error::io(&format!("cannot create {}", path.display()), &e))?;
  let write = |file: &mut std::fs::File| -> std::io::Result<()> {
    file.write_all(&header)?;
    for chunk in bytes.chunks(WRITE_CHUNK) {
      file.write_all(chunk)?;
    }
    file.sync_all()
  };
  write(&mut file).map_err(|e| {
    let _ = std::fs::remove_file(path);
    Error::io(&format!("cannot write {}", path.display()), &e)
  })
}

/// Writes the builder's un-normalized arrays into `dir` (which must exist);
/// returns the files written.
pub fn write_arrays(builder: &mut AnyAccumulator, dir: &Path) -> Result<Vec<PathBuf>> {
  builder.config().check_partials()?;
  builder.materialize_counter()?;
  let builder = &*builder;
  let shape = builder.mask_shape();
  let counter_shape: Vec<u64> = std::iter::once(1).chain(shape[1..].iter().copied()).collect();
  let mut written = Vec::new();
  let accumulator = dir.join(ACCUMULATOR_FILE);
  let bytes: &[u8] = match builder {
    AnyAccumulator::F32(b) => bytemuck::cast_slice(b.mask().as_slice()),
    AnyAccumulator::F64(b) => bytemuck::cast_slice(b.mask().as_slice()),
  };
  write_npy(&accumulator, builder.dtype().descr(), &shape, bytes)?;
  written.push(accumulator);
  if let Some(counter) = builder.counter() {
    let path = dir.join(COUNTER_FILE);
    let (descr, bytes): (&str, &[u8]) = match counter {
      crate::Counter::U16(c) => ("<u2", bytemuck::cast_slice(c.as_slice())),
      crate::Counter::U32(c) => ("<u4", bytemuck::cast_slice(c.as_slice())),
    };
    if let Err(e) = write_npy(&path, descr, &counter_shape, bytes) {
      let _ = std::fs::remove_file(&written[0]);
      return Err(e);
    }
    written.push(path);
  }
  Ok(written)
}

/// What a partial's manifest promises about its arrays.
#[derive(Debug, Clone)]
pub struct PartialSpec {
  pub dir: PathBuf,
  pub dtype: Dtype,
  pub channels: usize,
  /// The counter's type, for aggregations that count overlaps.
  pub counter_dtype: Option<CounterDtype>,
  pub region: MaskRegion,
  pub tiles_applied: u64,
  pub tiles_skipped: u64,
}

/// A partial's arrays, mapped and checked against its manifest.
pub struct OpenPartial {
  spec: PartialSpec,
  accumulator: MappedNpy,
  counter: Option<MappedNpy>,
}

fn corrupt(path: &Path, message: String) -> Error {
  Error::range(codes::PARTIAL_CORRUPT, format!("{}: {message}", path.display()))
}

fn open_checked(path: &Path, field: &str, descr: &str, dtype_name: &str, shape: &[u64]) -> Result<MappedNpy> {
  let mapped = MappedNpy::open(path).map_err(|e| match e.kind {
    crate::ErrorKind::Io => Error { code: codes::PARTIAL_CORRUPT, ..e },
    _ => corrupt(path, format!("{field} is not a readable NPY array ({})", e.message)),
  })?;
  let h = &mapped.header;
  if h.descr != descr {
    return Err(corrupt(
      path,
      format!("{field} holds dtype '{}', but the manifest says {dtype_name} ('{descr}')", h.descr),
    ));
  }
  if h.fortran_order {
    return Err(corrupt(path, format!("{field} is in Fortran order; partials are written in C order")));
  }
  if h.shape != shape {
    return Err(corrupt(
      path,
      format!("{field} has shape {}, but the manifest's region and nChannels say {}", list(&h.shape), list(shape)),
    ));
  }
  Ok(mapped)
}

impl OpenPartial {
  /// Maps the arrays of `spec.dir` and checks their dtype, order, shape and
  /// length (a truncated file is refused here, before any merge).
  pub fn open(spec: PartialSpec) -> Result<Self> {
    let region_shape = &spec.region.extent;
    let shape: Vec<u64> = std::iter::once(spec.channels as u64).chain(region_shape.iter().copied()).collect();
    let accumulator =
      open_checked(&spec.dir.join(ACCUMULATOR_FILE), "accumulator", spec.dtype.descr(), spec.dtype.name(), &shape)?;
    let counter = match spec.counter_dtype {
      None => None,
      Some(k) => {
        let descr = match k {
          CounterDtype::Uint16 => "<u2",
          CounterDtype::Uint32 => "<u4",
        };
        let shape: Vec<u64> = std::iter::once(1).chain(region_shape.iter().copied()).collect();
        Some(open_checked(&spec.dir.join(COUNTER_FILE), "overlapCounter", descr, k.name(), &shape)?)
      }
    };
    Ok(Self { spec, accumulator, counter })
  }

  pub fn spec(&self) -> &PartialSpec {
    &self.spec
  }

  /// Merges this partial into `builder` (which checks the region and counts).
  pub fn merge_into(&self, builder: &mut AnyAccumulator) -> Result<()> {
    let counter_u16;
    let counter_u32;
    let counter = match (&self.counter, self.spec.counter_dtype) {
      (Some(c), Some(CounterDtype::Uint16)) => {
        counter_u16 = c.array::<u16>()?;
        Some(CounterSlice::U16(counter_u16.as_slice()))
      }
      (Some(c), Some(CounterDtype::Uint32)) => {
        counter_u32 = c.array::<u32>()?;
        Some(CounterSlice::U32(counter_u32.as_slice()))
      }
      _ => None,
    };
    let (region, tiles_applied, tiles_skipped) = (&self.spec.region, self.spec.tiles_applied, self.spec.tiles_skipped);
    match builder {
      AnyAccumulator::F32(b) => {
        let mask = self.accumulator.array::<f32>()?;
        b.merge(&SourceState { region, mask: mask.as_slice(), counter, rects: None, tiles_applied, tiles_skipped })
      }
      AnyAccumulator::F64(b) => {
        let mask = self.accumulator.array::<f64>()?;
        b.merge(&SourceState { region, mask: mask.as_slice(), counter, rects: None, tiles_applied, tiles_skipped })
      }
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::config::{Aggregation, BuilderConfig, StorageConfig};
  use crate::geometry::Geometry;
  use crate::plan::{Coords, EdgeClipping};
  use crate::BatchData;

  fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsi-mask-partial-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
  }

  fn builder(region: Option<MaskRegion>) -> AnyAccumulator {
    AnyAccumulator::new(
      Dtype::Float32,
      BuilderConfig {
        geometry: Geometry::new(&[16, 16], &[8, 8], &[8, 8], &[4, 4]).unwrap(),
        channels: 1,
        aggregation: Aggregation::Mean,
        counter_dtype: CounterDtype::Uint16,
        storage: StorageConfig::InMemory { max_bytes: None },
        weights: crate::weights::Weights::Uniform,
        region,
      },
    )
    .unwrap()
  }

  fn update(b: &mut AnyAccumulator, coords: &[i32], value: f32) {
    let tiles = coords.len() / 2;
    let data = vec![value; tiles * 64];
    let plan = b
      .spec()
      .plan(&BatchData::F32(&data), &[tiles, 1, 8, 8], Coords::I32(coords), &[tiles, 2], &EdgeClipping::none(2))
      .unwrap();
    b.apply(&plan, BatchData::F32(&data)).unwrap();
  }

  fn spec_of(b: &AnyAccumulator, dir: &Path) -> PartialSpec {
    let (tiles_applied, tiles_skipped) = b.tile_counts();
    PartialSpec {
      dir: dir.to_path_buf(),
      dtype: b.dtype(),
      channels: 1,
      counter_dtype: Some(CounterDtype::Uint16),
      region: b.region().clone(),
      tiles_applied,
      tiles_skipped,
    }
  }

  #[test]
  fn shards_saved_and_merged_by_placement_equal_one_build() {
    let coords = [0, 0, 4, 4, 8, 8, 0, 8, 8, 0];
    let mut whole = builder(None);
    update(&mut whole, &coords, 2.0);
    let mut merged = builder(None);
    for (i, start) in [0u64, 8].into_iter().enumerate() {
      let mut shard = builder(Some(MaskRegion { start: vec![start, 0], extent: vec![8, 16] }));
      update(&mut shard, &coords, 2.0);
      let dir = scratch(&format!("shard{i}"));
      write_arrays(&mut shard, &dir).unwrap();
      OpenPartial::open(spec_of(&shard, &dir)).unwrap().merge_into(&mut merged).unwrap();
      std::fs::remove_dir_all(&dir).unwrap();
    }
    whole.materialize_counter().unwrap();
    merged.materialize_counter().unwrap();
    let AnyAccumulator::F32(w) = &whole else { panic!() };
    let AnyAccumulator::F32(m) = &merged else { panic!() };
    assert_eq!(w.mask().as_slice(), m.mask().as_slice());
    assert_eq!(w.state().counter.map(|c| matches!(c, CounterSlice::U16(_))), Some(true));
    let (CounterSlice::U16(a), CounterSlice::U16(b)) = (w.state().counter.unwrap(), m.state().counter.unwrap()) else {
      panic!()
    };
    assert_eq!(a, b);
  }

  #[test]
  fn truncated_and_mismatched_arrays_are_refused_naming_the_field() {
    let mut b = builder(None);
    update(&mut b, &[0, 0], 1.0);
    let dir = scratch("corrupt");
    write_arrays(&mut b, &dir).unwrap();
    let mut wrong = spec_of(&b, &dir);
    wrong.counter_dtype = Some(CounterDtype::Uint32);
    let e = OpenPartial::open(wrong).err().unwrap();
    assert_eq!(e.code, codes::PARTIAL_CORRUPT);
    assert!(e.message.contains("overlapCounter"), "{}", e.message);
    let path = dir.join(ACCUMULATOR_FILE);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 4]).unwrap();
    let e = OpenPartial::open(spec_of(&b, &dir)).err().unwrap();
    assert_eq!(e.code, codes::PARTIAL_CORRUPT);
    assert!(e.message.contains("truncated"), "{}", e.message);
    std::fs::remove_dir_all(&dir).unwrap();
  }
}
