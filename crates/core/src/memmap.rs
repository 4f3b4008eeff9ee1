//! Disk-backed arrays: NPY files mapped into memory.
//!
//! A file gets its header and its reserved blocks before it gets its name
//! (see `files`), so a process killed at any moment leaves nothing or a file
//! numpy can open, an existing path is never touched, and a full disk is an
//! `ENOSPC` error here rather than a SIGBUS later.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::MmapOptions;

use crate::element::Pod;
use crate::error::{Error, Result};
use crate::files::{advisory_lock, open_regular, private_temporary, register_mapping, PendingFile};
use crate::npy::{encode_header, parse_header, NpyHeader, NpyVersion};
use crate::storage::{Array, Region};

/// Where an NPY-backed array lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backing {
  /// A file that persists after the builder is gone.
  File(PathBuf),
  /// An anonymous temporary file in this directory, removed when the
  /// builder is cleaned up, collected, or the process exits.
  Temporary(PathBuf),
}

/// What was created: the path (for temporaries, where it was) and whether
/// the blocks could be reserved.
#[derive(Debug, Clone)]
pub struct CreatedFile {
  pub path: PathBuf,
  pub temporary: bool,
  /// False when the filesystem cannot preallocate; the free space was
  /// checked instead, but a disk that fills up later can still fault.
  pub reserved: bool,
}

/// The overlap counter's default path: `.overlaps` before the suffix
/// (`heat.npy` -> `heat.overlaps.npy`), as the reference does.
pub fn default_counter_path(mask: &Path) -> PathBuf {
  match (mask.file_stem(), mask.extension()) {
    (Some(stem), Some(ext)) => {
      let mut name = stem.to_os_string();
      name.push(".overlaps.");
      name.push(ext);
      mask.with_file_name(name)
    }
    _ => {
      let mut name = mask.as_os_str().to_os_string();
      name.push(".overlaps");
      PathBuf::from(name)
    }
  }
}

pub use crate::files::check_absent;

/// Reserves `len` bytes of `file`; returns whether the blocks are reserved.
fn reserve(file: &File, len: u64, path: &Path) -> Result<bool> {
  #[cfg(target_os = "linux")]
  {
    use std::os::fd::AsRawFd;
    let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len as libc::off_t) };
    if rc == 0 {
      return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
      Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) | Some(libc::EINVAL) => {}
      _ => return Err(Error::io(&format!("cannot reserve {len} bytes for {}", path.display()), &err)),
    }
  }
  // The filesystem cannot preallocate: check the free space, then size the
  // file sparsely.
  check_free_space(path, len)?;
  file.set_len(len).map_err(|e| Error::io(&format!("cannot size {}", path.display()), &e))?;
  Ok(false)
}

#[cfg(unix)]
fn check_free_space(path: &Path, len: u64) -> Result<()> {
  use std::os::unix::ffi::OsStrExt;
  let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
  let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else { return Ok(()) };
  let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
  if unsafe { libc::statvfs(c.as_ptr(), &mut stat) } == 0 {
    let free = stat.f_bavail as u64 * stat.f_frsize as u64;
    if free < len {
      return Err(Error::io(
        &format!("{} needs {len} bytes but its filesystem has {free} free", path.display()),
        &std::io::Error::from_raw_os_error(libc::ENOSPC),
      ));
    }
  }
  Ok(())
}

#[cfg(not(unix))]
fn check_free_space(_path: &Path, _len: u64) -> Result<()> {
  Ok(())
}

/// Creates an NPY file holding a zero-filled `shape` array of `E` and maps it.
pub fn create_npy<E: Pod>(
  backing: &Backing,
  descr: &str,
  shape: &[u64],
  version: NpyVersion,
) -> Result<(Array<E>, CreatedFile)> {
  let count: u64 = shape.iter().product();
  let data_len = count
    .checked_mul(std::mem::size_of::<E>() as u64)
    .ok_or_else(|| Error::range(crate::error::codes::MASK_TOO_LARGE, "the array size overflows".to_string()))?;
  let header = encode_header(descr, shape, version)?;
  let total = header.len() as u64 + data_len;
  let total_usize = usize::try_from(total)
    .map_err(|_| Error::range(crate::error::codes::MASK_TOO_LARGE, "the file does not fit in the address space"))?;

  match backing {
    Backing::Temporary(dir) => {
      // Private and nameless from the start: nothing to read, nothing left by a kill.
      let (mut file, delete) = private_temporary(dir)?;
      let label = dir.join("(temporary)");
      let reserved = reserve_with_header(&mut file, &header, total, &label)?;
      let array = map_array::<E>(&file, header.len(), count, total_usize, &label)?;
      if let Some(path) = delete {
        array.region().delete_on_drop(path);
      }
      Ok((array, CreatedFile { path: dir.clone(), temporary: true, reserved }))
    }
    Backing::File(path) => {
      // Header and reservation go into an unnamed (or hidden) file, which
      // then takes the name atomically: a process killed at any instant
      // leaves nothing or a valid NPY, and an existing file is never touched.
      let mut pending = PendingFile::new(path)?;
      let reserved = reserve_with_header(pending.file_mut(), &header, total, path)?;
      let file = pending.persist(false)?;
      let array = map_array::<E>(&file, header.len(), count, total_usize, path)?;
      advisory_lock(&file, true);
      array.region().hold_backing(file);
      Ok((array, CreatedFile { path: path.clone(), temporary: false, reserved }))
    }
  }
}

/// Reserves `total` bytes of `file` and writes `header`; returns whether the blocks are reserved.
fn reserve_with_header(file: &mut File, header: &[u8], total: u64, path: &Path) -> Result<bool> {
  let reserved = reserve(file, total, path)?;
  file.write_all(header).map_err(|e| Error::io(&format!("cannot write the header of {}", path.display()), &e))?;
  file.flush().map_err(|e| Error::io(&format!("cannot write {}", path.display()), &e))?;
  Ok(reserved)
}

fn map_array<E: Pod>(file: &File, data_offset: usize, count: u64, total: usize, path: &Path) -> Result<Array<E>> {
  // SAFETY: the file is ours (created unnamed or exclusively) and sized to `total`.
  let map = unsafe { MmapOptions::new().len(total).map_mut(file) }
    .map_err(|e| Error::io(&format!("cannot map {}", path.display()), &e))?;
  let region = Region::from_mmap(map, total);
  register_mapping(file, &region);
  Array::new(region, data_offset, count as usize)
}

/// An existing NPY file mapped copy-on-write: reads see the file, writes
/// from JavaScript stay private and never fault.
pub struct MappedNpy {
  pub header: NpyHeader,
  pub region: Arc<Region>,
}

impl MappedNpy {
  pub fn open(path: &Path) -> Result<Self> {
    let file = open_regular(path)?;
    let len = file.metadata().map_err(|e| Error::io(&format!("cannot stat {}", path.display()), &e))?.len();
    let len = usize::try_from(len)
      .map_err(|_| Error::range(crate::error::codes::NPY_FORMAT, "the file does not fit in the address space"))?;
    if len == 0 {
      return Err(Error::range(
        crate::error::codes::NPY_FORMAT,
        format!("{} is empty, not an NPY file", path.display()),
      ));
    }
    // SAFETY: private mapping; concurrent truncation by another process is
    // outside what this library can guard against.
    let map = unsafe { MmapOptions::new().map_copy(&file) }
      .map_err(|e| Error::io(&format!("cannot map {}", path.display()), &e))?;
    let header = parse_header(&map[..len.min(crate::npy::MAX_HEADER_LEN + 16)])?;
    if header.fortran_order {
      return Err(Error::range(
        crate::error::codes::NPY_FORMAT,
        format!(
          "{} is in Fortran order; only C order is supported. Rewrite it in C order with numpy: np.save(path, np.ascontiguousarray(np.load(path)))",
          path.display()
        ),
      ));
    }
    let needed = header.data_len()?.checked_add(header.data_offset as u64);
    if needed.is_none_or(|n| n > len as u64) {
      return Err(Error::range(
        crate::error::codes::NPY_FORMAT,
        format!("{} is truncated: its header promises more data than the file holds", path.display()),
      ));
    }
    let region = Region::from_mmap(map, len);
    register_mapping(&file, &region);
    // Shared, and only if free: a file this process builds holds it exclusively.
    advisory_lock(&file, false);
    region.hold_backing(file);
    Ok(Self { header, region })
  }

  /// The data as a typed array (the element type must match the header).
  pub fn array<E: Pod>(&self) -> Result<Array<E>> {
    let count = self.header.element_count().unwrap_or(0) as usize;
    Array::new(Arc::clone(&self.region), self.header.data_offset, count)
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::npy::parse_header;
  use ndarray_npy::ReadNpyExt;

  fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsi-mask-core-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
  }

  #[test]
  fn counter_path_inserts_overlaps_before_the_suffix() {
    assert_eq!(default_counter_path(Path::new("/a/heat.npy")), PathBuf::from("/a/heat.overlaps.npy"));
    assert_eq!(default_counter_path(Path::new("heat.tar.npy")), PathBuf::from("heat.tar.overlaps.npy"));
    assert_eq!(default_counter_path(Path::new("heat")), PathBuf::from("heat.overlaps"));
  }

  #[test]
  fn created_files_are_valid_npy_from_the_start_and_keep_writes() {
    let dir = scratch("create");
    let path = dir.join("m.npy");
    for version in [NpyVersion::V1, NpyVersion::V3] {
      let _ = std::fs::remove_file(&path);
      let (mut a, info) = create_npy::<f32>(&Backing::File(path.clone()), "<f4", &[2, 3, 5], version).unwrap();
      assert!(!info.temporary);
      let before = parse_header(&std::fs::read(&path).unwrap()).unwrap();
      assert_eq!(before.shape, vec![2, 3, 5]);
      assert_eq!(before.version, version.pair());
      assert_eq!(before.data_offset % 64, 0);
      a.as_mut_slice()[7] = 4.5;
      a.region().flush().unwrap();
      // ndarray-npy reads the file independently of our parser.
      let after = ndarray::ArrayD::<f32>::read_npy(std::fs::File::open(&path).unwrap()).unwrap();
      assert_eq!(after.shape(), &[2, 3, 5]);
      assert_eq!(after[[0, 1, 2]], 4.5);
    }
    let e = create_npy::<f32>(&Backing::File(path.clone()), "<f4", &[1], NpyVersion::V3).err().unwrap();
    assert_eq!(e.code, "EEXIST");
    std::fs::remove_dir_all(&dir).unwrap();
  }

  #[test]
  fn temporary_files_leave_nothing_behind() {
    let dir = scratch("temp");
    let (mut a, info) =
      create_npy::<u16>(&Backing::Temporary(dir.clone()), "<u2", &[1, 64, 64], NpyVersion::V3).unwrap();
    assert!(info.temporary);
    a.as_mut_slice()[100] = 3;
    assert_eq!(a.as_slice()[100], 3);
    drop(a);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
  }

  #[test]
  fn mapped_files_read_and_refuse_truncation() {
    let dir = scratch("open");
    let path = dir.join("t.npy");
    let (mut a, _) = create_npy::<f64>(&Backing::File(path.clone()), "<f8", &[4], NpyVersion::V2).unwrap();
    a.as_mut_slice().copy_from_slice(&[1.0, 2.0, 3.0, 4.0]);
    drop(a);
    let m = MappedNpy::open(&path).unwrap();
    assert_eq!(m.array::<f64>().unwrap().as_slice(), &[1.0, 2.0, 3.0, 4.0]);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 8]).unwrap();
    assert!(MappedNpy::open(&path).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
  }
}
