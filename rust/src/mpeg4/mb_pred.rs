//! Motion-compensated prediction of one macroblock from one reference picture into a
//! [`PredTarget`] (the picture itself, or a small 16x16 + two 8x8 buffer): half- or
//! quarter-sample vectors, one vector or four 8x8 ones with FFmpeg's source clipping and chroma
//! derivation; then the residual added in place. B-VOPs predict their first direction straight
//! into the picture and average the second one in from a buffer; quarter-sample P-VOP
//! macroblocks use it too (half-sample P-VOPs predict in place, in [`crate::mpeg4::recon`]).
#![forbid(unsafe_code)]

use crate::mpeg4::idct::{idct_add, IdctKind};
use crate::mpeg4::interlaced::PredTarget;
use crate::mpeg4::mc::{clipped_vector, mc_halfpel};
use crate::mpeg4::mv::{chroma_1mv, chroma_4mv};
use crate::mpeg4::qpel::{chroma_1mv_qpel_with, chroma_4mv_qpel_sum, mc_qpel, QpelChroma};
use crate::mpeg4::recon::Picture;

/// What predicting a macroblock needs to know about the stream.
#[derive(Clone, Copy, Debug)]
pub struct PredParams {
    pub idct: IdctKind,
    /// Visible size (8x8 block source clipping as FFmpeg).
    pub width: usize,
    pub height: usize,
    /// Chroma vector derivation of 16x16 quarter-sample MBs (an encoder quirk).
    pub qpel_chroma: QpelChroma,
}

/// A 16x16 luma + two 8x8 chroma prediction buffer.
pub struct MbPred {
    pub y: [u8; 256],
    pub u: [u8; 64],
    pub v: [u8; 64],
}

impl Default for MbPred {
    fn default() -> Self {
        Self::new()
    }
}

impl MbPred {
    pub fn new() -> Self {
        MbPred {
            y: [0; 256],
            u: [0; 64],
            v: [0; 64],
        }
    }

    /// The buffer as a prediction target (luma lines 16 apart, chroma lines 8 apart).
    pub fn target(&mut self) -> PredTarget<'_> {
        PredTarget {
            y: &mut self.y,
            u: &mut self.u,
            v: &mut self.v,
            luma: (0, 16),
            chroma: (0, 8),
        }
    }
}

/// Predict one direction of a macroblock from `reference` into `out` (zeros when `reference`
/// has no samples).
#[allow(clippy::too_many_arguments)] // plain values of the per-macroblock hot path; a struct would be filled per call
pub fn predict(
    out: PredTarget,
    reference: &Picture,
    params: &PredParams,
    qpel: bool,
    rounding: bool,
    mvs: &[[i32; 2]; 4],
    four: bool,
    mb_x: usize,
    mb_y: usize,
) {
    let ((l_at, ls), (c_at, cs)) = (out.luma, out.chroma);
    let Some([ry, ru, rv]) = reference.ref_planes() else {
        fill_block(out.y, l_at, ls, 16, 0);
        fill_block(out.u, c_at, cs, 8, 0);
        fill_block(out.v, c_at, cs, 8, 0);
        return;
    };
    let (x, y) = ((mb_x * 16) as i32, (mb_y * 16) as i32);
    let (cx, cy) = ((mb_x * 8) as i32, (mb_y * 8) as i32);
    if !four {
        let [mx, my] = mvs[0];
        let (umx, umy) = if qpel {
            mc_qpel(&ry, out.y, l_at, ls, x, y, mx, my, 16, rounding);
            (
                chroma_1mv_qpel_with(mx, params.qpel_chroma),
                chroma_1mv_qpel_with(my, params.qpel_chroma),
            )
        } else {
            mc_halfpel(&ry, out.y, l_at, ls, x, y, mx, my, 16, 16, rounding);
            (chroma_1mv(mx), chroma_1mv(my))
        };
        mc_halfpel(&ru, out.u, c_at, cs, cx, cy, umx, umy, 8, 8, rounding);
        mc_halfpel(&rv, out.v, c_at, cs, cx, cy, umx, umy, 8, 8, rounding);
        return;
    }
    let (vis_w, vis_h) = (params.width as i32, params.height as i32);
    let shift = if qpel { 2 } else { 1 };
    for (i, &[mx, my]) in mvs.iter().enumerate() {
        let (bx, by) = (x + (i as i32 & 1) * 8, y + (i as i32 >> 1) * 8);
        let ex = clipped_vector(bx, mx, shift, -16, vis_w);
        let ey = clipped_vector(by, my, shift, -16, vis_h);
        let off = l_at + (i >> 1) * 8 * ls + (i & 1) * 8;
        if qpel {
            mc_qpel(&ry, out.y, off, ls, bx, by, ex, ey, 8, rounding);
        } else {
            mc_halfpel(&ry, out.y, off, ls, bx, by, ex, ey, 8, 8, rounding);
        }
    }
    let (sum_x, sum_y) = if qpel {
        (
            chroma_4mv_qpel_sum(mvs.map(|v| v[0])),
            chroma_4mv_qpel_sum(mvs.map(|v| v[1])),
        )
    } else {
        (
            mvs.iter().map(|v| v[0]).sum(),
            mvs.iter().map(|v| v[1]).sum(),
        )
    };
    let ex = clipped_vector(cx, chroma_4mv(sum_x), 1, -8, vis_w >> 1);
    let ey = clipped_vector(cy, chroma_4mv(sum_y), 1, -8, vis_h >> 1);
    mc_halfpel(&ru, out.u, c_at, cs, cx, cy, ex, ey, 8, 8, rounding);
    mc_halfpel(&rv, out.v, c_at, cs, cx, cy, ex, ey, 8, 8, rounding);
}

/// Set a `size` x `size` block at `at` (lines `stride` apart) to `value`.
fn fill_block(plane: &mut [u8], at: usize, stride: usize, size: usize, value: u8) {
    for row in 0..size {
        if let Some(d) = plane.get_mut(at + row * stride..at + row * stride + size) {
            d.fill(value);
        }
    }
}

/// Add the IDCT of the coded blocks (`cbp` bit `5 - i` for block `i`) to macroblock (`mb_x`,
/// `mb_y`) of `cur`, which holds its prediction.
pub fn add_coded_blocks(
    cur: &mut Picture,
    idct: IdctKind,
    cbp: u8,
    blocks: &mut [[i16; 64]; 6],
    mb_x: usize,
    mb_y: usize,
) {
    let (ls, cs) = (cur.width, cur.width / 2);
    let luma_at = |i: usize| (mb_y * 16 + (i >> 1) * 8) * ls + mb_x * 16 + (i & 1) * 8;
    let chroma_at = (mb_y * 8) * cs + mb_x * 8;
    for (i, block) in blocks.iter_mut().enumerate().take(4) {
        if cbp & (32 >> i) != 0 {
            idct_add(idct, block, &mut cur.y, luma_at(i), ls);
        }
    }
    if cbp & 2 != 0 {
        idct_add(idct, &mut blocks[4], &mut cur.u, chroma_at, cs);
    }
    if cbp & 1 != 0 {
        idct_add(idct, &mut blocks[5], &mut cur.v, chroma_at, cs);
    }
}

/// Average the prediction in `pred` into `out` (`o = (o + p + 1) >> 1`, FFmpeg's `avg_pixels`):
/// the second direction of a bidirectionally predicted macroblock.
pub fn average_from(out: PredTarget, pred: &MbPred) {
    let ((l_at, ls), (c_at, cs)) = (out.luma, out.chroma);
    average_rows::<16>(out.y, l_at, ls, &pred.y);
    average_rows::<8>(out.u, c_at, cs, &pred.u);
    average_rows::<8>(out.v, c_at, cs, &pred.v);
}

/// [`average_into`] on the `W` x `W` block at `at` (lines `stride` apart) of `plane`, `src`
/// holding its lines packed. `W` is a constant so each line becomes one vector average.
fn average_rows<const W: usize>(plane: &mut [u8], at: usize, stride: usize, src: &[u8]) {
    for (row, s) in src.chunks_exact(W).enumerate().take(W) {
        let start = at + row * stride;
        if let Some(d) = plane.get_mut(start..start + W) {
            average_into(d, s);
        }
    }
}

/// `a = (a + b + 1) >> 1`, FFmpeg's `avg_pixels` on the forward prediction.
pub fn average_into(a: &mut [u8], b: &[u8]) {
    for (x, &y) in a.iter_mut().zip(b) {
        *x = ((u16::from(*x) + u16::from(y) + 1) >> 1) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averaging_rounds_up() {
        let mut a = [1u8, 2, 255, 0];
        average_into(&mut a, &[2, 2, 254, 1]);
        assert_eq!(a, [2, 2, 255, 1]);
    }
}
