//! GeoJSON FeatureCollections of mask regions for QuPath: one annotation per
//! region, outlines in slide (source-pixel) coordinates.

use serde_json::{json, Value};

use super::contours::{trace, Region};
use super::simplify::simplify_rings;
use super::source::{MaskSource, SampleKind};
use super::ExportGeometry;
use crate::error::codes;
use crate::{Error, Result};

/// One class of regions to trace.
#[derive(Debug, Clone)]
pub struct RegionClass {
  pub name: String,
  pub color: [u8; 3],
}

#[derive(Debug, Clone)]
pub enum Selection {
  /// Pixels of `channel` at or above `threshold` (NaN is below).
  Threshold { channel: usize, threshold: f64, class: RegionClass },
  /// Every non-zero label of channel 0, one class per label (`classes[label]`, or `label N`).
  Labels { classes: Vec<Option<RegionClass>> },
}

#[derive(Debug, Clone)]
pub struct GeoJsonOptions {
  pub selection: Selection,
  /// Regions smaller than this (in source pixels squared) are dropped.
  pub min_area: f64,
  /// Simplification tolerance in slide (source) pixels; 0 keeps the exact
  /// pixel-edge outlines (see `simplify::simplify_rings`).
  pub simplify: f64,
}

const PALETTE: [[u8; 3]; 6] = [[200, 0, 0], [0, 150, 0], [0, 0, 200], [200, 150, 0], [150, 0, 200], [0, 150, 150]];

fn feature(
  region: &Region,
  class: &RegionClass,
  geometry: &ExportGeometry,
  label: Option<u64>,
  simplify: f64,
) -> Value {
  let [sy, sx] = geometry.scale;
  let mut rings: Vec<Vec<[f64; 2]>> =
    region.rings.iter().map(|ring| ring.iter().map(|&[x, y]| [x as f64 * sx, y as f64 * sy]).collect()).collect();
  if simplify > 0.0 {
    rings = simplify_rings(rings, simplify).rings;
  }
  // The measured area is the region's pixels, exact whatever the outline's simplification.
  let area = region.pixels as f64 * sx * sy;
  let mut measurements = json!({ "Area px^2": area });
  if let Some([my, mx]) = geometry.mpp {
    measurements["Area µm^2"] = json!(area * my * mx);
  }
  let mut properties = json!({
    "objectType": "annotation",
    "classification": { "name": class.name, "color": class.color },
    "measurements": measurements,
  });
  if let Some(label) = label {
    properties["label"] = json!(label);
  }
  json!({ "type": "Feature", "geometry": { "type": "Polygon", "coordinates": rings }, "properties": properties })
}

/// Traces the selected regions of `source` into a GeoJSON FeatureCollection.
pub fn to_geojson(source: &mut MaskSource, geometry: &ExportGeometry, options: &GeoJsonOptions) -> Result<Value> {
  if !(options.simplify.is_finite() && options.simplify >= 0.0) {
    return Err(Error::range(
      codes::OPTION_RANGE,
      format!("simplify must be a non-negative number of slide pixels; received {}", options.simplify),
    ));
  }
  let [h, w] = source.extents();
  let n = h * w;
  let mut features = Vec::new();
  let mut keep = |regions: Vec<Region>, class: &RegionClass, label: Option<u64>| {
    for region in regions {
      if region.pixels as f64 * geometry.scale[0] * geometry.scale[1] >= options.min_area {
        features.push(feature(&region, class, geometry, label, options.simplify));
      }
    }
  };
  match &options.selection {
    Selection::Threshold { channel, threshold, class } => {
      if *channel >= source.channels() {
        return Err(Error::range(
          codes::OPTION_RANGE,
          format!("channel must be below the mask's {} channels; received {channel}", source.channels()),
        ));
      }
      let mut plane = vec![0f32; n];
      source.read_rows(*channel, 0, h, &mut plane)?;
      let threshold = *threshold;
      let inside: Vec<bool> = plane.iter().map(|&v| f64::from(v) >= threshold).collect();
      keep(trace(&inside, [h, w]), class, None);
    }
    Selection::Labels { classes } => {
      if source.kind() == SampleKind::F32 {
        return Err(Error::type_error(
          codes::DTYPE,
          "labels need a uint8 or uint16 mask; for probabilities pass a threshold instead",
        ));
      }
      let mut plane = vec![0u16; n];
      match source.kind() {
        SampleKind::U8 => {
          let mut bytes = vec![0u8; n];
          source.read_rows(0, 0, h, &mut bytes)?;
          plane.iter_mut().zip(&bytes).for_each(|(p, &b)| *p = u16::from(b));
        }
        _ => source.read_rows(0, 0, h, &mut plane)?,
      }
      let mut present = vec![false; 1 << 16];
      plane.iter().for_each(|&l| present[l as usize] = true);
      for label in (1..present.len()).filter(|&l| present[l]) {
        let class = classes.get(label).cloned().flatten().unwrap_or_else(|| RegionClass {
          name: format!("label {label}"),
          color: PALETTE[(label - 1) % PALETTE.len()],
        });
        let inside: Vec<bool> = plane.iter().map(|&l| l as usize == label).collect();
        keep(trace(&inside, [h, w]), &class, Some(label as u64));
      }
    }
  }
  Ok(json!({ "type": "FeatureCollection", "features": features }))
}
