//! Saved partial states: a builder's un-normalized arrays as NPY files that
//! numpy opens (`accumulator.npy`, `[C, ...region.extent]`; for the
//! aggregations that count overlaps `overlap_counter.npy`, `[1, ...]`; for
//! weighted builders `weight_sum.npy`, `[1, ...]`; for variance `m2.npy`,
//! `[C, ...]`), read back mapped copy-on-write so that merging streams them
//! from disk.
//!
//! The manifest beside them (geometry, options, region, tile counts, format
//! version) is written and checked by the TypeScript facade, which shares it
//! between both backends; this module checks the arrays against what the
//! manifest promises before anything is merged.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::accumulator::SourceState;
use crate::config::{Aggregation, BuilderSpec};
use crate::counter::CounterSlice;
use crate::dispatch::AnyAccumulator;
use crate::element::{CounterDtype, Dtype};
use crate::error::{codes, list, Error, Result};
use crate::mask_region::MaskRegion;
use crate::memmap::MappedNpy;
use crate::npy::{encode_header, NpyVersion};

pub const ACCUMULATOR_FILE: &str = "accumulator.npy";
pub const COUNTER_FILE: &str = "overlap_counter.npy";
pub const WEIGHT_SUM_FILE: &str = "weight_sum.npy";
pub const M2_FILE: &str = "m2.npy";

/// The auxiliary array of a partial: its file, its name in the manifest and
/// errors, and its planes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuxFile {
  pub file: &'static str,
  pub field: &'static str,
  pub planes: usize,
}

impl AuxFile {
  /// The weight sum (weighted builders) or the M2 planes (variance); `None`
  /// for builders that keep no more than the accumulator and the counter.
  pub fn of(spec: &BuilderSpec) -> Option<Self> {
    match spec.aux_planes() {
      0 => None,
      planes if spec.aggregation == Aggregation::Variance => Some(AuxFile { file: M2_FILE, field: "m2", planes }),
      planes => Some(AuxFile { file: WEIGHT_SUM_FILE, field: "weightSum", planes }),
    }
  }
}

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
  builder.materialize_counter()?;
  let builder = &*builder;
  let shape = builder.mask_shape();
  let plane_shape =
    |planes: usize| -> Vec<u64> { std::iter::once(planes as u64).chain(shape[1..].iter().copied()).collect() };
  let mut written = Vec::new();
  let mut write = |path: PathBuf, descr: &str, shape: &[u64], bytes: &[u8]| -> Result<()> {
    if let Err(e) = write_npy(&path, descr, shape, bytes) {
      for done in &written {
        let _ = std::fs::remove_file(done);
      }
      return Err(e);
    }
    written.push(path);
    Ok(())
  };
  let bytes: &[u8] = match builder {
    AnyAccumulator::F32(b) => bytemuck::cast_slice(b.mask().as_slice()),
    AnyAccumulator::F64(b) => bytemuck::cast_slice(b.mask().as_slice()),
  };
  write(dir.join(ACCUMULATOR_FILE), builder.dtype().descr(), &shape, bytes)?;
  if let Some(counter) = builder.counter() {
    let (descr, bytes): (&str, &[u8]) = match counter {
      crate::Counter::U16(c) => ("<u2", bytemuck::cast_slice(c.as_slice())),
      crate::Counter::U32(c) => ("<u4", bytemuck::cast_slice(c.as_slice())),
    };
    write(dir.join(COUNTER_FILE), descr, &plane_shape(1), bytes)?;
  }
  if let Some(aux) = AuxFile::of(&builder.spec()) {
    let bytes: &[u8] = match builder {
      AnyAccumulator::F32(b) => bytemuck::cast_slice(b.aux().expect("the spec says it keeps planes").as_slice()),
      AnyAccumulator::F64(b) => bytemuck::cast_slice(b.aux().expect("the spec says it keeps planes").as_slice()),
    };
    write(dir.join(aux.file), builder.dtype().descr(), &plane_shape(aux.planes), bytes)?;
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
  /// The weight sum or M2 planes, for builders that keep them.
  pub aux: Option<AuxFile>,
  pub region: MaskRegion,
  pub tiles_applied: u64,
  pub tiles_skipped: u64,
}

/// A partial's arrays, mapped and checked against its manifest.
pub struct OpenPartial {
  spec: PartialSpec,
  accumulator: MappedNpy,
  counter: Option<MappedNpy>,
  aux: Option<MappedNpy>,
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
    let aux = match spec.aux {
      None => None,
      Some(a) => {
        let shape: Vec<u64> = std::iter::once(a.planes as u64).chain(region_shape.iter().copied()).collect();
        Some(open_checked(&spec.dir.join(a.file), a.field, spec.dtype.descr(), spec.dtype.name(), &shape)?)
      }
    };
    Ok(Self { spec, accumulator, counter, aux })
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
        let aux = self.aux.as_ref().map(|a| a.array::<f32>()).transpose()?;
        let aux = aux.as_ref().map(|a| a.as_slice());
        b.merge(&SourceState { region, mask: mask.as_slice(), counter, rects: None, aux, tiles_applied, tiles_skipped })
      }
      AnyAccumulator::F64(b) => {
        let mask = self.accumulator.array::<f64>()?;
        let aux = self.aux.as_ref().map(|a| a.array::<f64>()).transpose()?;
        let aux = aux.as_ref().map(|a| a.as_slice());
        b.merge(&SourceState { region, mask: mask.as_slice(), counter, rects: None, aux, tiles_applied, tiles_skipped })
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
      aux: None,
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

  fn builder_of(aggregation: Aggregation, weights: crate::weights::Weights) -> AnyAccumulator {
    AnyAccumulator::new(
      Dtype::Float64,
      BuilderConfig {
        geometry: Geometry::new(&[16, 16], &[8, 8], &[8, 8], &[4, 4]).unwrap(),
        channels: 1,
        aggregation,
        counter_dtype: CounterDtype::Uint16,
        storage: StorageConfig::InMemory { max_bytes: None },
        weights,
        region: Some(MaskRegion { start: vec![0, 0], extent: vec![12, 16] }),
      },
    )
    .unwrap()
  }

  fn update_f64(b: &mut AnyAccumulator, coords: &[i32], values: &[f64]) {
    let tiles = coords.len() / 2;
    let data: Vec<f64> = values.iter().flat_map(|&v| (0..64).map(move |i| v + i as f64 / 64.0)).collect();
    let plan = b
      .spec()
      .plan(&BatchData::F64(&data), &[tiles, 1, 8, 8], Coords::I32(coords), &[tiles, 2], &EdgeClipping::none(2))
      .unwrap();
    b.apply(&plan, BatchData::F64(&data)).unwrap();
  }

  fn saved_and_merged(parts: &mut [AnyAccumulator], into: &mut AnyAccumulator, name: &str) {
    for (i, part) in parts.iter_mut().enumerate() {
      let dir = scratch(&format!("{name}{i}"));
      write_arrays(part, &dir).unwrap();
      let (tiles_applied, tiles_skipped) = part.tile_counts();
      let spec = PartialSpec {
        dir: dir.clone(),
        dtype: part.dtype(),
        channels: 1,
        counter_dtype: Some(CounterDtype::Uint16),
        aux: AuxFile::of(&part.spec()),
        region: part.region().clone(),
        tiles_applied,
        tiles_skipped,
      };
      OpenPartial::open(spec).unwrap().merge_into(into).unwrap();
      std::fs::remove_dir_all(&dir).unwrap();
    }
  }

  fn aux_of(b: &AnyAccumulator) -> Vec<f64> {
    let AnyAccumulator::F64(a) = b else { panic!() };
    a.aux().unwrap().as_slice().to_vec()
  }

  fn mask_of(b: &AnyAccumulator) -> Vec<f64> {
    let AnyAccumulator::F64(a) = b else { panic!() };
    a.mask().as_slice().to_vec()
  }

  #[test]
  fn variance_states_saved_and_merged_equal_one_welford_build() {
    let coords = [0, 0, 4, 4, 8, 8, 0, 8, 8, 0, 4, 0];
    let values = [1.5, -2.0, 7.25, 0.5, 3.0, -1.0];
    let mut whole = builder_of(Aggregation::Variance, crate::weights::Weights::Uniform);
    update_f64(&mut whole, &coords, &values);
    let mut parts = [
      builder_of(Aggregation::Variance, crate::weights::Weights::Uniform),
      builder_of(Aggregation::Variance, crate::weights::Weights::Uniform),
    ];
    update_f64(&mut parts[0], &coords[..6], &values[..3]);
    update_f64(&mut parts[1], &coords[6..], &values[3..]);
    assert_eq!(AuxFile::of(&parts[0].spec()).map(|a| a.file), Some(M2_FILE));
    let mut merged = builder_of(Aggregation::Variance, crate::weights::Weights::Uniform);
    saved_and_merged(&mut parts, &mut merged, "variance");
    for (a, b) in mask_of(&whole).iter().zip(mask_of(&merged)) {
      assert!((a - b).abs() <= 1e-12, "mean {a} vs {b}");
    }
    for (a, b) in aux_of(&whole).iter().zip(aux_of(&merged)) {
      assert!((a - b).abs() <= 1e-10, "m2 {a} vs {b}");
    }
    assert!(aux_of(&merged).iter().any(|&q| q > 1.0), "overlaps give spread");
  }

  #[test]
  fn weighted_sums_and_weight_sums_merge_by_addition() {
    let gaussian = crate::weights::Weights::Window {
      kind: crate::weights::WindowKind::Gaussian,
      symmetric: false,
      sigma_scale: vec![0.125, 0.125],
    };
    let coords = [0, 0, 4, 4, 8, 8, 0, 8];
    let values = [1.0, 2.0, 3.0, 4.0];
    let mut whole = builder_of(Aggregation::Mean, gaussian.clone());
    update_f64(&mut whole, &coords, &values);
    let mut parts = [builder_of(Aggregation::Mean, gaussian.clone()), builder_of(Aggregation::Mean, gaussian.clone())];
    update_f64(&mut parts[0], &coords[..2], &values[..1]);
    update_f64(&mut parts[1], &coords[2..], &values[1..]);
    assert_eq!(AuxFile::of(&parts[0].spec()).map(|a| a.file), Some(WEIGHT_SUM_FILE));
    let mut merged = builder_of(Aggregation::Mean, gaussian.clone());
    saved_and_merged(&mut parts, &mut merged, "weighted");
    for (a, b) in mask_of(&whole).iter().zip(mask_of(&merged)) {
      assert!((a - b).abs() <= 1e-12 * a.abs().max(1.0));
    }
    for (a, b) in aux_of(&whole).iter().zip(aux_of(&merged)) {
      assert!((a - b).abs() <= 1e-12 * a.abs().max(1.0));
    }
    let e = merged.merge_from(&builder_of(Aggregation::Mean, crate::weights::Weights::Uniform)).unwrap_err();
    assert_eq!(e.code, codes::PARTIAL_MISMATCH);
    assert!(e.message.starts_with("weights:"), "{}", e.message);
    assert!(e.message.contains("'uniform'") && e.message.contains("'gaussian'"), "{}", e.message);
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
