//! Merge kernels: combine a builder's un-normalized state (sums or maxima,
//! overlap counts) from a window of the mask into a builder holding a window
//! that contains it.
//!
//! Planes are walked as contiguous rows of the source window, each combined
//! into the destination row it lands on; dimension-0 slabs run in parallel
//! (they touch disjoint rows). The same arithmetic the batch kernels use is
//! applied (one rounded addition per pixel, or a NaN-sticky maximum), so
//! counts and maxima merge exactly and sums in any order stay within float
//! rounding of a single build.

use rayon::prelude::*;

use crate::element::{CounterElement, Element};
use crate::kernels::Combine;
use crate::rows;

/// Where a source window lands in a destination window: both extents and
/// the source's offset inside the destination, per dimension.
#[derive(Debug, Clone)]
pub struct Placement {
  pub dst_extent: Vec<usize>,
  pub src_extent: Vec<usize>,
  pub offset: Vec<usize>,
}

impl Placement {
  pub fn src_plane_len(&self) -> usize {
    self.src_extent.iter().product()
  }

  pub fn dst_plane_len(&self) -> usize {
    self.dst_extent.iter().product()
  }
}

/// Walks the rows of a source slab (dimensions `d..`) inside a destination slab.
fn rows<E, F: Fn(&mut [E], &[E]) + Sync>(dst: &mut [E], src: &[E], p: &Placement, d: usize, row: &F) {
  let n = p.dst_extent.len();
  if d == n - 1 {
    let at = p.offset[d];
    row(&mut dst[at..at + p.src_extent[d]], src);
    return;
  }
  let dst_step: usize = p.dst_extent[d + 1..].iter().product();
  let src_step: usize = p.src_extent[d + 1..].iter().product();
  for i in 0..p.src_extent[d] {
    let at = (p.offset[d] + i) * dst_step;
    rows(&mut dst[at..at + dst_step], &src[i * src_step..(i + 1) * src_step], p, d + 1, row);
  }
}

/// Applies `row(dst_row, src_row)` to every row of one plane, slabs in parallel.
fn merge_plane<E: Send + Sync, F: Fn(&mut [E], &[E]) + Sync>(dst: &mut [E], src: &[E], p: &Placement, row: &F) {
  if p.dst_extent.len() == 1 {
    rows(dst, src, p, 0, row);
    return;
  }
  let dst_step: usize = p.dst_extent[1..].iter().product();
  let src_step: usize = p.src_extent[1..].iter().product();
  let slabs = &mut dst[p.offset[0] * dst_step..(p.offset[0] + p.src_extent[0]) * dst_step];
  slabs.par_chunks_mut(dst_step).zip(src.par_chunks(src_step)).for_each(|(d, s)| rows(d, s, p, 1, row));
}

/// Combines `channels` planes of `src` into `dst` with `C` (sum or maximum).
pub fn merge_values<T: Element, C: Combine<T>>(dst: &mut [T], src: &[T], channels: usize, p: &Placement) {
  let (dst_plane, src_plane) = (p.dst_plane_len(), p.src_plane_len());
  for c in 0..channels {
    merge_plane(
      &mut dst[c * dst_plane..(c + 1) * dst_plane],
      &src[c * src_plane..(c + 1) * src_plane],
      p,
      &|d: &mut [T], s: &[T]| {
        for (d, &s) in d.iter_mut().zip(s) {
          *d = C::combine(*d, s);
        }
      },
    );
  }
}

/// Calls `row(dst_at, src_at, len)` for every row of the source window in
/// a dimension-`d` slab (offsets relative to the slabs' starts).
fn placed_rows(p: &Placement, d: usize, dst_at: usize, src_at: usize, row: &mut impl FnMut(usize, usize, usize)) {
  let n = p.dst_extent.len();
  if d == n - 1 {
    row(dst_at + p.offset[d], src_at, p.src_extent[d]);
    return;
  }
  let dst_step: usize = p.dst_extent[d + 1..].iter().product();
  let src_step: usize = p.src_extent[d + 1..].iter().product();
  for i in 0..p.src_extent[d] {
    placed_rows(p, d + 1, dst_at + (p.offset[d] + i) * dst_step, src_at + i * src_step, row);
  }
}

/// Combines variance states `(count, mean, M2)` per pixel (Chan et al.):
/// `mean`/`m2` hold `channels` planes each, `counts` the counts already
/// merged (n = na + nb), `src_counts` the source's (nb). Slabs in parallel.
#[allow(clippy::too_many_arguments)]
pub fn merge_welford<T: Element, K: CounterElement>(
  mean: &mut [T],
  m2: &mut [T],
  counts: &[K],
  src_mean: &[T],
  src_m2: &[T],
  src_counts: &[K],
  channels: usize,
  p: &Placement,
) {
  let (dst_plane, src_plane) = (p.dst_plane_len(), p.src_plane_len());
  let slab = |mean: &mut [T], m2: &mut [T], counts: &[K], src_mean: &[T], src_m2: &[T], src_counts: &[K], d: usize| {
    placed_rows(p, d, 0, 0, &mut |at, from, len| {
      rows::welford_merge_row(
        &mut mean[at..at + len],
        &mut m2[at..at + len],
        &counts[at..at + len],
        &src_mean[from..from + len],
        &src_m2[from..from + len],
        &src_counts[from..from + len],
      )
    })
  };
  for c in 0..channels {
    let (mean, m2) = (&mut mean[c * dst_plane..(c + 1) * dst_plane], &mut m2[c * dst_plane..(c + 1) * dst_plane]);
    let (src_mean, src_m2) =
      (&src_mean[c * src_plane..(c + 1) * src_plane], &src_m2[c * src_plane..(c + 1) * src_plane]);
    if p.dst_extent.len() == 1 {
      slab(mean, m2, counts, src_mean, src_m2, src_counts, 0);
      continue;
    }
    let dst_step: usize = p.dst_extent[1..].iter().product();
    let src_step: usize = p.src_extent[1..].iter().product();
    let rows = p.offset[0] * dst_step..(p.offset[0] + p.src_extent[0]) * dst_step;
    mean[rows.clone()]
      .par_chunks_mut(dst_step)
      .zip(m2[rows.clone()].par_chunks_mut(dst_step))
      .zip(counts[rows].par_chunks(dst_step))
      .zip(src_mean.par_chunks(src_step).zip(src_m2.par_chunks(src_step)).zip(src_counts.par_chunks(src_step)))
      .for_each(|(((mean, m2), counts), ((src_mean, src_m2), src_counts))| {
        slab(mean, m2, counts, src_mean, src_m2, src_counts, 1)
      });
  }
}

/// Adds overlap counts; the caller has checked they fit ([`counts_fit`]).
pub fn merge_counts<K: CounterElement>(dst: &mut [K], src: &[K], p: &Placement) {
  merge_plane(dst, src, p, &|d: &mut [K], s: &[K]| {
    for (d, &s) in d.iter_mut().zip(s) {
      *d = d.add_count(s);
    }
  });
}

/// Whether every merged count stays at most `max`.
pub fn counts_fit<K: CounterElement>(dst: &[K], src: &[K], p: &Placement, max: u32) -> bool {
  fn fits<K: CounterElement>(dst: &[K], src: &[K], p: &Placement, d: usize, max: u32) -> bool {
    let n = p.dst_extent.len();
    if d == n - 1 {
      let at = p.offset[d];
      return dst[at..at + p.src_extent[d]]
        .iter()
        .zip(src)
        .all(|(&a, &b)| a.to_u32() as u64 + b.to_u32() as u64 <= max as u64);
    }
    let dst_step: usize = p.dst_extent[d + 1..].iter().product();
    let src_step: usize = p.src_extent[d + 1..].iter().product();
    (0..p.src_extent[d]).all(|i| {
      let at = (p.offset[d] + i) * dst_step;
      fits(&dst[at..at + dst_step], &src[i * src_step..(i + 1) * src_step], p, d + 1, max)
    })
  }
  if p.dst_extent.len() == 1 {
    return fits(dst, src, p, 0, max);
  }
  let dst_step: usize = p.dst_extent[1..].iter().product();
  let src_step: usize = p.src_extent[1..].iter().product();
  let slabs = &dst[p.offset[0] * dst_step..(p.offset[0] + p.src_extent[0]) * dst_step];
  slabs.par_chunks(dst_step).zip(src.par_chunks(src_step)).all(|(d, s)| fits(d, s, p, 1, max))
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::kernels::{Maximum, Sum};

  #[test]
  fn a_window_lands_at_its_offset() {
    // dst 4x5, src 2x3 at (1, 2).
    let p = Placement { dst_extent: vec![4, 5], src_extent: vec![2, 3], offset: vec![1, 2] };
    let mut dst = vec![1.0f32; 20];
    let src: Vec<f32> = (0..6).map(|v| v as f32).collect();
    merge_values::<f32, Sum>(&mut dst, &src, 1, &p);
    let mut expected = vec![1.0f32; 20];
    for y in 0..2 {
      for x in 0..3 {
        expected[(1 + y) * 5 + 2 + x] += src[y * 3 + x];
      }
    }
    assert_eq!(dst, expected);
    let mut dst = vec![2.0f64; 20];
    let src = vec![f64::NEG_INFINITY, 5.0, f64::NAN, 1.0, 3.0, 2.0];
    merge_values::<f64, Maximum>(&mut dst, &src, 1, &p);
    assert_eq!(dst[7], 2.0);
    assert_eq!(dst[8], 5.0);
    assert!(dst[9].is_nan());
  }

  #[test]
  fn counts_add_and_overflow_is_seen_before_writing() {
    let p = Placement { dst_extent: vec![3], src_extent: vec![2], offset: vec![1] };
    let mut dst = vec![1u16, 65000, 3];
    assert!(!counts_fit(&dst, &[600, 0], &p, u16::MAX as u32));
    assert!(counts_fit(&dst, &[535, 7], &p, u16::MAX as u32));
    merge_counts(&mut dst, &[535, 7], &p);
    assert_eq!(dst, vec![1, 65535, 10]);
  }

  #[test]
  fn three_dimensional_placement() {
    let p = Placement { dst_extent: vec![3, 3, 3], src_extent: vec![2, 1, 2], offset: vec![1, 2, 0] };
    let mut dst = vec![0u32; 27];
    merge_counts(&mut dst, &[1, 2, 3, 4], &p);
    assert_eq!(dst[9 + 6], 1);
    assert_eq!(dst[9 + 7], 2);
    assert_eq!(dst[18 + 6], 3);
    assert_eq!(dst[18 + 7], 4);
    assert_eq!(dst.iter().sum::<u32>(), 10);
  }
}
