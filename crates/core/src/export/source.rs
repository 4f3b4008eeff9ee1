//! Where exported pixels come from: channel planes in memory (or mapped by
//! the caller), or an NPY file read band by band so memory stays bounded.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::codes;
use crate::npy::{parse_header, NpyType, MAX_HEADER_LEN};
use crate::{Error, Result};

/// One channel plane `[H, W]`, C order.
#[derive(Debug, Clone, Copy)]
pub enum Plane<'a> {
  F32(&'a [f32]),
  F64(&'a [f64]),
  U8(&'a [u8]),
  U16(&'a [u16]),
}

impl Plane<'_> {
  pub fn len(&self) -> usize {
    match self {
      Plane::F32(d) => d.len(),
      Plane::F64(d) => d.len(),
      Plane::U8(d) => d.len(),
      Plane::U16(d) => d.len(),
    }
  }

  pub fn is_empty(&self) -> bool {
    self.len() == 0
  }

  fn input_type(&self) -> NpyType {
    match self {
      Plane::F32(_) => NpyType::F32,
      Plane::F64(_) => NpyType::F64,
      Plane::U8(_) => NpyType::U8,
      Plane::U16(_) => NpyType::U16,
    }
  }
}

/// What the exported samples are: probabilities (written as float32) or labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleKind {
  F32,
  U8,
  U16,
}

impl SampleKind {
  fn of(input: NpyType) -> Result<Self> {
    match input {
      NpyType::F32 | NpyType::F64 => Ok(SampleKind::F32),
      NpyType::U8 => Ok(SampleKind::U8),
      NpyType::U16 => Ok(SampleKind::U16),
      other => Err(Error::type_error(
        codes::DTYPE,
        format!(
          "the mask must hold float32, float64 (probabilities), uint8 or uint16 (labels); it holds {}",
          other.name()
        ),
      )),
    }
  }

  pub fn size(self) -> usize {
    match self {
      SampleKind::U8 => 1,
      SampleKind::U16 => 2,
      SampleKind::F32 => 4,
    }
  }

  /// Labels are downsampled by nearest neighbour, probabilities by the mean.
  pub fn is_label(self) -> bool {
    self != SampleKind::F32
  }
}

enum Data<'a> {
  Planes(Vec<Plane<'a>>),
  Npy { file: File, data_offset: u64, input: NpyType },
}

/// A 2-D mask `[C, H, W]` to export, read one band of rows at a time.
pub struct MaskSource<'a> {
  data: Data<'a>,
  channels: usize,
  extents: [usize; 2],
  kind: SampleKind,
}

impl<'a> MaskSource<'a> {
  /// Channel planes of `extents` each, all of one element type.
  pub fn from_planes(planes: Vec<Plane<'a>>, extents: [usize; 2]) -> Result<Self> {
    let first = planes.first().ok_or_else(|| Error::range(codes::IMAGE_SHAPE, "the mask has no channels"))?;
    let input = first.input_type();
    let plane_len = extents[0].checked_mul(extents[1]).ok_or_else(|| too_large(extents))?;
    for (c, p) in planes.iter().enumerate() {
      if p.input_type() != input {
        return Err(Error::type_error(codes::DTYPE, "every channel plane must have the same element type"));
      }
      if p.len() != plane_len {
        return Err(Error::range(
          codes::IMAGE_SHAPE,
          format!("channel {c} holds {} values; a [{}, {}] plane holds {plane_len}", p.len(), extents[0], extents[1]),
        ));
      }
    }
    check_extents(extents)?;
    Ok(Self { channels: planes.len(), kind: SampleKind::of(input)?, data: Data::Planes(planes), extents })
  }

  /// An NPY file `[C, H, W]` or `[H, W]` (C order), read band by band.
  pub fn from_npy(path: &Path) -> Result<MaskSource<'static>> {
    let context = |what: &str| format!("cannot {what} {}", path.display());
    let mut file = File::open(path).map_err(|e| Error::io(&context("open"), &e))?;
    let mut head = vec![0u8; MAX_HEADER_LEN + 16];
    let mut filled = 0;
    while filled < head.len() {
      match file.read(&mut head[filled..]).map_err(|e| Error::io(&context("read"), &e))? {
        0 => break,
        n => filled += n,
      }
    }
    let header = parse_header(&head[..filled])?;
    if header.fortran_order {
      return Err(Error::range(
        codes::NPY_FORMAT,
        format!("{} is in Fortran order; export needs C order", path.display()),
      ));
    }
    let input = header.element_type()?;
    let (channels, extents) = match header.shape[..] {
      [h, w] => (1, [h, w]),
      [c, h, w] => (c, [h, w]),
      _ => {
        return Err(Error::range(
          codes::IMAGE_SHAPE,
          format!("{} has shape {:?}; export needs a 2-D mask [C, H, W] or [H, W]", path.display(), header.shape),
        ))
      }
    };
    let len = file.metadata().map_err(|e| Error::io(&context("stat"), &e))?.len();
    if header.data_len()?.checked_add(header.data_offset as u64).is_none_or(|n| n > len) {
      return Err(Error::range(codes::NPY_FORMAT, format!("{} is truncated", path.display())));
    }
    let to_usize = |v: u64| usize::try_from(v).map_err(|_| Error::range(codes::IMAGE_SHAPE, "the mask is too large"));
    let extents = [to_usize(extents[0])?, to_usize(extents[1])?];
    check_extents(extents)?;
    let channels = to_usize(channels)?;
    if channels == 0 {
      return Err(Error::range(codes::IMAGE_SHAPE, format!("{} has no channels", path.display())));
    }
    Ok(MaskSource {
      kind: SampleKind::of(input)?,
      data: Data::Npy { file, data_offset: header.data_offset as u64, input },
      channels,
      extents,
    })
  }

  pub fn channels(&self) -> usize {
    self.channels
  }

  /// `[H, W]`.
  pub fn extents(&self) -> [usize; 2] {
    self.extents
  }

  pub fn kind(&self) -> SampleKind {
    self.kind
  }

  /// Reads rows `y0..y0 + rows` of `channel` into `out` (`rows * W` samples).
  pub fn read_rows<T: Sample>(&mut self, channel: usize, y0: usize, rows: usize, out: &mut [T]) -> Result<()> {
    let width = self.extents[1];
    let start = y0 * width;
    let n = rows * width;
    debug_assert_eq!(out.len(), n);
    match &mut self.data {
      Data::Planes(planes) => match planes[channel] {
        Plane::F32(d) => T::from_f32(&d[start..start + n], out),
        Plane::F64(d) => T::from_f64(&d[start..start + n], out),
        Plane::U8(d) => T::from_u8(&d[start..start + n], out),
        Plane::U16(d) => T::from_u16(&d[start..start + n], out),
      },
      Data::Npy { file, data_offset, input } => {
        let size = input.size();
        let plane = (self.extents[0] * width) as u64;
        let offset = *data_offset + (channel as u64 * plane + start as u64) * size as u64;
        let io = |e: std::io::Error| Error::io("cannot read the mask file", &e);
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        if *input == T::NPY {
          file.read_exact(bytemuck::cast_slice_mut(out)).map_err(io)?;
        } else {
          // Only float64 reaches here (written as float32).
          let mut wide = vec![0f64; n];
          file.read_exact(bytemuck::cast_slice_mut(&mut wide)).map_err(io)?;
          T::from_f64(&wide, out);
        }
      }
    }
    Ok(())
  }
}

fn too_large(extents: [usize; 2]) -> Error {
  Error::range(codes::IMAGE_SHAPE, format!("the mask [{}, {}] is too large", extents[0], extents[1]))
}

fn check_extents(extents: [usize; 2]) -> Result<()> {
  if extents.contains(&0) {
    return Err(Error::range(
      codes::IMAGE_SHAPE,
      format!("the mask [{}, {}] is empty; export needs at least one pixel", extents[0], extents[1]),
    ));
  }
  Ok(())
}

/// A sample type that is written out: float32 probabilities or uint8/uint16 labels.
pub trait Sample: bytemuck::Pod + Default + PartialEq + Send + Sync + 'static {
  const NPY: NpyType;
  fn from_f32(src: &[f32], out: &mut [Self]);
  fn from_f64(src: &[f64], out: &mut [Self]);
  fn from_u8(src: &[u8], out: &mut [Self]);
  fn from_u16(src: &[u16], out: &mut [Self]);
  /// The 2x2 reduction of up to four samples (`n` of them present).
  fn reduce(block: [Self; 4], n: usize) -> Self;
}

// A source type other than the sample's own never reaches these (the kind is
// derived from the source), but they convert sensibly anyway.
impl Sample for f32 {
  const NPY: NpyType = NpyType::F32;
  fn from_f32(src: &[f32], out: &mut [Self]) {
    out.copy_from_slice(src);
  }
  fn from_f64(src: &[f64], out: &mut [Self]) {
    for (o, &s) in out.iter_mut().zip(src) {
      *o = s as f32;
    }
  }
  fn from_u8(src: &[u8], out: &mut [Self]) {
    for (o, &s) in out.iter_mut().zip(src) {
      *o = f32::from(s);
    }
  }
  fn from_u16(src: &[u16], out: &mut [Self]) {
    for (o, &s) in out.iter_mut().zip(src) {
      *o = f32::from(s);
    }
  }
  /// The mean of the samples present, summed in float64 in row order.
  fn reduce(block: [Self; 4], n: usize) -> Self {
    let sum: f64 = block[..n].iter().map(|&v| f64::from(v)).sum();
    (sum / n as f64) as f32
  }
}

macro_rules! label_sample {
  ($t:ty, $npy:expr) => {
    impl Sample for $t {
      const NPY: NpyType = $npy;
      fn from_f32(src: &[f32], out: &mut [Self]) {
        for (o, &s) in out.iter_mut().zip(src) {
          *o = s as $t;
        }
      }
      fn from_f64(src: &[f64], out: &mut [Self]) {
        for (o, &s) in out.iter_mut().zip(src) {
          *o = s as $t;
        }
      }
      fn from_u8(src: &[u8], out: &mut [Self]) {
        for (o, &s) in out.iter_mut().zip(src) {
          *o = s as $t;
        }
      }
      fn from_u16(src: &[u16], out: &mut [Self]) {
        for (o, &s) in out.iter_mut().zip(src) {
          *o = s as $t;
        }
      }
      /// Nearest neighbour: the top-left sample, so no label is ever invented.
      fn reduce(block: [Self; 4], _n: usize) -> Self {
        block[0]
      }
    }
  };
}

label_sample!(u8, NpyType::U8);
label_sample!(u16, NpyType::U16);
