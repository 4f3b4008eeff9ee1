//! Property-based fuzzing of the NPY header parser: arbitrary bytes, bytes
//! behind a valid preamble, and mutations of valid headers never panic or
//! read out of bounds, and every success describes data inside the input.
//!
//! Cases per property are fixed (see `CASES`), so each `cargo test` run
//! executes a known number of parser calls: 20,000 arbitrary byte strings,
//! 20,000 preamble-prefixed ones, 20,000 mutated valid headers and 5,000
//! round trips.

use std::sync::atomic::{AtomicU32, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use wsi_mask_core::error::codes;
use wsi_mask_core::npy::{encode_header, parse_header, NpyVersion, ALIGNMENT, MAX_HEADER_LEN};

const CASES: u32 = 20_000;

/// A fixed seed keeps CI runs reproducible.
fn runner(cases: u32) -> TestRunner {
  let config = Config { cases, failure_persistence: None, ..Config::default() };
  TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]))
}

/// Parses `bytes` every way the crate can; panics only if the parser does.
fn parse_everything(bytes: &[u8]) -> Result<bool, TestCaseError> {
  let parsed = match parse_header(bytes) {
    Ok(header) => {
      prop_assert!(header.data_offset <= bytes.len(), "data offset {} past {} bytes", header.data_offset, bytes.len());
      prop_assert!(header.data_offset <= 12 + MAX_HEADER_LEN);
      // Element count and data length never overflow into a panic.
      let _ = header.element_count();
      let _ = header.data_len();
      let _ = header.element_type();
      true
    }
    Err(e) => {
      prop_assert_eq!(e.code, codes::NPY_FORMAT);
      false
    }
  };
  Ok(parsed)
}

fn version() -> impl Strategy<Value = NpyVersion> {
  prop_oneof![Just(NpyVersion::V1), Just(NpyVersion::V2), Just(NpyVersion::V3)]
}

fn descr() -> impl Strategy<Value = &'static str> {
  prop_oneof![Just("<f4"), Just("<f8"), Just("|u1"), Just("<u2"), Just("<u4"), Just("<i4"), Just("<i8"), Just(">f4")]
}

/// A valid header for a small array, followed by some data bytes.
fn valid_file() -> impl Strategy<Value = Vec<u8>> {
  (descr(), prop::collection::vec(0u64..6, 0..4), version(), 0usize..300).prop_map(|(d, shape, v, tail)| {
    let mut bytes = encode_header(d, &shape, v).expect("small headers encode");
    bytes.extend((0..tail).map(|i| i as u8));
    bytes
  })
}

#[derive(Debug, Clone)]
enum Mutation {
  Flip { at: usize, bit: u8 },
  Set { at: usize, value: u8 },
  Insert { at: usize, value: u8 },
  Remove { at: usize },
  Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
  let at = any::<usize>();
  prop_oneof![
    (at, 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
    (at, any::<u8>()).prop_map(|(at, value)| Mutation::Set { at, value }),
    // Characters the dictionary parser cares about, more often than chance.
    (at, prop::sample::select(b"{}():,'\" \n0123456789TrueFalsL".to_vec()))
      .prop_map(|(at, value)| Mutation::Insert { at, value }),
    at.prop_map(|at| Mutation::Remove { at }),
    at.prop_map(|at| Mutation::Truncate { at }),
  ]
}

fn mutate(bytes: &mut Vec<u8>, m: &Mutation) {
  let len = bytes.len().max(1);
  match *m {
    Mutation::Flip { at, bit } if !bytes.is_empty() => bytes[at % len] ^= 1 << bit,
    Mutation::Set { at, value } if !bytes.is_empty() => bytes[at % len] = value,
    Mutation::Insert { at, value } => bytes.insert(at % (bytes.len() + 1), value),
    Mutation::Remove { at } if !bytes.is_empty() => {
      bytes.remove(at % len);
    }
    Mutation::Truncate { at } => bytes.truncate(at % (bytes.len() + 1)),
    _ => {}
  }
}

#[test]
fn arbitrary_bytes_never_panic() {
  runner(CASES).run(&prop::collection::vec(any::<u8>(), 0..512), |bytes| parse_everything(&bytes).map(drop)).unwrap();
}

#[test]
fn bytes_behind_a_valid_preamble_never_panic() {
  // Magic, a supported or unsupported version, and a header length that
  // may lie about what follows.
  let strategy = (
    prop_oneof![Just((1u8, 0u8)), Just((2, 0)), Just((3, 0)), (any::<u8>(), any::<u8>())],
    any::<u32>(),
    prop::collection::vec(any::<u8>(), 0..400),
  );
  runner(CASES)
    .run(&strategy, |((major, minor), stated_len, body)| {
      let mut bytes = b"\x93NUMPY".to_vec();
      bytes.extend_from_slice(&[major, minor]);
      if major == 1 {
        bytes.extend_from_slice(&(stated_len as u16).to_le_bytes());
      } else {
        bytes.extend_from_slice(&stated_len.to_le_bytes());
      }
      bytes.extend_from_slice(&body);
      parse_everything(&bytes).map(drop)
    })
    .unwrap();
}

#[test]
fn mutated_valid_headers_never_panic() {
  let strategy = (valid_file(), prop::collection::vec(mutation(), 1..8));
  let parsed = AtomicU32::new(0);
  runner(CASES)
    .run(&strategy, |(mut bytes, mutations)| {
      for m in &mutations {
        mutate(&mut bytes, m);
      }
      if parse_everything(&bytes)? {
        parsed.fetch_add(1, Ordering::Relaxed);
      }
      Ok(())
    })
    .unwrap();
  // Many mutants must still parse, or the dictionary parser went untested.
  let parsed = parsed.into_inner();
  eprintln!("{parsed} of {CASES} mutated headers parsed");
  assert!(parsed > CASES / 20 && parsed < CASES, "{parsed} of {CASES} mutants parsed");
}

#[test]
fn encoded_headers_round_trip_aligned() {
  let strategy = (descr(), prop::collection::vec(0u64..(1 << 40), 0..6), version());
  runner(5_000)
    .run(&strategy, |(d, shape, v)| {
      let bytes = encode_header(d, &shape, v).map_err(|e| TestCaseError::fail(e.message))?;
      prop_assert_eq!(bytes.len() % ALIGNMENT, 0);
      let header = parse_header(&bytes).map_err(|e| TestCaseError::fail(e.message))?;
      prop_assert_eq!(header.descr.as_str(), d);
      prop_assert_eq!(&header.shape, &shape);
      prop_assert_eq!(header.data_offset, bytes.len());
      prop_assert_eq!(header.version, v.pair());
      prop_assert!(!header.fortran_order);
      Ok(())
    })
    .unwrap();
}
