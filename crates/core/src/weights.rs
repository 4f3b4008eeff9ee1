//! Weight windows for the weighted mean: how much each pixel of a tile's
//! footprint counts where tiles overlap.
//!
//! Definitions match the peers, so results can be checked against them:
//! - the named windows are scipy's `get_window(name, n)` (periodic, scipy's
//!   default) or, with `symmetric`, `get_window(name, n, fftbins=False)` (what
//!   tiler's `Merger` uses), as an outer product over the spatial dimensions;
//! - `Gaussian` is MONAI's `compute_importance_map(mode='gaussian')`: per
//!   dimension `exp(-x^2 / (2 sigma^2))` at `x = i - (n - 1) / 2`,
//!   `sigma = sigma_scale * n`, the outer product, then clamped below at
//!   `max(min(map), 1e-3)`.
//!
//! Windows are sampled over the unclipped footprint in the mask
//! (`outputTileExtent * upscaleFactor` pixels per dimension), computed once
//! per builder in `f64`; edge clipping then cuts the map like the tile.

use crate::error::{codes, js_number, list, Error, Result};

/// A named 1-D window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WindowKind {
  Hann,
  Hamming,
  Triang,
  Bartlett,
  Blackman,
  /// MONAI's gaussian; `sigma_scale` per dimension is given in [`Weights::Window`].
  Gaussian,
}

impl WindowKind {
  pub fn name(self) -> &'static str {
    match self {
      WindowKind::Hann => "hann",
      WindowKind::Hamming => "hamming",
      WindowKind::Triang => "triang",
      WindowKind::Bartlett => "bartlett",
      WindowKind::Blackman => "blackman",
      WindowKind::Gaussian => "gaussian",
    }
  }

  pub fn parse(name: &str) -> Option<Self> {
    Some(match name {
      "hann" => WindowKind::Hann,
      "hamming" => WindowKind::Hamming,
      "triang" => WindowKind::Triang,
      "bartlett" => WindowKind::Bartlett,
      "blackman" => WindowKind::Blackman,
      "gaussian" => WindowKind::Gaussian,
      _ => return None,
    })
  }
}

/// MONAI's default `sigma_scale`.
pub const DEFAULT_SIGMA_SCALE: f64 = 0.125;
/// MONAI's floor on the gaussian map, so no covered pixel has zero weight.
pub const GAUSSIAN_FLOOR: f64 = 1e-3;

/// How tiles are weighted.
#[derive(Debug, Clone, PartialEq)]
pub enum Weights {
  /// Every pixel counts 1: the plain mean, bit for bit.
  Uniform,
  Window {
    kind: WindowKind,
    /// Scipy's `fftbins=False`; ignored by the gaussian.
    symmetric: bool,
    /// Gaussian only: sigma = sigma_scale * n, per dimension.
    sigma_scale: Vec<f64>,
  },
  /// A map of the footprint's shape, or of `outputTileExtent`'s (upscaled
  /// like the values); row-major.
  Map { values: Vec<f64>, shape: Vec<usize> },
}

impl Weights {
  /// A short description for error messages.
  pub fn describe(&self) -> String {
    match self {
      Weights::Uniform => "'uniform'".to_string(),
      Weights::Window { kind: WindowKind::Gaussian, sigma_scale, .. } => {
        format!("'gaussian' (sigmaScale {})", crate::error::list(sigma_scale))
      }
      Weights::Window { kind, symmetric, .. } => {
        format!("'{}' ({})", kind.name(), if *symmetric { "symmetric" } else { "periodic" })
      }
      Weights::Map { shape, .. } => format!("a custom map of shape {}", crate::error::list(shape)),
    }
  }
}

/// Scipy's symmetric general cosine window `sum_k a_k cos(k x)`, `x` spaced
/// evenly over `[-pi, pi]` as numpy's `linspace` spaces it.
fn general_cosine(m: usize, a: &[f64]) -> Vec<f64> {
  let step = 2.0 * std::f64::consts::PI / (m - 1) as f64;
  (0..m)
    .map(|i| {
      let x = if i == m - 1 { std::f64::consts::PI } else { i as f64 * step - std::f64::consts::PI };
      a.iter().enumerate().fold(0.0, |w, (k, &ak)| w + ak * (k as f64 * x).cos())
    })
    .collect()
}

fn triang(m: usize) -> Vec<f64> {
  let half = m.div_ceil(2);
  let rising: Vec<f64> = (1..=half)
    .map(|n| if m.is_multiple_of(2) { (2 * n - 1) as f64 / m as f64 } else { (2 * n) as f64 / (m + 1) as f64 })
    .collect();
  let mirrored = if m.is_multiple_of(2) { &rising[..] } else { &rising[..half - 1] };
  rising.iter().chain(mirrored.iter().rev()).copied().collect()
}

fn bartlett(m: usize) -> Vec<f64> {
  let last = (m - 1) as f64;
  (0..m)
    .map(|n| {
      let n = n as f64;
      if n <= last / 2.0 {
        2.0 * n / last
      } else {
        2.0 - 2.0 * n / last
      }
    })
    .collect()
}

fn symmetric_window(kind: WindowKind, m: usize) -> Vec<f64> {
  if m <= 1 {
    return vec![1.0; m];
  }
  match kind {
    WindowKind::Hann => general_cosine(m, &[0.5, 0.5]),
    WindowKind::Hamming => general_cosine(m, &[0.54, 0.46]),
    WindowKind::Blackman => general_cosine(m, &[0.42, 0.50, 0.08]),
    WindowKind::Triang => triang(m),
    WindowKind::Bartlett => bartlett(m),
    WindowKind::Gaussian => unreachable!("the gaussian is not a scipy window here"),
  }
}

/// Scipy's `get_window(name, n)` (periodic) or, with `symmetric`,
/// `get_window(name, n, fftbins=False)`.
pub fn scipy_window(kind: WindowKind, n: usize, symmetric: bool) -> Vec<f64> {
  if symmetric || n <= 1 {
    return symmetric_window(kind, n);
  }
  let mut w = symmetric_window(kind, n + 1);
  w.truncate(n);
  w
}

/// MONAI's 1-D gaussian before the floor: `exp(x^2 / (-2 sigma^2))`.
pub fn gaussian_1d(n: usize, sigma_scale: f64) -> Vec<f64> {
  let sigma = sigma_scale * n as f64;
  let centre = (n as f64 - 1.0) / 2.0;
  (0..n)
    .map(|i| {
      let x = i as f64 - centre;
      (x * x / (-2.0 * sigma * sigma)).exp()
    })
    .collect()
}

/// The outer product of 1-D windows, row-major, multiplied left to right.
pub fn outer_product(factors: &[Vec<f64>]) -> Vec<f64> {
  let mut map = vec![1.0f64];
  for f in factors {
    let mut next = Vec::with_capacity(map.len() * f.len());
    for &a in &map {
      next.extend(f.iter().map(|&b| a * b));
    }
    map = next;
  }
  map
}

/// Repeats every element of a row-major map `upscale[d]` times along each
/// dimension (nearest-neighbour upscaling, as tile values are upscaled).
fn upscale_map(values: &[f64], shape: &[usize], upscale: &[usize]) -> Vec<f64> {
  if upscale.iter().all(|&u| u == 1) {
    return values.to_vec();
  }
  let out_shape: Vec<usize> = shape.iter().zip(upscale).map(|(&s, &u)| s * u).collect();
  let strides = crate::geometry::c_strides(shape);
  let len: usize = out_shape.iter().product();
  let mut out = Vec::with_capacity(len);
  let n = shape.len();
  let mut index = vec![0usize; n];
  for _ in 0..len {
    let src: usize = (0..n).map(|d| index[d] / upscale[d] * strides[d]).sum();
    out.push(values[src]);
    for d in (0..n).rev() {
      index[d] += 1;
      if index[d] < out_shape[d] {
        break;
      }
      index[d] = 0;
    }
  }
  out
}

/// The weight map over a whole (unclipped) footprint of `footprint` mask
/// pixels per dimension, row-major; `None` for uniform weights. Refuses maps
/// of the wrong shape and negative, NaN, infinite or all-zero maps.
pub fn footprint_weights(weights: &Weights, output_tile: &[usize], upscale: &[usize]) -> Result<Option<Vec<f64>>> {
  let footprint: Vec<usize> = output_tile.iter().zip(upscale).map(|(&o, &u)| o * u).collect();
  let map = match weights {
    Weights::Uniform => return Ok(None),
    Weights::Window { kind: WindowKind::Gaussian, sigma_scale, .. } => {
      if sigma_scale.len() != footprint.len() {
        return Err(Error::range(
          codes::DIMS_MISMATCH,
          format!(
            "weights.sigmaScale must have one entry per spatial dimension ({}); received {}",
            footprint.len(),
            sigma_scale.len()
          ),
        ));
      }
      if let Some(s) = sigma_scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(Error::range(
          codes::OPTION_RANGE,
          format!("weights.sigmaScale must be a positive finite number; received {}", js_number(*s)),
        ));
      }
      let factors: Vec<Vec<f64>> = footprint.iter().zip(sigma_scale).map(|(&n, &s)| gaussian_1d(n, s)).collect();
      let mut map = outer_product(&factors);
      let floor = map.iter().copied().fold(f64::INFINITY, f64::min).max(GAUSSIAN_FLOOR);
      for w in &mut map {
        *w = w.max(floor);
      }
      map
    }
    Weights::Window { kind, symmetric, .. } => {
      // Rounding leaves blackman's zero ends at -1.4e-17: no weight is negative.
      let factors: Vec<Vec<f64>> = footprint
        .iter()
        .map(|&n| scipy_window(*kind, n, *symmetric).into_iter().map(|w| w.max(0.0)).collect())
        .collect();
      outer_product(&factors)
    }
    Weights::Map { values, shape } => {
      let map = if shape[..] == footprint[..] {
        values.clone()
      } else if shape[..] == output_tile[..] {
        upscale_map(values, shape, upscale)
      } else {
        return Err(Error::range(
          codes::OPTION_RANGE,
          format!(
            "a weights map must have the footprint's shape {} (outputTileExtent x upscaleFactor) or outputTileExtent {}; received shape {}",
            list(&footprint),
            list(output_tile),
            list(shape)
          ),
        ));
      };
      if values.len() != shape.iter().product::<usize>() {
        return Err(Error::range(
          codes::OPTION_RANGE,
          format!(
            "a weights map of shape {} must hold {} values; received {}",
            list(shape),
            shape.iter().product::<usize>(),
            values.len()
          ),
        ));
      }
      if let Some((i, w)) = values.iter().enumerate().find(|(_, w)| !(w.is_finite() && **w >= 0.0)) {
        return Err(Error::range(
          codes::OPTION_RANGE,
          format!("weights map values must be finite and non-negative; element {i} is {}", js_number(*w)),
        ));
      }
      if values.iter().all(|&w| w == 0.0) {
        return Err(Error::range(
          codes::OPTION_RANGE,
          "a weights map must have at least one positive value; this one is all zeros".to_string(),
        ));
      }
      map
    }
  };
  Ok(Some(map))
}

/// The part of a footprint weight map (of `full` extents) that a clipped
/// tile keeps: `extent` pixels per dimension from `start`, row-major.
pub fn clip_map<T: Copy>(map: &[T], full: &[usize], start: &[usize], extent: &[usize]) -> Vec<T> {
  let n = full.len();
  let strides = crate::geometry::c_strides(full);
  let row = extent[n - 1];
  let rows: usize = extent[..n - 1].iter().product();
  let mut out = Vec::with_capacity(rows * row);
  let mut index = vec![0usize; n - 1];
  for _ in 0..rows {
    let mut offset = start[n - 1];
    for d in 0..n - 1 {
      offset += (start[d] + index[d]) * strides[d];
    }
    out.extend_from_slice(&map[offset..offset + row]);
    for d in (0..n - 1).rev() {
      index[d] += 1;
      if index[d] < extent[d] {
        break;
      }
      index[d] = 0;
    }
  }
  out
}

#[cfg(test)]
mod tests {
  use super::*;

  fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
  }

  #[test]
  fn scipy_values() {
    // scipy.signal.get_window('hann', 4) and ('hann', 4, fftbins=False).
    assert!(close(&scipy_window(WindowKind::Hann, 4, false), &[0.0, 0.5, 1.0, 0.5]));
    assert!(close(&scipy_window(WindowKind::Hann, 4, true), &[0.0, 0.75, 0.75, 0.0]));
    assert!(close(&scipy_window(WindowKind::Triang, 5, true), &[1.0 / 3.0, 2.0 / 3.0, 1.0, 2.0 / 3.0, 1.0 / 3.0]));
    assert!(close(&scipy_window(WindowKind::Triang, 4, true), &[0.25, 0.75, 0.75, 0.25]));
    assert!(close(&scipy_window(WindowKind::Bartlett, 5, true), &[0.0, 0.5, 1.0, 0.5, 0.0]));
    assert!(close(&scipy_window(WindowKind::Hamming, 1, false), &[1.0]));
    let b = scipy_window(WindowKind::Blackman, 3, true);
    assert!(close(&b, &[0.0, 1.0, 0.0]), "{b:?}");
  }

  #[test]
  fn gaussian_is_monai_with_its_floor() {
    let w = footprint_weights(
      &Weights::Window { kind: WindowKind::Gaussian, symmetric: false, sigma_scale: vec![0.125, 0.125] },
      &[16, 1],
      &[1, 8],
    )
    .unwrap()
    .unwrap();
    assert_eq!(w.len(), 16 * 8);
    let sigma = 0.125 * 16.0;
    let g0 = (7.5f64 * 7.5 / (-2.0 * sigma * sigma)).exp();
    // The corners are the minimum, above the 1e-3 floor here.
    let sigma_x = 0.125f64 * 8.0;
    let c = g0 * (3.5f64 * 3.5 / (-2.0 * sigma_x * sigma_x)).exp();
    assert!((w[0] - c.max(1e-3)).abs() < 1e-15);
    assert!(w.iter().all(|&v| v >= 1e-3));
  }

  #[test]
  fn maps_are_checked_and_upscaled() {
    let map = Weights::Map { values: vec![1.0, 2.0, 3.0, 4.0], shape: vec![2, 2] };
    let w = footprint_weights(&map, &[2, 2], &[2, 1]).unwrap().unwrap();
    assert_eq!(w, vec![1.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 4.0]);
    let bad = Weights::Map { values: vec![1.0, -2.0, 3.0, 4.0], shape: vec![2, 2] };
    assert!(footprint_weights(&bad, &[2, 2], &[1, 1]).unwrap_err().message.contains("element 1"));
    let nan = Weights::Map { values: vec![1.0, f64::NAN, 3.0, 4.0], shape: vec![2, 2] };
    assert_eq!(footprint_weights(&nan, &[2, 2], &[1, 1]).unwrap_err().code, codes::OPTION_RANGE);
    let wrong = Weights::Map { values: vec![1.0; 6], shape: vec![2, 3] };
    assert!(footprint_weights(&wrong, &[2, 2], &[1, 1]).unwrap_err().message.contains("[2, 3]"));
  }

  #[test]
  fn clipping_cuts_the_map() {
    let map: Vec<u32> = (0..12).collect();
    assert_eq!(clip_map(&map, &[3, 4], &[1, 1], &[2, 2]), vec![5, 6, 9, 10]);
  }
}
