//! Exports as libuv tasks: the mask (copied, or its file path) and the
//! normalized export move to the thread pool; the promise settles with the
//! export's result or its error.

use std::path::PathBuf;

use napi::bindgen_prelude::{ToNapiValue, TypeName, TypedArray};
use napi::{Env, Task};
use wsi_mask_core::export::{MaskSource, Plane};
use wsi_mask_core::Error;

use crate::errors::rejection;
use crate::export::{pair, plane, NativeExportSource};

/// An export, normalized, waiting for its mask.
pub type ExportJob<R> = Box<dyn FnOnce(&mut MaskSource) -> Result<R, Error> + Send>;

pub enum OwnedPlane {
  F32(Vec<f32>),
  F64(Vec<f64>),
  U8(Vec<u8>),
  U16(Vec<u16>),
}

impl OwnedPlane {
  fn view(&self) -> Plane<'_> {
    match self {
      OwnedPlane::F32(d) => Plane::F32(d),
      OwnedPlane::F64(d) => Plane::F64(d),
      OwnedPlane::U8(d) => Plane::U8(d),
      OwnedPlane::U16(d) => Plane::U16(d),
    }
  }
}

/// The mask an asynchronous export reads: its own copy of the planes (so
/// JavaScript may change or free them meanwhile), or the NPY file to stream.
pub enum OwnedSource {
  Planes { planes: Vec<OwnedPlane>, extents: [usize; 2] },
  File(PathBuf),
}

impl OwnedSource {
  pub fn copy(planes: &[TypedArray<'_>], source: &NativeExportSource) -> Result<Self, Error> {
    if let Some(file) = &source.file {
      return Ok(OwnedSource::File(PathBuf::from(file)));
    }
    let extents = pair("extents", &source.extents)?.map(|e| e as usize);
    let planes = planes
      .iter()
      .map(|array| {
        Ok(match plane(array)? {
          Plane::F32(d) => OwnedPlane::F32(d.to_vec()),
          Plane::F64(d) => OwnedPlane::F64(d.to_vec()),
          Plane::U8(d) => OwnedPlane::U8(d.to_vec()),
          Plane::U16(d) => OwnedPlane::U16(d.to_vec()),
        })
      })
      .collect::<Result<_, Error>>()?;
    Ok(OwnedSource::Planes { planes, extents })
  }

  fn run<R>(&self, job: ExportJob<R>) -> Result<R, Error> {
    let mut mask = match self {
      OwnedSource::File(path) => MaskSource::from_npy(path)?,
      OwnedSource::Planes { planes, extents } => {
        MaskSource::from_planes(planes.iter().map(OwnedPlane::view).collect(), *extents)?
      }
    };
    job(&mut mask)
  }
}

pub struct ExportTask<R> {
  source: OwnedSource,
  job: Option<ExportJob<R>>,
  failure: Option<Error>,
}

impl<R> ExportTask<R> {
  pub fn new(source: OwnedSource, job: ExportJob<R>) -> Self {
    Self { source, job: Some(job), failure: None }
  }
}

impl<R: ToNapiValue + TypeName + Send + 'static> Task for ExportTask<R> {
  type Output = R;
  type JsValue = R;

  fn compute(&mut self) -> napi::Result<R> {
    let job = self.job.take().ok_or_else(|| napi::Error::from_reason("the export already ran"))?;
    self.source.run(job).map_err(|e| {
      self.failure = Some(e);
      napi::Error::from_reason("export failed")
    })
  }

  fn resolve(&mut self, _env: Env, output: R) -> napi::Result<R> {
    Ok(output)
  }

  fn reject(&mut self, env: Env, err: napi::Error) -> napi::Result<R> {
    Err(match &self.failure {
      Some(e) => rejection(&env, e),
      None => err,
    })
  }
}
