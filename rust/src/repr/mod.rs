//! CoViAR representations computed from decoded frames and motion vectors.
#![forbid(unsafe_code)]

pub mod batch;
pub mod colour;
pub mod external_frames;
pub mod footprint;
pub mod gop;
pub mod native;
pub mod residual;
pub mod source_map;
