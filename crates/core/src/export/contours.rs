//! Region outlines traced along pixel edges: polygons with holes whose area
//! is exactly the pixel count. No kept crate traces pixel edges (`contour` is
//! marching squares, which cuts corners), so this is the one tracer here.
//! Foreground is 4-connected: pixels touching only at a corner are separate
//! regions. Works in memory: 6 bytes per mask pixel (inside, walked, label) besides the mask.

/// One region: its outline and holes, closed rings of `[x, y]` mask-pixel corners.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
  /// First ring the outline (positive shoelace area in `x, y`), then holes.
  pub rings: Vec<Vec<[i64; 2]>>,
  /// Pixels in the region (outline area minus holes).
  pub pixels: u64,
}

fn find(parent: &mut [u32], mut i: u32) -> u32 {
  while parent[i as usize] != i {
    let next = parent[parent[i as usize] as usize];
    parent[i as usize] = next;
    i = next;
  }
  i
}

/// 4-connected component of every foreground pixel (`u32::MAX` for background).
fn components(inside: &[bool], width: usize) -> Vec<u32> {
  let mut label = vec![u32::MAX; inside.len()];
  let mut parent: Vec<u32> = Vec::new();
  for i in 0..inside.len() {
    if !inside[i] {
      continue;
    }
    let left = (i % width != 0 && inside[i - 1]).then(|| label[i - 1]);
    let up = (i >= width && inside[i - width]).then(|| label[i - width]);
    label[i] = match (left, up) {
      (None, None) => {
        parent.push(parent.len() as u32);
        parent.len() as u32 - 1
      }
      (Some(a), None) | (None, Some(a)) => a,
      (Some(a), Some(b)) => {
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        parent[ra.max(rb) as usize] = ra.min(rb);
        ra.min(rb)
      }
    };
  }
  for l in label.iter_mut().filter(|l| **l != u32::MAX) {
    *l = find(&mut parent, *l);
  }
  label
}

/// Splits an open ring of corners at the corners it passes twice (where
/// background touches itself diagonally), so no ring touches itself: the
/// pinched-off loops are holes touching the outline at one point, which is
/// valid in simple-features terms.
fn split_pinches(corners: Vec<[i64; 2]>) -> Vec<Vec<[i64; 2]>> {
  let mut loops = Vec::new();
  let mut path: Vec<[i64; 2]> = Vec::with_capacity(corners.len());
  let mut seen: std::collections::HashMap<[i64; 2], usize> = std::collections::HashMap::new();
  for corner in corners {
    if let Some(&i) = seen.get(&corner) {
      let pinched: Vec<[i64; 2]> = path.drain(i..).collect();
      for p in &pinched[1..] {
        seen.remove(p);
      }
      loops.push(pinched);
      path.push(corner);
    } else {
      seen.insert(corner, path.len());
      path.push(corner);
    }
  }
  loops.push(path);
  loops
}

/// Traces every region of `inside` (`[H, W]`, C order).
pub fn trace(inside: &[bool], extents: [usize; 2]) -> Vec<Region> {
  let [h, w] = extents;
  let at =
    |x: i64, y: i64| x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h && inside[y as usize * w + x as usize];
  let label = components(inside, w);
  // Top edges already walked: every ring has one, so scanning them finds all rings.
  let mut walked = vec![false; inside.len()];
  let mut regions: Vec<Region> = Vec::new();
  let mut region_of: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
  let mut holes: Vec<(u32, Vec<[i64; 2]>, i64)> = Vec::new();
  // Directions on the vertex grid (x right, y down): east, south, west, north.
  const STEP: [[i64; 2]; 4] = [[1, 0], [0, 1], [-1, 0], [0, -1]];
  for start in 0..inside.len() {
    if !inside[start] || walked[start] || (start >= w && inside[start - w]) {
      continue;
    }
    let (sx, sy) = ((start % w) as i64, (start / w) as i64);
    // Walk east along the pixel's top edge, foreground on the right.
    let (mut x, mut y, mut dir) = (sx, sy, 0usize);
    let mut ring = vec![[sx, sy]];
    loop {
      if dir == 0 {
        walked[y as usize * w + x as usize] = true;
      }
      x += STEP[dir][0];
      y += STEP[dir][1];
      // The two pixels ahead of vertex (x, y): on the right and on the left of travel.
      let (right, left) = match dir {
        0 => (at(x, y), at(x, y - 1)),
        1 => (at(x - 1, y), at(x, y)),
        2 => (at(x - 1, y - 1), at(x - 1, y)),
        _ => (at(x, y - 1), at(x - 1, y - 1)),
      };
      // Hug the pixel behind on the right (keeps diagonal neighbours apart).
      let turn = if !right {
        (dir + 1) % 4
      } else if !left {
        dir
      } else {
        (dir + 3) % 4
      };
      // Back where the ring began, about to walk the first edge again.
      if (x, y) == (sx, sy) && turn == 0 {
        break;
      }
      if turn != dir {
        ring.push([x, y]);
        dir = turn;
      }
    }
    let component = label[start];
    for mut ring in split_pinches(ring) {
      ring.push(ring[0]);
      let twice_area: i64 = ring.windows(2).map(|p| p[0][0] * p[1][1] - p[1][0] * p[0][1]).sum();
      if twice_area > 0 {
        region_of.insert(component, regions.len());
        regions.push(Region { rings: vec![ring], pixels: (twice_area / 2) as u64 });
      } else {
        holes.push((component, ring, twice_area / 2));
      }
    }
  }
  for (component, ring, area) in holes {
    let region = &mut regions[region_of[&component]];
    region.pixels -= (-area) as u64;
    region.rings.push(ring);
  }
  regions
}

#[cfg(test)]
mod tests {
  use super::*;

  fn grid(rows: &[&str]) -> (Vec<bool>, [usize; 2]) {
    (rows.iter().flat_map(|r| r.chars().map(|c| c == '#')).collect(), [rows.len(), rows[0].len()])
  }

  #[test]
  fn a_ring_with_a_hole_and_a_diagonal_neighbour() {
    let (inside, extents) = grid(&["###..", "#.#..", "###..", "...#.", "....."]);
    let regions = trace(&inside, extents);
    assert_eq!(regions.len(), 2);
    assert_eq!(regions[0].rings.len(), 2);
    assert_eq!(regions[0].pixels, 8);
    assert_eq!(regions[0].rings[0], vec![[0, 0], [3, 0], [3, 3], [0, 3], [0, 0]]);
    assert_eq!(regions[1].rings, vec![vec![[3, 3], [4, 3], [4, 4], [3, 4], [3, 3]]]);
  }

  #[test]
  fn a_pinched_outline_becomes_a_hole_touching_it() {
    let (inside, extents) = grid(&["###", "#.#", "##."]);
    let regions = trace(&inside, extents);
    assert_eq!(regions.len(), 1);
    assert_eq!(regions[0].rings.len(), 2);
    assert_eq!(regions[0].pixels, 7);
  }

  #[test]
  fn a_hole_touching_the_outline_at_a_corner() {
    let (inside, extents) = grid(&["####", "#..#", "#.##", "####"]);
    let regions = trace(&inside, extents);
    assert_eq!(regions.len(), 1);
    assert_eq!(regions[0].pixels, 13);
  }
}
