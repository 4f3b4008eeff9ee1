//! Outline simplification for GeoJSON: geo's topology-preserving
//! Visvalingam-Whyatt, with two guarantees it does not give on its own
//! checked after it (validity, and a bound on the area change); a polygon
//! that fails either keeps its exact pixel-edge outline.

use geo::{Area, LineString, Polygon, SimplifyVwPreserve, Validation};

/// The triangle area (slide pixels squared) below which a vertex is dropped
/// for a tolerance of `tolerance` slide pixels: a square of side `tolerance`,
/// so a tolerance of one mask pixel removes one-pixel stairs (their
/// triangles are half a pixel).
pub fn vertex_area(tolerance: f64) -> f64 {
  tolerance * tolerance
}

fn vertices(polygon: &Polygon<f64>) -> usize {
  polygon.exterior().0.len() + polygon.interiors().iter().map(|r| r.0.len()).sum::<usize>()
}

/// What simplifying one polygon gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Simplified {
  pub rings: Vec<Vec<[f64; 2]>>,
  /// False when the simplified outline was invalid or beyond the area bound,
  /// so the exact one was kept.
  pub simplified: bool,
}

/// Simplifies closed `rings` (outline first, then holes; slide coordinates).
/// Each dropped vertex changes the area by its triangle, so the accepted
/// result differs from the exact area by at most
/// `dropped vertices * vertex_area(tolerance)`.
pub fn simplify_rings(rings: Vec<Vec<[f64; 2]>>, tolerance: f64) -> Simplified {
  let ring = |r: &[[f64; 2]]| LineString::from(r.iter().map(|&[x, y]| (x, y)).collect::<Vec<_>>());
  let exact = Polygon::new(ring(&rings[0]), rings[1..].iter().map(|r| ring(r)).collect());
  let epsilon = vertex_area(tolerance);
  let simple = exact.simplify_vw_preserve(epsilon);
  let dropped = vertices(&exact) - vertices(&simple);
  let area_change = (simple.signed_area() - exact.signed_area()).abs();
  // geo's intersection test skips segments sharing an endpoint and rings
  // inside a removed triangle, and it removes a point even when it finds a
  // crossing: the result is checked rather than trusted.
  if dropped == 0 || area_change > dropped as f64 * epsilon || !simple.is_valid() {
    return Simplified { rings, simplified: false };
  }
  let coords = |r: &LineString<f64>| r.0.iter().map(|c| [c.x, c.y]).collect::<Vec<_>>();
  let mut out = vec![coords(simple.exterior())];
  out.extend(simple.interiors().iter().map(coords));
  Simplified { rings: out, simplified: true }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn staircase(steps: usize) -> Vec<[f64; 2]> {
    // A right triangle drawn with one-pixel stairs, closed.
    let mut ring = vec![[0.0, 0.0]];
    for i in 0..steps {
      ring.push([i as f64 + 1.0, i as f64]);
      ring.push([i as f64 + 1.0, i as f64 + 1.0]);
    }
    ring.push([0.0, steps as f64]);
    ring.push([0.0, 0.0]);
    ring
  }

  #[test]
  fn one_pixel_stairs_become_a_diagonal_within_the_area_bound() {
    let ring = staircase(20);
    let exact = Polygon::new(LineString::from(ring.iter().map(|&[x, y]| (x, y)).collect::<Vec<_>>()), vec![]);
    let out = simplify_rings(vec![ring.clone()], 1.0);
    assert!(out.simplified);
    let simple = Polygon::new(LineString::from(out.rings[0].iter().map(|&[x, y]| (x, y)).collect::<Vec<_>>()), vec![]);
    assert!(simple.is_valid());
    assert!(out.rings[0].len() < ring.len() / 2, "{} of {} vertices kept", out.rings[0].len(), ring.len());
    let dropped = (ring.len() - out.rings[0].len()) as f64;
    assert!((simple.unsigned_area() - exact.unsigned_area()).abs() <= dropped * vertex_area(1.0));
  }

  #[test]
  fn a_tolerance_below_the_stairs_changes_nothing() {
    let ring = staircase(5);
    let out = simplify_rings(vec![ring.clone()], 0.5);
    assert_eq!(out, Simplified { rings: vec![ring], simplified: false });
  }
}
