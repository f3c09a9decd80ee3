//! MPEG-4 Part 2 (ISO/IEC 14496-2) video: headers, entropy decoding, reconstruction.

pub mod bvop;
pub mod clock;
pub mod coefficients;
pub mod decoder;
pub mod gmc;
pub mod header;
pub mod idct;
pub mod interlaced;
pub mod macroblock;
pub mod mb_pred;
pub mod mc;
pub mod mode;
pub mod mv;
pub mod packet;
pub mod partitioned;
pub mod qpel;
pub mod quirks;
pub mod recon;
pub mod tables;
pub mod texture;
pub mod vlc;
