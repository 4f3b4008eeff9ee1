//! Creating files without harm: private unnamed temporaries, outputs that
//! appear under their name only once complete (exclusively unless asked to
//! replace), and never writing over a file this process has mapped (which
//! would kill it with SIGBUS on the next access to the mapping).

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use crate::error::{codes, Error, Result};
use crate::storage::Region;

/// Mode of files that only this process reads (temporaries).
pub const PRIVATE_MODE: u32 = 0o600;
/// Mode of outputs, before the umask, as `File::create` uses.
pub const OUTPUT_MODE: u32 = 0o666;

/// Device and inode: what names one file whatever path reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
  pub dev: u64,
  pub ino: u64,
}

impl FileId {
  #[cfg(unix)]
  fn of(meta: &std::fs::Metadata) -> Self {
    use std::os::unix::fs::MetadataExt;
    Self { dev: meta.dev(), ino: meta.ino() }
  }
}

/// Files mapped by this library, for platforms without `/proc/self/maps`
/// (and for file systems whose `/proc` entries name another device).
static MAPPED: Mutex<Vec<(FileId, Weak<Region>)>> = Mutex::new(Vec::new());

fn mapped() -> std::sync::MutexGuard<'static, Vec<(FileId, Weak<Region>)>> {
  MAPPED.lock().unwrap_or_else(|p| p.into_inner())
}

/// Records that `region` maps `file`.
pub fn register_mapping(file: &File, region: &Arc<Region>) {
  #[cfg(unix)]
  if let Ok(meta) = file.metadata() {
    let mut list = mapped();
    list.retain(|(_, r)| r.upgrade().is_some_and(|r| !r.is_released()));
    list.push((FileId::of(&meta), Arc::downgrade(region)));
  }
  #[cfg(not(unix))]
  let _ = (file, region);
}

/// Whether this process maps `id`: any mapping in `/proc/self/maps` (Linux:
/// also other libraries' mappings), or one this library made.
fn is_mapped(id: FileId) -> bool {
  let ours = mapped().iter().any(|(f, r)| *f == id && r.upgrade().is_some_and(|r| !r.is_released()));
  ours || mapped_in_proc(id)
}

#[cfg(target_os = "linux")]
fn mapped_in_proc(id: FileId) -> bool {
  let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else { return false };
  maps.lines().any(|line| {
    // address perms offset major:minor inode [path]
    let mut fields = line.split_ascii_whitespace().skip(3);
    let (Some(dev), Some(ino)) = (fields.next(), fields.next()) else { return false };
    let Some((major, minor)) = dev.split_once(':') else { return false };
    let (Ok(major), Ok(minor), Ok(ino)) =
      (u32::from_str_radix(major, 16), u32::from_str_radix(minor, 16), ino.parse::<u64>())
    else {
      return false;
    };
    ino != 0 && ino == id.ino && libc::makedev(major, minor) == id.dev
  })
}

#[cfg(not(target_os = "linux"))]
fn mapped_in_proc(_id: FileId) -> bool {
  false
}

/// Takes an advisory lock (`flock`) on `file` without waiting: exclusive
/// for a file being built, shared for one being read. Cooperating processes
/// (`flock -n`, another builder) see that it is in use. Returns whether the
/// lock was taken.
pub fn advisory_lock(file: &File, exclusive: bool) -> bool {
  #[cfg(unix)]
  {
    use std::os::fd::AsRawFd;
    let op = if exclusive { libc::LOCK_EX } else { libc::LOCK_SH } | libc::LOCK_NB;
    // SAFETY: plain syscall on an open descriptor.
    unsafe { libc::flock(file.as_raw_fd(), op) == 0 }
  }
  #[cfg(not(unix))]
  {
    let _ = (file, exclusive);
    false
  }
}

/// Refuses to write `path` while this process maps the file it names
/// (following symlinks): truncating or rewriting a mapped file would kill
/// the process with SIGBUS and destroy the data.
pub fn refuse_if_mapped(path: &Path) -> Result<()> {
  #[cfg(unix)]
  if let Ok(meta) = std::fs::metadata(path) {
    if is_mapped(FileId::of(&meta)) {
      return Err(Error::state(
        codes::FILE_MAPPED,
        format!(
          "{} is mapped by this process (a memmap MaskBuilder's storage or an openNpy() array); writing it would destroy the data and crash the process. Write to another file, or cleanup()/close() what maps it first",
          path.display()
        ),
      ));
    }
  }
  Ok(())
}

/// Refuses `path` if anything (a file, a directory, a dangling symlink) is there.
pub fn check_absent(path: &Path) -> Result<()> {
  match std::fs::symlink_metadata(path) {
    Ok(_) => Err(Error::io(
      &format!("{} already exists; refusing to overwrite it", path.display()),
      &std::io::Error::from_raw_os_error(libc::EEXIST),
    )),
    Err(_) => Ok(()),
  }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh short name in `dir` for a file that exists only briefly.
fn temp_name(dir: &Path) -> PathBuf {
  let n = COUNTER.fetch_add(1, Ordering::Relaxed);
  let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
  dir.join(format!(".wsi-mask-{}-{n}-{nanos:08x}.tmp", std::process::id()))
}

fn parent_of(path: &Path) -> &Path {
  path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// An unnamed file in `dir` (`O_TMPFILE`) with `mode`, or `None` where the
/// platform or file system has none.
#[cfg(target_os = "linux")]
fn unnamed_in(dir: &Path, mode: u32, what: &str) -> Result<Option<File>> {
  use std::os::unix::fs::OpenOptionsExt;
  match OpenOptions::new().read(true).write(true).custom_flags(libc::O_TMPFILE).mode(mode).open(dir) {
    Ok(file) => Ok(Some(file)),
    // Not supported here: the caller falls back to a named file.
    Err(e) if matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP) | Some(libc::EISDIR) | Some(libc::EINVAL)) => Ok(None),
    Err(e) => Err(Error::io(what, &e)),
  }
}

#[cfg(not(target_os = "linux"))]
fn unnamed_in(_dir: &Path, _mode: u32, _what: &str) -> Result<Option<File>> {
  Ok(None)
}

/// A new file under a fresh name in `dir`, created exclusively with `mode`.
fn named_in(dir: &Path, mode: u32, what: &str) -> Result<(File, PathBuf)> {
  let mut options = OpenOptions::new();
  options.read(true).write(true).create_new(true);
  #[cfg(unix)]
  {
    use std::os::unix::fs::OpenOptionsExt;
    options.mode(mode);
  }
  #[cfg(not(unix))]
  let _ = mode;
  let path = temp_name(dir);
  let file = options.open(&path).map_err(|e| Error::io(what, &e))?;
  Ok((file, path))
}

/// A private (mode 0600) temporary file in `dir` that no other process can
/// open by name and that nothing can leave behind: unnamed where the
/// platform allows, otherwise unlinked at once (on Unix). Returns the file
/// and, where it must be removed when unmapped (not Unix), its path.
pub fn private_temporary(dir: &Path) -> Result<(File, Option<PathBuf>)> {
  let what = format!("cannot create a temporary file in {}", dir.display());
  if let Some(file) = unnamed_in(dir, PRIVATE_MODE, &what)? {
    return Ok((file, None));
  }
  let (file, path) = named_in(dir, PRIVATE_MODE, &what)?;
  #[cfg(unix)]
  {
    let _ = std::fs::remove_file(&path);
    Ok((file, None))
  }
  #[cfg(not(unix))]
  Ok((file, Some(path)))
}

/// A file being written that appears under its final name only when
/// [`PendingFile::persist`] runs: a process killed before then leaves
/// nothing (an unnamed file) or at most a hidden temporary name.
pub struct PendingFile {
  /// Present until persisted.
  file: Option<File>,
  /// The temporary name, where the platform has no unnamed files.
  temp: Option<PathBuf>,
  target: PathBuf,
}

impl PendingFile {
  /// Starts a file to become `target`, in `target`'s directory.
  pub fn new(target: &Path) -> Result<Self> {
    let dir = parent_of(target);
    let what = format!("cannot create {}", target.display());
    let (file, temp) = match unnamed_in(dir, OUTPUT_MODE, &what)? {
      Some(file) => (file, None),
      None => {
        let (file, path) = named_in(dir, OUTPUT_MODE, &what)?;
        (file, Some(path))
      }
    };
    Ok(Self { file: Some(file), temp, target: target.to_path_buf() })
  }

  pub fn file(&self) -> &File {
    self.file.as_ref().expect("present until persisted")
  }

  pub fn file_mut(&mut self) -> &mut File {
    self.file.as_mut().expect("present until persisted")
  }

  pub fn target(&self) -> &Path {
    &self.target
  }

  /// Gives the file its final name: exclusively (`EEXIST` if anything is
  /// there, decided atomically by `link`), or with `overwrite` replacing
  /// what is there by a rename (a symlink is replaced, never followed).
  /// Returns the open file.
  pub fn persist(mut self, overwrite: bool) -> Result<File> {
    let what = format!("cannot create {}", self.target.display());
    let file = self.file.take().expect("persisted once");
    let temp = match self.temp.take() {
      Some(temp) => temp,
      None => {
        if !overwrite {
          link_unnamed(&file, &self.target).map_err(|e| Error::io(&what, &e))?;
          return Ok(file);
        }
        // An unnamed file cannot be renamed: name it first.
        let temp = temp_name(parent_of(&self.target));
        link_unnamed(&file, &temp).map_err(|e| Error::io(&what, &e))?;
        temp
      }
    };
    let placed = if overwrite {
      refuse_if_mapped(&self.target)
        .and_then(|()| std::fs::rename(&temp, &self.target).map_err(|e| Error::io(&what, &e)))
    } else {
      std::fs::hard_link(&temp, &self.target).map_err(|e| Error::io(&what, &e))
    };
    let _ = std::fs::remove_file(&temp);
    placed.map(|()| file)
  }
}

impl Drop for PendingFile {
  fn drop(&mut self) {
    if let Some(temp) = self.temp.take() {
      let _ = std::fs::remove_file(temp);
    }
  }
}

/// Links an `O_TMPFILE` file to `path` (fails with `EEXIST` if taken).
#[cfg(target_os = "linux")]
fn link_unnamed(file: &File, path: &Path) -> std::io::Result<()> {
  use std::ffi::CString;
  use std::os::fd::AsRawFd;
  use std::os::unix::ffi::OsStrExt;
  let to = CString::new(path.as_os_str().as_bytes()).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
  let from = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd())).expect("no NUL");
  // SAFETY: valid NUL-terminated paths; plain syscall.
  if unsafe { libc::linkat(libc::AT_FDCWD, from.as_ptr(), libc::AT_FDCWD, to.as_ptr(), libc::AT_SYMLINK_FOLLOW) } == 0 {
    return Ok(());
  }
  let err = std::io::Error::last_os_error();
  if err.raw_os_error() != Some(libc::ENOENT) {
    return Err(err);
  }
  // No /proc: the direct form (needs CAP_DAC_READ_SEARCH).
  let empty = CString::new("").expect("no NUL");
  // SAFETY: as above.
  if unsafe { libc::linkat(file.as_raw_fd(), empty.as_ptr(), libc::AT_FDCWD, to.as_ptr(), libc::AT_EMPTY_PATH) } == 0 {
    Ok(())
  } else {
    Err(std::io::Error::last_os_error())
  }
}

#[cfg(not(target_os = "linux"))]
fn link_unnamed(_file: &File, _path: &Path) -> std::io::Result<()> {
  Err(std::io::Error::from_raw_os_error(libc::ENOTSUP))
}

/// Refuses anything but a regular file (a FIFO would block every read, a
/// device has no size), opening without blocking.
pub fn open_regular(path: &Path) -> Result<File> {
  let mut options = OpenOptions::new();
  options.read(true);
  #[cfg(unix)]
  {
    use std::os::unix::fs::OpenOptionsExt;
    options.custom_flags(libc::O_NONBLOCK);
  }
  let file = options.open(path).map_err(|e| Error::io(&format!("cannot open {}", path.display()), &e))?;
  let meta = file.metadata().map_err(|e| Error::io(&format!("cannot stat {}", path.display()), &e))?;
  if !meta.is_file() {
    let kind = if meta.is_dir() { "a directory" } else { "not a regular file (a FIFO, socket or device)" };
    return Err(Error::type_error(codes::NPY_FORMAT, format!("{} is {kind}; pass an NPY file", path.display())));
  }
  Ok(file)
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::io::{Read, Write};

  fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsi-mask-files-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
  }

  fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
      std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
  }

  #[test]
  fn pending_files_appear_only_when_persisted_and_exclusively() {
    let dir = scratch("pending");
    let target = dir.join("out.npy");
    let mut pending = PendingFile::new(&target).unwrap();
    pending.file_mut().write_all(b"new").unwrap();
    assert!(!target.exists());
    pending.persist(false).unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"new");
    assert_eq!(names(&dir), ["out.npy"]);

    let mut again = PendingFile::new(&target).unwrap();
    again.file_mut().write_all(b"other").unwrap();
    assert_eq!(again.persist(false).err().unwrap().code, "EEXIST");
    assert_eq!(std::fs::read(&target).unwrap(), b"new");
    assert_eq!(names(&dir), ["out.npy"]);

    let mut replace = PendingFile::new(&target).unwrap();
    replace.file_mut().write_all(b"replaced").unwrap();
    replace.persist(true).unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"replaced");
    assert_eq!(names(&dir), ["out.npy"]);
    std::fs::remove_dir_all(&dir).unwrap();
  }

  #[cfg(unix)]
  #[test]
  fn overwriting_a_symlink_replaces_the_link_not_its_target() {
    let dir = scratch("symlink");
    std::fs::write(dir.join("precious"), b"keep").unwrap();
    std::os::unix::fs::symlink(dir.join("precious"), dir.join("link.npy")).unwrap();
    let mut pending = PendingFile::new(&dir.join("link.npy")).unwrap();
    pending.file_mut().write_all(b"x").unwrap();
    pending.persist(true).unwrap();
    assert_eq!(std::fs::read(dir.join("precious")).unwrap(), b"keep");
    assert!(!std::fs::symlink_metadata(dir.join("link.npy")).unwrap().file_type().is_symlink());
    std::fs::remove_dir_all(&dir).unwrap();
  }

  #[cfg(unix)]
  #[test]
  fn private_temporaries_have_mode_0600_and_no_name() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("private");
    let (mut file, path) = private_temporary(&dir).unwrap();
    assert!(path.is_none());
    assert_eq!(file.metadata().unwrap().permissions().mode() & 0o777, 0o600);
    assert!(names(&dir).is_empty());
    file.write_all(b"abc").unwrap();
    drop(file);
    assert!(names(&dir).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
  }

  #[cfg(unix)]
  #[test]
  fn mapped_files_are_refused_as_write_targets() {
    let dir = scratch("mapped");
    let path = dir.join("m.bin");
    std::fs::write(&path, [0u8; 4096]).unwrap();
    assert!(refuse_if_mapped(&path).is_ok());
    let file = File::open(&path).unwrap();
    let map = unsafe { memmap2::MmapOptions::new().map_copy(&file) }.unwrap();
    let region = Region::from_mmap(map, 4096);
    let e = refuse_if_mapped(&path).err().unwrap();
    assert_eq!(e.code, codes::FILE_MAPPED);
    // Through a symlink, and through this library's own list alone.
    std::os::unix::fs::symlink(&path, dir.join("alias")).unwrap();
    assert!(refuse_if_mapped(&dir.join("alias")).is_err());
    register_mapping(&file, &region);
    let id = FileId::of(&file.metadata().unwrap());
    assert!(mapped().iter().any(|(f, _)| *f == id));
    unsafe { region.release() };
    assert!(refuse_if_mapped(&path).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
  }

  #[cfg(unix)]
  #[test]
  fn fifos_are_refused_without_blocking() {
    let dir = scratch("fifo");
    let path = dir.join("pipe");
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let e = open_regular(&path).err().unwrap();
    assert!(e.message.contains("not a regular file"), "{}", e.message);
    assert!(open_regular(&dir).err().unwrap().message.contains("a directory"));
    std::fs::write(dir.join("f"), b"x").unwrap();
    let mut s = String::new();
    open_regular(&dir.join("f")).unwrap().read_to_string(&mut s).unwrap();
    assert_eq!(s, "x");
    std::fs::remove_dir_all(&dir).unwrap();
  }
}
