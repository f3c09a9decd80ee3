//! Interlaced coding tools (ISO/IEC 14496-2, 6.3.6 `dct_type`, `field_prediction`,
//! `forward_top/bottom_field_reference`; 7.6.2.2 field motion compensation; 7.6.9.6 interlaced
//! direct mode): field DCT (the luma blocks of a macroblock cover alternate lines), field motion
//! vectors (one vector per field, each choosing the field of the reference it predicts from),
//! and B-VOP direct mode from a field-predicted co-located macroblock.
//!
//! The arithmetic is FFmpeg's (the oracle of the tests) where the standard leaves room:
//! * the vertical predictor of a field vector is the frame predictor halved toward zero, and the
//!   vector stored for the prediction of later MBs is the average of the two fields': x is
//!   `(x0 + x1) >> 1 | (x0 + x1) & 1`, y is `y0 + y1` (field units -> frame units);
//! * a field's chroma vector is the luma one with H.263's rounding (`src >> 1`, half when the
//!   luma vector has any fraction); quarter-sample fields predict luma as two 8x8 quarter-sample
//!   blocks (the filter mirrors at their edges) and derive chroma from `x / 2`, `y >> 1`;
//! * references are read in frame coordinates clamped to the macroblock-aligned picture, so a
//!   field read past the bottom (or top) edge gets the last (first) line of the frame, whichever
//!   field it belongs to;
//! * in B-VOPs, each field keeps its own vector predictor per direction; a new MB row resets
//!   both, a new video packet only the top field's;
//! * interlaced direct mode scales by field distances derived from frame times rounded to the
//!   first B-VOP's TRB, and drops a B-VOP whose distances are impossible.
#![forbid(unsafe_code)]

use crate::bits::BitReader;
use crate::mpeg4::idct::{idct_add, idct_put, IdctKind};
use crate::mpeg4::macroblock::{Macroblock, MbKind};
use crate::mpeg4::mc::{mc_halfpel, RefPlane};
use crate::mpeg4::mv::{decode_component, MvField, SliceState};
use crate::mpeg4::qpel::mc_qpel;
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
    (rounding, qpel): (bool, bool),
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
            predict_fields(cur, reference, field, (rounding, qpel), mb_x, mb_y)
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

/// Field prediction of both fields of MB (`mb_x`, `mb_y`) from `reference` into `cur`.
fn predict_fields(
    cur: &mut Picture,
    reference: &Picture,
    field: &FieldMotion,
    rounding: (bool, bool),
    mb_x: usize,
    mb_y: usize,
) {
    let (lw, cw) = (cur.width, cur.width / 2);
    let out = PredTarget {
        y: &mut cur.y,
        u: &mut cur.u,
        v: &mut cur.v,
        luma: (mb_y * 16 * lw + mb_x * 16, lw),
        chroma: (mb_y * 8 * cw + mb_x * 8, cw),
    };
    predict_fields_into(out, reference, field, rounding, mb_x, mb_y);
}

/// Where a macroblock's prediction goes: the three planes, and the (offset, line stride) of
/// its luma and chroma top-left samples.
pub struct PredTarget<'a> {
    pub y: &'a mut [u8],
    pub u: &'a mut [u8],
    pub v: &'a mut [u8],
    pub luma: (usize, usize),
    pub chroma: (usize, usize),
}

/// Field prediction of both fields of MB (`mb_x`, `mb_y`) from `reference` into `out`, with
/// (rounding type, quarter-sample vectors) `rounding`.
pub fn predict_fields_into(
    out: PredTarget,
    reference: &Picture,
    field: &FieldMotion,
    (rounding, qpel): (bool, bool),
    mb_x: usize,
    mb_y: usize,
) {
    if qpel {
        predict_fields_qpel(out, reference, field, rounding, mb_x, mb_y);
        return;
    }
    let (lw, lh) = (reference.width, reference.height);
    let ((l_at, l_stride), (c_at, c_stride)) = (out.luma, out.chroma);
    for (parity, (&[mx, my], &select)) in field.mv.iter().zip(&field.select).enumerate() {
        // Luma: 16x8 field block at field line mb_y * 8.
        let src_x = (mb_x * 16) as i32 + (mx >> 1);
        let src_y = (mb_y * 8) as i32 + (my >> 1);
        let luma = Block {
            dst_at: l_at + parity * l_stride,
            dst_stride: 2 * l_stride,
            w: 16,
            h: 8,
        };
        let half = (mx & 1, my & 1);
        field_block(
            &reference.y,
            lw,
            lh,
            out.y,
            luma,
            (src_x, src_y),
            half,
            select,
            rounding,
        );
        // Chroma: H.263 rounding of the field vector (any fraction -> half sample).
        let (cx, cy) = (src_x >> 1, src_y >> 1);
        let chalf = (i32::from(mx & 3 != 0), i32::from(my & 3 != 0));
        let planes = (&mut *out.u, &mut *out.v);
        let field_rows = (c_at + parity * c_stride, 2 * c_stride);
        chroma_field_blocks(
            reference,
            planes,
            field_rows,
            (cx, cy),
            chalf,
            (select, rounding),
        );
    }
}

/// The 8x4 field blocks of both chroma planes, written from `dst_at` every `dst_stride` (one
/// field's rows), predicted at `src` (half-sample flags `half`) from field (`bottom`, `rounding`)
/// of `reference`: the same block of U and of V.
fn chroma_field_blocks(
    reference: &Picture,
    (u, v): (&mut [u8], &mut [u8]),
    (dst_at, dst_stride): (usize, usize),
    src: (i32, i32),
    half: (i32, i32),
    (bottom, rounding): (bool, bool),
) {
    let block = Block {
        dst_at,
        dst_stride,
        w: 8,
        h: 4,
    };
    let (cw, ch) = (reference.width / 2, reference.height / 2);
    field_block(&reference.u, cw, ch, u, block, src, half, bottom, rounding);
    field_block(&reference.v, cw, ch, v, block, src, half, bottom, rounding);
}

/// Quarter-sample field prediction (FFmpeg's `qpel_motion` on fields): luma as two 8x8
/// quarter-sample blocks per field; chroma at half-sample precision from the luma vector's
/// `x / 2` (C division) and `y >> 1`, rounded to chroma half samples keeping any fraction.
fn predict_fields_qpel(
    out: PredTarget,
    reference: &Picture,
    field: &FieldMotion,
    rounding: bool,
    mb_x: usize,
    mb_y: usize,
) {
    let (lw, lh) = (reference.width, reference.height);
    let ((l_at, l_stride), (c_at, c_stride)) = (out.luma, out.chroma);
    for (parity, (&[mx, my], &select)) in field.mv.iter().zip(&field.select).enumerate() {
        let src_x = (mb_x * 16) as i32 + (mx >> 2);
        let src_y = (mb_y * 8) as i32 + (my >> 2);
        // The 17x9 field samples the two 8x8 quarter-sample filters read.
        let mut area = [0u8; 17 * 9];
        gather_field(
            &reference.y,
            lw,
            lh,
            &mut area,
            17,
            9,
            (src_x, src_y),
            select,
        );
        if let Some(plane) = RefPlane::new(&area, 17, 9, 17) {
            for half in 0..2 {
                let at = l_at + parity * l_stride + 8 * half;
                let x = 8 * half as i32;
                let fits = at + 7 * 2 * l_stride + 8 <= out.y.len();
                if fits {
                    mc_qpel(
                        &plane,
                        out.y,
                        at,
                        2 * l_stride,
                        x,
                        0,
                        mx & 3,
                        my & 3,
                        8,
                        rounding,
                    );
                }
            }
        }
        // Luma half samples (x / 2 in C, y >> 1), then chroma half samples keeping any fraction.
        let (hx, hy) = (mx / 2, my >> 1);
        let (cmx, cmy) = ((hx >> 1) | (hx & 1), (hy >> 1) | (hy & 1));
        let chalf = (cmx & 1, cmy & 1);
        let (cx, cy) = (
            (mb_x * 8) as i32 + (cmx >> 1),
            (mb_y * 4) as i32 + (cmy >> 1),
        );
        let planes = (&mut *out.u, &mut *out.v);
        let field_rows = (c_at + parity * c_stride, 2 * c_stride);
        chroma_field_blocks(
            reference,
            planes,
            field_rows,
            (cx, cy),
            chalf,
            (select, rounding),
        );
    }
}

/// Copy `w x h` samples of one field (`bottom`), from field line `src.1` and column `src.0`,
/// into `area` (rows `stride` apart), reading in frame coordinates clamped to the plane.
#[allow(clippy::too_many_arguments)]
fn gather_field(
    plane: &[u8],
    width: usize,
    height: usize,
    area: &mut [u8],
    stride: usize,
    h: usize,
    src: (i32, i32),
    bottom: bool,
) {
    for row in 0..h {
        let frame_line = 2 * (i64::from(src.1) + row as i64) + i64::from(bottom);
        let y = frame_line.clamp(0, height as i64 - 1) as usize;
        for col in 0..stride {
            let x = (i64::from(src.0) + col as i64).clamp(0, width as i64 - 1) as usize;
            area[row * stride + col] = plane.get(y * width + x).copied().unwrap_or(128);
        }
    }
}

/// A destination block: `w x h` samples from `dst_at`, lines `dst_stride` apart.
#[derive(Clone, Copy)]
struct Block {
    dst_at: usize,
    dst_stride: usize,
    w: usize,
    h: usize,
}

/// Predict block `out` of one field: the source is field line `src.1` (field `bottom`) and
/// column `src.0` with half-sample flags `half`, read in frame coordinates clamped to the
/// `width x height` plane.
#[allow(clippy::too_many_arguments)]
fn field_block(
    plane: &[u8],
    width: usize,
    height: usize,
    dst: &mut [u8],
    out: Block,
    src: (i32, i32),
    half: (i32, i32),
    bottom: bool,
    rounding: bool,
) {
    let Block {
        dst_at,
        dst_stride,
        w,
        h,
    } = out;
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

/// Add the residual of the coded luma blocks (`cbp` bit `5 - i`) of MB (`mb_x`, `mb_y`) with
/// field DCT: blocks 0 and 1 on the top field's lines, 2 and 3 on the bottom field's.
pub fn add_field_luma_residual(
    cur: &mut Picture,
    idct: IdctKind,
    cbp: u8,
    blocks: &mut [[i16; 64]; 6],
    mb_x: usize,
    mb_y: usize,
) {
    let ls = cur.width;
    for (i, block) in blocks.iter_mut().enumerate().take(4) {
        if cbp & (32 >> i) != 0 {
            let at = (mb_y * 16 + (i >> 1)) * ls + mb_x * 16 + (i & 1) * 8;
            idct_add(idct, block, &mut cur.y, at, 2 * ls);
        }
    }
}

/// The field vectors of a B macroblock: per direction (forward, backward), per field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BFields {
    pub fwd: FieldMotion,
    pub bwd: FieldMotion,
}

/// Field distances of an interlaced B-VOP (FFmpeg's `pp_field_time`, `pb_field_time`): the
/// frame times rounded to whole frames of `t_frame` ticks (the first B-VOP's distance to its
/// past reference), in fields. `None` when FFmpeg drops the B-VOP for impossible distances.
pub fn field_times(
    time: i64,
    last_reference: i64,
    pp_time: i64,
    t_frame: i64,
) -> Option<(i32, i32)> {
    let t = t_frame.max(1);
    let past = rounded_div(last_reference - pp_time, t);
    let pp = (rounded_div(last_reference, t) - past) * 2;
    let pb = (rounded_div(time, t) - past) * 2;
    if pp <= pb || pb <= 1 {
        return None;
    }
    Some((i32::try_from(pp).ok()?, i32::try_from(pb).ok()?))
}

fn rounded_div(a: i64, b: i64) -> i64 {
    if a >= 0 {
        (a + (b >> 1)) / b
    } else {
        (a - (b >> 1)) / b
    }
}

/// Direct mode with a field-predicted co-located MB (`colocated`): per field, the co-located
/// field vector scaled by the field distances (16-bit, as FFmpeg keeps them), plus `delta`.
pub fn direct_fields(
    colocated: &FieldMotion,
    delta: [i32; 2],
    (pp_field, pb_field): (i32, i32),
    top_field_first: bool,
) -> BFields {
    let mut out = BFields::default();
    for i in 0..2 {
        let fs = i32::from(colocated.select[i]);
        let it = i as i32;
        let (pp, pb) = if top_field_first {
            (pp_field - fs + it, pb_field - fs + it)
        } else {
            (pp_field + fs - it, pb_field + fs - it)
        };
        let (pp, pb) = (i32::from(pp as u16), i32::from(pb as u16));
        if pp == 0 {
            continue;
        }
        let p = colocated.mv[i];
        for c in 0..2 {
            let f = p[c] * pb / pp + delta[c];
            out.fwd.mv[i][c] = f;
            out.bwd.mv[i][c] = if delta[c] != 0 {
                f - p[c]
            } else {
                p[c] * (pb - pp) / pp
            };
        }
        out.fwd.select[i] = colocated.select[i];
        out.bwd.select[i] = i == 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::Rng;
    use crate::video::Video;

    #[test]
    fn the_frame_vector_averages_x_and_adds_field_lines() {
        let m = FieldMotion {
            select: [false, true],
            mv: [[3, -4], [6, 5]],
        };
        // x: (3 + 6) = 9 -> 4 | 1 = 5; y: field lines -4 + 5 = 1 frame half-sample.
        assert_eq!(m.frame_vector(), [5, 1]);
        let m = FieldMotion {
            select: [false, false],
            mv: [[-3, 2], [-4, 2]],
        };
        assert_eq!(m.frame_vector(), [-4 | 1, 4]);
    }

    #[test]
    fn field_times_round_to_whole_frames_and_reject_impossible_ones() {
        // References at 0 and 3 (frames of 1 tick), B at 1: 6 and 2 fields.
        assert_eq!(field_times(1, 3, 3, 1), Some((6, 2)));
        // 1001-tick frames (NTSC-like): the rounding removes the jitter.
        assert_eq!(field_times(1001, 3003, 3003, 1001), Some((6, 2)));
        // A B-VOP at its past reference time (0 fields) is dropped.
        assert_eq!(field_times(0, 3, 3, 1), None);
        assert_eq!(field_times(3, 3, 3, 1), None);
    }

    #[test]
    fn direct_fields_scale_by_field_distance() {
        let colocated = FieldMotion {
            select: [false, true],
            mv: [[8, -4], [12, 6]],
        };
        // pp 6, pb 2 fields, top field first: field 0 from top (0): pp 6, pb 2;
        // field 1 from bottom (1): pp 6 - 1 + 1 = 6, pb 2.
        let d = direct_fields(&colocated, [0, 0], (6, 2), true);
        assert_eq!(d.fwd.mv, [[8 * 2 / 6, -4 * 2 / 6], [12 * 2 / 6, 6 * 2 / 6]]);
        assert_eq!(
            d.bwd.mv,
            [[8 * -4 / 6, -4 * -4 / 6], [12 * -4 / 6, 6 * -4 / 6]]
        );
        assert_eq!((d.fwd.select, d.bwd.select), ([false, true], [false, true]));
        // Bottom field first: field 0 from the bottom field: pp 6 + 1 = 7, pb 3.
        let c = FieldMotion {
            select: [true, false],
            mv: [[7, 0], [0, 0]],
        };
        let d = direct_fields(&c, [1, 0], (6, 2), false);
        assert_eq!(d.fwd.mv[0], [7 * 3 / 7 + 1, 0]);
        assert_eq!(d.bwd.mv[0], [7 * 3 / 7 + 1 - 7, 0]);
        // field 1 from the top field: pp 6 - 1 = 5, pb 1.
        assert_eq!(d.fwd.mv[1], [1, 0]);
    }

    #[test]
    fn field_reads_clamp_in_frame_coordinates() {
        // 4x4 plane, line y holds 10 * y: the bottom field read two lines below the frame
        // gets line 3, and the top field too (frame clamping, not field clamping).
        let plane: Vec<u8> = (0..16).map(|i| 10 * (i / 4) as u8).collect();
        for bottom in [false, true] {
            let mut dst = [0u8; 16 * 2];
            let out = Block {
                dst_at: 0,
                dst_stride: 8,
                w: 4,
                h: 2,
            };
            field_block(&plane, 4, 4, &mut dst, out, (0, 2), (0, 0), bottom, false);
            assert_eq!(&dst[..4], &[30; 4], "bottom {bottom}");
            assert_eq!(&dst[8..12], &[30; 4], "bottom {bottom}");
        }
        // Above the frame: line 0 for both fields.
        let mut dst = [0u8; 16];
        let out = Block {
            dst_at: 0,
            dst_stride: 4,
            w: 4,
            h: 1,
        };
        field_block(&plane, 4, 4, &mut dst, out, (0, -3), (0, 0), true, false);
        assert_eq!(&dst[..4], &[0; 4]);
    }

    /// A 96x64 interlaced clip from FFmpeg's encoder (`-flags +ildct+ilme -bf 2 -top 1` on
    /// woven 50 Hz content), bit-exact with FFmpeg (checked by tests/test_interlaced.py on
    /// fresh encodes).
    const INTERLACED_STREAM: &[u8] = include_bytes!("../../../tests/data/interlaced_bf2.avi");

    fn decode_all(data: Vec<u8>) -> usize {
        let Ok(video) = Video::from_bytes(data) else {
            return 0;
        };
        let (w, h) = (video.width() as usize, video.height() as usize);
        let mut frames = 0;
        for frame in video.frames(None).map_while(|f| f.ok()) {
            assert_eq!((frame.frame.yuv.width(), frame.frame.yuv.height()), (w, h));
            frames += 1;
        }
        frames
    }

    #[test]
    fn mutated_interlaced_streams_decode_without_panicking() {
        assert_eq!(decode_all(INTERLACED_STREAM.to_vec()), 10);
        let mut rng = Rng(0x1e7a_ced5);
        for i in 0..500 {
            decode_all(rng.mutant(INTERLACED_STREAM, i, 200));
        }
    }
}
