//! Multiscale levels and the cascade that streams them: each level is fed
//! band by band from the one above, so a plane of any height is exported
//! holding only one band of rows per level.

use super::source::{MaskSource, Sample};
use crate::Result;

/// Level extents `[H, W]`: halved (rounding up) until the smallest fits one chunk.
pub fn level_extents(extents: [usize; 2], chunk: [usize; 2]) -> Vec<[usize; 2]> {
  let mut levels = vec![extents];
  loop {
    let [h, w] = *levels.last().expect("level 0 is always there");
    if h <= chunk[0] && w <= chunk[1] {
      return levels;
    }
    levels.push([h.div_ceil(2), w.div_ceil(2)]);
  }
}

/// Receives the rows of every level, one band (a chunk row) at a time.
pub trait BandSink<T> {
  /// Rows `y0..y0 + rows` of `level`, `rows * W_level` samples.
  fn band(&mut self, level: usize, y0: usize, rows: usize, data: &[T]) -> Result<()>;
}

struct Level<T> {
  extents: [usize; 2],
  rows: Vec<T>,
  filled: usize,
  y0: usize,
}

/// Streams one channel of `source` through every level into `sink`, in bands
/// of `band_rows` rows (even, so each band halves into whole rows).
pub fn stream_plane<T: Sample>(
  source: &mut MaskSource,
  channel: usize,
  levels: &[[usize; 2]],
  band_rows: usize,
  sink: &mut impl BandSink<T>,
) -> Result<()> {
  debug_assert!(band_rows >= 2 && band_rows.is_multiple_of(2));
  let mut state: Vec<Level<T>> = levels
    .iter()
    .map(|&extents| Level { extents, rows: vec![T::default(); band_rows * extents[1]], filled: 0, y0: 0 })
    .collect();
  let [height, width] = levels[0];
  let mut y0 = 0;
  while y0 < height {
    let rows = band_rows.min(height - y0);
    source.read_rows(channel, y0, rows, &mut state[0].rows[..rows * width])?;
    state[0].filled = rows;
    flush(&mut state, 0, sink)?;
    y0 += rows;
  }
  Ok(())
}

fn flush<T: Sample>(state: &mut [Level<T>], k: usize, sink: &mut impl BandSink<T>) -> Result<()> {
  let (upper, lower) = state.split_at_mut(k + 1);
  let level = &mut upper[k];
  let width = level.extents[1];
  let rows = level.filled;
  sink.band(k, level.y0, rows, &level.rows[..rows * width])?;
  if let Some(next) = lower.first_mut() {
    let half = rows.div_ceil(2);
    let next_width = next.extents[1];
    let start = next.filled * next_width;
    halve(&level.rows[..rows * width], width, &mut next.rows[start..start + half * next_width]);
    next.filled += half;
    let complete = next.y0 + next.filled == next.extents[0];
    level.y0 += rows;
    level.filled = 0;
    if next.filled * next_width == next.rows.len() || complete {
      return flush(state, k + 1, sink);
    }
  } else {
    level.y0 += rows;
    level.filled = 0;
  }
  Ok(())
}

/// 2x2 reduction of `src` (`W` wide, any row count) into `out` (`ceil(W/2)` wide).
fn halve<T: Sample>(src: &[T], width: usize, out: &mut [T]) {
  let out_width = width.div_ceil(2);
  let pairs = width / 2;
  for (r, out_row) in out.chunks_exact_mut(out_width).enumerate() {
    let top = &src[2 * r * width..(2 * r + 1) * width];
    let bottom = src.get((2 * r + 1) * width..(2 * r + 2) * width);
    match bottom {
      Some(bottom) => {
        for x in 0..pairs {
          out_row[x] = T::reduce([top[2 * x], top[2 * x + 1], bottom[2 * x], bottom[2 * x + 1]], 4);
        }
        if width % 2 == 1 {
          out_row[pairs] = T::reduce([top[width - 1], bottom[width - 1], T::default(), T::default()], 2);
        }
      }
      None => {
        for x in 0..pairs {
          out_row[x] = T::reduce([top[2 * x], top[2 * x + 1], T::default(), T::default()], 2);
        }
        if width % 2 == 1 {
          out_row[pairs] = T::reduce([top[width - 1], T::default(), T::default(), T::default()], 1);
        }
      }
    }
  }
}

/// Copies the `rows x W` band's chunk column `x0..x0 + cw` into a full
/// `ch x cw` chunk, zero-padded past the edges.
pub fn chunk_of<T: Sample>(band: &[T], width: usize, rows: usize, x0: usize, chunk: [usize; 2], out: &mut Vec<T>) {
  out.clear();
  out.resize(chunk[0] * chunk[1], T::default());
  let cols = chunk[1].min(width - x0);
  for r in 0..rows {
    out[r * chunk[1]..r * chunk[1] + cols].copy_from_slice(&band[r * width + x0..r * width + x0 + cols]);
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::export::source::Plane;

  struct Collect(Vec<Vec<f32>>);
  impl BandSink<f32> for Collect {
    fn band(&mut self, level: usize, _y0: usize, _rows: usize, data: &[f32]) -> Result<()> {
      self.0[level].extend_from_slice(data);
      Ok(())
    }
  }

  #[test]
  fn levels_halve_until_one_chunk() {
    assert_eq!(level_extents([5, 9], [4, 4]), vec![[5, 9], [3, 5], [2, 3]]);
    assert_eq!(level_extents([4, 4], [4, 4]), vec![[4, 4]]);
  }

  #[test]
  fn cascade_matches_direct_halving() {
    let (h, w) = (13, 7);
    let data: Vec<f32> = (0..h * w).map(|v| v as f32).collect();
    let mut source = MaskSource::from_planes(vec![Plane::F32(&data)], [h, w]).unwrap();
    let levels = level_extents([h, w], [2, 2]);
    let mut sink = Collect(vec![Vec::new(); levels.len()]);
    stream_plane(&mut source, 0, &levels, 2, &mut sink).unwrap();
    let mut expected = data.clone();
    let mut width = w;
    for (k, e) in levels.iter().enumerate() {
      assert_eq!(sink.0[k], expected, "level {k}");
      let mut next = vec![0f32; e[0].div_ceil(2) * e[1].div_ceil(2)];
      halve(&expected, width, &mut next);
      expected = next;
      width = e[1].div_ceil(2);
    }
    // The corner of level 1 averages the last row and column's one pixel.
    assert_eq!(sink.0[1][6 * 4 + 3], data[12 * 7 + 6]);
  }
}
