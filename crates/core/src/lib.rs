//! wsi-mask-core: assembles masks from per-tile model outputs of whole-slide
//! images. Pure Rust; the Node.js binding lives in `crates/node`.

pub mod background;
pub mod builder;
pub mod element;
pub mod error;
pub mod export;
pub mod files;
pub mod geometry;
pub mod kernels;
pub mod limits;
pub mod mask_builder;
pub mod memmap;
pub mod npy;
pub mod plan;
pub mod resize;
pub mod sequencer;
pub mod storage;

pub use builder::{
  Accumulator, Aggregation, AnyAccumulator, BatchData, BuilderConfig, BuilderSpec, Counter, OwnedBatchData, RawArray,
  RegionData, StorageConfig,
};
pub use element::{CounterDtype, Dtype};
pub use error::{Error, ErrorKind, Result};
pub use geometry::Geometry;
pub use mask_builder::{BatchSource, MaskBuilder, PendingFinalize, PendingUpdate, State};
pub use plan::{BatchPlan, Coords, EdgeClipping};
pub use resize::{MaskPlanes, ResizeGeometry, ResizeKernel, SourceResize};
