//! Reconstruction of one macroblock into the picture being decoded: intra blocks by IDCT,
//! inter blocks by half-pel motion compensation from the reference plus the IDCT residual.
//!
//! Pictures are kept at the macroblock-aligned size. As in FFmpeg (the oracle), samples between
//! the visible size and the aligned size are real decoded samples, the reference is extended
//! beyond the ALIGNED size by edge replication, and 4MV blocks clip their source position to the
//! VISIBLE size first (FFmpeg's `hpel_motion` / `chroma_4mv_motion`).
#![forbid(unsafe_code)]

use crate::decoded::{Plane, YuvFrame};
use crate::mpeg4::idct::{idct_add, idct_put, IdctKind};
use crate::mpeg4::interlaced::PredTarget;
use crate::mpeg4::macroblock::{Macroblock, MbKind};
use crate::mpeg4::mb_pred::{self, add_coded_blocks, PredParams};
use crate::mpeg4::mc::{clipped_vector, mc_halfpel, RefPlane};
use crate::mpeg4::mv::{chroma_1mv, chroma_4mv};

/// A decoded 4:2:0 picture at the macroblock-aligned size (strides are the widths).
#[derive(Clone, Debug)]
pub struct Picture {
    pub y: Vec<u8>,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
    /// Aligned luma size (multiples of 16).
    pub width: usize,
    pub height: usize,
}

impl Picture {
    /// A mid-grey picture of `mb_width x mb_height` macroblocks.
    pub fn grey(mb_width: usize, mb_height: usize) -> Self {
        let (w, h) = (mb_width * 16, mb_height * 16);
        Picture {
            y: vec![128; w * h],
            u: vec![128; w * h / 4],
            v: vec![128; w * h / 4],
            width: w,
            height: h,
        }
    }

    /// A picture with no samples (stands for references nothing reads).
    pub fn empty() -> Self {
        Picture {
            y: Vec::new(),
            u: Vec::new(),
            v: Vec::new(),
            width: 0,
            height: 0,
        }
    }

    /// The Y, U and V planes as motion-compensation references: reads outside clamp to the
    /// macroblock-aligned edge, as FFmpeg's edge emulation does. `None` if the buffers are short.
    pub fn ref_planes(&self) -> Option<[RefPlane<'_>; 3]> {
        let (lw, lh) = (self.width, self.height);
        let (cw, ch) = (lw / 2, lh / 2);
        Some([
            RefPlane::new(&self.y, lw, lh, lw)?,
            RefPlane::new(&self.u, cw, ch, cw)?,
            RefPlane::new(&self.v, cw, ch, cw)?,
        ])
    }

    /// The visible `width x height` part as tightly packed planes (chroma rounded up).
    pub fn crop(&self, width: usize, height: usize) -> YuvFrame {
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        YuvFrame {
            y: crop_plane(&self.y, self.width, width, height),
            u: crop_plane(&self.u, self.width / 2, cw, ch),
            v: crop_plane(&self.v, self.width / 2, cw, ch),
        }
    }

    /// Macroblock (`mb_x`, `mb_y`) as a prediction target.
    pub fn mb_target(&mut self, mb_x: usize, mb_y: usize) -> PredTarget<'_> {
        let (ls, cs) = (self.width, self.width / 2);
        PredTarget {
            y: &mut self.y,
            u: &mut self.u,
            v: &mut self.v,
            luma: (mb_y * 16 * ls + mb_x * 16, ls),
            chroma: (mb_y * 8 * cs + mb_x * 8, cs),
        }
    }

    /// Copy macroblock (`mb_x`, `mb_y`) from `other` (concealment).
    pub fn copy_mb_from(&mut self, other: &Picture, mb_x: usize, mb_y: usize) {
        let copy = |dst: &mut [u8], src: &[u8], stride: usize, size: usize| {
            for row in 0..size {
                let at = (mb_y * size + row) * stride + mb_x * size;
                if let (Some(d), Some(s)) = (dst.get_mut(at..at + size), src.get(at..at + size)) {
                    d.copy_from_slice(s);
                }
            }
        };
        copy(&mut self.y, &other.y, self.width, 16);
        copy(&mut self.u, &other.u, self.width / 2, 8);
        copy(&mut self.v, &other.v, self.width / 2, 8);
    }
}

fn crop_plane(data: &[u8], stride: usize, width: usize, height: usize) -> Plane {
    let mut out = Vec::with_capacity(width * height);
    for row in data.chunks(stride).take(height) {
        out.extend_from_slice(&row[..width.min(row.len())]);
    }
    out.resize(width * height, 128);
    Plane {
        data: out,
        width,
        height,
    }
}

/// Everything reconstruction needs besides the macroblock itself.
pub struct ReconContext<'a> {
    pub reference: Option<&'a Picture>,
    pub idct: IdctKind,
    pub rounding: bool,
    /// Visible size (4MV source clipping).
    pub visible_width: usize,
    pub visible_height: usize,
    /// The warp of a GMC S-VOP, for its `mcsel` macroblocks.
    pub sprite: Option<crate::mpeg4::gmc::Warp>,
}

/// Write macroblock (`mb_x`, `mb_y`) into `cur`. `mb.blocks` are used as IDCT scratch space.
pub fn reconstruct(
    cur: &mut Picture,
    ctx: &ReconContext,
    mb: &mut Macroblock,
    mb_x: usize,
    mb_y: usize,
) {
    let (ls, cs) = (cur.width, cur.width / 2);
    let luma_at = |i: usize| (mb_y * 16 + (i >> 1) * 8) * ls + mb_x * 16 + (i & 1) * 8;
    let chroma_at = (mb_y * 8) * cs + mb_x * 8;
    if matches!(mb.kind, MbKind::Intra) {
        for i in 0..4 {
            idct_put(ctx.idct, &mut mb.blocks[i], &mut cur.y, luma_at(i), ls);
        }
        idct_put(ctx.idct, &mut mb.blocks[4], &mut cur.u, chroma_at, cs);
        idct_put(ctx.idct, &mut mb.blocks[5], &mut cur.v, chroma_at, cs);
        return;
    }
    let Some(reference) = ctx.reference else {
        return;
    };
    predict(cur, reference, ctx, mb, mb_x, mb_y);
    for i in 0..4 {
        if mb.coded(i) {
            idct_add(ctx.idct, &mut mb.blocks[i], &mut cur.y, luma_at(i), ls);
        }
    }
    if mb.coded(4) {
        idct_add(ctx.idct, &mut mb.blocks[4], &mut cur.u, chroma_at, cs);
    }
    if mb.coded(5) {
        idct_add(ctx.idct, &mut mb.blocks[5], &mut cur.v, chroma_at, cs);
    }
}

/// Motion-compensated prediction of an inter (or skipped) macroblock.
fn predict(
    cur: &mut Picture,
    reference: &Picture,
    ctx: &ReconContext,
    mb: &Macroblock,
    mb_x: usize,
    mb_y: usize,
) {
    let Some([ry, ru, rv]) = reference.ref_planes() else {
        return;
    };
    let (lw, cw) = (reference.width, reference.width / 2);
    let (x, y) = ((mb_x * 16) as i32, (mb_y * 16) as i32);
    let (cx, cy) = ((mb_x * 8) as i32, (mb_y * 8) as i32);
    let chroma_off = (mb_y * 8) * cw + mb_x * 8;
    let r = ctx.rounding;
    if mb.kind != MbKind::Inter4V {
        let [mx, my] = mb.mv[0];
        mc_halfpel(
            &ry,
            &mut cur.y,
            (mb_y * 16) * lw + mb_x * 16,
            lw,
            x,
            y,
            mx,
            my,
            16,
            16,
            r,
        );
        let (umx, umy) = (chroma_1mv(mx), chroma_1mv(my));
        mc_halfpel(&ru, &mut cur.u, chroma_off, cw, cx, cy, umx, umy, 8, 8, r);
        mc_halfpel(&rv, &mut cur.v, chroma_off, cw, cx, cy, umx, umy, 8, 8, r);
        return;
    }
    let (vis_w, vis_h) = (ctx.visible_width as i32, ctx.visible_height as i32);
    for (i, &[mx, my]) in mb.mv.iter().enumerate() {
        let (bx, by) = (x + (i as i32 & 1) * 8, y + (i as i32 >> 1) * 8);
        let ex = clipped_vector(bx, mx, 1, -16, vis_w);
        let ey = clipped_vector(by, my, 1, -16, vis_h);
        let off = by as usize * lw + bx as usize;
        mc_halfpel(&ry, &mut cur.y, off, lw, bx, by, ex, ey, 8, 8, r);
    }
    let sum_x: i32 = mb.mv.iter().map(|v| v[0]).sum();
    let sum_y: i32 = mb.mv.iter().map(|v| v[1]).sum();
    let ex = clipped_vector(cx, chroma_4mv(sum_x), 1, -8, vis_w >> 1);
    let ey = clipped_vector(cy, chroma_4mv(sum_y), 1, -8, vis_h >> 1);
    mc_halfpel(&ru, &mut cur.u, chroma_off, cw, cx, cy, ex, ey, 8, 8, r);
    mc_halfpel(&rv, &mut cur.v, chroma_off, cw, cx, cy, ex, ey, 8, 8, r);
}

/// Reconstruct an inter (or not-coded) macroblock of a P-VOP with quarter-sample vectors:
/// prediction from `reference` (16x16, or four 8x8 blocks for 4MV, FFmpeg's clipping and chroma
/// derivation) with the VOP's rounding control, then the residual of the coded blocks.
#[allow(clippy::too_many_arguments)] // `cur` and `reference` are both pictures borrowed apart; the rest are per-MB values
pub fn reconstruct_qpel(
    cur: &mut Picture,
    reference: &Picture,
    params: &PredParams,
    rounding: bool,
    mb: &mut Macroblock,
    mb_x: usize,
    mb_y: usize,
) {
    let four = mb.kind == MbKind::Inter4V;
    let target = cur.mb_target(mb_x, mb_y);
    mb_pred::predict(
        target, reference, params, true, rounding, &mb.mv, four, mb_x, mb_y,
    );
    add_coded_blocks(cur, params.idct, mb.cbp, &mut mb.blocks, mb_x, mb_y);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_takes_the_visible_part() {
        let mut p = Picture::grey(2, 1);
        p.y[33] = 7;
        let f = p.crop(17, 15);
        assert_eq!(
            (f.y.width, f.y.height, f.u.width, f.u.height),
            (17, 15, 9, 8)
        );
        assert_eq!(f.y.data[17 + 1], 7); // row 1, column 1
    }
}
