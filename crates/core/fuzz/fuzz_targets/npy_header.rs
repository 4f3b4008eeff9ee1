//! Arbitrary bytes through every NPY entry point: no panic, no read out of
//! bounds, and a parsed header always lies inside its input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsi_mask_core::npy::{parse_header, NpyFile};

fuzz_target!(|bytes: &[u8]| {
  if let Ok(header) = parse_header(bytes) {
    assert!(header.data_offset <= bytes.len());
    let _ = header.element_count();
    let _ = header.data_len();
  }
  if let Ok(file) = NpyFile::from_bytes(bytes.to_vec()) {
    let values = file.to_f64().expect("a file that parsed converts");
    assert_eq!(Some(values.len() as u64), file.header.element_count());
  }
});
