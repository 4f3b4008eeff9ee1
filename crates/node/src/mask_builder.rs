//! `NativeMaskBuilder`: the class the TypeScript facade drives.

use std::cell::{Cell, RefCell};
use std::sync::{Arc, Mutex, MutexGuard};

use napi::bindgen_prelude::{
  AsyncTask, Either4, Float32Array, Float64Array, Object, ObjectFinalize, TypedArray, TypedArrayType, Uint16Array,
  Uint32Array,
};
use napi::{Env, Result};
use napi_derive::napi;
use wsi_mask_core::builder::RegionData;
use wsi_mask_core::error::codes;
use wsi_mask_core::sequencer::Sequencer;
use wsi_mask_core::{
  AnyMaskBuilder, BatchData, BatchPlan, BuilderConfig, BuilderSpec, Coords, EdgeClipping, Error, Geometry,
  OwnedBatchData,
};

use crate::errors::OrThrow;
use crate::options::{
  parse_aggregation, parse_counter_dtype, parse_dtype, parse_region, parse_storage, to_u64, to_u64_vec,
  NativeBuilderOptions, NativeFileInfo, NativeGeometry,
};
use crate::update_task::{BatchSource, FinalizeTask, HeldBatch, UpdateTask};
use crate::views::{Views, DEFAULT_MAX_VIEW_BYTES};

/// Copies of applied asynchronous batches kept for reuse: recycled memory
/// copies without page faults.
const SPARE_BATCHES: usize = 2;

/// State shared with update tasks running on the libuv thread pool.
pub struct Shared {
  builder: Mutex<Option<AnyMaskBuilder>>,
  pub sequencer: Arc<Sequencer>,
  spares: Mutex<Vec<OwnedBatchData>>,
}

impl Shared {
  fn spares(&self) -> MutexGuard<'_, Vec<OwnedBatchData>> {
    self.spares.lock().unwrap_or_else(|p| p.into_inner())
  }

  /// A copy of `data` owned by the builder, in recycled memory if any.
  pub fn copy_batch(&self, data: &BatchData<'_>) -> OwnedBatchData {
    let spare = self.spares().pop();
    OwnedBatchData::copy_of(data, spare)
  }

  /// Keeps an applied batch's memory for the next copy.
  pub fn recycle(&self, data: OwnedBatchData) {
    let mut spares = self.spares();
    if spares.len() < SPARE_BATCHES {
      spares.push(data);
    }
  }

  pub fn lock(&self) -> MutexGuard<'_, Option<AnyMaskBuilder>> {
    self.builder.lock().unwrap_or_else(|p| p.into_inner())
  }

  /// Runs `f` on the builder, or fails if it was cleaned up.
  pub fn with<T>(
    &self,
    f: impl FnOnce(&mut AnyMaskBuilder) -> std::result::Result<T, Error>,
  ) -> std::result::Result<T, Error> {
    let mut guard = self.lock();
    match guard.as_mut() {
      Some(builder) => f(builder),
      None => Err(cleaned_up()),
    }
  }
}

fn cleaned_up() -> Error {
  Error::state(codes::CLEANED_UP, "the mask builder was cleaned up; create a new one")
}

/// Native backend of `MaskBuilder`: geometry, storage and kernels in Rust.
#[napi(custom_finalize)]
pub struct NativeMaskBuilder {
  pub(crate) shared: Arc<Shared>,
  pub(crate) spec: BuilderSpec,
  // Methods take `&self` (napi-rs keeps a method's borrow while a returned
  // task runs), so the binding's own state uses cells.
  views: RefCell<Views>,
  max_view_bytes: usize,
  finalized: Cell<bool>,
  cleaned_up: Cell<bool>,
}

fn shape_of(values: &[u32]) -> Vec<usize> {
  values.iter().map(|&v| v as usize).collect()
}

fn clipping(start: &[u32], end: &[u32]) -> EdgeClipping {
  EdgeClipping { start: start.iter().map(|&v| v as u64).collect(), end: end.iter().map(|&v| v as u64).collect() }
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
  pub(crate) fn check_usable(&self, call: &str) -> std::result::Result<(), Error> {
    if self.cleaned_up.get() {
      return Err(Error::state(
        codes::CLEANED_UP,
        format!("{call} after cleanup(): the mask builder was cleaned up; create a new one"),
      ));
    }
    Ok(())
  }

  pub(crate) fn check_building(&self, call: &str) -> std::result::Result<(), Error> {
    self.check_usable(call)?;
    if self.finalized.get() {
      return Err(Error::state(codes::FINALIZED, format!("{call} after finalize(): the mask is already finalized")));
    }
    Ok(())
  }

  fn plan(
    &self,
    data: BatchData<'_>,
    shape: &[u32],
    coords: &TypedArray<'_>,
    coords_shape: &[u32],
    clip_start: &[u32],
    clip_end: &[u32],
  ) -> std::result::Result<BatchPlan, Error> {
    self.check_building("updateBatch")?;
    self.spec.plan(
      &data,
      &shape_of(shape),
      coords_data(coords)?,
      &shape_of(coords_shape),
      &clipping(clip_start, clip_end),
    )
  }
}

#[napi]
impl NativeMaskBuilder {
  #[napi(constructor, catch_unwind)]
  pub fn new(env: Env, options: NativeBuilderOptions) -> Result<Self> {
    let build = || -> std::result::Result<(AnyMaskBuilder, usize), Error> {
      let geometry = Geometry::new(
        &to_u64_vec("sourceExtents", &options.source_extents)?,
        &to_u64_vec("sourceTileExtent", &options.source_tile_extent)?,
        &to_u64_vec("outputTileExtent", &options.output_tile_extent)?,
        &to_u64_vec("stride", &options.stride)?,
      )?;
      let config = BuilderConfig {
        geometry,
        channels: to_u64("nChannels", options.n_channels)? as usize,
        aggregation: parse_aggregation(&options.aggregation)?,
        counter_dtype: parse_counter_dtype(&options.counter_dtype)?,
        storage: parse_storage(&options)?,
        region: parse_region(&options)?,
      };
      let max_view = match options.max_view_bytes {
        Some(b) => to_u64("maxViewBytes", b)? as usize,
        None => DEFAULT_MAX_VIEW_BYTES,
      };
      Ok((AnyMaskBuilder::new(parse_dtype(&options.dtype)?, config)?, max_view))
    };
    let (builder, max_view_bytes) = build().or_throw(&env)?;
    Ok(Self {
      spec: builder.spec(),
      shared: Arc::new(Shared {
        builder: Mutex::new(Some(builder)),
        sequencer: Sequencer::new(),
        spares: Mutex::new(Vec::new()),
      }),
      views: RefCell::new(Views::default()),
      max_view_bytes,
      finalized: Cell::new(false),
      cleaned_up: Cell::new(false),
    })
  }

  /// Geometry: extents, strides, span, mask extents and upscale factor.
  #[napi(getter, catch_unwind)]
  pub fn geometry(&self) -> NativeGeometry {
    NativeGeometry::from(&self.spec.geometry)
  }

  /// Updates not yet applied.
  #[napi(getter, catch_unwind)]
  pub fn pending(&self) -> u32 {
    self.shared.sequencer.pending() as u32
  }

  /// Applies a batch now, after any pending asynchronous update.
  #[napi(catch_unwind)]
  pub fn update_batch(
    &self,
    env: Env,
    data: TypedArray,
    shape: Vec<u32>,
    coords: TypedArray,
    coords_shape: Vec<u32>,
    clip_start: Vec<u32>,
    clip_end: Vec<u32>,
  ) -> Result<()> {
    let data = batch_data(&data).or_throw(&env)?;
    let plan = self.plan(data, &shape, &coords, &coords_shape, &clip_start, &clip_end).or_throw(&env)?;
    let ticket = self.shared.sequencer.ticket();
    ticket.wait_turn();
    self.shared.with(|b| b.apply(&plan, data)).or_throw(&env)
  }

  /// Validates a batch without applying it (throws what `updateBatch` would).
  #[napi(catch_unwind)]
  pub fn check_batch(
    &self,
    env: Env,
    #[napi(ts_arg_type = "Float32Array | Float64Array")] data: TypedArray,
    shape: Vec<u32>,
    coords: TypedArray,
    coords_shape: Vec<u32>,
    clip_start: Vec<u32>,
    clip_end: Vec<u32>,
  ) -> Result<()> {
    let view = batch_data(&data).or_throw(&env)?;
    self.plan(view, &shape, &coords, &coords_shape, &clip_start, &clip_end).or_throw(&env)?;
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
    shape: Vec<u32>,
    coords: TypedArray,
    coords_shape: Vec<u32>,
    clip_start: Vec<u32>,
    clip_end: Vec<u32>,
    transferred: bool,
  ) -> Result<AsyncTask<UpdateTask>> {
    let view = batch_data(&data).or_throw(&env)?;
    let plan = self.plan(view, &shape, &coords, &coords_shape, &clip_start, &clip_end).or_throw(&env)?;
    let source = if transferred {
      BatchSource::Held(HeldBatch::new(&env, &data)?)
    } else if let Some(pinned) = HeldBatch::pinned(&data) {
      BatchSource::Held(pinned)
    } else {
      BatchSource::Copied(self.shared.copy_batch(&view))
    };
    let ticket = self.shared.sequencer.ticket();
    Ok(AsyncTask::new(UpdateTask::new(Arc::clone(&self.shared), ticket, plan, source)))
  }

  /// Waits for pending updates, then divides (mean) or fills unreached
  /// pixels with 0 (max). Calling it again changes nothing.
  #[napi(catch_unwind)]
  pub fn finalize(&self, env: Env) -> Result<()> {
    self.check_usable("finalize").or_throw(&env)?;
    self.shared.sequencer.wait_idle();
    self.shared.with(|b| b.finalize()).or_throw(&env)?;
    self.finalized.set(true);
    Ok(())
  }

  /// `finalize()` on the thread pool, after pending updates.
  #[napi(catch_unwind, ts_return_type = "Promise<void>")]
  pub fn finalize_async(&self, env: Env) -> Result<AsyncTask<FinalizeTask>> {
    self.check_usable("finalizeAsync").or_throw(&env)?;
    let ticket = self.shared.sequencer.ticket();
    self.finalized.set(true);
    Ok(AsyncTask::new(FinalizeTask::new(Arc::clone(&self.shared), ticket)))
  }

  /// `{ buffer, live }` over the accumulator `[C, ...maskExtents]`, or over
  /// one channel plane `[...maskExtents]` when `channel` is given.
  #[napi(catch_unwind, ts_return_type = "{ buffer: ArrayBuffer; live: boolean }")]
  pub fn mask_buffer<'env>(&self, env: &'env Env, channel: Option<u32>) -> Result<Object<'env>> {
    self.check_usable("storage").or_throw(env)?;
    let raw = self.shared.with(|b| b.mask_raw(channel.map(|c| c as usize))).or_throw(env)?;
    let what = if channel.is_some() { "mask channel" } else { "mask" };
    self.views.borrow_mut().create(env, raw, what, self.max_view_bytes)
  }

  /// Copies a window of one mask channel (or of the overlap counter) out of
  /// the storage: works for masks of any size.
  #[napi(catch_unwind, ts_return_type = "Float32Array | Float64Array | Uint16Array | Uint32Array")]
  pub fn read_region(
    &self,
    env: Env,
    #[napi(ts_arg_type = "'mask' | 'overlapCounter'")] array: String,
    channel: f64,
    start: Vec<f64>,
    extent: Vec<f64>,
  ) -> Result<Either4<Float32Array, Float64Array, Uint16Array, Uint32Array>> {
    self.check_usable("readRegion").or_throw(&env)?;
    let read = || -> std::result::Result<RegionData, Error> {
      let counter = match array.as_str() {
        "mask" => false,
        "overlapCounter" => true,
        other => {
          return Err(Error::type_error(
            codes::REGION,
            format!("array must be 'mask' or 'overlapCounter'; received '{other}'"),
          ))
        }
      };
      let channel = to_u64("channel", channel)? as usize;
      let (start, extent) = (to_u64_vec("start", &start)?, to_u64_vec("extent", &extent)?);
      self.shared.with(|b| b.read_region(counter, channel, &start, &extent, self.max_view_bytes))
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
    let guard = self.shared.lock();
    let Some(builder) = guard.as_ref() else { return Vec::new() };
    builder
      .files()
      .iter()
      .map(|f| NativeFileInfo {
        path: f.path.to_string_lossy().into_owned(),
        temporary: f.temporary,
        reserved: f.reserved,
      })
      .collect()
  }

  /// `{ buffer, live }` over the overlap counter, or null for max.
  #[napi(catch_unwind, ts_return_type = "{ buffer: ArrayBuffer; live: boolean } | null")]
  pub fn counter_buffer<'env>(&self, env: &'env Env) -> Result<Option<Object<'env>>> {
    self.check_usable("overlapCounter").or_throw(env)?;
    match self.shared.with(|b| Ok(b.counter_raw())).or_throw(env)? {
      Some(raw) => Ok(Some(self.views.borrow_mut().create(env, raw, "overlap counter", self.max_view_bytes)?)),
      None => Ok(None),
    }
  }

  /// Waits for pending updates, frees the storage and detaches every view
  /// (they then read as empty). Calling it again does nothing.
  #[napi(catch_unwind)]
  pub fn cleanup(&self, env: Env) -> Result<()> {
    if self.cleaned_up.get() {
      return Ok(());
    }
    self.shared.sequencer.wait_idle();
    self.cleaned_up.set(true);
    let builder = self.shared.lock().take();
    // Files that persist get written through before they are unmapped.
    let flushed = builder.as_ref().map_or(Ok(()), |b| b.flush());
    drop(builder);
    self.shared.spares().clear();
    self.views.borrow_mut().detach_all(&env);
    flushed.or_throw(&env)
  }
}

impl ObjectFinalize for NativeMaskBuilder {
  fn finalize(self, env: Env) -> Result<()> {
    self.views.borrow_mut().forget(&env);
    Ok(())
  }
}
