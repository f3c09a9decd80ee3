//! What a decode computes ([`DecodeMode`]), and where the decoders hand each parsed macroblock
//! ([`Target`]): the one place where the I/P-VOP decoder (`decoder`) and the B-VOP decoder
//! (`bvop`) choose between reconstruction and recording coefficients. The mode is read once per
//! VOP; a new mode adds a variant here and an arm at those hand-offs.
#![forbid(unsafe_code)]

use crate::mpeg4::coefficients::Coefficients;
use crate::mpeg4::recon::Picture;

/// How far the decoder goes with each VOP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DecodeMode {
    /// Pixels: motion compensation, inverse quantisation and IDCT (bit-exact with FFmpeg).
    #[default]
    Full,
    /// Stops before the IDCT: every 8x8 block's dequantised coefficients, quantised levels and
    /// coding type, and every macroblock's quantiser ([`Coefficients`]); no pixels, no motion
    /// compensation, no exported vectors. Coefficients do not depend on reference pixels, so no
    /// reference is needed.
    Coefficients,
    /// Pixels without the residual of inter blocks: inter (and skipped) macroblocks hold their
    /// motion-compensated prediction, intra ones are decoded as usual. What the texture of an
    /// inter block is added to (tests, and methods that want the prediction).
    Prediction,
    /// Motion vectors and macroblock types only (CoViAR's MV representation): the texture is
    /// parsed, since it must be to find the next macroblock, but not dequantised, transformed
    /// or predicted, and frames carry a picture without samples (its size only,
    /// [`crate::decoded::YuvFrame::sized`]). The references are kept as placeholders
    /// (their pixels are not decoded), so B-VOPs are output exactly where a full decode outputs
    /// them, with the same vectors.
    Vectors,
}

impl DecodeMode {
    /// Whether the texture decoder leaves quantised levels (dequantised later, if at all).
    pub fn levels_only(self) -> bool {
        matches!(self, DecodeMode::Coefficients | DecodeMode::Vectors)
    }

    /// Whether the texture decoder only reads the blocks' bits, leaving out intra prediction:
    /// nothing reads the blocks in vectors mode.
    pub fn parse_only(self) -> bool {
        self == DecodeMode::Vectors
    }

    /// Whether the decoder keeps references after a VOP: the real pictures in full mode, fit to
    /// predict later VOPs from; placeholders in vectors mode (see [`DecodeMode::Vectors`]).
    /// After a VOP decoded in another mode the decoder holds no reference.
    pub fn keeps_references(self) -> bool {
        matches!(self, DecodeMode::Full | DecodeMode::Vectors)
    }
}

/// Where one VOP's macroblocks go once parsed.
pub enum Target<'a> {
    /// Reconstruct into `cur`; `residual: false` leaves out the texture of inter blocks.
    Pixels {
        cur: &'a mut Picture,
        residual: bool,
    },
    /// Record the blocks (levels in, coefficients and levels out).
    Coefficients(&'a mut Coefficients),
    /// Nothing: the macroblock was parsed for its vectors alone.
    Skip,
}

impl Target<'_> {
    /// Macroblock (`mb_x`, `mb_y`) is lost to a bitstream error: copy it from `reference`
    /// (mid-grey without one), or record its blocks as concealed.
    pub fn conceal(&mut self, reference: Option<&Picture>, mb_x: usize, mb_y: usize) {
        match self {
            Target::Pixels { cur, .. } => conceal(cur, reference, mb_x, mb_y),
            Target::Coefficients(record) => record.conceal(mb_x, mb_y),
            Target::Skip => {}
        }
    }
}

/// Replace MB (`mb_x`, `mb_y`) with the co-located one of the reference (grey without one).
fn conceal(cur: &mut Picture, reference: Option<&Picture>, mb_x: usize, mb_y: usize) {
    match reference {
        Some(reference) => cur.copy_mb_from(reference, mb_x, mb_y),
        None => {
            let (ls, cs) = (cur.width, cur.width / 2);
            for row in 0..16 {
                let at = (mb_y * 16 + row) * ls + mb_x * 16;
                if let Some(d) = cur.y.get_mut(at..at + 16) {
                    d.fill(128);
                }
            }
            for row in 0..8 {
                let at = (mb_y * 8 + row) * cs + mb_x * 8;
                for plane in [&mut cur.u, &mut cur.v] {
                    if let Some(d) = plane.get_mut(at..at + 8) {
                        d.fill(128);
                    }
                }
            }
        }
    }
}
