//! `resizeToSource` in Rust: argument conversion and error mapping around
//! `wsi_mask_core::resize`.

use std::path::Path;

use napi::bindgen_prelude::{Float32ArraySlice, TypedArray, TypedArrayType};
use napi::{Env, Result};
use napi_derive::napi;
use wsi_mask_core::error::codes;
use wsi_mask_core::npy::NpyVersion;
use wsi_mask_core::{Error, FloatSlice, ResizeGeometry, ResizeKernel, SourceResize};

use crate::errors::OrThrow;
use crate::numbers::to_u64_vec;

/// Extents of a resize, `[y, x]` each, validated by the facade.
#[napi(object)]
pub struct NativeResizeGeometry {
  pub mask_extents: Vec<f64>,
  /// Source pixels the mask covers (at least `sourceExtents`).
  pub span: Vec<f64>,
  /// The output is cropped to this.
  pub source_extents: Vec<f64>,
}

fn pair(name: &str, values: &[f64]) -> std::result::Result<[u64; 2], Error> {
  match to_u64_vec(name, values)?[..] {
    [y, x] => Ok([y, x]),
    _ => Err(Error::range(
      codes::DIMS_MISMATCH,
      format!("{name} must have 2 entries [y, x] (resizing is 2-D); received {}", values.len()),
    )),
  }
}

fn plan(channels: u32, geometry: &NativeResizeGeometry, kernel: &str) -> std::result::Result<SourceResize, Error> {
  SourceResize::new(
    ResizeGeometry {
      mask_extents: pair("maskExtents", &geometry.mask_extents)?,
      span: pair("span", &geometry.span)?,
      source_extents: pair("sourceExtents", &geometry.source_extents)?,
    },
    channels as usize,
    ResizeKernel::parse(kernel)?,
  )
}

fn cast<T: bytemuck::Pod>(bytes: &[u8]) -> std::result::Result<&[T], Error> {
  bytemuck::try_cast_slice(bytes)
    .map_err(|_| Error::type_error(codes::IMAGE_TYPE, "the image data is not aligned to its element size"))
}

fn floats<'a>(image: &'a TypedArray<'_>) -> std::result::Result<FloatSlice<'a>, Error> {
  match image.typed_array_type {
    TypedArrayType::Float32 => Ok(FloatSlice::F32(cast(&image.arraybuffer)?)),
    TypedArrayType::Float64 => Ok(FloatSlice::F64(cast(&image.arraybuffer)?)),
    other => Err(Error::type_error(
      codes::IMAGE_TYPE,
      format!("image data must be a Float32Array or Float64Array; received a {}", other.as_ref()),
    )),
  }
}

/// Resizes `image` (`[C, H_mask, W_mask]`, float32 or float64) to source
/// resolution into `output` (`[H_source, W_source, C]` float32), cropping
/// the span to `sourceExtents`.
#[napi(catch_unwind)]
pub fn resize_to_source(
  env: Env,
  #[napi(ts_arg_type = "Float32Array | Float64Array")] image: TypedArray,
  channels: u32,
  geometry: NativeResizeGeometry,
  kernel: String,
  mut output: Float32ArraySlice,
) -> Result<()> {
  let resize = plan(channels, &geometry, &kernel).or_throw(&env)?;
  let input = floats(&image).or_throw(&env)?;
  // SAFETY: JavaScript waits for this synchronous call; the two arrays must
  // not overlap, which is checked before the mutable slice is used.
  let out = unsafe { output.as_mut() };
  let out_range = out.as_ptr() as usize..out.as_ptr() as usize + std::mem::size_of_val(out);
  let in_range = input.byte_range();
  if !out.is_empty() && !input.is_empty() && out_range.start < in_range.end && in_range.start < out_range.end {
    return Err(crate::errors::throw(
      &env,
      &Error::type_error(codes::IMAGE_TYPE, "the output array shares memory with the image; pass a separate array"),
    ));
  }
  resize.planes(input).and_then(|planes| resize.resize_into(planes, out)).or_throw(&env)
}

/// Like `resizeToSource`, but streams the result into a new NPY file
/// (`<f4`, `[H_source, W_source, C]`) band by band, with bounded memory.
/// The file appears only once complete; an existing one is refused
/// (`EEXIST`) unless `overwrite`, and a file this process maps always is.
#[napi(catch_unwind)]
pub fn resize_to_source_file(
  env: Env,
  #[napi(ts_arg_type = "Float32Array | Float64Array")] image: TypedArray,
  channels: u32,
  geometry: NativeResizeGeometry,
  kernel: String,
  filename: String,
  #[napi(ts_arg_type = "1 | 2 | 3")] npy_version: u32,
  overwrite: bool,
) -> Result<()> {
  let resize = plan(channels, &geometry, &kernel).or_throw(&env)?;
  let input = resize.planes(floats(&image).or_throw(&env)?).or_throw(&env)?;
  let version = NpyVersion::try_from(npy_version).or_throw(&env)?;
  resize.resize_to_npy(input, Path::new(&filename), version, overwrite).or_throw(&env)
}

/// Throws `ERR_WSI_FILE_MAPPED` if this process maps the file at `path`
/// (writing it would crash the process with SIGBUS and destroy its data).
#[napi(catch_unwind)]
pub fn refuse_if_mapped(env: Env, path: String) -> Result<()> {
  wsi_mask_core::files::refuse_if_mapped(Path::new(&path)).or_throw(&env)
}
