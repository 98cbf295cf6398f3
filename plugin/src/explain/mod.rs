//! The plugin side of `kubectl mosaic explain`: reading offline input, gathering
//! live objects, choosing what a target reaches, and rendering findings. The
//! analysis itself is `mosaic_core::explain` (pure).

pub mod ingest;
pub mod kinds;
pub mod live;
pub mod probe;
pub mod render;
pub mod scope;
