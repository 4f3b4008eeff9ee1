//! Allocating a builder's storage: the accumulator, the overlap counter and
//! the auxiliary planes (weight sum or M2), in memory or as memory-mapped NPY
//! files (removed again if a later one fails, so a refused builder leaves
//! nothing behind).

use crate::config::{BuilderConfig, StorageConfig};
use crate::counter::Counter;
use crate::element::{CounterDtype, Dtype, Element};
use crate::error::{codes, list, Error, Result};
use crate::memmap::{check_absent, create_npy, Backing, CreatedFile};
use crate::storage::Array;

/// A builder's storage, zero-filled.
pub(crate) struct Storage<T: crate::element::Pod> {
  pub plane_len: usize,
  pub mask: Array<T>,
  pub counter: Option<Counter>,
  /// The weight sum plane (weighted), or the squared deviations per channel (variance).
  pub aux: Option<Array<T>>,
  pub files: Vec<CreatedFile>,
}

fn storage_bytes(config: &BuilderConfig, plane_len: usize, dtype: Dtype) -> Option<u64> {
  let planes = (config.channels as u64).checked_add(config.aux_planes() as u64)?;
  let mask = (plane_len as u64).checked_mul(planes)?.checked_mul(dtype.size() as u64)?;
  let counter = if config.aggregation.counts_overlaps() {
    (plane_len as u64).checked_mul(config.counter_dtype.size() as u64)?
  } else {
    0
  };
  mask.checked_add(counter)
}

fn human_bytes(bytes: u64) -> String {
  const GIB: f64 = (1u64 << 30) as f64;
  format!("{:.2} GiB", bytes as f64 / GIB)
}

/// Allocates the storage `config` asks for, refusing sizes the address space
/// (or the in-memory limit) cannot hold. With `defer_counter` the overlap
/// counter is left out (the builder keeps tile rectangles instead and calls
/// [`allocate_counter`] when it needs the counts); the limit still counts it.
pub(crate) fn allocate<T: Element>(config: &BuilderConfig, defer_counter: bool) -> Result<Storage<T>> {
  config.geometry.plane_len()?;
  let region = match &config.region {
    Some(r) => {
      r.check(&config.geometry)?;
      r.clone()
    }
    None => crate::mask_region::MaskRegion::whole(&config.geometry),
  };
  let plane_len = region.plane_len();
  let bytes = storage_bytes(config, plane_len, T::DTYPE)
    .filter(|&b| usize::try_from(b).is_ok_and(|b| b <= isize::MAX as usize))
    .ok_or_else(|| {
      Error::range(
        codes::MASK_TOO_LARGE,
        format!("a mask of {} x {} does not fit in the address space", config.channels, list(&region.extent)),
      )
    })?;
  let mut files = Vec::new();
  let (mask, counter) = match &config.storage {
    StorageConfig::InMemory { max_bytes } => {
      if let Some(limit) = *max_bytes {
        if bytes > limit {
          return Err(Error::range(
              codes::MASK_TOO_LARGE,
              format!(
                "an in-memory mask of {} x {} {} needs {} with its counter, more than the {} this machine allows; use storage: 'memmap'",
                config.channels,
                list(&region.extent),
                T::DTYPE.name(),
                human_bytes(bytes),
                human_bytes(limit)
              ),
            ));
        }
      }
      let mask = Array::<T>::zeroed(plane_len * config.channels)?;
      let counter = if config.aggregation.counts_overlaps() && !defer_counter {
        Some(allocate_counter(config, &region.extent)?.0)
      } else {
        None
      };
      (mask, counter)
    }
    StorageConfig::MemMap { mask: mask_backing, counter: counter_backing, npy_version, .. } => {
      // A deferred counter file is still refused here if it exists, and
      // created when the counts are first needed (at the latest, finalize).
      let mean = config.aggregation.counts_overlaps();
      // Refuse before creating anything, so an existing file is never touched.
      for backing in std::iter::once(mask_backing).chain(mean.then_some(counter_backing)) {
        if let Backing::File(path) = backing {
          check_absent(path)?;
        }
      }
      let mask_shape: Vec<u64> = std::iter::once(config.channels as u64).chain(region.extent.iter().copied()).collect();
      let (mask, mask_file) = create_npy::<T>(mask_backing, T::DTYPE.descr(), &mask_shape, *npy_version)?;
      files.push(mask_file);
      let counter = if mean && !defer_counter {
        match allocate_counter(config, &region.extent) {
          Ok((counter, file)) => {
            files.extend(file);
            Some(counter)
          }
          Err(e) => {
            // Leave nothing behind: the mask file was ours.
            drop(mask);
            if let Backing::File(path) = mask_backing {
              let _ = std::fs::remove_file(path);
            }
            return Err(e);
          }
        }
      } else {
        None
      };
      (mask, counter)
    }
  };
  let aux = match config.aux_planes() {
    0 => None,
    planes => match allocate_aux::<T>(&config.storage, planes, &region.extent) {
      Ok((aux, file)) => {
        files.extend(file);
        Some(aux)
      }
      Err(e) => {
        // Leave nothing behind: the files were ours.
        drop((mask, counter));
        for file in files.iter().filter(|f| !f.temporary) {
          let _ = std::fs::remove_file(&file.path);
        }
        return Err(e);
      }
    },
  };
  Ok(Storage { plane_len, mask, counter, aux, files })
}

/// The overlap counter `[1, ...extent]`, zero-filled: anonymous memory, or
/// the memmap counter file (which must not exist).
pub(crate) fn allocate_counter(config: &BuilderConfig, extent: &[u64]) -> Result<(Counter, Option<CreatedFile>)> {
  let plane_len = extent.iter().product::<u64>() as usize;
  match &config.storage {
    StorageConfig::InMemory { .. } => Ok((
      match config.counter_dtype {
        CounterDtype::Uint16 => Counter::U16(Array::zeroed(plane_len)?),
        CounterDtype::Uint32 => Counter::U32(Array::zeroed(plane_len)?),
      },
      None,
    )),
    StorageConfig::MemMap { counter, npy_version, .. } => {
      if let Backing::File(path) = counter {
        check_absent(path)?;
      }
      let shape: Vec<u64> = std::iter::once(1).chain(extent.iter().copied()).collect();
      match config.counter_dtype {
        CounterDtype::Uint16 => {
          create_npy::<u16>(counter, "<u2", &shape, *npy_version).map(|(a, f)| (Counter::U16(a), Some(f)))
        }
        CounterDtype::Uint32 => {
          create_npy::<u32>(counter, "<u4", &shape, *npy_version).map(|(a, f)| (Counter::U32(a), Some(f)))
        }
      }
    }
  }
}

/// The auxiliary planes: anonymous memory, or a temporary NPY file beside
/// the memory-mapped mask (listed with the builder's files).
fn allocate_aux<T: Element>(
  storage: &StorageConfig,
  planes: usize,
  extents: &[u64],
) -> Result<(Array<T>, Option<CreatedFile>)> {
  let plane: u64 = extents.iter().product();
  match storage {
    StorageConfig::InMemory { .. } => Ok((Array::zeroed(plane as usize * planes)?, None)),
    StorageConfig::MemMap { npy_version, temp_dir, .. } => {
      let shape: Vec<u64> = std::iter::once(planes as u64).chain(extents.iter().copied()).collect();
      let (array, file) =
        create_npy::<T>(&Backing::Temporary(temp_dir.clone()), T::DTYPE.descr(), &shape, *npy_version)?;
      Ok((array, Some(file)))
    }
  }
}
