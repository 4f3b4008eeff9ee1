//! Region shards: a builder that holds one window of the mask.
//!
//! A [`MaskRegion`] is a box in mask coordinates. A builder with a region
//! stores only that box; every tile of a batch is cut to it (a tile partly
//! inside keeps the part inside, a tile wholly outside is skipped and
//! counted). Shards whose regions tile the mask merge into the whole mask by
//! placement.

use crate::error::{codes, list, Error, Result};
use crate::geometry::Geometry;
use crate::plan::BatchPlan;

/// A box of the mask: `start` and `extent` per spatial dimension, in mask pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskRegion {
  pub start: Vec<u64>,
  pub extent: Vec<u64>,
}

impl MaskRegion {
  /// The whole mask of `geometry`.
  pub fn whole(geometry: &Geometry) -> Self {
    Self { start: vec![0; geometry.ndim()], extent: geometry.mask_extents.clone() }
  }

  /// Refuses a region that is empty, has the wrong number of dimensions or
  /// leaves the mask.
  pub fn check(&self, geometry: &Geometry) -> Result<()> {
    let n = geometry.ndim();
    if self.start.len() != n || self.extent.len() != n {
      return Err(Error::range(
        codes::REGION,
        format!(
          "region.start and region.extent must have {n} entries (one per spatial dimension); received {} and {}",
          self.start.len(),
          self.extent.len()
        ),
      ));
    }
    for d in 0..n {
      let end = self.start[d].checked_add(self.extent[d]);
      if self.extent[d] == 0 || end.is_none_or(|e| e > geometry.mask_extents[d]) {
        return Err(Error::range(
          codes::REGION,
          format!(
            "region start {} extent {} must be non-empty and lie inside the mask extents {} (dimension {d})",
            list(&self.start),
            list(&self.extent),
            list(&geometry.mask_extents)
          ),
        ));
      }
    }
    Ok(())
  }

  pub fn ndim(&self) -> usize {
    self.start.len()
  }

  pub fn end(&self, d: usize) -> u64 {
    self.start[d] + self.extent[d]
  }

  /// Whether `other` lies inside this region.
  pub fn contains(&self, other: &MaskRegion) -> bool {
    other.ndim() == self.ndim()
      && (0..self.ndim()).all(|d| other.start[d] >= self.start[d] && other.end(d) <= self.end(d))
  }

  /// Pixels per channel plane.
  pub fn plane_len(&self) -> usize {
    self.extent.iter().map(|&e| e as usize).product()
  }

  pub fn is_whole(&self, geometry: &Geometry) -> bool {
    self.start.iter().all(|&s| s == 0) && self.extent == geometry.mask_extents
  }
}

/// Cuts every tile of `plan` (origins in whole-mask coordinates) to `region`:
/// origins become region-relative, tiles partly inside get a box, tiles
/// wholly outside an empty box. Counts the skipped tiles in the plan.
pub fn clip_plan_to_region(plan: &mut BatchPlan, region: &MaskRegion) {
  let n = plan.footprint.len();
  let mut boxes = vec![0usize; plan.tiles * 2 * n];
  let mut skipped = 0;
  for t in 0..plan.tiles {
    let origin = &mut plan.origins[t * n..(t + 1) * n];
    let tile_box = &mut boxes[t * 2 * n..(t + 1) * 2 * n];
    let mut outside = false;
    for d in 0..n {
      let (lo, hi) = (origin[d] as u64, (origin[d] + plan.footprint[d]) as u64);
      let (rlo, rhi) = (region.start[d], region.end(d));
      let (clo, chi) = (lo.max(rlo), hi.min(rhi));
      if clo >= chi {
        outside = true;
        break;
      }
      tile_box[d] = (clo - lo) as usize;
      tile_box[n + d] = (chi - clo) as usize;
      origin[d] = (clo - rlo) as usize;
    }
    if outside {
      skipped += 1;
      tile_box.fill(0);
      origin.fill(0);
    }
  }
  plan.boxes = Some(boxes);
  plan.skipped = skipped;
}

/// The storage geometry of a region: the builder's geometry with the mask
/// extents of the region, which is all the kernels read of it.
pub fn storage_geometry(geometry: &Geometry, region: &MaskRegion) -> Geometry {
  let mut g = geometry.clone();
  g.mask_extents = region.extent.clone();
  g
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::plan::{plan_batch, Coords, EdgeClipping};

  #[test]
  fn tiles_are_cut_to_the_region_and_outside_tiles_counted() {
    let g = Geometry::new(&[32, 32], &[8, 8], &[8, 8], &[4, 4]).unwrap();
    let region = MaskRegion { start: vec![6, 0], extent: vec![10, 32] };
    region.check(&g).unwrap();
    let mut p =
      plan_batch(&g, 1, &[3, 1], 3, Coords::I32(&[0, 0, 8, 4, 24, 0]), &[3, 2], &EdgeClipping::none(2)).unwrap();
    clip_plan_to_region(&mut p, &region);
    assert_eq!(p.skipped, 1);
    let boxes = p.boxes.as_ref().unwrap();
    // Tile 0 covers rows 0..8: rows 6..8 are inside, box skip 6, extent 2.
    assert_eq!(&boxes[0..4], &[6, 0, 2, 8]);
    assert_eq!(p.origin(0), &[0, 0]);
    assert_eq!(&boxes[4..8], &[0, 0, 8, 8]);
    assert_eq!(p.origin(1), &[2, 4]);
    assert_eq!(&boxes[8..12], &[0, 0, 0, 0]);
  }

  #[test]
  fn bad_regions_are_refused_naming_the_field() {
    let g = Geometry::new(&[32, 32], &[8, 8], &[8, 8], &[4, 4]).unwrap();
    for r in [
      MaskRegion { start: vec![0], extent: vec![1] },
      MaskRegion { start: vec![0, 0], extent: vec![0, 1] },
      MaskRegion { start: vec![30, 0], extent: vec![3, 1] },
    ] {
      let e = r.check(&g).unwrap_err();
      assert_eq!(e.code, codes::REGION);
      assert!(e.message.contains("region"), "{}", e.message);
    }
  }

  #[test]
  fn shards_equal_the_whole_mask_window_with_upscaled_and_clipped_tiles() {
    use crate::config::{Aggregation, BuilderConfig, StorageConfig};
    use crate::dispatch::AnyAccumulator;
    use crate::region::RegionData;
    use crate::{BatchData, CounterDtype, Dtype};
    // Tile 6, output 3, stride 3: upscale 2, so region edges can cut blocks.
    let g = Geometry::new(&[30, 27], &[6, 6], &[3, 3], &[3, 3]).unwrap();
    let clip = EdgeClipping { start: vec![1, 0], end: vec![0, 1] };
    let mut seed = 7u64;
    let mut next = || {
      seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
      (seed >> 33) as u32
    };
    let tiles = 30;
    let data: Vec<f64> = (0..tiles * 2 * 9).map(|_| (next() % 100) as f64).collect();
    let coords: Vec<i64> = (0..tiles).flat_map(|_| [(next() % 25) as i64, (next() % 22) as i64]).collect();
    for aggregation in [Aggregation::Mean, Aggregation::Max] {
      let build = |region: Option<MaskRegion>| {
        let config = BuilderConfig {
          geometry: g.clone(),
          channels: 2,
          aggregation,
          counter_dtype: CounterDtype::Uint16,
          storage: StorageConfig::InMemory { max_bytes: None },
          weights: crate::weights::Weights::Uniform,
          region,
        };
        let mut b = AnyAccumulator::new(Dtype::Float64, config).unwrap();
        let plan =
          b.spec().plan(&BatchData::F64(&data), &[tiles, 2, 3, 3], Coords::I64(&coords), &[tiles, 2], &clip).unwrap();
        b.apply(&plan, BatchData::F64(&data)).unwrap();
        b
      };
      let mut whole = build(None);
      for (start, extent) in [([3, 5], [7, 9]), ([0, 0], [30, 1]), ([29, 26], [1, 1]), ([11, 0], [5, 27])] {
        let region = MaskRegion { start: start.to_vec(), extent: extent.to_vec() };
        let mut shard = build(Some(region.clone()));
        let (applied, skipped) = shard.tile_counts();
        assert_eq!(applied + skipped, tiles as u64);
        for c in 0..2 {
          let RegionData::F64(a) = whole.read_region(false, c, &region.start, &region.extent, 1 << 20).unwrap() else {
            panic!()
          };
          let RegionData::F64(b) = shard.read_region(false, c, &region.start, &region.extent, 1 << 20).unwrap() else {
            panic!()
          };
          assert_eq!(a, b, "{aggregation:?} region {start:?} {extent:?} channel {c}");
        }
      }
    }
  }
}
