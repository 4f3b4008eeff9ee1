//! Whether a batch could push the overlap counter past its type's maximum:
//! checked before anything is written, walking the batch's geometry once.

use crate::counter::Counter;
use crate::error::{codes, Error, Result};
use crate::geometry::Geometry;
use crate::kernels;
use crate::plan::BatchPlan;

/// Batches up to this size get an exact overlap count near the counter limit.
const PAIRWISE_OVERLAP_LIMIT: usize = 4096;

/// Refuses the batch if a pixel's count could overflow. Skipped while fewer
/// tiles than the counter's maximum were applied in all (`tiles_applied`).
pub(crate) fn check_counter_capacity(
  geometry: &Geometry,
  plan: &BatchPlan,
  counter: Option<&Counter>,
  tiles_applied: u64,
) -> Result<()> {
  let Some(counter) = counter else { return Ok(()) };
  let max = counter.dtype().max_count();
  if tiles_applied + plan.tiles as u64 <= max {
    return Ok(());
  }
  let peaks = match counter {
    Counter::U16(c) => kernels::footprint_peaks(geometry, plan, c.as_slice()),
    Counter::U32(c) => kernels::footprint_peaks(geometry, plan, c.as_slice()),
  };
  for (t, &peak) in peaks.iter().enumerate() {
    let peak = peak as u64;
    if peak + plan.tiles as u64 <= max {
      continue;
    }
    // Close to the limit: count the batch's tiles that overlap this one
    // (for huge batches, assume they all do rather than go quadratic).
    let overlapping = if plan.tiles <= PAIRWISE_OVERLAP_LIMIT {
      (0..plan.tiles).filter(|&u| footprints_overlap(plan, t, u)).count() as u64
    } else {
      plan.tiles as u64
    };
    if peak + overlapping > max {
      return Err(Error::range(
          codes::COUNTER_OVERFLOW,
          format!(
            "tile {t} of this batch would push the overlap counter past {max} ({} holds at most {max} overlapping tiles per pixel); nothing was written. Build with counterDtype: 'uint32' for more overlaps",
            counter.dtype().name()
          ),
        ));
    }
  }
  Ok(())
}

fn footprints_overlap(plan: &BatchPlan, a: usize, b: usize) -> bool {
  let (oa, ob) = (plan.origin(a), plan.origin(b));
  let (ea, eb) = (plan.tile_box(a).1, plan.tile_box(b).1);
  (0..oa.len()).all(|d| ea[d] > 0 && eb[d] > 0 && oa[d] < ob[d] + eb[d] && ob[d] < oa[d] + ea[d])
}
