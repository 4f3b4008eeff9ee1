//! Memory bandwidth of this machine, for the benchmark's bounds: a copy and
//! an in-place add over buffers much larger than the caches, on one thread
//! and on all of them, and the rate at which fresh (never touched) memory
//! becomes writable, as every in-memory accumulator must. Prints one JSON
//! object; bytes count reads plus writes.
//!
//!   cargo run --release -p wsi-bandwidth -- [MiB per buffer] [repeats]
//!   cargo run --release -p wsi-bandwidth -- --warm [MiB]

use std::hint::black_box;
use std::time::Instant;

use rayon::prelude::*;

const CHUNK: usize = 1 << 16;

fn median(mut v: Vec<f64>) -> f64 {
  v.sort_by(|a, b| a.total_cmp(b));
  v[v.len() / 2]
}

fn measure(repeats: usize, bytes: f64, mut run: impl FnMut()) -> f64 {
  run(); // Touch every page first.
  let rates: Vec<f64> = (0..repeats)
    .map(|_| {
      let t = Instant::now();
      run();
      bytes / t.elapsed().as_secs_f64() / 1e9
    })
    .collect();
  median(rates)
}

/// GB/s at which fresh anonymous memory (with transparent huge pages, as the
/// accumulators use) is faulted in and zeroed by the kernel.
fn first_touch_rate(bytes: usize, repeats: usize) -> f64 {
  let rates: Vec<f64> = (0..repeats)
    .map(|_| {
      let mut map = memmap2::MmapOptions::new().len(bytes).map_anon().expect("anonymous memory");
      #[cfg(target_os = "linux")]
      let _ = map.advise(memmap2::Advice::HugePage);
      let t = Instant::now();
      map.par_chunks_mut(1 << 21).for_each(|chunk| {
        for page in chunk.chunks_mut(4096) {
          page[0] = 1;
        }
      });
      black_box(&map);
      bytes as f64 / t.elapsed().as_secs_f64() / 1e9
    })
    .collect();
  median(rates)
}

fn main() {
  let mut args = std::env::args().skip(1).peekable();
  if args.peek().map(String::as_str) == Some("--warm") {
    // Touch this much fresh memory and exit: the next process then gets pages
    // the hypervisor has already backed, so a run is not timed against the
    // host's page allocation.
    let mib: usize = args.nth(1).and_then(|a| a.parse().ok()).unwrap_or(2048);
    black_box(first_touch_rate(mib << 20, 1));
    return;
  }
  let mib: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(512);
  let repeats: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);
  let n = mib * (1 << 20) / 4;
  let src: Vec<f32> = (0..n).map(|i| (i % 1000) as f32).collect();
  let mut dst = vec![0.0f32; n];
  let bytes = (n * 4) as f64;

  let copy_1 = measure(repeats, 2.0 * bytes, || {
    dst.copy_from_slice(&src);
    black_box(&dst);
  });
  let add_1 = measure(repeats, 3.0 * bytes, || {
    for (d, s) in dst.iter_mut().zip(&src) {
      *d += *s;
    }
    black_box(&dst);
  });
  let copy_all = measure(repeats, 2.0 * bytes, || {
    dst.par_chunks_mut(CHUNK).zip(src.par_chunks(CHUNK)).for_each(|(d, s)| d.copy_from_slice(s));
    black_box(&dst);
  });
  let add_all = measure(repeats, 3.0 * bytes, || {
    dst.par_chunks_mut(CHUNK).zip(src.par_chunks(CHUNK)).for_each(|(d, s)| {
      for (d, s) in d.iter_mut().zip(s) {
        *d += *s;
      }
    });
    black_box(&dst);
  });
  let first_touch = first_touch_rate(n * 4, repeats);
  println!(
    "{{\"bufferMiB\":{mib},\"firstTouchGBps\":{first_touch:.3},\"threads\":{},\"copyGBps\":{copy_1:.3},\"addGBps\":{add_1:.3},\"copyAllThreadsGBps\":{copy_all:.3},\"addAllThreadsGBps\":{add_all:.3}}}",
    rayon::current_num_threads()
  );
}
