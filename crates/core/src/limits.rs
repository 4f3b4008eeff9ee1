//! Limits on what a builder accepts, in one place (the binding exports them
//! to TypeScript, whose checks of form use the same numbers).

/// Spatial dimensions above this are refused; kernels keep per-dimension
/// state in fixed arrays of this size.
pub const MAX_DIMS: usize = 16;

/// Upper limit on channels; far above any model head, low enough that size
/// arithmetic cannot overflow.
pub const MAX_CHANNELS: usize = 1 << 20;

/// Largest integer every JavaScript number represents exactly; extents and
/// sizes stay below it so they cross the boundary unchanged.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
