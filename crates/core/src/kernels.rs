//! Mean and max kernels.
//!
//! A batch is applied row by row: for every mask row a tile's clipped
//! footprint covers, each channel row and the counter row are updated
//! together, reading the tile's own row directly. Clipping, scalar expansion
//! and upscaling happen while writing; no upscaled tile is ever built.
//!
//! With more than one thread the mask rows the batch touches are split into
//! bands along dimension 0. Each band applies every tile in batch order, so
//! every pixel sees its updates in the same order as the sequential path and
//! the result is bit-identical.

use rayon::prelude::*;

use crate::element::{CounterElement, Element};
use crate::geometry::{Geometry, MAX_DIMS};
use crate::plan::{BatchPlan, TileLayout};

/// Below this many written elements per batch, threads cost more than they save.
const PARALLEL_MIN_ELEMENTS: usize = 1 << 18;

/// Row bands per thread and batch: more balance the load, fewer cost less to schedule.
const BANDS_PER_THREAD: usize = 4;

/// How a tile value combines with the accumulated one.
pub trait Combine<T: Element>: Send + Sync {
  fn combine(acc: T, value: T) -> T;
}

/// Mean accumulation: a running sum.
pub struct Sum;
/// Max accumulation; a NaN, once landed, sticks (as numpy's `maximum`).
pub struct Maximum;

impl<T: Element> Combine<T> for Sum {
  #[inline(always)]
  fn combine(acc: T, value: T) -> T {
    acc + value
  }
}

impl<T: Element> Combine<T> for Maximum {
  #[inline(always)]
  fn combine(acc: T, value: T) -> T {
    if value > acc || value.is_nan() {
      value
    } else {
      acc
    }
  }
}

#[inline(always)]
fn combine_row<T: Element, C: Combine<T>>(dst: &mut [T], src: &[T]) {
  for (d, &s) in dst.iter_mut().zip(src) {
    *d = C::combine(*d, s);
  }
}

/// Combines a row of `upscale`-wide blocks, one per source value; the row
/// starts `phase` pixels into its first block (a tile cut by a region), and
/// its last block may be cut short.
#[inline(always)]
fn combine_row_upscaled<T: Element, C: Combine<T>>(dst: &mut [T], src: &[T], upscale: usize, phase: usize) {
  let head = ((upscale - phase) % upscale).min(dst.len());
  let (first, rest) = dst.split_at_mut(head);
  let src = if head > 0 {
    for d in first {
      *d = C::combine(*d, src[0]);
    }
    &src[1..]
  } else {
    src
  };
  for (block, &s) in rest.chunks_mut(upscale).zip(src) {
    for d in block {
      *d = C::combine(*d, s);
    }
  }
}

#[inline(always)]
fn combine_fill<T: Element, C: Combine<T>>(dst: &mut [T], value: T) {
  for d in dst {
    *d = C::combine(*d, value);
  }
}

#[inline(always)]
fn count_row<K: CounterElement>(dst: &mut [K]) {
  for d in dst {
    *d = d.increment();
  }
}

/// Per-batch constants for walking the rows of tile footprints.
pub(crate) struct RowWalker<'p> {
  ndim: usize,
  plan: &'p BatchPlan,
  upscale: [usize; MAX_DIMS],
  mask_strides: [usize; MAX_DIMS],
  tile_strides: [usize; MAX_DIMS],
  pub upscale_last: usize,
}

/// The rows of one tile's written box.
pub(crate) struct TileRows {
  /// Mask elements per row.
  pub row_len: usize,
  /// Pixels of the first upscaled block cut off by a region (0: none).
  pub phase: usize,
  /// Tile elements read per row.
  pub src_row_len: usize,
}

impl<'p> RowWalker<'p> {
  /// `geometry` is the storage's: its mask extents are those of the stored window.
  pub fn new(geometry: &Geometry, plan: &'p BatchPlan) -> Self {
    let ndim = geometry.ndim();
    let mut upscale = [1; MAX_DIMS];
    let mut mask_strides = [0; MAX_DIMS];
    let mut tile_strides = [0; MAX_DIMS];
    // C-order strides, computed in place: a batch allocates nothing here.
    let (mut mask_stride, mut tile_stride) = (1usize, 1usize);
    for d in (0..ndim).rev() {
      upscale[d] = geometry.upscale_factor[d] as usize;
      mask_strides[d] = mask_stride;
      tile_strides[d] = tile_stride;
      mask_stride *= geometry.mask_extents[d] as usize;
      tile_stride *= geometry.output_tile_extent[d] as usize;
    }
    Self { ndim, plan, upscale, mask_strides, tile_strides, upscale_last: upscale[ndim - 1] }
  }

  /// Row lengths of tile `t`'s box.
  #[inline]
  pub fn tile_rows(&self, t: usize) -> TileRows {
    let last = self.ndim - 1;
    let (skip, extent) = self.plan.tile_box(t);
    let up = self.upscale_last;
    let phase = skip[last] % up;
    TileRows { row_len: extent[last], phase, src_row_len: (phase + extent[last]).div_ceil(up) }
  }

  /// Calls `f(mask_offset, tile_offset)` for every row of tile `t`'s box
  /// whose dimension-0 index lies in `rows`; offsets are element offsets
  /// into one storage plane and one tile channel plane.
  #[inline]
  pub fn for_each_row(&self, t: usize, rows: (usize, usize), mut f: impl FnMut(usize, usize)) {
    let n = self.ndim;
    let last = n - 1;
    let origin = self.plan.origin(t);
    let (skip, extent) = self.plan.tile_box(t);
    let clip_start = &self.plan.clip_start;
    if extent.contains(&0) {
      return;
    }
    let tile_last = clip_start[last] + skip[last] / self.upscale_last;
    if n == 1 {
      f(origin[0], tile_last);
      return;
    }
    let lo = rows.0.saturating_sub(origin[0]);
    let hi = extent[0].min(rows.1.saturating_sub(origin[0]));
    if lo >= hi {
      return;
    }
    if n == 2 {
      // The common case, without the odometer.
      let (stride, upscale, tile_stride) = (self.mask_strides[0], self.upscale[0], self.tile_strides[0]);
      for r in lo..hi {
        f((origin[0] + r) * stride + origin[1], tile_last + (clip_start[0] + (skip[0] + r) / upscale) * tile_stride);
      }
      return;
    }
    let mut r = [0usize; MAX_DIMS];
    r[0] = lo;
    loop {
      let mut mask_offset = origin[last];
      let mut tile_offset = tile_last;
      for d in 0..last {
        mask_offset += (origin[d] + r[d]) * self.mask_strides[d];
        tile_offset += (clip_start[d] + (skip[d] + r[d]) / self.upscale[d]) * self.tile_strides[d];
      }
      f(mask_offset, tile_offset);
      // Advance the odometer over dimensions 0..last.
      let mut d = last - 1;
      loop {
        r[d] += 1;
        let end = if d == 0 { hi } else { extent[d] };
        if r[d] < end {
          break;
        }
        if d == 0 {
          return;
        }
        r[d] = 0;
        d -= 1;
      }
    }
  }
}

/// The part of the mask one thread writes: rows `rows` of every plane.
pub(crate) struct Band<'a, T, K> {
  pub planes: Vec<&'a mut [T]>,
  pub counter: Option<&'a mut [K]>,
  /// Element offset of the band's first row within a plane.
  pub base: usize,
  pub rows: (usize, usize),
}

fn apply_band<T: Element, K: CounterElement, C: Combine<T>>(
  walker: &RowWalker<'_>,
  plan: &BatchPlan,
  data: &[T],
  band: &mut Band<'_, T, K>,
) {
  let tile_plane = plan.tile_len / plan.channels.max(1);
  let upscale = walker.upscale_last;
  for (t, tile) in data.chunks_exact(plan.tile_len.max(1)).take(plan.tiles).enumerate() {
    let TileRows { row_len, phase, src_row_len } = walker.tile_rows(t);
    walker.for_each_row(t, band.rows, |mask_offset, tile_offset| {
      let m = mask_offset - band.base;
      for (c, plane) in band.planes.iter_mut().enumerate() {
        let dst = &mut plane[m..m + row_len];
        match plan.layout {
          TileLayout::Scalar => combine_fill::<T, C>(dst, tile[c]),
          TileLayout::Dense => {
            let start = c * tile_plane + tile_offset;
            let src = &tile[start..start + src_row_len];
            if upscale == 1 {
              combine_row::<T, C>(dst, src);
            } else {
              combine_row_upscaled::<T, C>(dst, src, upscale, phase);
            }
          }
        }
      }
      if let Some(counter) = band.counter.as_deref_mut() {
        count_row(&mut counter[m..m + row_len]);
      }
    });
  }
}

/// Splits `channels` planes of `plane_len` elements (and the counter plane)
/// into bands at the given row cuts; `row_elems` is elements per dim-0 row.
fn split_bands<'a, T, K>(
  mask: &'a mut [T],
  counter: Option<&'a mut [K]>,
  plane_len: usize,
  row_elems: usize,
  cuts: &[usize],
) -> Vec<Band<'a, T, K>> {
  let nb = cuts.len() - 1;
  let mut bands: Vec<Band<'a, T, K>> = (0..nb)
    .map(|b| Band { planes: Vec::new(), counter: None, base: cuts[b] * row_elems, rows: (cuts[b], cuts[b + 1]) })
    .collect();
  let window = |plane: &'a mut [T]| -> &'a mut [T] { &mut plane[cuts[0] * row_elems..cuts[nb] * row_elems] };
  for plane in mask.chunks_exact_mut(plane_len) {
    let mut rest = window(plane);
    for (b, band) in bands.iter_mut().enumerate() {
      let (head, tail) = rest.split_at_mut((cuts[b + 1] - cuts[b]) * row_elems);
      band.planes.push(head);
      rest = tail;
    }
  }
  if let Some(counter) = counter {
    let mut rest = &mut counter[cuts[0] * row_elems..cuts[nb] * row_elems];
    for (b, band) in bands.iter_mut().enumerate() {
      let (head, tail) = rest.split_at_mut((cuts[b + 1] - cuts[b]) * row_elems);
      band.counter = Some(head);
      rest = tail;
    }
  }
  bands
}

/// Applies a validated batch. `mask` holds `channels` planes of `plane_len`
/// elements; `counter`, for mean, one plane.
pub fn apply_batch<T: Element, K: CounterElement, C: Combine<T>>(
  geometry: &Geometry,
  plan: &BatchPlan,
  data: &[T],
  mask: &mut [T],
  counter: Option<&mut [K]>,
  plane_len: usize,
) {
  if plan.tiles == 0 {
    return;
  }
  let walker = RowWalker::new(geometry, plan);
  let written = plan.channels * plan.written_len();
  let threads = rayon::current_num_threads();
  let (row_lo, row_hi) = plan.row_range();
  let rows = row_hi - row_lo;
  let row_elems = plane_len / geometry.mask_extents[0] as usize;

  let parallel = threads > 1 && geometry.ndim() >= 2 && written >= PARALLEL_MIN_ELEMENTS && rows >= 2;
  let nb = if parallel { (threads * BANDS_PER_THREAD).min(rows) } else { 1 };
  let cuts: Vec<usize> = if parallel {
    (0..=nb).map(|b| row_lo + rows * b / nb).collect()
  } else {
    vec![0, geometry.mask_extents[0] as usize]
  };
  let mut bands = split_bands(mask, counter, plane_len, row_elems, &cuts);
  if parallel {
    bands.par_iter_mut().for_each(|band| apply_band::<T, K, C>(&walker, plan, data, band));
  } else {
    apply_band::<T, K, C>(&walker, plan, data, &mut bands[0]);
  }
}

/// Highest counter value under each tile's footprint, walking the batch's
/// geometry once.
pub fn footprint_peaks<K: CounterElement>(geometry: &Geometry, plan: &BatchPlan, counter: &[K]) -> Vec<u32> {
  let walker = RowWalker::new(geometry, plan);
  (0..plan.tiles)
    .map(|t| {
      let mut peak = 0u32;
      let row_len = walker.tile_rows(t).row_len;
      walker.for_each_row(t, (0, usize::MAX), |m, _| {
        let row_peak = counter[m..m + row_len].iter().copied().max().map_or(0, |k| k.to_u32());
        peak = peak.max(row_peak);
      });
      peak
    })
    .collect()
}

/// Chunk of pixels per parallel task in whole-mask passes.
const PASS_CHUNK: usize = 1 << 16;

/// Divides every channel plane by the overlap count, treating 0 as 1.
pub fn divide_by_counts<T: Element, K: CounterElement>(mask: &mut [T], counter: &[K], plane_len: usize) {
  let divide = |values: &mut [T], counts: &[K]| {
    for (v, &k) in values.iter_mut().zip(counts) {
      *v = *v / T::from_count(k.to_u32().max(1));
    }
  };
  if mask.len() < PARALLEL_MIN_ELEMENTS {
    // Small masks: less work than waking the pool (on a busy machine a
    // woken thread may not run for milliseconds).
    mask.chunks_exact_mut(plane_len).for_each(|plane| divide(plane, counter));
    return;
  }
  for plane in mask.chunks_exact_mut(plane_len) {
    plane
      .par_chunks_mut(PASS_CHUNK)
      .zip(counter.par_chunks(PASS_CHUNK))
      .for_each(|(values, counts)| divide(values, counts));
  }
}

/// `values` copied into `spare`'s memory when it is large enough (recycled
/// memory copies without page faults), else into new memory. Sequential on
/// purpose: the caller is the JavaScript thread, and rayon jobs would queue
/// behind the kernels of earlier batches.
pub fn copy_into<T: Element>(spare: Vec<T>, values: &[T]) -> Vec<T> {
  let mut out = if spare.capacity() >= values.len() { spare } else { Vec::with_capacity(values.len()) };
  out.clear();
  out.extend_from_slice(values);
  out
}

/// Fills `values` with `value`, in parallel unless small.
pub fn fill<T: Element>(values: &mut [T], value: T) {
  if values.len() < PARALLEL_MIN_ELEMENTS {
    values.fill(value);
    return;
  }
  values.par_chunks_mut(PASS_CHUNK).for_each(|chunk| chunk.fill(value));
}

/// Replaces `from` with `to` (used to turn "no tile reached" into 0 for max).
pub fn replace<T: Element>(values: &mut [T], from: T, to: T) {
  let swap = |chunk: &mut [T]| {
    for v in chunk {
      if *v == from {
        *v = to;
      }
    }
  };
  if values.len() < PARALLEL_MIN_ELEMENTS {
    swap(values);
    return;
  }
  values.par_chunks_mut(PASS_CHUNK).for_each(swap);
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::plan::{plan_batch, Coords, EdgeClipping};

  fn run<C: Combine<f32>>(
    g: &Geometry,
    channels: usize,
    shape: &[usize],
    data: &[f32],
    coords: &[i32],
    clip: &EdgeClipping,
    init: f32,
  ) -> (Vec<f32>, Vec<u16>) {
    let plane = g.plane_len().unwrap();
    let mut mask = vec![init; plane * channels];
    let mut counter = vec![0u16; plane];
    let plan = plan_batch(g, channels, shape, data.len(), Coords::I32(coords), &[shape[0], g.ndim()], clip).unwrap();
    apply_batch::<f32, u16, C>(g, &plan, data, &mut mask, Some(&mut counter), plane);
    (mask, counter)
  }

  #[test]
  fn scalar_tile_fills_its_upscaled_footprint() {
    let g = Geometry::new(&[8, 8], &[4, 4], &[1, 1], &[2, 2]).unwrap();
    // mask 4x4, upscale 2: tile at (2, 4) -> origin (1, 2), footprint 2x2.
    let (mask, counter) = run::<Sum>(&g, 1, &[1, 1], &[3.0], &[2, 4], &EdgeClipping::none(2), 0.0);
    let expected: Vec<f32> =
      (0..16).map(|i| if (1..3).contains(&(i / 4)) && (2..4).contains(&(i % 4)) { 3.0 } else { 0.0 }).collect();
    assert_eq!(mask, expected);
    assert_eq!(counter.iter().map(|&c| c as u32).sum::<u32>(), 4);
  }

  #[test]
  fn dense_tile_clipped_and_upscaled() {
    // Tile 6, output 3, stride 3: gcd(6, 9) = 3, so upscale 2.
    let g = Geometry::new(&[6, 6], &[6, 6], &[3, 3], &[3, 3]).unwrap();
    assert_eq!(g.upscale_factor, vec![2, 2]);
    assert_eq!(g.mask_extents, vec![6, 6]);
    let tile: Vec<f32> = (0..9).map(|v| v as f32).collect();
    let clip = EdgeClipping { start: vec![1, 0], end: vec![0, 1] };
    let (mask, _) = run::<Sum>(&g, 1, &[1, 1, 3, 3], &tile, &[0, 0], &clip, 0.0);
    // Kept rows 1..3, cols 0..2 of the 3x3 tile, each value a 2x2 block, placed at (2, 0).
    let mut expected = vec![0.0f32; 36];
    for y in 0..4 {
      for x in 0..4 {
        expected[(2 + y) * 6 + x] = tile[(1 + y / 2) * 3 + x / 2];
      }
    }
    assert_eq!(mask, expected);
  }

  #[test]
  fn max_keeps_negatives_and_sticky_nan() {
    let g = Geometry::new(&[4], &[2], &[2], &[2]).unwrap();
    let data = [-3.0f32, -5.0, -4.0, f32::NAN];
    let (mask, _) = run::<Maximum>(&g, 1, &[2, 1, 2], &data, &[0, 0], &EdgeClipping::none(1), f32::NEG_INFINITY);
    assert_eq!(mask[0], -3.0);
    assert!(mask[1].is_nan());
    assert_eq!(mask[2], f32::NEG_INFINITY);
  }

  #[test]
  fn parallel_bands_are_bit_identical_to_sequential() {
    let g = Geometry::new(&[300, 200], &[64, 64], &[64, 64], &[16, 16]).unwrap();
    let channels = 2;
    let tiles = 40;
    let mut seed = 12345u64;
    let mut next = || {
      seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
      (seed >> 33) as u32
    };
    let data: Vec<f32> = (0..tiles * channels * 64 * 64).map(|_| (next() % 1000) as f32 / 7.0).collect();
    let coords: Vec<i32> = (0..tiles).flat_map(|_| [(next() % 240) as i32, (next() % 140) as i32]).collect();
    let clip = EdgeClipping { start: vec![3, 1], end: vec![2, 5] };
    let plane = g.plane_len().unwrap();
    let plan =
      plan_batch(&g, channels, &[tiles, channels, 64, 64], data.len(), Coords::I32(&coords), &[tiles, 2], &clip)
        .unwrap();
    let mut seq_mask = vec![0.0f32; plane * channels];
    let mut seq_count = vec![0u16; plane];
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    pool.install(|| apply_batch::<f32, u16, Sum>(&g, &plan, &data, &mut seq_mask, Some(&mut seq_count), plane));
    let mut par_mask = vec![0.0f32; plane * channels];
    let mut par_count = vec![0u16; plane];
    let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
    pool.install(|| apply_batch::<f32, u16, Sum>(&g, &plan, &data, &mut par_mask, Some(&mut par_count), plane));
    assert_eq!(seq_count, par_count);
    assert!(seq_mask.iter().zip(&par_mask).all(|(a, b)| a.to_bits() == b.to_bits()));
    assert_eq!(seq_count.iter().map(|&c| c as usize).sum::<usize>(), tiles * plan.footprint_len());
  }

  #[test]
  fn three_dimensional_rows() {
    let g = Geometry::new(&[4, 4, 4], &[2, 2, 2], &[2, 2, 2], &[2, 2, 2]).unwrap();
    let tile: Vec<f32> = (0..8).map(|v| v as f32).collect();
    let (mask, counter) = run::<Sum>(&g, 1, &[1, 1, 2, 2, 2], &tile, &[2, 0, 2], &EdgeClipping::none(3), 0.0);
    for z in 0..2 {
      for y in 0..2 {
        for x in 0..2 {
          assert_eq!(mask[(2 + z) * 16 + y * 4 + 2 + x], tile[z * 4 + y * 2 + x]);
        }
      }
    }
    assert_eq!(counter.iter().filter(|&&c| c == 1).count(), 8);
  }

  #[test]
  fn divide_treats_zero_counts_as_one() {
    let mut mask = vec![6.0f32, 6.0, 5.0, 8.0];
    let counter = vec![3u16, 0];
    divide_by_counts(&mut mask, &counter, 2);
    assert_eq!(mask, vec![2.0, 6.0, 5.0 / 3.0, 8.0]);
  }
}
