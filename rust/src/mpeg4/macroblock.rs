//! The macroblock layer of I- and P-VOPs (ISO/IEC 14496-2, 6.2.6 and 6.3.6): `not_coded`,
//! MCBPC (with stuffing), `ac_pred_flag`, CBPY, `dquant`, motion vector differences and the six
//! blocks' texture. Parsing only: the result is a [`Macroblock`] with dequantised coefficients
//! and final vectors, which `recon` turns into samples.
//!
//! The order of operations follows FFmpeg's `mpeg4_decode_mb` where the standard leaves room
//! (notably: the intra DC VLC decision uses the quantiser from before this MB's `dquant`).
#![forbid(unsafe_code)]

use crate::bits::BitReader;
use crate::decoded::FrameType;
use crate::mpeg4::gmc::Warp;
use crate::mpeg4::interlaced::{read_field_motion, FieldMotion};
use crate::mpeg4::mv::{decode_component, MvField, SliceState};
use crate::mpeg4::tables::MbType;
use crate::mpeg4::texture::TextureDecoder;
use crate::mpeg4::vlc::{read_cbpy, read_dquant, read_mcbpc_i, read_mcbpc_p, read_mv_code, Mcbpc};

/// What kind of macroblock was decoded (what the reconstruction and the MV export need).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MbKind {
    /// `not_coded` in a P-VOP: copy of the reference at (0, 0), exported as a 16x16 vector.
    Skipped,
    /// One vector for the whole MB.
    Inter,
    /// One vector per 8x8 luma block.
    Inter4V,
    Intra,
    /// Lost to a bitstream error and concealed (no vector exported).
    Concealed,
}

/// One parsed macroblock.
#[derive(Clone, Debug)]
pub struct Macroblock {
    pub kind: MbKind,
    /// Vectors of the four 8x8 luma blocks in half samples (all equal unless `Inter4V`).
    pub mv: [[i32; 2]; 4],
    /// Coded-block pattern: bit `5 - i` set when block `i` (Y0..Y3, Cb, Cr) has texture.
    pub cbp: u8,
    /// The quantiser of this macroblock (after its `dquant`).
    pub qscale: u8,
    /// Dequantised coefficients in raster order, ready for the IDCT (quantised levels when the
    /// texture decoder is in levels-only mode).
    pub blocks: [[i16; 64]; 6],
    /// The coefficient mode's dequantised inter blocks (`blocks` then holds their levels; see
    /// [`TextureDecoder::set_with_coefficients`]); unused otherwise.
    pub coefs: [[i16; 64]; 6],
    /// Predicted through the S-VOP's global warp (`mcsel`, or not coded in an S-VOP); `mv`
    /// then holds the warp's average vector.
    pub gmc: bool,
    /// Interlaced: the luma blocks cover alternate lines (`dct_type` = 1).
    pub field_dct: bool,
    /// Interlaced: one vector per field (`mv` then holds their frame average).
    pub field: Option<FieldMotion>,
}

impl Default for Macroblock {
    fn default() -> Self {
        Macroblock {
            kind: MbKind::Skipped,
            mv: [[0; 2]; 4],
            cbp: 0,
            qscale: 1,
            blocks: [[0; 64]; 6],
            coefs: [[0; 64]; 6],
            gmc: false,
            field_dct: false,
            field: None,
        }
    }
}

impl Macroblock {
    /// True when block `i` (0..6) carries texture.
    #[inline]
    pub fn coded(&self, i: usize) -> bool {
        self.cbp & (32 >> i) != 0
    }
}

/// Per-VOP parameters the macroblock layer needs.
#[derive(Clone, Copy, Debug)]
pub struct MbParams {
    pub coding_type: FrameType,
    pub f_code: u8,
    /// Intra DC uses its own VLC while the quantiser is below this (Table 6-21).
    pub intra_dc_threshold: u8,
    /// The warp of a GMC S-VOP (`None` otherwise).
    pub sprite: Option<Warp>,
    /// The VOL is interlaced (`dct_type` and `field_prediction` are coded).
    pub interlaced: bool,
}

/// The mutable state the macroblock layer carries from MB to MB.
pub struct MbState<'a> {
    pub qscale: &'a mut u8,
    pub mvs: &'a mut MvField,
    pub texture: &'a mut TextureDecoder,
    pub slice: &'a SliceState,
}

/// Apply a `dquant` step, keeping the quantiser in 1..=31.
pub fn add_dquant(qscale: u8, delta: i32) -> u8 {
    (i32::from(qscale) + delta).clamp(1, 31) as u8
}

/// Decode macroblock (`mb_x`, `mb_y`) into `mb`. Errors name the syntax element that failed.
pub fn decode_macroblock(
    r: &mut BitReader,
    params: &MbParams,
    state: &mut MbState,
    mb_x: usize,
    mb_y: usize,
    mb: &mut Macroblock,
) -> std::result::Result<(), &'static str> {
    mb.cbp = 0;
    mb.gmc = false;
    mb.field_dct = false;
    mb.field = None;
    let (mb_type, cbpc) = if params.coding_type == FrameType::I {
        loop {
            match read_mcbpc_i(r) {
                Some(Mcbpc::Stuffing) if !r.overrun() => continue,
                Some(Mcbpc::Coded { mb_type, cbpc }) => break (mb_type, cbpc),
                _ => return Err("invalid intra MCBPC"),
            }
        }
    } else {
        loop {
            if r.read_bit() {
                mb.qscale = *state.qscale;
                if let Some(warp) = &params.sprite {
                    // not_coded in an S-VOP: the warp's prediction, no texture.
                    set_gmc(mb, state, warp, mb_x, mb_y);
                    state.texture.mark_inter(mb_x, mb_y);
                    return Ok(());
                }
                // not_coded: zero vector, no texture.
                mb.kind = MbKind::Skipped;
                mb.mv = [[0; 2]; 4];
                state.mvs.set_mb(mb_x, mb_y, [0, 0]);
                state.texture.mark_inter(mb_x, mb_y);
                return Ok(());
            }
            match read_mcbpc_p(r) {
                Some(Mcbpc::Stuffing) if !r.overrun() => continue,
                Some(Mcbpc::Coded { mb_type, cbpc }) => break (mb_type, cbpc),
                _ => return Err("invalid inter MCBPC"),
            }
        }
    };
    match mb_type {
        MbType::Intra | MbType::IntraQ => {
            let ac_pred = r.read_bit();
            let cbpy = read_cbpy(r, true).ok_or("invalid CBPY")?;
            mb.cbp = (cbpc & 3) | (cbpy << 2);
            let use_dc_vlc = *state.qscale < params.intra_dc_threshold;
            if mb_type == MbType::IntraQ {
                *state.qscale = add_dquant(*state.qscale, read_dquant(r));
            }
            if params.interlaced {
                mb.field_dct = r.read_bit();
            }
            for (i, block) in mb.blocks.iter_mut().enumerate() {
                let coded = mb.cbp & (32 >> i) != 0;
                state.texture.decode_intra_block(
                    r,
                    mb_x,
                    mb_y,
                    i,
                    *state.qscale,
                    use_dc_vlc,
                    ac_pred,
                    coded,
                    block,
                )?;
            }
            // Every intra block has a DC: reconstruct all six.
            mb.cbp = 63;
            mb.kind = MbKind::Intra;
            mb.mv = [[0; 2]; 4];
            state.mvs.set_mb(mb_x, mb_y, [0, 0]);
        }
        MbType::Inter | MbType::InterQ | MbType::Inter4V => {
            let mcsel = match &params.sprite {
                Some(warp) if mb_type != MbType::Inter4V && r.read_bit() => Some(warp),
                _ => None,
            };
            let cbpy = read_cbpy(r, false).ok_or("invalid CBPY")?;
            mb.cbp = (cbpc & 3) | (cbpy << 2);
            if mb_type == MbType::InterQ {
                *state.qscale = add_dquant(*state.qscale, read_dquant(r));
            }
            if params.interlaced && mb.cbp != 0 {
                mb.field_dct = r.read_bit();
            }
            if let Some(warp) = mcsel {
                set_gmc(mb, state, warp, mb_x, mb_y);
            } else if mb_type != MbType::Inter4V && params.interlaced && r.read_bit() {
                let field =
                    read_field_motion(r, state.mvs, state.slice, params.f_code, mb_x, mb_y)?;
                mb.mv = [field.frame_vector(); 4];
                mb.field = Some(field);
                mb.kind = MbKind::Inter;
            } else if mb_type == MbType::Inter4V {
                for block in 0..4 {
                    let pred = state.mvs.predict(mb_x, mb_y, block, state.slice);
                    let mv = read_mv(r, pred, params.f_code)?;
                    state.mvs.set(mb_x, mb_y, block, mv);
                    mb.mv[block] = mv;
                }
                mb.kind = MbKind::Inter4V;
            } else {
                let pred = state.mvs.predict(mb_x, mb_y, 0, state.slice);
                let mv = read_mv(r, pred, params.f_code)?;
                state.mvs.set_mb(mb_x, mb_y, mv);
                mb.mv = [mv; 4];
                mb.kind = MbKind::Inter;
            }
            for (i, (block, coefs)) in mb.blocks.iter_mut().zip(&mut mb.coefs).enumerate() {
                if mb.cbp & (32 >> i) != 0 {
                    state
                        .texture
                        .decode_inter_block(r, *state.qscale, block, coefs)?;
                }
            }
            state.texture.mark_inter(mb_x, mb_y);
        }
    }
    mb.qscale = *state.qscale;
    if r.overrun() {
        return Err("macroblock runs past the end of the VOP");
    }
    Ok(())
}

/// A GMC macroblock: its vector (for prediction of later ones) is the warp's average.
fn set_gmc(mb: &mut Macroblock, state: &mut MbState, warp: &Warp, mb_x: usize, mb_y: usize) {
    let mv = warp.average_vector(mb_x, mb_y);
    mb.kind = MbKind::Inter;
    mb.gmc = true;
    mb.mv = [mv; 4];
    state.mvs.set_mb(mb_x, mb_y, mv);
}

/// One motion vector (x then y) against its predictor.
pub fn read_mv(
    r: &mut BitReader,
    pred: [i32; 2],
    f_code: u8,
) -> std::result::Result<[i32; 2], &'static str> {
    let x =
        decode_component(r, read_mv_code, pred[0], f_code).ok_or("invalid motion vector code")?;
    let y =
        decode_component(r, read_mv_code, pred[1], f_code).ok_or("invalid motion vector code")?;
    Ok([x, y])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dquant_stays_in_range() {
        assert_eq!(add_dquant(1, -2), 1);
        assert_eq!(add_dquant(31, 2), 31);
        assert_eq!(add_dquant(8, -1), 7);
    }

    #[test]
    fn coded_flags_follow_block_order() {
        let mb = Macroblock {
            cbp: 0b100001,
            ..Macroblock::default()
        };
        assert!(mb.coded(0) && mb.coded(5));
        assert!(!mb.coded(1) && !mb.coded(4));
    }
}
