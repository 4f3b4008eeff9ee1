//! wsi-mask-core: assembles masks from per-tile model outputs of whole-slide
//! images. Pure Rust; the Node.js binding lives in `crates/node`.

pub mod builder;
pub mod element;
pub mod error;
pub mod export;
pub mod geometry;
pub mod kernels;
pub mod memmap;
pub mod npy;
pub mod plan;
pub mod resize;
pub mod sequencer;
pub mod storage;

pub use builder::{
  Aggregation, AnyMaskBuilder, BatchData, BuilderConfig, BuilderSpec, Counter, MaskBuilder, OwnedBatchData, RawArray,
  StorageConfig,
};
pub use element::{CounterDtype, Dtype};
pub use error::{Error, ErrorKind, Result};
pub use geometry::Geometry;
pub use plan::{BatchPlan, Coords, EdgeClipping};
pub use resize::{MaskPlanes, ResizeGeometry, ResizeKernel, SourceResize};
