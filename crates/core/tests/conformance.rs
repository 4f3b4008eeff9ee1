//! Runs every case the reference implementation produced
//! (`__test__/fixtures/conformance`) through the core.

use std::path::{Path, PathBuf};

use ndarray_npy::ReadNpyExt;
use serde_json::Value;
use wsi_mask_core::ndarray::ArrayD;
use wsi_mask_core::npy::parse_header;

/// A numpy-written fixture as (shape, values as f64), read with ndarray-npy.
fn read_fixture(path: PathBuf) -> (Vec<u64>, Vec<f64>) {
  let bytes = std::fs::read(&path).unwrap();
  let header = parse_header(&bytes).unwrap();
  let values: Vec<f64> = match header.descr.as_str() {
    "<f4" => ArrayD::<f32>::read_npy(&bytes[..]).unwrap().iter().map(|&v| v as f64).collect(),
    "<f8" => ArrayD::<f64>::read_npy(&bytes[..]).unwrap().iter().copied().collect(),
    "<i8" => ArrayD::<i64>::read_npy(&bytes[..]).unwrap().iter().map(|&v| v as f64).collect(),
    "<u2" => ArrayD::<u16>::read_npy(&bytes[..]).unwrap().iter().map(|&v| v as f64).collect(),
    other => panic!("{}: unexpected fixture dtype {other}", path.display()),
  };
  (header.shape, values)
}
use wsi_mask_core::{
  Aggregation, BatchData, BuilderConfig, Coords, CounterDtype, Dtype, EdgeClipping, Geometry, MaskBuilder, RawArray,
  StorageConfig,
};

fn fixtures() -> PathBuf {
  Path::new(env!("CARGO_MANIFEST_DIR")).join("../../__test__/fixtures/conformance")
}

fn ints(v: &Value) -> Vec<u64> {
  v.as_array().expect("array").iter().map(|x| x.as_u64().expect("integer")).collect()
}

fn clipping(v: &Value, ndim: usize) -> EdgeClipping {
  if let Some(n) = v.as_u64() {
    return EdgeClipping::uniform(ndim, n);
  }
  let items = v.as_array().expect("clipping list");
  let mut clip = EdgeClipping::none(ndim);
  for (d, item) in items.iter().enumerate() {
    if let Some(pair) = item.as_array() {
      clip.start[d] = pair[0].as_u64().unwrap();
      clip.end[d] = pair[1].as_u64().unwrap();
    } else {
      clip.start[d] = item.as_u64().unwrap();
      clip.end[d] = clip.start[d];
    }
  }
  clip
}

fn read_raw(raw: &RawArray, dtype: &str) -> Vec<f64> {
  // SAFETY: the builder is alive and not being written.
  let bytes = unsafe { std::slice::from_raw_parts(raw.ptr, raw.byte_len) };
  match dtype {
    "f4" => bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64).collect(),
    "f8" => bytes.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect(),
    "u2" => bytes.chunks_exact(2).map(|c| u16::from_le_bytes(c.try_into().unwrap()) as f64).collect(),
    _ => unreachable!(),
  }
}

fn run_case(dir: &Path) {
  let case: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
  let cfg = &case["config"];
  let geometry = Geometry::new(
    &ints(&cfg["sourceExtents"]),
    &ints(&cfg["sourceTileExtent"]),
    &ints(&cfg["outputTileExtent"]),
    &ints(&cfg["stride"]),
  )
  .unwrap();
  let expect = &case["expect"];
  assert_eq!(geometry.mask_extents, ints(&expect["maskExtents"]));
  assert_eq!(geometry.mask_stride, ints(&expect["maskStride"]));
  assert_eq!(geometry.upscale_factor, ints(&expect["upscaleFactor"]));
  assert_eq!(geometry.span, ints(&expect["span"]));
  let ndim = geometry.ndim();
  let mean = cfg["aggregation"] == "mean";
  let dtype = if cfg["dtype"] == "float64" { Dtype::Float64 } else { Dtype::Float32 };
  let builder = MaskBuilder::new(
    dtype,
    BuilderConfig {
      geometry,
      channels: cfg["nChannels"].as_u64().unwrap() as usize,
      aggregation: if mean { Aggregation::Mean } else { Aggregation::Max },
      weights: wsi_mask_core::Weights::Uniform,
      counter_dtype: CounterDtype::Uint16,
      storage: StorageConfig::InMemory { max_bytes: None },
      region: None,
    },
  )
  .unwrap();
  for batch in case["batches"].as_array().unwrap() {
    let (tiles_shape, values) = read_fixture(dir.join(batch["batch"].as_str().unwrap()));
    let (coords_shape, coords) = read_fixture(dir.join(batch["coords"].as_str().unwrap()));
    let coords_i64: Vec<i64> = coords.iter().map(|&v| v as i64).collect();
    let shape: Vec<usize> = tiles_shape.iter().map(|&d| d as usize).collect();
    let coords_shape: Vec<usize> = coords_shape.iter().map(|&d| d as usize).collect();
    let clip = clipping(&batch["edgeClipping"], ndim);
    let f32s: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    let data = match dtype {
      Dtype::Float32 => BatchData::F32(&f32s),
      Dtype::Float64 => BatchData::F64(&values),
    };
    let planned = builder.plan(&data, &shape, Coords::I64(&coords_i64), &coords_shape, &clip);
    // Where clipping leaves no pixel the reference silently writes nothing;
    // we refuse the batch, which also writes nothing, and the final masks
    // must still agree.
    let out = &builder.geometry().output_tile_extent;
    let leaves_nothing = (0..ndim).any(|d| clip.start[d] + clip.end[d] >= out[d]);
    if leaves_nothing {
      assert_eq!(planned.unwrap_err().code, "ERR_WSI_EDGE_CLIPPING");
      continue;
    }
    builder.apply(&planned.unwrap(), data).unwrap();
  }
  builder.finalize().unwrap();

  let (want_shape, want) = read_fixture(dir.join(expect["mask"].as_str().unwrap()));
  assert_eq!(want_shape, builder.mask_shape());
  let got = read_raw(&builder.mask_raw(None).unwrap(), if dtype == Dtype::Float64 { "f8" } else { "f4" });
  for (i, (g, w)) in got.iter().zip(want).enumerate() {
    assert!((g - w).abs() <= 1e-5 * w.abs().max(1.0), "{}: mask[{i}] = {g}, reference {w}", dir.display());
  }
  if mean {
    let (_, want) = read_fixture(dir.join(expect["overlapCounter"].as_str().unwrap()));
    let got = read_raw(&builder.counter_raw().unwrap().unwrap(), "u2");
    assert_eq!(got, want, "{}: overlap counter", dir.display());
  }
}

#[test]
fn every_reference_case_matches() {
  let mut dirs: Vec<PathBuf> =
    std::fs::read_dir(fixtures()).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()).collect();
  dirs.sort();
  assert!(dirs.len() >= 40, "expected the vendored conformance cases, found {}", dirs.len());
  for dir in &dirs {
    run_case(dir);
  }
}
