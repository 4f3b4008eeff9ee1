//! `NativeMaskBuilder`: the class the TypeScript facade drives.

use std::cell::{Cell, RefCell};

use napi::bindgen_prelude::{
  AsyncTask, Either4, Float32Array, Float64Array, Object, ObjectFinalize, TypedArray, TypedArrayType, Uint16Array,
  Uint32Array, Uint32ArraySlice,
};
use napi::{sys, Env, Result};
use napi_derive::napi;
use wsi_mask_core::error::codes;
use wsi_mask_core::limits::MAX_DIMS;
use wsi_mask_core::{BatchData, BatchPlan, Coords, EdgeClipping, Error, MaskBuilder, RegionData, State};

use crate::errors::OrThrow;
use crate::numbers::{to_u64, to_u64_vec};
use crate::options::{normalize, normalize_finalize, NativeBuilderOptions, NativeFinalizeOptions};
use crate::outputs::{NativeFileInfo, NativeGeometry};
use crate::update_task::{BatchSource, FinalizeTask, HeldBatch, UpdateTask};
use crate::views::Views;

/// Which array `readRegion` reads.
#[napi(string_enum = "camelCase")]
pub enum NativeRegionArray {
  Mask,
  OverlapCounter,
}

/// Native backend of `MaskBuilder`: the core's builder, which owns the
/// lifecycle and the call order; this class converts arguments and errors.
#[napi(custom_finalize)]
pub struct NativeMaskBuilder {
  pub(crate) inner: MaskBuilder,
  // Methods take `&self` (napi-rs keeps a method's borrow while a returned
  // task runs), so the views registry uses a cell.
  views: RefCell<Views>,
  max_view_bytes: usize,
  /// Storage bytes reported to V8 as external memory (0 once given back), so
  /// that dropped builders are collected, and their memory or disk
  /// reservation freed, as promptly as their size calls for.
  external_bytes: Cell<i64>,
  /// The last batch's edge clipping, reused while it does not change: a call
  /// allocates nothing.
  clipping: RefCell<EdgeClipping>,
}

/// Tells V8 that `delta` bytes outside its heap were bound to (or freed from) JavaScript objects.
fn adjust_external_memory(env: &Env, delta: i64) {
  let mut total = 0i64;
  // SAFETY: plain call on this env; the total it reports is unused.
  unsafe { sys::napi_adjust_external_memory(env.raw(), delta, &mut total) };
}

/// A batch's shapes and clipping, as the facade packs them into one
/// `Uint32Array` (one typed array per call instead of four JavaScript arrays):
/// `[rank, ...batchShape, coordsRows, coordsColumns, ...clipStart, ...clipEnd]`,
/// with one clip entry per spatial dimension.
struct BatchDims {
  batch_shape: [usize; MAX_DIMS + 2],
  rank: usize,
  coords_shape: [usize; 2],
}

/// Reads the packed dimensions; the clipping goes into `clipping` when it changed.
fn batch_dims(dims: &[u32], ndim: usize, clipping: &mut EdgeClipping) -> std::result::Result<BatchDims, Error> {
  let malformed = || Error::type_error(codes::BATCH_SHAPE, "malformed batch dimensions (the facade packs them)");
  let rank = *dims.first().ok_or_else(malformed)? as usize;
  if rank > MAX_DIMS + 2 || dims.len() != 1 + rank + 2 + 2 * ndim {
    return Err(malformed());
  }
  let mut batch_shape = [0usize; MAX_DIMS + 2];
  for (to, &from) in batch_shape.iter_mut().zip(&dims[1..1 + rank]) {
    *to = from as usize;
  }
  let coords_shape = [dims[1 + rank] as usize, dims[2 + rank] as usize];
  let (start, end) = dims[3 + rank..].split_at(ndim);
  let same =
    |kept: &[u64], given: &[u32]| kept.len() == given.len() && kept.iter().zip(given).all(|(&k, &g)| k == g as u64);
  if !same(&clipping.start, start) || !same(&clipping.end, end) {
    *clipping =
      EdgeClipping { start: start.iter().map(|&v| v as u64).collect(), end: end.iter().map(|&v| v as u64).collect() };
  }
  Ok(BatchDims { batch_shape, rank, coords_shape })
}

/// Reinterprets a typed array's bytes; JavaScript aligns typed arrays to
/// their element size, so this only fails on a corrupt view.
fn cast<'a, T: bytemuck::Pod>(bytes: &'a [u8], what: &str) -> std::result::Result<&'a [T], Error> {
  // An empty typed array may hand over a dangling, unaligned pointer.
  if bytes.is_empty() {
    return Ok(&[]);
  }
  bytemuck::try_cast_slice(bytes)
    .map_err(|_| Error::type_error(codes::BATCH_TYPE, format!("{what} is not aligned to its element size")))
}

fn batch_data<'a>(data: &'a TypedArray<'_>) -> std::result::Result<BatchData<'a>, Error> {
  match data.typed_array_type {
    TypedArrayType::Float32 => Ok(BatchData::F32(cast(&data.arraybuffer, "batch data")?)),
    TypedArrayType::Float64 => Ok(BatchData::F64(cast(&data.arraybuffer, "batch data")?)),
    other => Err(Error::type_error(
      codes::BATCH_TYPE,
      format!("batch data must be a Float32Array or Float64Array; received a {}", other.as_ref()),
    )),
  }
}

fn coords_data<'a>(coords: &'a TypedArray<'_>) -> std::result::Result<Coords<'a>, Error> {
  let bytes: &[u8] = &coords.arraybuffer;
  match coords.typed_array_type {
    TypedArrayType::Int32 => Ok(Coords::I32(cast(bytes, "coords")?)),
    TypedArrayType::BigInt64 => Ok(Coords::I64(cast(bytes, "coords")?)),
    TypedArrayType::Float64 => Ok(Coords::F64(cast(bytes, "coords")?)),
    other => Err(Error::type_error(
      codes::COORDS_TYPE,
      format!("coords must be an Int32Array, BigInt64Array or Float64Array; received a {}", other.as_ref()),
    )),
  }
}

impl NativeMaskBuilder {
  fn plan(&self, data: BatchData<'_>, coords: &TypedArray<'_>, dims: &[u32]) -> std::result::Result<BatchPlan, Error> {
    let mut clipping = self.clipping.borrow_mut();
    let dims = batch_dims(dims, self.inner.geometry().ndim(), &mut clipping)?;
    self.inner.plan(&data, &dims.batch_shape[..dims.rank], coords_data(coords)?, &dims.coords_shape, &clipping)
  }
}

#[napi]
impl NativeMaskBuilder {
  #[napi(constructor, catch_unwind)]
  pub fn new(env: Env, options: NativeBuilderOptions) -> Result<Self> {
    let build = || -> std::result::Result<(MaskBuilder, usize), Error> {
      let normalized = normalize(options)?;
      Ok((MaskBuilder::new(normalized.dtype, normalized.config)?, normalized.max_view_bytes))
    };
    let (inner, max_view_bytes) = build().or_throw(&env)?;
    let bytes = |raw: Option<wsi_mask_core::RawArray>| raw.map_or(0, |r| r.byte_len as i64);
    let external_bytes =
      bytes(inner.mask_raw(None).ok()) + inner.counter_bytes() as i64 + bytes(inner.aux_raw().ok().flatten());
    adjust_external_memory(&env, external_bytes);
    let clipping = RefCell::new(EdgeClipping::none(inner.geometry().ndim()));
    Ok(Self {
      inner,
      views: RefCell::new(Views::default()),
      max_view_bytes,
      external_bytes: Cell::new(external_bytes),
      clipping,
    })
  }

  /// Geometry: extents, strides, span, mask extents and upscale factor.
  #[napi(getter, catch_unwind)]
  pub fn geometry(&self) -> NativeGeometry {
    NativeGeometry::from(self.inner.geometry())
  }

  /// Where the builder is in its life (the core's state machine).
  #[napi(getter, catch_unwind, ts_return_type = "'building' | 'finalized' | 'cleanedUp'")]
  pub fn state(&self) -> &'static str {
    match self.inner.state() {
      State::Building => "building",
      State::Finalized => "finalized",
      State::CleanedUp => "cleanedUp",
    }
  }

  /// Throws unless the builder is usable and, with `building`, still
  /// accepts batches: what `call` would throw for the state alone.
  #[napi(catch_unwind)]
  pub fn check_state(&self, env: Env, call: String, building: bool) -> Result<()> {
    self.inner.check(&call, building).or_throw(&env)
  }

  /// Updates not yet applied.
  #[napi(getter, catch_unwind)]
  pub fn pending(&self) -> u32 {
    self.inner.pending() as u32
  }

  /// Applies a batch now, after any pending asynchronous update. `dims` packs
  /// the shapes and the clipping: `[rank, ...batchShape, coordsRows,
  /// coordsColumns, ...clipStart, ...clipEnd]`.
  #[napi(catch_unwind)]
  pub fn update_batch(
    &self,
    env: Env,
    #[napi(ts_arg_type = "Float32Array | Float64Array")] data: TypedArray,
    coords: TypedArray,
    dims: Uint32ArraySlice,
  ) -> Result<()> {
    let data = batch_data(&data).or_throw(&env)?;
    let plan = self.plan(data, &coords, &dims).or_throw(&env)?;
    let applied = self.inner.apply(&plan, data);
    self.inner.recycle_plan(plan);
    applied.or_throw(&env)
  }

  /// Validates a batch without applying it (throws what `updateBatch` would).
  #[napi(catch_unwind)]
  pub fn check_batch(
    &self,
    env: Env,
    #[napi(ts_arg_type = "Float32Array | Float64Array")] data: TypedArray,
    coords: TypedArray,
    dims: Uint32ArraySlice,
  ) -> Result<()> {
    let view = batch_data(&data).or_throw(&env)?;
    let plan = self.plan(view, &coords, &dims).or_throw(&env)?;
    self.inner.recycle_plan(plan);
    Ok(())
  }

  /// Validates a batch now and applies it on the libuv thread pool, in call
  /// order with every other update. The batch is copied before the call
  /// returns, so its buffer may be reused, modified or transferred at once
  /// (a batch in a pinned buffer from `allocateBatchBuffer` is read in place);
  /// with `transferred`, the facade has moved the buffer to the builder
  /// (nothing else can reach it) and it is read in place.
  #[napi(catch_unwind, ts_return_type = "Promise<void>")]
  pub fn update_batch_async(
    &self,
    env: Env,
    #[napi(ts_arg_type = "Float32Array | Float64Array")] data: TypedArray,
    coords: TypedArray,
    dims: Uint32ArraySlice,
    transferred: bool,
  ) -> Result<AsyncTask<UpdateTask>> {
    let view = batch_data(&data).or_throw(&env)?;
    let plan = self.plan(view, &coords, &dims).or_throw(&env)?;
    let source = if transferred {
      BatchSource::Held(HeldBatch::new(&env, &data)?)
    } else if let Some(pinned) = HeldBatch::pinned(&data) {
      BatchSource::Held(pinned)
    } else {
      BatchSource::Copied(self.inner.copy_batch(&view))
    };
    Ok(AsyncTask::new(UpdateTask::new(self.inner.apply_later(plan, source))))
  }

  /// Waits for pending updates, then finishes the accumulator (divides the
  /// mean, fills unreached max/min pixels with 0, ...) and computes the
  /// requested reduction from it. Calling it again finishes nothing twice.
  #[napi(catch_unwind)]
  pub fn finalize(&self, env: Env, options: Option<NativeFinalizeOptions>) -> Result<()> {
    let request = normalize_finalize(options).or_throw(&env)?;
    self.inner.finalize_with(&request).or_throw(&env)
  }

  /// `finalize()` on the thread pool, after pending updates.
  #[napi(catch_unwind, ts_return_type = "Promise<void>")]
  pub fn finalize_async(&self, env: Env, options: Option<NativeFinalizeOptions>) -> Result<AsyncTask<FinalizeTask>> {
    let request = normalize_finalize(options).or_throw(&env)?;
    Ok(AsyncTask::new(FinalizeTask::new(self.inner.finalize_later(request).or_throw(&env)?)))
  }

  /// `{ buffer, live }` over the weight sum `[1, ...maskExtents]` (weighted
  /// mean and sum) or the variances `[C, ...maskExtents]`; null otherwise.
  #[napi(catch_unwind, ts_return_type = "{ buffer: ArrayBuffer; live: boolean } | null")]
  pub fn aux_buffer<'env>(&self, env: &'env Env) -> Result<Option<Object<'env>>> {
    match self.inner.aux_raw().or_throw(env)? {
      Some(raw) => Ok(Some(self.views.borrow_mut().create(env, raw, "weight sum", self.max_view_bytes)?)),
      None => Ok(None),
    }
  }

  /// `{ buffer, live }` over the latest reduction: `'values'` (labels, or the
  /// thresholded or quantized bytes) and, for argmax, `'confidence'`.
  #[napi(catch_unwind, ts_return_type = "{ buffer: ArrayBuffer; live: boolean } | null")]
  pub fn reduced_buffer<'env>(
    &self,
    env: &'env Env,
    #[napi(ts_arg_type = "'values' | 'confidence'")] which: String,
  ) -> Result<Option<Object<'env>>> {
    let raw = match (self.inner.reduced_raw().or_throw(env)?, which.as_str()) {
      (Some((values, _)), "values") => Some(values),
      (Some((_, confidence)), "confidence") => confidence,
      _ => None,
    };
    match raw {
      Some(raw) => Ok(Some(self.views.borrow_mut().create(env, raw, "reduction", self.max_view_bytes)?)),
      None => Ok(None),
    }
  }

  /// `{ buffer, live }` over the accumulator `[C, ...maskExtents]`, or over
  /// one channel plane `[...maskExtents]` when `channel` is given.
  #[napi(catch_unwind, ts_return_type = "{ buffer: ArrayBuffer; live: boolean }")]
  pub fn mask_buffer<'env>(&self, env: &'env Env, channel: Option<u32>) -> Result<Object<'env>> {
    let raw = self.inner.mask_raw(channel.map(|c| c as usize)).or_throw(env)?;
    let what = if channel.is_some() { "mask channel" } else { "mask" };
    self.views.borrow_mut().create(env, raw, what, self.max_view_bytes)
  }

  /// Copies a window of one mask channel (or of the overlap counter) out of
  /// the storage: works for masks of any size.
  #[napi(catch_unwind, ts_return_type = "Float32Array | Float64Array | Uint16Array | Uint32Array")]
  pub fn read_region(
    &self,
    env: Env,
    array: NativeRegionArray,
    channel: f64,
    start: Vec<f64>,
    extent: Vec<f64>,
  ) -> Result<Either4<Float32Array, Float64Array, Uint16Array, Uint32Array>> {
    let read = || -> std::result::Result<RegionData, Error> {
      let counter = matches!(array, NativeRegionArray::OverlapCounter);
      let channel = to_u64("channel", channel)? as usize;
      let (start, extent) = (to_u64_vec("start", &start)?, to_u64_vec("extent", &extent)?);
      self.inner.read_region(counter, channel, &start, &extent, self.max_view_bytes)
    };
    Ok(match read().or_throw(&env)? {
      RegionData::F32(v) => Either4::A(Float32Array::new(v)),
      RegionData::F64(v) => Either4::B(Float64Array::new(v)),
      RegionData::U16(v) => Either4::C(Uint16Array::new(v)),
      RegionData::U32(v) => Either4::D(Uint32Array::new(v)),
    })
  }

  /// Files backing memory-mapped storage (mask first); empty in memory.
  #[napi(getter, catch_unwind)]
  pub fn files(&self) -> Vec<NativeFileInfo> {
    self.inner.files().iter().map(NativeFileInfo::from).collect()
  }

  /// `{ buffer, live }` over the overlap counter, or null for max.
  #[napi(catch_unwind, ts_return_type = "{ buffer: ArrayBuffer; live: boolean } | null")]
  pub fn counter_buffer<'env>(&self, env: &'env Env) -> Result<Option<Object<'env>>> {
    match self.inner.counter_raw().or_throw(env)? {
      Some(raw) => Ok(Some(self.views.borrow_mut().create(env, raw, "overlap counter", self.max_view_bytes)?)),
      None => Ok(None),
    }
  }

  /// Before releasing a persisted memmap builder unfinished: writes the
  /// files it keeps beside its sums (a uniform mean's counter file, which
  /// otherwise is written at finalize), so `files` lists them.
  #[napi(catch_unwind)]
  pub fn prepare_release(&self, env: Env) -> Result<()> {
    self.inner.prepare_release().or_throw(&env)
  }

  /// Waits for pending updates, frees the storage and detaches every view
  /// (they then read as empty). Calling it again does nothing.
  ///
  /// With `abandon`, the build is being thrown away (its files are deleted
  /// next): a persisted file not created yet is not written first.
  #[napi(catch_unwind)]
  pub fn cleanup(&self, env: Env, abandon: Option<bool>) -> Result<()> {
    let flushed = if abandon == Some(true) { self.inner.abandon() } else { self.inner.cleanup() };
    self.views.borrow_mut().detach_all(&env);
    adjust_external_memory(&env, -self.external_bytes.replace(0));
    flushed.or_throw(&env)
  }
}

impl ObjectFinalize for NativeMaskBuilder {
  fn finalize(self, env: Env) -> Result<()> {
    self.views.borrow_mut().forget(&env);
    adjust_external_memory(&env, -self.external_bytes.replace(0));
    Ok(())
  }
}
