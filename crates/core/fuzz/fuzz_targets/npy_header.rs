//! Arbitrary bytes through every NPY entry point: no panic, no read out of
//! bounds, and a parsed header always lies inside its input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsi_mask_core::npy::parse_header;

fuzz_target!(|bytes: &[u8]| {
  if let Ok(header) = parse_header(bytes) {
    assert!(header.data_offset <= bytes.len());
    let _ = header.element_count();
    let _ = header.data_len();
  }
});
