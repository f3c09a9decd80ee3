//! Interlaced coding tools of I- and P-VOPs (ISO/IEC 14496-2, 6.3.6 `dct_type`,
//! `field_prediction`, `forward_top/bottom_field_reference`; 7.6.2.2 field motion compensation):
//! field DCT (the luma blocks of a macroblock cover alternate lines), and field motion vectors
//! (one vector per field, each choosing the field of the reference it predicts from).
//!
//! The arithmetic is FFmpeg's (the oracle of the tests) where the standard leaves room:
//! * the vertical predictor of a field vector is the frame predictor halved toward zero, and the
//!   vector stored for the prediction of later MBs is the average of the two fields': x is
//!   `(x0 + x1) >> 1 | (x0 + x1) & 1`, y is `y0 + y1` (field units -> frame units);
//! * a field's chroma vector is the luma one with H.263's rounding (`src >> 1`, half when the
//!   luma vector has any fraction);
//! * references are read in frame coordinates clamped to the macroblock-aligned picture, so a
//!   field read past the bottom (or top) edge gets the last (first) line of the frame, whichever
//!   field it belongs to.
#![forbid(unsafe_code)]

use crate::bits::BitReader;
use crate::mpeg4::idct::{idct_add, idct_put, IdctKind};
use crate::mpeg4::macroblock::{Macroblock, MbKind};
use crate::mpeg4::mc::{mc_halfpel, RefPlane};
use crate::mpeg4::mv::{decode_component, MvField, SliceState};
use crate::mpeg4::recon::Picture;
use crate::mpeg4::vlc::read_mv_code;

/// The two field vectors of a field-predicted macroblock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FieldMotion {
    /// Reference field of the top and the bottom field (false = top, true = bottom).
    pub select: [bool; 2],
    /// Vectors of the top and the bottom field, half samples, vertical in field lines.
    pub mv: [[i32; 2]; 2],
}

impl FieldMotion {
    /// The frame vector FFmpeg keeps for the macroblock (MV prediction of later MBs, export).
    pub fn frame_vector(&self) -> [i32; 2] {
        let sx = self.mv[0][0] + self.mv[1][0];
        [(sx >> 1) | (sx & 1), self.mv[0][1] + self.mv[1][1]]
    }
}

/// Parse `field_prediction`'s payload (the two field selects and the two vectors) of a 16x16
/// inter macroblock at (`mb_x`, `mb_y`) and store its frame vector in `mvs`.
pub fn read_field_motion(
    r: &mut BitReader,
    mvs: &mut MvField,
    slice: &SliceState,
    f_code: u8,
    mb_x: usize,
    mb_y: usize,
) -> Result<FieldMotion, &'static str> {
    let select = [r.read_bit(), r.read_bit()];
    let pred = mvs.predict(mb_x, mb_y, 0, slice);
    let mut mv = [[0i32; 2]; 2];
    for field in &mut mv {
        let x = decode_component(r, read_mv_code, pred[0], f_code);
        let y = decode_component(r, read_mv_code, pred[1] / 2, f_code);
        *field = [
            x.ok_or("invalid motion vector code")?,
            y.ok_or("invalid motion vector code")?,
        ];
    }
    let motion = FieldMotion { select, mv };
    mvs.set_mb(mb_x, mb_y, motion.frame_vector());
    Ok(motion)
}

/// Reconstruct a macroblock that uses field DCT or field prediction: prediction (by `frame`,
/// the usual path, unless `mb.field` asks for field prediction), then the residual, placed on
/// alternate lines for field DCT.
#[allow(clippy::too_many_arguments)]
pub fn reconstruct(
    cur: &mut Picture,
    reference: Option<&Picture>,
    idct: IdctKind,
    rounding: bool,
    mb: &mut Macroblock,
    mb_x: usize,
    mb_y: usize,
    frame: impl FnOnce(&mut Picture, &mut Macroblock),
) {
    let (ls, cs) = (cur.width, cur.width / 2);
    let chroma_at = mb_y * 8 * cs + mb_x * 8;
    // Luma block i starts at line (i >> 1) of the MB for field DCT (8 * (i >> 1) for frame
    // DCT) and covers every other line.
    let (line_step, block_rows) = if mb.field_dct { (2, 1) } else { (1, 8) };
    let luma_at = |i: usize| (mb_y * 16 + (i >> 1) * block_rows) * ls + mb_x * 16 + (i & 1) * 8;
    if mb.kind == MbKind::Intra {
        for i in 0..4 {
            idct_put(
                idct,
                &mut mb.blocks[i],
                &mut cur.y,
                luma_at(i),
                ls * line_step,
            );
        }
        idct_put(idct, &mut mb.blocks[4], &mut cur.u, chroma_at, cs);
        idct_put(idct, &mut mb.blocks[5], &mut cur.v, chroma_at, cs);
        return;
    }
    let cbp = std::mem::replace(&mut mb.cbp, 0);
    match (&mb.field, reference) {
        (Some(field), Some(reference)) => {
            predict_fields(cur, reference, field, rounding, mb_x, mb_y)
        }
        _ => frame(cur, mb),
    }
    mb.cbp = cbp;
    for i in 0..4 {
        if mb.coded(i) {
            idct_add(
                idct,
                &mut mb.blocks[i],
                &mut cur.y,
                luma_at(i),
                ls * line_step,
            );
        }
    }
    if mb.coded(4) {
        idct_add(idct, &mut mb.blocks[4], &mut cur.u, chroma_at, cs);
    }
    if mb.coded(5) {
        idct_add(idct, &mut mb.blocks[5], &mut cur.v, chroma_at, cs);
    }
}

/// Field prediction of both fields of MB (`mb_x`, `mb_y`) from `reference`.
fn predict_fields(
    cur: &mut Picture,
    reference: &Picture,
    field: &FieldMotion,
    rounding: bool,
    mb_x: usize,
    mb_y: usize,
) {
    let (lw, lh) = (reference.width, reference.height);
    let (cw, ch) = (lw / 2, lh / 2);
    for (parity, (&[mx, my], &select)) in field.mv.iter().zip(&field.select).enumerate() {
        // Luma: 16x8 field block at field line mb_y * 8.
        let src_x = (mb_x * 16) as i32 + (mx >> 1);
        let src_y = (mb_y * 8) as i32 + (my >> 1);
        let dst = (mb_y * 16 + parity) * lw + mb_x * 16;
        let half = (mx & 1, my & 1);
        field_block(
            &reference.y,
            lw,
            lh,
            &mut cur.y,
            dst,
            16,
            8,
            (src_x, src_y),
            half,
            select,
            rounding,
        );
        // Chroma: H.263 rounding of the field vector (any fraction -> half sample).
        let (cx, cy) = (src_x >> 1, src_y >> 1);
        let chalf = (i32::from(mx & 3 != 0), i32::from(my & 3 != 0));
        let dst = (mb_y * 8 + parity) * cw + mb_x * 8;
        for (src, out) in [(&reference.u, &mut cur.u), (&reference.v, &mut cur.v)] {
            field_block(
                src,
                cw,
                ch,
                out,
                dst,
                8,
                4,
                (cx, cy),
                chalf,
                select,
                rounding,
            );
        }
    }
}

/// Predict a `w x h` block of one field into `dst` (every other line from `dst_at`): the source
/// is field line `src.1` (field `bottom`) and column `src.0` with half-sample flags `half`,
/// read in frame coordinates clamped to the `width x height` plane.
#[allow(clippy::too_many_arguments)]
fn field_block(
    plane: &[u8],
    width: usize,
    height: usize,
    dst: &mut [u8],
    dst_at: usize,
    w: usize,
    h: usize,
    src: (i32, i32),
    half: (i32, i32),
    bottom: bool,
    rounding: bool,
) {
    // Gather the (w + 1) x (h + 1) field samples, then use the half-sample kernel on them.
    let mut area = [0u8; 17 * 9];
    let stride = 17;
    for row in 0..=h {
        let frame_line = 2 * (i64::from(src.1) + row as i64) + i64::from(bottom);
        let y = frame_line.clamp(0, height as i64 - 1) as usize;
        for col in 0..=w {
            let x = (i64::from(src.0) + col as i64).clamp(0, width as i64 - 1) as usize;
            area[row * stride + col] = plane.get(y * width + x).copied().unwrap_or(128);
        }
    }
    let Some(area_plane) = RefPlane::new(&area, w + 1, h + 1, stride) else {
        return;
    };
    let dst_stride = width * 2;
    if dst_at + (h - 1) * dst_stride + w > dst.len() {
        return;
    }
    mc_halfpel(
        &area_plane,
        dst,
        dst_at,
        dst_stride,
        0,
        0,
        half.0,
        half.1,
        w,
        h,
        rounding,
    );
}
