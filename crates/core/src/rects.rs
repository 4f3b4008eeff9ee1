//! Overlap counts kept as the clipped rectangles of the tiles applied (a few
//! u32 per tile) instead of a per-pixel counter that every tile pixel would
//! read-modify-write. Counts are derived line by line (a line: one run along
//! the last dimension) when needed: a 1-D difference array over the
//! rectangles active in that line, prefix-summed in u32 into a row buffer
//! that stays in cache.

use crate::element::{CounterElement, Element};
use crate::kernels::{split_planes, BANDS_PER_THREAD, PARALLEL_MIN_ELEMENTS};
use crate::plan::BatchPlan;
use rayon::prelude::*;

/// The rows along dimension 0 one thread derives, with their part of every plane.
struct Band<'a, T, K> {
  rows: (usize, usize),
  planes: Vec<&'a mut [T]>,
  counter: Option<&'a mut [K]>,
}

/// The written boxes of the tiles applied, in storage coordinates (the
/// region's, for a builder holding one).
#[derive(Clone)]
pub struct TileRects {
  extents: Vec<usize>,
  /// Per rectangle, `start, end` per dimension: `2 * ndim` values.
  bounds: Vec<u32>,
}

impl TileRects {
  /// An empty list over storage of `extents`; `None` if an extent does not fit u32.
  pub fn new(extents: &[u64]) -> Option<Self> {
    (!extents.is_empty() && extents.iter().all(|&e| e > 0 && e <= u32::MAX as u64))
      .then(|| Self { extents: extents.iter().map(|&e| e as usize).collect(), bounds: Vec::new() })
  }

  fn ndim(&self) -> usize {
    self.extents.len()
  }

  /// Rectangles recorded.
  pub fn len(&self) -> usize {
    self.bounds.len() / (2 * self.ndim())
  }

  pub fn is_empty(&self) -> bool {
    self.bounds.is_empty()
  }

  /// Bytes one rectangle takes.
  pub fn rect_bytes(&self) -> usize {
    2 * self.ndim() * std::mem::size_of::<u32>()
  }

  /// Records the box every tile of `plan` writes (tiles that write nothing record nothing).
  pub fn record(&mut self, plan: &BatchPlan) {
    let n = self.ndim();
    self.bounds.reserve(plan.tiles * 2 * n);
    for t in 0..plan.tiles {
      let extent = plan.tile_box(t).1;
      if extent.contains(&0) {
        continue;
      }
      for (&o, &e) in plan.origin(t).iter().zip(extent) {
        self.bounds.push(o as u32);
        self.bounds.push((o + e) as u32);
      }
    }
  }

  /// Appends `other`'s rectangles, shifted by `offset` (where `other`'s storage starts in this one's).
  pub fn append_shifted(&mut self, other: &TileRects, offset: &[usize]) {
    let n = self.ndim();
    self.bounds.reserve(other.bounds.len());
    for rect in other.bounds.chunks_exact(2 * n) {
      for d in 0..n {
        self.bounds.push(rect[2 * d] + offset[d] as u32);
        self.bounds.push(rect[2 * d + 1] + offset[d] as u32);
      }
    }
  }

  /// A counter plane (`plane_len` counts) derived from the rectangles.
  pub fn counter_plane<K: CounterElement>(&self, plane_len: usize) -> Vec<K> {
    let mut plane = vec![K::from_u32(0); plane_len];
    self.fill_counts(&mut plane);
    plane
  }

  /// Writes the counts into `counter` (one plane of the storage's extents).
  pub fn fill_counts<K: CounterElement>(&self, counter: &mut [K]) {
    let plane_len = counter.len();
    self.derive::<f32, K>(&mut [], plane_len, Some(counter));
  }

  /// Divides every channel plane of `mask` by the count at each pixel (0
  /// read as 1, the same float division as `kernels::divide_by_counts`),
  /// writing the counts into `counter` if given; band-parallel unless small.
  pub fn divide<T: Element, K: CounterElement>(&self, mask: &mut [T], plane_len: usize, counter: Option<&mut [K]>) {
    self.derive(mask, plane_len, counter);
  }

  fn derive<T: Element, K: CounterElement>(&self, mask: &mut [T], plane_len: usize, counter: Option<&mut [K]>) {
    let n = self.ndim();
    let rows = self.extents[0];
    let row_elems = plane_len / rows;
    let width = self.extents[n - 1];
    let elements = mask.len() + counter.as_ref().map_or(0, |c| c.len());
    let threads = rayon::current_num_threads();
    let parallel = threads > 1 && n >= 2 && elements >= PARALLEL_MIN_ELEMENTS && rows >= 2;
    let nb = if parallel { (threads * BANDS_PER_THREAD).min(rows) } else { 1 };
    let cuts: Vec<usize> = (0..=nb).map(|b| rows * b / nb).collect();
    let planes = split_planes(mask, plane_len, row_elems, &cuts);
    let counters: Vec<Option<&mut [K]>> = match counter {
      Some(c) => split_planes(c, plane_len, row_elems, &cuts).into_iter().map(|mut v| v.pop()).collect(),
      None => (0..nb).map(|_| None).collect(),
    };
    let mut bands: Vec<Band<'_, T, K>> = planes
      .into_iter()
      .zip(counters)
      .enumerate()
      .map(|(b, (planes, counter))| Band { rows: (cuts[b], cuts[b + 1]), planes, counter })
      .collect();
    let work = |band: &mut Band<'_, T, K>| {
      let Band { rows, planes, counter } = band;
      let mut divisors = vec![T::ZERO; width];
      self.for_each_line(*rows, |offset, counts, changed| {
        if !planes.is_empty() {
          if changed {
            for (d, &c) in divisors.iter_mut().zip(counts) {
              *d = T::from_count(c.max(1));
            }
          }
          for plane in planes.iter_mut() {
            for (v, &d) in plane[offset..offset + width].iter_mut().zip(&divisors) {
              *v = *v / d;
            }
          }
        }
        if let Some(counter) = counter.as_deref_mut() {
          for (k, &c) in counter[offset..offset + width].iter_mut().zip(counts) {
            *k = K::from_u32(c);
          }
        }
      });
    };
    if parallel {
      bands.par_iter_mut().for_each(work);
    } else {
      bands.iter_mut().for_each(work);
    }
  }

  /// Calls `f(offset, counts, changed)` for every line whose dimension-0
  /// index lies in `rows`, in order: `offset` is the line's element offset
  /// from the first of those rows, `counts` its counts, `changed` whether
  /// they may differ from the previous line's (they are recomputed only
  /// when the rectangles covering the line change).
  fn for_each_line(&self, rows: (usize, usize), mut f: impl FnMut(usize, &[u32], bool)) {
    let n = self.ndim();
    let width = self.extents[n - 1];
    let last = n - 1;
    let rect = |i: usize| &self.bounds[i * 2 * n..(i + 1) * 2 * n];
    let mut diff = vec![0u32; width + 1];
    let mut counts = vec![0u32; width];
    let mut compute = |covering: &[usize], counts: &mut [u32]| {
      diff.fill(0);
      for &i in covering {
        let r = rect(i);
        let (s, e) = (r[2 * last] as usize, r[2 * last + 1] as usize);
        diff[s] = diff[s].wrapping_add(1);
        diff[e] = diff[e].wrapping_sub(1);
      }
      let mut running = 0u32;
      for (c, &d) in counts.iter_mut().zip(&diff[..width]) {
        running = running.wrapping_add(d);
        *c = running;
      }
    };
    if n == 1 {
      let all: Vec<usize> = (0..self.len()).collect();
      compute(&all, &mut counts);
      f(0, &counts, true);
      return;
    }
    // The rectangles reaching these rows, by first row: a sweep keeps the active ones.
    let mut starting: Vec<usize> =
      (0..self.len()).filter(|&i| rect(i)[0] < rows.1 as u32 && rect(i)[1] > rows.0 as u32).collect();
    starting.sort_unstable_by_key(|&i| rect(i)[0]);
    let mut next = 0;
    let mut active: Vec<usize> = Vec::new();
    let inner: usize = self.extents[1..last].iter().product();
    let mut covering: Vec<usize> = Vec::new();
    let mut previous: Option<Vec<usize>> = None;
    let mut index = [0usize; crate::geometry::MAX_DIMS];
    for row in rows.0..rows.1 {
      let before = active.len();
      while next < starting.len() && rect(starting[next])[0] as usize <= row {
        active.push(starting[next]);
        next += 1;
      }
      let added = active.len() != before;
      let kept = active.len();
      active.retain(|&i| rect(i)[1] as usize > row);
      let changed = added || active.len() != kept;
      if n == 2 {
        let fresh = changed || previous.is_none();
        if fresh {
          compute(&active, &mut counts);
          previous = Some(Vec::new());
        }
        f((row - rows.0) * width, &counts, fresh);
        continue;
      }
      // Dimensions 1..last: an odometer over the line's leading indexes.
      index[1..last].fill(0);
      for j in 0..inner {
        covering.clear();
        covering.extend(active.iter().copied().filter(|&i| {
          let r = rect(i);
          (1..last).all(|d| r[2 * d] as usize <= index[d] && index[d] < r[2 * d + 1] as usize)
        }));
        let fresh = previous.as_deref() != Some(&covering[..]);
        if fresh {
          compute(&covering, &mut counts);
          previous = Some(covering.clone());
        }
        f(((row - rows.0) * inner + j) * width, &counts, fresh);
        let mut d = last - 1;
        loop {
          index[d] += 1;
          if index[d] < self.extents[d] || d == 1 {
            break;
          }
          index[d] = 0;
          d -= 1;
        }
      }
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::geometry::Geometry;
  use crate::kernels::{apply_batch, divide_by_counts, AccumulatorSlices, Update};
  use crate::mask_region::{clip_plan_to_region, storage_geometry, MaskRegion};
  use crate::plan::{plan_batch, Coords, EdgeClipping};

  /// A small deterministic generator (xorshift), so failures reproduce.
  struct Rng(u64);
  impl Rng {
    fn next(&mut self, below: u64) -> u64 {
      self.0 ^= self.0 << 13;
      self.0 ^= self.0 >> 7;
      self.0 ^= self.0 << 17;
      self.0 % below
    }
  }

  /// Per-pixel counts from today's kernel beside counts derived from rectangles, for random tiles.
  fn compare(geometry: &Geometry, region: Option<MaskRegion>, clipping: &EdgeClipping, rng: &mut Rng, tiles: usize) {
    let n = geometry.ndim();
    let region = region.unwrap_or_else(|| MaskRegion::whole(geometry));
    let storage = storage_geometry(geometry, &region);
    let plane: usize = region.extent.iter().product::<u64>() as usize;
    let mut counter = vec![0u16; plane];
    let mut mask = vec![0f32; plane];
    let mut rects = TileRects::new(&region.extent).unwrap();
    let mut coords = Vec::new();
    for _ in 0..tiles {
      for d in 0..n {
        let span = geometry.source_extents[d].saturating_sub(geometry.source_tile_extent[d]);
        coords.push((rng.next(span / geometry.stride[d] + 1) * geometry.stride[d]) as i64);
      }
    }
    let data: Vec<f32> = (0..tiles).map(|t| t as f32 + 1.0).collect();
    let mut plan =
      plan_batch(geometry, 1, &[tiles, 1], data.len(), Coords::I64(&coords), &[tiles, n], clipping).unwrap();
    if !region.is_whole(geometry) {
      clip_plan_to_region(&mut plan, &region);
    }
    let acc = AccumulatorSlices { mask: &mut mask, counter: Some(&mut counter), aux: None, plane_len: plane };
    apply_batch(&storage, &plan, &data, acc, Update::Sum);
    rects.record(&plan);
    let derived: Vec<u16> = rects.counter_plane(plane);
    assert_eq!(derived, counter, "counts for {n}-D geometry {:?}", geometry.mask_extents);
    let mut divided = mask.clone();
    let mut written = vec![0u16; plane];
    rects.divide(&mut divided, plane, Some(&mut written));
    divide_by_counts(&mut mask, &counter, plane);
    assert_eq!(written, counter);
    assert!(divided.iter().zip(&mask).all(|(a, b)| a.to_bits() == b.to_bits()));
  }

  #[test]
  fn derived_counts_equal_per_pixel_counts_on_random_tiles() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Plain, upscaled (output smaller than the tile), edge-clipped, and tiles past the mask edge.
    let g = Geometry::new(&[100, 90], &[16, 16], &[16, 16], &[8, 8]).unwrap();
    compare(&g, None, &EdgeClipping::none(2), &mut rng, 60);
    compare(&g, None, &EdgeClipping::uniform(2, 3), &mut rng, 60);
    let up = Geometry::new(&[100, 90], &[16, 16], &[4, 4], &[4, 4]).unwrap();
    compare(&up, None, &EdgeClipping::none(2), &mut rng, 80);
    compare(&up, None, &EdgeClipping { start: vec![1, 0], end: vec![0, 2] }, &mut rng, 80);
    let edge = Geometry::new(&[101, 93], &[20, 20], &[10, 10], &[7, 7]).unwrap();
    compare(&edge, None, &EdgeClipping::none(2), &mut rng, 70);
    // Regions: tiles partly inside, wholly outside, upscaled blocks cut by the region.
    let region = MaskRegion { start: vec![13, 5], extent: vec![30, 41] };
    compare(&edge, Some(region), &EdgeClipping::uniform(2, 1), &mut rng, 90);
    let up_region = MaskRegion { start: vec![3, 7], extent: vec![40, 21] };
    compare(&up, Some(up_region), &EdgeClipping::none(2), &mut rng, 90);
    // 1-D and 3-D.
    let one = Geometry::new(&[200], &[16], &[8], &[5]).unwrap();
    compare(&one, None, &EdgeClipping::uniform(1, 1), &mut rng, 40);
    let three = Geometry::new(&[24, 30, 28], &[8, 8, 8], &[4, 8, 8], &[4, 4, 4]).unwrap();
    compare(&three, None, &EdgeClipping::none(3), &mut rng, 50);
    let region3 = MaskRegion { start: vec![2, 5, 3], extent: vec![9, 17, 20] };
    compare(&three, Some(region3), &EdgeClipping::uniform(3, 1), &mut rng, 50);
  }

  #[test]
  fn large_masks_derive_in_parallel_bands_identically() {
    let mut rng = Rng(42);
    let g = Geometry::new(&[1024, 700], &[64, 64], &[64, 64], &[32, 32]).unwrap();
    compare(&g, None, &EdgeClipping::none(2), &mut rng, 300);
  }

  #[test]
  fn shifted_append_matches_counts_in_the_larger_storage() {
    let mut small = TileRects::new(&[10, 10]).unwrap();
    small.bounds.extend([0, 4, 2, 10]);
    let mut big = TileRects::new(&[20, 30]).unwrap();
    big.append_shifted(&small, &[5, 20]);
    let counts: Vec<u32> = big.counter_plane(600);
    assert_eq!(counts.iter().sum::<u32>(), 4 * 8);
    assert_eq!(counts[5 * 30 + 22], 1);
    assert_eq!(counts[5 * 30 + 21], 0);
    assert_eq!(counts[8 * 30 + 29], 1);
    assert_eq!(counts[9 * 30 + 29], 0);
  }
}
