//! The test build must trap integer overflow: `npm run test:rust` uses the
//! `test-checked` profile, and this fails if that ever stops being true.

#[test]
fn integer_overflow_panics_in_test_builds() {
  let max = std::hint::black_box(u64::MAX);
  let result = std::panic::catch_unwind(|| max + std::hint::black_box(1));
  assert!(result.is_err(), "overflow-checks are off in this test build");
}
