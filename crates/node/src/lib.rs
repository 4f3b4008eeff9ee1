//! napi-rs binding of `wsi-mask-core`: argument conversion and error mapping.
//! The TypeScript facade in `src-ts/` is the public API; this module is its
//! native backend.

#![deny(clippy::all)]
// napi methods mirror the positional arguments of the JavaScript call.
#![allow(clippy::too_many_arguments)]

mod batch_buffer;
mod errors;
mod export;
mod export_task;
mod mask_builder;
mod merge;
mod npy_file;
mod numbers;
mod options;
mod outputs;
mod resize;
mod update_task;
mod views;

pub use batch_buffer::allocate_batch_buffer;
pub use export::{
  to_geo_json, to_geo_json_async, write_ome_tiff, write_ome_tiff_async, write_ome_zarr, write_ome_zarr_async,
};
pub use mask_builder::NativeMaskBuilder;
pub use npy_file::NativeNpyFile;
pub use outputs::limits;
pub use resize::{refuse_if_mapped, resize_to_source, resize_to_source_file, NativeResizeGeometry};
