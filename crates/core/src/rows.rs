//! Row primitives: each updates one contiguous mask row from one tile row
//! (or one scalar), with no geometry of its own. The kernels module walks
//! the footprints and calls these; finalize passes call the reductions on
//! contiguous runs of pixels.
//!
//! Every primitive does its arithmetic in the accumulator's type, one
//! rounded operation at a time (no fused multiply-add), so the pure-JS
//! backend reproduces it bit for bit with `Math.fround`.

use crate::element::{CounterElement, Element};

/// `dst += src * w`.
#[inline(always)]
pub fn weighted_row<T: Element>(dst: &mut [T], src: &[T], w: &[T]) {
  for ((d, &s), &w) in dst.iter_mut().zip(src).zip(w) {
    *d = *d + s * w;
  }
}

/// `dst += src * w` with every source value covering `upscale` pixels.
#[inline(always)]
pub fn weighted_row_upscaled<T: Element>(dst: &mut [T], src: &[T], w: &[T], upscale: usize, phase: usize) {
  // The row may start `phase` pixels into its first block (a tile cut by a region).
  let head = ((upscale - phase) % upscale).min(dst.len());
  let (dst_head, dst) = dst.split_at_mut(head);
  let (w_head, w) = w.split_at(head);
  let src = if head > 0 {
    for (d, &w) in dst_head.iter_mut().zip(w_head) {
      *d = *d + src[0] * w;
    }
    &src[1..]
  } else {
    src
  };
  for ((block, &s), w) in dst.chunks_mut(upscale).zip(src).zip(w.chunks(upscale)) {
    for (d, &w) in block.iter_mut().zip(w) {
      *d = *d + s * w;
    }
  }
}

/// `dst += value * w`.
#[inline(always)]
pub fn weighted_fill<T: Element>(dst: &mut [T], value: T, w: &[T]) {
  for (d, &w) in dst.iter_mut().zip(w) {
    *d = *d + value * w;
  }
}

/// `sum += w`: the weight sum row.
#[inline(always)]
pub fn add_row<T: Element>(sum: &mut [T], w: &[T]) {
  for (s, &w) in sum.iter_mut().zip(w) {
    *s = *s + w;
  }
}

/// One Welford step for one value: `counts` holds the tiles seen before.
#[inline(always)]
fn welford<T: Element, K: CounterElement>(mean: &mut T, m2: &mut T, count: K, value: T) {
  let n = T::from_count(count.to_u32() + 1);
  let delta = value - *mean;
  *mean = *mean + delta / n;
  *m2 = *m2 + delta * (value - *mean);
}

/// Welford's update of running means and sums of squared deviations.
#[inline(always)]
pub fn welford_row<T: Element, K: CounterElement>(mean: &mut [T], m2: &mut [T], counts: &[K], src: &[T]) {
  for (((m, q), &k), &v) in mean.iter_mut().zip(m2.iter_mut()).zip(counts).zip(src) {
    welford(m, q, k, v);
  }
}

/// Chan et al.'s combination of two variance states per pixel: `counts`
/// holds the merged counts n, `src_counts` the source's nb (so the
/// destination had na = n - nb); the mean moves by `delta * nb / n` and M2
/// gains the source's M2 and `delta^2 * na * nb / n`.
#[inline(always)]
pub fn welford_merge_row<T: Element, K: CounterElement>(
  mean: &mut [T],
  m2: &mut [T],
  counts: &[K],
  src_mean: &[T],
  src_m2: &[T],
  src_counts: &[K],
) {
  let pixels = mean.iter_mut().zip(m2.iter_mut()).zip(counts).zip(src_mean.iter().zip(src_m2).zip(src_counts));
  for (((m, q), &n), ((&mb, &qb), &nb)) in pixels {
    let (n, nb) = (n.to_u32(), nb.to_u32());
    if nb == 0 {
      continue;
    }
    let na = n - nb;
    if na == 0 {
      (*m, *q) = (mb, qb);
      continue;
    }
    let share = T::from_count(nb) / T::from_count(n);
    let delta = mb - *m;
    *m = *m + delta * share;
    *q = (*q + qb) + delta * delta * T::from_count(na) * share;
  }
}

#[inline(always)]
pub fn welford_row_upscaled<T: Element, K: CounterElement>(
  mean: &mut [T],
  m2: &mut [T],
  counts: &[K],
  src: &[T],
  upscale: usize,
  phase: usize,
) {
  let head = ((upscale - phase) % upscale).min(mean.len());
  let (mean_head, mean) = mean.split_at_mut(head);
  let (m2_head, m2) = m2.split_at_mut(head);
  let (counts_head, counts) = counts.split_at(head);
  let src = if head > 0 {
    welford_fill(mean_head, m2_head, counts_head, src[0]);
    &src[1..]
  } else {
    src
  };
  let blocks = mean.chunks_mut(upscale).zip(m2.chunks_mut(upscale)).zip(counts.chunks(upscale));
  for (((m, q), k), &v) in blocks.zip(src) {
    for ((m, q), &k) in m.iter_mut().zip(q.iter_mut()).zip(k) {
      welford(m, q, k, v);
    }
  }
}

#[inline(always)]
pub fn welford_fill<T: Element, K: CounterElement>(mean: &mut [T], m2: &mut [T], counts: &[K], value: T) {
  for ((m, q), &k) in mean.iter_mut().zip(m2.iter_mut()).zip(counts) {
    welford(m, q, k, value);
  }
}

/// `values /= sums` where the sum is positive, else 0 (no weight landed).
pub fn divide_by_sums<T: Element>(values: &mut [T], sums: &[T]) {
  for (v, &s) in values.iter_mut().zip(sums) {
    *v = if s > T::ZERO { *v / s } else { T::ZERO };
  }
}

/// `m2 / n`: the population variance (numpy's `var`, ddof 0); 0 where no tile landed.
pub fn variance_from_m2<T: Element, K: CounterElement>(m2: &mut [T], counts: &[K]) {
  for (q, &k) in m2.iter_mut().zip(counts) {
    let n = k.to_u32();
    *q = if n == 0 { T::ZERO } else { *q / T::from_count(n) };
  }
}

/// A label type for argmax: `u8` (up to 256 classes) or `u16`.
pub trait Label: crate::element::Pod + Copy {
  fn from_index(index: usize) -> Self;
}

impl Label for u8 {
  #[inline(always)]
  fn from_index(index: usize) -> Self {
    index as u8
  }
}

impl Label for u16 {
  #[inline(always)]
  fn from_index(index: usize) -> Self {
    index as u16
  }
}

/// Per pixel, the class whose plane holds the largest value (ties go to the
/// lowest index; NaN never wins over a number) and that value. Pixels whose
/// overlap count is 0 (no tile reached them) get `background` and confidence 0.
pub fn argmax_run<T: Element, K: CounterElement, L: Label>(
  planes: &[&[T]],
  counts: Option<&[K]>,
  background: L,
  labels: &mut [L],
  confidence: &mut [T],
) {
  let len = labels.len();
  // Class by class over the run, so every plane is read contiguously.
  confidence.copy_from_slice(&planes[0][..len]);
  labels.fill(L::from_index(0));
  for (c, plane) in planes.iter().enumerate().skip(1) {
    let label = L::from_index(c);
    for ((best, l), &v) in confidence.iter_mut().zip(labels.iter_mut()).zip(&plane[..len]) {
      if v > *best || (best.is_nan() && !v.is_nan()) {
        *best = v;
        *l = label;
      }
    }
  }
  if let Some(counts) = counts {
    for ((l, conf), &k) in labels.iter_mut().zip(confidence.iter_mut()).zip(counts) {
      if k.to_u32() == 0 {
        *l = background;
        *conf = T::ZERO;
      }
    }
  }
}

/// `1` where `v >= threshold` (compared exactly, in f64), else `0` (NaN included).
pub fn threshold_run<T: Element>(src: &[T], threshold: f64, dst: &mut [u8]) {
  for (d, &v) in dst.iter_mut().zip(src) {
    *d = u8::from(v.to_f64() >= threshold);
  }
}

/// `round(clamp(v, 0, 1) * 255)`, halves away from zero; NaN reads 0.
pub fn quantize_run<T: Element>(src: &[T], dst: &mut [u8]) {
  for (d, &v) in dst.iter_mut().zip(src) {
    let x = v.to_f64();
    *d = if x.is_nan() { 0 } else { (x.clamp(0.0, 1.0) * 255.0).round() as u8 };
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn welford_matches_two_pass_variance() {
    let values = [2.0f64, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
    let (mut mean, mut m2) = ([0.0f64], [0.0f64]);
    for (k, &v) in values.iter().enumerate() {
      welford_row(&mut mean, &mut m2, &[k as u16], &[v]);
    }
    variance_from_m2(&mut m2, &[values.len() as u16]);
    assert_eq!(mean[0], 5.0);
    assert_eq!(m2[0], 4.0);
  }

  #[test]
  fn argmax_ties_go_low_and_nan_loses() {
    let a = [1.0f32, 3.0, f32::NAN, 0.0];
    let b = [2.0f32, 3.0, 1.0, 0.0];
    let mut labels = [9u8; 4];
    let mut conf = [0.0f32; 4];
    argmax_run(&[&a, &b], Some(&[1u16, 2, 1, 0][..]), 7u8, &mut labels, &mut conf);
    assert_eq!(labels, [1, 0, 1, 7]);
    assert_eq!(conf, [2.0, 3.0, 1.0, 0.0]);
  }

  #[test]
  fn quantize_and_threshold() {
    let v = [-1.0f32, 0.5, 0.501, 2.0, f32::NAN, 0.25];
    let mut q = [0u8; 6];
    quantize_run(&v, &mut q);
    assert_eq!(q, [0, 128, 128, 255, 0, 64]);
    let mut t = [9u8; 6];
    threshold_run(&v, 0.5, &mut t);
    assert_eq!(t, [0, 1, 1, 1, 0, 0]);
  }
}
