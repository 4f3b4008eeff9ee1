//! Batch kernels: footprint walking and band orchestration (the per-row
//! arithmetic of weighted sums and Welford updates lives in `rows`).
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
use crate::rows;

/// Below this many written elements per batch, threads cost more than they save.
pub(crate) const PARALLEL_MIN_ELEMENTS: usize = 1 << 18;

/// Row bands per thread and batch: more balance the load, fewer cost less to schedule.
pub(crate) const BANDS_PER_THREAD: usize = 4;

/// How a tile value combines with the accumulated one.
pub trait Combine<T: Element>: Send + Sync {
  fn combine(acc: T, value: T) -> T;
}

/// Mean accumulation: a running sum.
pub struct Sum;
/// Max accumulation; a NaN, once landed, sticks (as numpy's `maximum`).
pub struct Maximum;

/// Min accumulation, the mirror of max: a NaN sticks.
pub struct Minimum;

impl<T: Element> Combine<T> for Minimum {
  #[inline(always)]
  fn combine(acc: T, value: T) -> T {
    if value < acc || value.is_nan() {
      value
    } else {
      acc
    }
  }
}

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
    self.for_each_row_indexed(t, rows, |m, tile, _| f(m, tile));
  }

  /// [`Self::for_each_row`], also passing the offset of the row's first
  /// element in the batch's clipped footprint (row-major), where a weight
  /// map cut to the clipping is read.
  #[inline]
  pub fn for_each_row_indexed(&self, t: usize, rows: (usize, usize), mut f: impl FnMut(usize, usize, usize)) {
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
      f(origin[0], tile_last, skip[0]);
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
      let footprint_last = self.plan.footprint[1];
      for r in lo..hi {
        f(
          (origin[0] + r) * stride + origin[1],
          tile_last + (clip_start[0] + (skip[0] + r) / upscale) * tile_stride,
          (skip[0] + r) * footprint_last + skip[1],
        );
      }
      return;
    }
    let mut r = [0usize; MAX_DIMS];
    r[0] = lo;
    let footprint = &self.plan.footprint;
    loop {
      let mut mask_offset = origin[last];
      let mut tile_offset = tile_last;
      let mut footprint_offset = 0;
      for d in 0..last {
        mask_offset += (origin[d] + r[d]) * self.mask_strides[d];
        tile_offset += (clip_start[d] + (skip[d] + r[d]) / self.upscale[d]) * self.tile_strides[d];
        footprint_offset = footprint_offset * footprint[d] + skip[d] + r[d];
      }
      f(mask_offset, tile_offset, footprint_offset * footprint[last] + skip[last]);
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

/// How a batch updates the accumulator.
#[derive(Clone, Copy)]
pub enum Update<'w, T> {
  /// Running sums (mean, sum).
  Sum,
  Max,
  Min,
  /// Weighted sums: `dst += v * w`; the weights are the batch's clipped
  /// footprint map (row-major, `footprint_len` values) and the auxiliary
  /// plane is the weight sum.
  Weighted(&'w [T]),
  /// Welford: the planes hold running means, the auxiliary planes (one per
  /// channel) the sums of squared deviations; needs the counter.
  Welford,
}

/// The part of the mask one thread writes: rows `rows` of every plane.
pub(crate) struct Band<'a, T, K> {
  pub planes: Vec<&'a mut [T]>,
  pub counter: Option<&'a mut [K]>,
  /// Weight sum (weighted) or sums of squared deviations (Welford).
  pub aux: Vec<&'a mut [T]>,
  /// Element offset of the band's first row within a plane.
  pub base: usize,
  pub rows: (usize, usize),
}

#[inline(always)]
fn combine_tile_row<T: Element, C: Combine<T>>(
  planes: &mut [&mut [T]],
  range: std::ops::Range<usize>,
  source: RowSource<'_, T>,
) {
  for (c, plane) in planes.iter_mut().enumerate() {
    let dst = &mut plane[range.clone()];
    match source.row(c) {
      Row::Fill(v) => combine_fill::<T, C>(dst, v),
      Row::Values(src) if source.upscale == 1 => combine_row::<T, C>(dst, src),
      Row::Values(src) => combine_row_upscaled::<T, C>(dst, src, source.upscale, source.phase),
    }
  }
}

/// Where one mask row's values come from, per channel.
#[derive(Clone, Copy)]
struct RowSource<'t, T> {
  tile: &'t [T],
  layout: TileLayout,
  tile_plane: usize,
  tile_offset: usize,
  src_row_len: usize,
  upscale: usize,
  /// Pixels of the first upscaled block cut off by a region.
  phase: usize,
}

enum Row<'t, T> {
  Fill(T),
  Values(&'t [T]),
}

impl<'t, T: Copy> RowSource<'t, T> {
  #[inline(always)]
  fn row(&self, c: usize) -> Row<'t, T> {
    match self.layout {
      TileLayout::Scalar => Row::Fill(self.tile[c]),
      TileLayout::Dense => {
        let start = c * self.tile_plane + self.tile_offset;
        Row::Values(&self.tile[start..start + self.src_row_len])
      }
    }
  }
}

fn apply_band<T: Element, K: CounterElement>(
  walker: &RowWalker<'_>,
  plan: &BatchPlan,
  data: &[T],
  band: &mut Band<'_, T, K>,
  update: Update<'_, T>,
) {
  let tile_plane = plan.tile_len / plan.channels.max(1);
  let upscale = walker.upscale_last;
  for (t, tile) in data.chunks_exact(plan.tile_len.max(1)).take(plan.tiles).enumerate() {
    let TileRows { row_len, phase, src_row_len } = walker.tile_rows(t);
    walker.for_each_row_indexed(t, band.rows, |mask_offset, tile_offset, footprint_offset| {
      let m = mask_offset - band.base;
      let range = m..m + row_len;
      let source = RowSource { tile, layout: plan.layout, tile_plane, tile_offset, src_row_len, upscale, phase };
      match update {
        Update::Sum => combine_tile_row::<T, Sum>(&mut band.planes, range.clone(), source),
        Update::Max => combine_tile_row::<T, Maximum>(&mut band.planes, range.clone(), source),
        Update::Min => combine_tile_row::<T, Minimum>(&mut band.planes, range.clone(), source),
        Update::Weighted(map) => {
          let w = &map[footprint_offset..][..row_len];
          for (c, plane) in band.planes.iter_mut().enumerate() {
            let dst = &mut plane[range.clone()];
            match source.row(c) {
              Row::Fill(v) => rows::weighted_fill(dst, v, w),
              Row::Values(src) if upscale == 1 => rows::weighted_row(dst, src, w),
              Row::Values(src) => rows::weighted_row_upscaled(dst, src, w, upscale, phase),
            }
          }
          rows::add_row(&mut band.aux[0][range.clone()], w);
        }
        Update::Welford => {
          let counts = &band.counter.as_deref().expect("Welford needs the counter")[range.clone()];
          for (c, (mean, m2)) in band.planes.iter_mut().zip(band.aux.iter_mut()).enumerate() {
            let (mean, m2) = (&mut mean[range.clone()], &mut m2[range.clone()]);
            match source.row(c) {
              Row::Fill(v) => rows::welford_fill(mean, m2, counts, v),
              Row::Values(src) if upscale == 1 => rows::welford_row(mean, m2, counts, src),
              Row::Values(src) => rows::welford_row_upscaled(mean, m2, counts, src, upscale, phase),
            }
          }
        }
      }
      if let Some(counter) = band.counter.as_deref_mut() {
        count_row(&mut counter[range]);
      }
    });
  }
}

/// Cuts every plane of `planes` (each `plane_len` elements) into one run of
/// rows per band at the row cuts; `row_elems` is elements per dim-0 row.
pub(crate) fn split_planes<'a, E>(
  planes: &'a mut [E],
  plane_len: usize,
  row_elems: usize,
  cuts: &[usize],
) -> Vec<Vec<&'a mut [E]>> {
  let nb = cuts.len() - 1;
  let mut bands: Vec<Vec<&'a mut [E]>> = (0..nb).map(|_| Vec::new()).collect();
  for plane in planes.chunks_exact_mut(plane_len) {
    let mut rest = &mut plane[cuts[0] * row_elems..cuts[nb] * row_elems];
    for (b, band) in bands.iter_mut().enumerate() {
      let (head, tail) = rest.split_at_mut((cuts[b + 1] - cuts[b]) * row_elems);
      band.push(head);
      rest = tail;
    }
  }
  bands
}

/// The accumulator arrays a batch writes.
pub struct AccumulatorSlices<'a, T, K> {
  /// `channels` planes.
  pub mask: &'a mut [T],
  pub counter: Option<&'a mut [K]>,
  /// The weight sum plane, or one plane of squared deviations per channel.
  pub aux: Option<&'a mut [T]>,
  pub plane_len: usize,
}

/// Splits the accumulator into bands at the given row cuts.
fn split_bands<'a, T, K>(acc: AccumulatorSlices<'a, T, K>, row_elems: usize, cuts: &[usize]) -> Vec<Band<'a, T, K>> {
  let plane_len = acc.plane_len;
  let planes = split_planes(acc.mask, plane_len, row_elems, cuts);
  let mut counters = acc.counter.map(|c| split_planes(c, plane_len, row_elems, cuts).into_iter());
  let mut aux = acc.aux.map(|a| split_planes(a, plane_len, row_elems, cuts).into_iter());
  planes
    .into_iter()
    .enumerate()
    .map(|(b, planes)| Band {
      planes,
      counter: counters.as_mut().and_then(|c| c.next()).and_then(|mut v| v.pop()),
      aux: aux.as_mut().and_then(|a| a.next()).unwrap_or_default(),
      base: cuts[b] * row_elems,
      rows: (cuts[b], cuts[b + 1]),
    })
    .collect()
}

/// Applies a validated batch to the accumulator.
pub fn apply_batch<T: Element, K: CounterElement>(
  geometry: &Geometry,
  plan: &BatchPlan,
  data: &[T],
  acc: AccumulatorSlices<'_, T, K>,
  update: Update<'_, T>,
) {
  if plan.tiles == 0 {
    return;
  }
  let walker = RowWalker::new(geometry, plan);
  let written = plan.channels * plan.written_len();
  let threads = rayon::current_num_threads();
  let (row_lo, row_hi) = plan.row_range();
  let rows = row_hi - row_lo;
  let row_elems = acc.plane_len / geometry.mask_extents[0] as usize;

  let parallel = threads > 1 && geometry.ndim() >= 2 && written >= PARALLEL_MIN_ELEMENTS && rows >= 2;
  let nb = if parallel { (threads * BANDS_PER_THREAD).min(rows) } else { 1 };
  let cuts: Vec<usize> = if parallel {
    (0..=nb).map(|b| row_lo + rows * b / nb).collect()
  } else {
    vec![0, geometry.mask_extents[0] as usize]
  };
  let mut bands = split_bands(acc, row_elems, &cuts);
  if parallel {
    bands.par_iter_mut().for_each(|band| apply_band(&walker, plan, data, band, update));
  } else {
    apply_band(&walker, plan, data, &mut bands[0], update);
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

/// Divides every channel plane by the weight sum plane; 0 where it is 0.
pub fn divide_by_sums<T: Element>(mask: &mut [T], sums: &[T], plane_len: usize) {
  for plane in mask.chunks_exact_mut(plane_len) {
    plane
      .par_chunks_mut(PASS_CHUNK)
      .zip(sums.par_chunks(PASS_CHUNK))
      .for_each(|(values, sums)| rows::divide_by_sums(values, sums));
  }
}

/// Turns sums of squared deviations into population variances.
pub fn variance_from_m2<T: Element, K: CounterElement>(m2: &mut [T], counter: &[K], plane_len: usize) {
  for plane in m2.chunks_exact_mut(plane_len) {
    plane
      .par_chunks_mut(PASS_CHUNK)
      .zip(counter.par_chunks(PASS_CHUNK))
      .for_each(|(values, counts)| rows::variance_from_m2(values, counts));
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

  fn run<C: AsUpdate>(
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
    let acc = AccumulatorSlices { mask: &mut mask, counter: Some(&mut counter), aux: None, plane_len: plane };
    apply_batch::<f32, u16>(g, &plan, data, acc, C::UPDATE);
    (mask, counter)
  }

  trait AsUpdate {
    const UPDATE: Update<'static, f32>;
  }
  impl AsUpdate for Sum {
    const UPDATE: Update<'static, f32> = Update::Sum;
  }
  impl AsUpdate for Maximum {
    const UPDATE: Update<'static, f32> = Update::Max;
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
    pool.install(|| {
      let acc = AccumulatorSlices { mask: &mut seq_mask, counter: Some(&mut seq_count), aux: None, plane_len: plane };
      apply_batch::<f32, u16>(&g, &plan, &data, acc, Update::Sum)
    });
    let mut par_mask = vec![0.0f32; plane * channels];
    let mut par_count = vec![0u16; plane];
    let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
    pool.install(|| {
      let acc = AccumulatorSlices { mask: &mut par_mask, counter: Some(&mut par_count), aux: None, plane_len: plane };
      apply_batch::<f32, u16>(&g, &plan, &data, acc, Update::Sum)
    });
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
