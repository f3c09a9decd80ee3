//! pkdkit's Rust core: demuxing and decoding MPEG-4 Part 2 video and computing CoViAR's
//! compressed-domain representations. Everything here is plain Rust; `python.rs` (behind the
//! `python` feature) is the only place that knows about PyO3.

pub mod bits;
pub mod container;
pub mod dct;
pub mod decoded;
pub mod error;
pub mod frame_iter;
pub mod mpeg4;
pub mod repr;
pub mod simd;
pub mod video;

#[cfg(test)]
mod test_rng;

#[cfg(feature = "python")]
mod python;

pub use error::{Error, Result};
