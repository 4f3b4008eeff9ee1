//! wsi-mask-core: assembles masks from per-tile model outputs of whole-slide
//! images. Pure Rust; the Node.js binding lives in `crates/node`.

pub mod accumulator;
mod allocation;
pub mod background;
pub mod batch_data;
mod capacity;
pub mod config;
pub mod counter;
pub mod dispatch;
pub mod element;
pub mod error;
pub mod export;
pub mod files;
pub mod geometry;
pub mod kernels;
pub mod limits;
pub mod mask_builder;
pub mod mask_region;
pub mod memmap;
pub mod merge;
pub mod npy;
pub mod partial;
pub mod plan;
pub mod raw_array;
pub mod rects;
pub mod reduce;
pub mod region;
pub mod resize;
pub mod rows;
pub mod sequencer;
pub mod shards;
pub mod storage;
pub mod weights;

pub use accumulator::Accumulator;
pub use batch_data::{BatchData, FloatSlice, FloatVec, Floats, OwnedBatchData};
pub use config::{Aggregation, BuilderConfig, BuilderSpec, StorageConfig};
pub use counter::Counter;
pub use dispatch::AnyAccumulator;
pub use element::{CounterDtype, Dtype};
pub use error::{Error, ErrorKind, Result};
pub use geometry::Geometry;
pub use mask_builder::{BatchSource, MaskBuilder, MaskView, PendingFinalize, PendingUpdate, State};
pub use mask_region::MaskRegion;
/// The ndarray version of the views in this crate's API.
pub use ndarray;
pub use plan::{BatchPlan, Coords, EdgeClipping};
pub use raw_array::RawArray;
pub use reduce::{FinalizeRequest, Reduced, Reduction};
pub use region::RegionData;
pub use resize::{MaskPlanes, ResizeGeometry, ResizeKernel, SourceResize};
pub use weights::{Weights, WindowKind};
