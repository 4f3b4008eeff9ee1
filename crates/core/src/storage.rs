//! Accumulator memory: page-aligned mappings that the builder writes and that
//! JavaScript views read without copying.
//!
//! A [`Region`] is shared (`Arc`) between the builder and every view handed
//! out over it, so a view can never outlive the memory it reads. The builder
//! can also [`Region::release`] the memory early once it has made sure no
//! view can reach it any more (the binding detaches its views first).

use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use memmap2::{MmapMut, MmapOptions, MmapRaw};

use crate::element::Pod;
use crate::error::{Error, Result};

/// Large in-memory accumulators ask for transparent huge pages: the kernels
/// walk rows far apart in memory, and 4 KiB pages thrash the TLB.
const HUGE_PAGE_THRESHOLD: usize = 2 << 20;

/// A mapping of memory, anonymous or file-backed.
pub struct Region {
  map: Mutex<Option<MmapRaw>>,
  ptr: *mut u8,
  len: usize,
  /// A temporary file to remove once unmapped (where it cannot be unlinked
  /// while mapped).
  delete_on_drop: Mutex<Option<std::path::PathBuf>>,
  /// The mapped file, held open (with its advisory lock) while mapped, and
  /// checked for truncation before the builder touches every page.
  backing: Mutex<Option<std::fs::File>>,
}

// SAFETY: the pointer is only dereferenced through `Array`, whose owner has
// exclusive Rust access; JavaScript views alias it the way any shared
// ArrayBuffer does.
unsafe impl Send for Region {}
unsafe impl Sync for Region {}

impl Region {
  /// Zero-filled anonymous memory of `len` bytes.
  pub fn anonymous(len: usize) -> Result<Arc<Self>> {
    let map = MmapOptions::new().len(len.max(1)).map_anon().map_err(|e| Error::io("cannot allocate the mask", &e))?;
    #[cfg(target_os = "linux")]
    if len >= HUGE_PAGE_THRESHOLD {
      // Advisory only: fine if the kernel declines.
      let _ = map.advise(memmap2::Advice::HugePage);
    }
    Ok(Self::from_mmap(map, len))
  }

  pub fn from_mmap(map: MmapMut, len: usize) -> Arc<Self> {
    let raw = MmapRaw::from(map);
    let ptr = raw.as_mut_ptr();
    Arc::new(Self { map: Mutex::new(Some(raw)), ptr, len, delete_on_drop: Mutex::new(None), backing: Mutex::new(None) })
  }

  pub fn len(&self) -> usize {
    self.len
  }

  pub fn is_empty(&self) -> bool {
    self.len == 0
  }

  /// Start of the mapping.
  pub fn as_ptr(&self) -> *mut u8 {
    self.ptr
  }

  /// Flushes a file-backed mapping to disk (no-op for anonymous memory).
  pub fn flush(&self) -> Result<()> {
    let guard = self.map.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(map) = guard.as_ref() {
      map.flush().map_err(|e| Error::io("cannot flush the mask file", &e))?;
    }
    Ok(())
  }

  /// Unmaps the memory now instead of when the last `Arc` drops.
  ///
  /// # Safety
  /// No view or array over this region may be read or written afterwards.
  pub unsafe fn release(&self) {
    let mut guard = self.map.lock().unwrap_or_else(|p| p.into_inner());
    guard.take();
    self.backing.lock().unwrap_or_else(|p| p.into_inner()).take();
  }

  /// Keeps `file` (and any lock on it) open while the region is mapped.
  pub fn hold_backing(&self, file: std::fs::File) {
    *self.backing.lock().unwrap_or_else(|p| p.into_inner()) = Some(file);
  }

  /// Refuses to go on if the mapped file has been truncated below the
  /// mapping (by another process: touching the lost pages would SIGBUS).
  /// This narrows the window; it cannot close it.
  pub fn check_backing(&self) -> Result<()> {
    let guard = self.backing.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(file) = guard.as_ref() {
      let len = file.metadata().map_err(|e| Error::io("cannot stat the mapped file", &e))?.len();
      if len < self.len as u64 {
        return Err(Error::state(
          crate::error::codes::STORAGE,
          format!(
            "the mapped file was truncated to {len} of its {} bytes by something outside this process; its data is lost (reading it would crash the process)",
            self.len
          ),
        ));
      }
    }
    Ok(())
  }

  pub fn is_released(&self) -> bool {
    self.map.lock().unwrap_or_else(|p| p.into_inner()).is_none()
  }

  /// Removes `path` when the region is unmapped for good.
  pub fn delete_on_drop(&self, path: std::path::PathBuf) {
    *self.delete_on_drop.lock().unwrap_or_else(|p| p.into_inner()) = Some(path);
  }
}

impl Drop for Region {
  fn drop(&mut self) {
    let map = self.map.get_mut().unwrap_or_else(|p| p.into_inner());
    map.take();
    self.backing.get_mut().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(path) = self.delete_on_drop.get_mut().unwrap_or_else(|p| p.into_inner()).take() {
      let _ = std::fs::remove_file(path);
    }
  }
}

/// A typed window of a region: `len` elements of `E` from `byte_offset`.
pub struct Array<E: Pod> {
  region: Arc<Region>,
  byte_offset: usize,
  len: usize,
  _marker: PhantomData<E>,
}

impl<E: Pod> Array<E> {
  /// # Errors
  /// When the window does not fit in the region or is misaligned.
  pub fn new(region: Arc<Region>, byte_offset: usize, len: usize) -> Result<Self> {
    let size = std::mem::size_of::<E>();
    let fits = len.checked_mul(size).and_then(|b| b.checked_add(byte_offset)).is_some_and(|end| end <= region.len());
    let aligned = (region.ptr as usize + byte_offset).is_multiple_of(std::mem::align_of::<E>());
    if !fits || !aligned {
      return Err(Error::range(crate::error::codes::NPY_FORMAT, "the array does not fit its mapping".to_string()));
    }
    Ok(Self { region, byte_offset, len, _marker: PhantomData })
  }

  /// A zero-filled in-memory array.
  pub fn zeroed(len: usize) -> Result<Self> {
    let bytes = len.checked_mul(std::mem::size_of::<E>()).ok_or_else(|| {
      Error::range(crate::error::codes::MASK_TOO_LARGE, "the array size overflows the address space".to_string())
    })?;
    Self::new(Region::anonymous(bytes)?, 0, len)
  }

  pub fn len(&self) -> usize {
    self.len
  }

  pub fn is_empty(&self) -> bool {
    self.len == 0
  }

  pub fn region(&self) -> &Arc<Region> {
    &self.region
  }

  /// Pointer to the first element, for views handed to JavaScript.
  pub fn as_ptr(&self) -> *mut E {
    // SAFETY: in bounds by construction.
    unsafe { self.region.ptr.add(self.byte_offset).cast() }
  }

  pub fn as_slice(&self) -> &[E] {
    // SAFETY: in bounds and aligned (checked in `new`); the region lives as
    // long as `self` holds its Arc.
    unsafe { std::slice::from_raw_parts(self.as_ptr(), self.len) }
  }

  pub fn as_mut_slice(&mut self) -> &mut [E] {
    // SAFETY: as above; `&mut self` makes this the only Rust access.
    unsafe { std::slice::from_raw_parts_mut(self.as_ptr(), self.len) }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn zeroed_arrays_read_zero_and_write_back() {
    let mut a = Array::<f32>::zeroed(3 << 20).unwrap();
    assert!(a.as_slice().iter().all(|&v| v == 0.0));
    a.as_mut_slice()[12345] = 2.5;
    assert_eq!(a.as_slice()[12345], 2.5);
  }

  #[test]
  fn views_keep_the_region_alive() {
    let a = Array::<u16>::zeroed(16).unwrap();
    let keep = Arc::clone(a.region());
    drop(a);
    assert_eq!(keep.len(), 32);
    assert!(!keep.is_released());
    unsafe { keep.release() };
    assert!(keep.is_released());
  }

  #[test]
  fn windows_must_fit() {
    let r = Region::anonymous(64).unwrap();
    assert!(Array::<f64>::new(Arc::clone(&r), 0, 8).is_ok());
    assert!(Array::<f64>::new(Arc::clone(&r), 8, 8).is_err());
    assert!(Array::<f64>::new(r, 4, 1).is_err());
  }
}
