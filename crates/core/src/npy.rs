//! NPY files: header encoding (versions 1.0, 2.0, 3.0) and parsing that
//! never panics on arbitrary bytes. Parsing uses ndarray-npy; encoding is
//! ours because ndarray-npy writes only 1.0/2.0 and the reference writes 3.0.

use ndarray_npy::npy::header::{Header, ParseHeaderError, ReadHeaderError};
use py_literal::Value as PyValue;

use crate::error::{codes, Error, Result};
use crate::geometry::MAX_SAFE_INTEGER;

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Data starts on this boundary, as numpy writes it.
pub const ALIGNMENT: usize = 64;
/// Headers larger than this are refused when parsing.
pub const MAX_HEADER_LEN: usize = 1 << 20;
const MAX_NDIM: usize = 64;

/// NPY format version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpyVersion {
  V1,
  V2,
  V3,
}

impl TryFrom<u32> for NpyVersion {
  type Error = crate::error::Error;

  fn try_from(version: u32) -> crate::error::Result<Self> {
    match version {
      1 => Ok(NpyVersion::V1),
      2 => Ok(NpyVersion::V2),
      3 => Ok(NpyVersion::V3),
      other => Err(crate::error::Error::range(
        crate::error::codes::OPTION_RANGE,
        format!("npyVersion must be 1, 2 or 3; received {other}"),
      )),
    }
  }
}

impl NpyVersion {
  pub fn pair(self) -> (u8, u8) {
    match self {
      NpyVersion::V1 => (1, 0),
      NpyVersion::V2 => (2, 0),
      NpyVersion::V3 => (3, 0),
    }
  }
}

/// Element types this crate reads and writes (little-endian or byte-sized).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpyType {
  F32,
  F64,
  U8,
  U16,
  U32,
  I32,
  I64,
}

impl NpyType {
  pub fn from_descr(descr: &str) -> Option<Self> {
    Some(match descr {
      "<f4" => NpyType::F32,
      "<f8" => NpyType::F64,
      "|u1" | "<u1" => NpyType::U8,
      "<u2" => NpyType::U16,
      "<u4" => NpyType::U32,
      "<i4" => NpyType::I32,
      "<i8" => NpyType::I64,
      _ => return None,
    })
  }

  pub fn descr(self) -> &'static str {
    match self {
      NpyType::F32 => "<f4",
      NpyType::F64 => "<f8",
      NpyType::U8 => "|u1",
      NpyType::U16 => "<u2",
      NpyType::U32 => "<u4",
      NpyType::I32 => "<i4",
      NpyType::I64 => "<i8",
    }
  }

  pub fn size(self) -> usize {
    match self {
      NpyType::U8 => 1,
      NpyType::U16 => 2,
      NpyType::F32 | NpyType::U32 | NpyType::I32 => 4,
      NpyType::F64 | NpyType::I64 => 8,
    }
  }

  /// numpy's name for the type (`float32`, `uint16`, ...).
  pub fn name(self) -> &'static str {
    match self {
      NpyType::F32 => "float32",
      NpyType::F64 => "float64",
      NpyType::U8 => "uint8",
      NpyType::U16 => "uint16",
      NpyType::U32 => "uint32",
      NpyType::I32 => "int32",
      NpyType::I64 => "int64",
    }
  }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
  pub version: (u8, u8),
  pub descr: String,
  pub fortran_order: bool,
  pub shape: Vec<u64>,
  /// Byte offset of the first element.
  pub data_offset: usize,
}

impl NpyHeader {
  /// Number of elements, if it fits in 2^53 - 1.
  pub fn element_count(&self) -> Option<u64> {
    self.shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d)).filter(|&n| n <= MAX_SAFE_INTEGER)
  }

  pub fn element_type(&self) -> Result<NpyType> {
    NpyType::from_descr(&self.descr).ok_or_else(|| {
      format_error(format!(
        "unsupported NPY dtype '{}' (little-endian float32/float64/uint8/uint16/uint32/int32/int64 only)",
        self.descr
      ))
    })
  }

  /// Byte length of the data, when the element type is known.
  pub fn data_len(&self) -> Result<u64> {
    let count = self.element_count().ok_or_else(|| format_error("the NPY shape has too many elements".into()))?;
    count
      .checked_mul(self.element_type()?.size() as u64)
      .ok_or_else(|| format_error("the NPY data size overflows".into()))
  }
}

fn format_error(message: String) -> Error {
  Error::range(codes::NPY_FORMAT, message)
}

/// Encodes a header so that the data starts on a 64-byte boundary.
pub fn encode_header(descr: &str, shape: &[u64], version: NpyVersion) -> Result<Vec<u8>> {
  let shape_text = match shape.len() {
    1 => format!("({},)", shape[0]),
    _ => format!("({})", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
  };
  let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
  let prefix = MAGIC.len() + 2 + if version == NpyVersion::V1 { 2 } else { 4 };
  // Pad with spaces and end with a newline.
  let unpadded = prefix + dict.len() + 1;
  let total = unpadded.div_ceil(ALIGNMENT) * ALIGNMENT;
  let header_len = total - prefix;
  if version == NpyVersion::V1 && header_len > u16::MAX as usize {
    return Err(format_error("the NPY header is too long for version 1.0; use version 2.0 or 3.0".into()));
  }
  let mut out = Vec::with_capacity(total);
  out.extend_from_slice(MAGIC);
  let (major, minor) = version.pair();
  out.extend_from_slice(&[major, minor]);
  if version == NpyVersion::V1 {
    out.extend_from_slice(&(header_len as u16).to_le_bytes());
  } else {
    out.extend_from_slice(&(header_len as u32).to_le_bytes());
  }
  out.extend_from_slice(dict.as_bytes());
  out.resize(total - 1, b' ');
  out.push(b'\n');
  Ok(out)
}

/// Parses the header at the start of `bytes`. Never panics; every
/// malformation is an `ERR_WSI_NPY_FORMAT` error. The framing (magic,
/// version, length, truncation) is checked here so a hostile length never
/// allocates; the dictionary is parsed by ndarray-npy.
pub fn parse_header(bytes: &[u8]) -> Result<NpyHeader> {
  if bytes.len() < 10 || &bytes[..6] != MAGIC {
    return Err(format_error("not an NPY file (missing the \\x93NUMPY magic)".into()));
  }
  let (major, minor) = (bytes[6], bytes[7]);
  let len_size = match (major, minor) {
    (1, 0) => 2,
    (2, 0) | (3, 0) => 4,
    _ => return Err(format_error(format!("unsupported NPY version {major}.{minor}"))),
  };
  let header_len = if len_size == 2 {
    u16::from_le_bytes([bytes[8], bytes[9]]) as usize
  } else {
    if bytes.len() < 12 {
      return Err(format_error("truncated NPY header".into()));
    }
    u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize
  };
  if header_len > MAX_HEADER_LEN {
    return Err(format_error(format!("NPY header of {header_len} bytes is larger than {MAX_HEADER_LEN}")));
  }
  let end = 8 + len_size + header_len;
  let framed = bytes.get(..end).ok_or_else(|| format_error("truncated NPY header".into()))?;
  let header = Header::from_reader(&mut &framed[..]).map_err(header_error)?;
  if header.shape.len() > MAX_NDIM {
    return Err(format_error(format!("the NPY shape has more than {MAX_NDIM} dimensions")));
  }
  let descr = match header.type_descriptor {
    PyValue::String(descr) => descr,
    _ => return Err(format_error("unsupported NPY dtype: a structured dtype (plain numeric arrays only)".into())),
  };
  Ok(NpyHeader {
    version: (major, minor),
    descr,
    fortran_order: header.layout.is_fortran(),
    shape: header.shape.into_iter().map(|d| d as u64).collect(),
    data_offset: end,
  })
}

/// ndarray-npy's reasons in a line; never the (possibly huge) header text.
fn header_error(e: ReadHeaderError) -> Error {
  let reason = match e {
    ReadHeaderError::Io(_) => "truncated NPY header".to_string(),
    ReadHeaderError::Parse(p) => match p {
      ParseHeaderError::NonAscii => "the NPY 1.0/2.0 header is not ASCII".into(),
      ParseHeaderError::Utf8Parse(_) => "NPY 3.0 header is not UTF-8".into(),
      ParseHeaderError::MissingNewline => "the NPY header does not end with a newline".into(),
      ParseHeaderError::DictParse(_) | ParseHeaderError::MetaNotDict(_) => {
        "the NPY header is not the dictionary numpy writes ({'descr': ..., 'fortran_order': ..., 'shape': (...)})"
          .into()
      }
      ParseHeaderError::UnknownKey(_) => "unexpected key in the NPY header".into(),
      // ndarray-npy 0.10 spells the missing shape "shaper".
      ParseHeaderError::MissingKey(key) => {
        format!("the NPY header lacks '{}'", if key == "shaper" { "shape" } else { key.as_str() })
      }
      ParseHeaderError::IllegalValue { key, .. } => format!("the NPY header's '{key}' is not valid"),
      other => format!("malformed NPY header ({})", truncate(&other.to_string(), 120)),
    },
  };
  format_error(reason)
}

fn truncate(text: &str, max: usize) -> &str {
  match text.char_indices().nth(max) {
    Some((i, _)) => &text[..i],
    None => text,
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn round_trips_every_version_with_aligned_data() {
    for version in [NpyVersion::V1, NpyVersion::V2, NpyVersion::V3] {
      let header = encode_header("<f4", &[3, 4, 5], version).unwrap();
      assert_eq!(header.len() % ALIGNMENT, 0);
      let parsed = parse_header(&header).unwrap();
      assert_eq!(parsed.version, version.pair());
      assert_eq!(parsed.descr, "<f4");
      assert!(!parsed.fortran_order);
      assert_eq!(parsed.shape, vec![3, 4, 5]);
      assert_eq!(parsed.data_offset, header.len());
    }
    let one = parse_header(&encode_header("<u2", &[7], NpyVersion::V1).unwrap()).unwrap();
    assert_eq!(one.shape, vec![7]);
    let scalar = parse_header(&encode_header("<f8", &[], NpyVersion::V1).unwrap()).unwrap();
    assert_eq!(scalar.shape, Vec::<u64>::new());
  }

  #[test]
  fn reads_numpy_style_headers() {
    let dict = b"{'descr': '<i8', 'fortran_order': False, 'shape': (10, 2), }";
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    let mut header = dict.to_vec();
    while !(10 + header.len() + 1).is_multiple_of(64) {
      header.push(b' ');
    }
    header.push(b'\n');
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(&header);
    bytes.extend((0..20i64).flat_map(|v| v.to_le_bytes()));
    let header = parse_header(&bytes).unwrap();
    assert_eq!((header.descr.as_str(), header.shape.as_slice()), ("<i8", &[10u64, 2][..]));
    assert_eq!((header.data_offset, header.data_len().unwrap()), (bytes.len() - 160, 160));
    assert_eq!(i64::from_le_bytes(bytes[bytes.len() - 8..].try_into().unwrap()), 19);
  }

  #[test]
  fn rejects_malformed_headers() {
    let good = encode_header("<f4", &[2, 2], NpyVersion::V1).unwrap();
    for cut in 0..good.len() {
      assert!(parse_header(&good[..cut]).is_err() || cut >= good.len());
    }
    let bad = [
      "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }",
      "{'descr': '<f4', 'shape': (2,), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
      "['descr']",
    ];
    for dict in bad {
      let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
      bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
      bytes.extend_from_slice(dict.as_bytes());
      let e = parse_header(&bytes).unwrap_err();
      assert_eq!(e.code, codes::NPY_FORMAT, "{dict}");
    }
    let mut v4 = good.clone();
    v4[6] = 4;
    assert!(parse_header(&v4).is_err());
  }
}
