//! B-VOPs (ISO/IEC 14496-2 6.2.6 / 7.6.9, Advanced Simple Profile): the macroblock layer
//! (`modb`, `mb_type`, `cbpb`, `dbquant`, forward/backward MVDs, direct-mode delta) and the
//! bidirectional reconstruction from the past and the future reference (the two most recent
//! I/P-VOPs). B-VOPs are never references themselves.
//!
//! Semantics follow FFmpeg's `mpeg4_decode_mb` (the oracle of the tests) where the standard
//! leaves room:
//! * a macroblock whose co-located MB in the future reference was `not_coded` is not coded
//!   either (no bits): a forward copy with a zero vector;
//! * the forward and backward MV predictors are reset at the start of every MB row and video
//!   packet, and only forward/backward/interpolated MBs update them (not direct ones);
//! * direct mode scales the co-located vectors by TRB/TRD with C division (toward zero); with
//!   quarter-sample vectors, direct MBs are always predicted as four 8x8 blocks;
//! * interpolated prediction is the rounded average `(f + b + 1) >> 1` of the two predictions,
//!   each made with rounding control 0 (B-VOPs carry no `vop_rounding_type`).
#![forbid(unsafe_code)]

use crate::bits::BitReader;
use crate::frame::{FrameType, MotionVector};
use crate::mpeg4::header::{Encoder, EncoderInfo};
use crate::mpeg4::header::{VolHeader, VopHeader};
use crate::mpeg4::idct::{idct_add, IdctKind};
use crate::mpeg4::interlaced::{self, BFields, FieldMotion, PredTarget};
use crate::mpeg4::macroblock::{add_dquant, Macroblock, MbKind};
use crate::mpeg4::mc::mc_halfpel;
use crate::mpeg4::mode::Target;
use crate::mpeg4::mv::{chroma_1mv, chroma_4mv, decode_component, MvField};
use crate::mpeg4::qpel::{chroma_1mv_qpel_with, chroma_4mv_qpel_sum, mc_qpel, QpelChroma};
use crate::mpeg4::recon::Picture;
use crate::mpeg4::texture::TextureDecoder;
use crate::mpeg4::vlc::read_mv_code;

/// The B macroblock types of Table B-4 (plus the two kinds of skipped MB).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BMbType {
    /// Co-located MB of the future reference not coded: forward copy, vector (0, 0).
    Skipped,
    /// Direct mode (`modb = 1` is direct with a zero delta and no texture).
    Direct,
    Interpolated,
    Backward,
    Forward,
}

impl BMbType {
    fn forward(self) -> bool {
        matches!(
            self,
            BMbType::Skipped | BMbType::Direct | BMbType::Interpolated | BMbType::Forward
        )
    }

    fn backward(self) -> bool {
        matches!(
            self,
            BMbType::Direct | BMbType::Interpolated | BMbType::Backward
        )
    }
}

/// `mb_type` of a B-VOP (Table B-4): `1` direct, `01` interpolate, `001` backward,
/// `0001` forward; `None` for the invalid `0000`.
pub fn read_mb_type_b(r: &mut BitReader) -> Option<BMbType> {
    const TYPES: [BMbType; 4] = [
        BMbType::Direct,
        BMbType::Interpolated,
        BMbType::Backward,
        BMbType::Forward,
    ];
    TYPES.into_iter().find(|_| r.read_bit())
}

/// `dbquant` (Table 6-... of 6.3.6): `0` -> 0, `10` -> -2, `11` -> +2.
pub fn read_dbquant(r: &mut BitReader) -> i32 {
    if !r.read_bit() {
        0
    } else if r.read_bit() {
        2
    } else {
        -2
    }
}

/// Direct-mode vectors of one 8x8 block (7.6.9.5): from the co-located vector `p` of the future
/// reference, the delta `delta` and the temporal distances TRB (past reference to this VOP)
/// and TRD (past to future reference). Returns (forward, backward).
pub fn direct_vectors(p: [i32; 2], delta: [i32; 2], trb: i32, trd: i32) -> ([i32; 2], [i32; 2]) {
    let mut fwd = [0; 2];
    let mut bwd = [0; 2];
    for c in 0..2 {
        fwd[c] = p[c] * trb / trd + delta[c];
        bwd[c] = if delta[c] != 0 {
            fwd[c] - p[c]
        } else {
            p[c] * (trb - trd) / trd
        };
    }
    (fwd, bwd)
}

/// The two references and what direct mode needs from the future one.
pub struct BRefs<'a> {
    /// Older reference (forward prediction).
    pub past: &'a Picture,
    /// Newer reference (backward prediction), the VOP decoded last before the B-VOPs.
    pub future: &'a Picture,
    /// Per-8x8-block vectors of the future reference (zero for intra MBs and I-VOPs).
    pub future_mvs: &'a MvField,
    /// MB kinds of the future reference (`Skipped` = `not_coded`, `Inter4V` = four vectors).
    pub future_kinds: &'a [MbKind],
    /// Field vectors of the future reference's field-predicted MBs (interlaced video).
    pub future_fields: &'a [Option<FieldMotion>],
}

/// Encoder bugs FFmpeg works around in ASP streams, detected from the encoder's user data
/// (and container tag) exactly as FFmpeg's `ff_mpeg4_workaround_bugs` does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quirks {
    /// Chroma vector derivation of 16x16 quarter-sample MBs.
    pub qpel_chroma: QpelChroma,
}

impl Quirks {
    /// The workarounds for a stream written by `encoder` (in a container tagged `fourcc`).
    /// A DivX string next to another encoder's keeps only its version, so an unknown DivX
    /// build counts as an old one (< 1814).
    pub fn detect(encoder: &EncoderInfo, fourcc: Option<&str>) -> Quirks {
        let xvid_build = match encoder.kind {
            Encoder::Xvid => encoder.build,
            Encoder::Unknown
                if matches!(fourcc, Some("XVID" | "XVIX" | "RMP4" | "ZMP4" | "SIPP")) =>
            {
                Some(0)
            }
            _ => None,
        };
        let divx = match (encoder.kind, encoder.version) {
            (Encoder::Xvid, _) => None,
            (Encoder::Divx, Some(v)) => Some((v, encoder.build.unwrap_or(0))),
            (_, Some(v)) => Some((v, 0)),
            _ => None,
        };
        let old_divx = |min: u32| divx.is_some_and(|(v, b)| v >= min && b < 1814);
        let qpel_chroma = if old_divx(503) {
            QpelChroma::Bug2
        } else if old_divx(500) || xvid_build.is_some_and(|b| b <= 1) {
            QpelChroma::Bug
        } else {
            QpelChroma::Standard
        };
        // FFmpeg also flags FF_BUG_DIRECT_BLOCKSIZE for DivX, but its direct-mode code reads
        // the user's `avctx->workaround_bugs`, not the detected ones, so it never takes effect.
        Quirks { qpel_chroma }
    }
}

/// Stream-level parameters of a B-VOP.
pub struct BParams {
    pub idct: IdctKind,
    /// Visible size (8x8 block source clipping as FFmpeg).
    pub width: usize,
    pub height: usize,
    pub mb_width: usize,
    pub mb_height: usize,
    /// TRB and TRD in VOP clock ticks (FFmpeg's `pb_time`, `pp_time`); TRD > 0.
    pub trb: i32,
    pub trd: i32,
    pub quirks: Quirks,
    /// Interlaced VOL: FFmpeg's `pp_field_time`, `pb_field_time` (see
    /// [`interlaced::field_times`]); `None` for progressive video.
    pub field_times: Option<(i32, i32)>,
    /// Which vectors B-VOPs export.
    pub b_motion: BMotion,
}

/// What a B-VOP exports as its motion vectors (the entries' layout is the same either way).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BMotion {
    /// Exactly FFmpeg's export: the entries it writes, all with motion 0.
    #[default]
    Ffmpeg,
    /// The vectors the macroblocks are predicted with (see `export`).
    Real,
}

/// What decoding a B-VOP reports.
#[derive(Clone, Debug, Default)]
pub struct BOutput {
    /// Macroblocks lost to bitstream errors (concealed by a forward copy).
    pub damaged_mbs: usize,
    /// Exported vectors exactly as FFmpeg exports them: per MB, its forward entries (source -1)
    /// then its backward ones (source +1), all with motion 0 (see `export`).
    pub motion_vectors: Vec<MotionVector>,
}

/// One parsed B macroblock.
struct BMb {
    kind: BMbType,
    /// Four 8x8 vectors per direction (all equal unless `four`).
    fwd: [[i32; 2]; 4],
    bwd: [[i32; 2]; 4],
    /// Predict as four 8x8 blocks (direct mode with a 4MV co-located MB, or any direct MB
    /// with quarter-sample vectors).
    four: bool,
    /// Export four 8x8 vectors (co-located MB had four).
    export_four: bool,
    cbp: u8,
    blocks: [[i16; 64]; 6],
    /// Interlaced: field DCT, and field vectors (then `fwd`/`bwd` are unused).
    field_dct: bool,
    field: Option<BFields>,
}

/// Decode the B-VOP whose macroblock data starts at `r` into `target` (a macroblock-aligned
/// picture, or the coefficient record).
#[allow(clippy::too_many_arguments)] // the VOP's headers, both references and decoder state, borrowed separately
pub fn decode_bvop(
    r: &mut BitReader,
    vol: &VolHeader,
    header: &VopHeader,
    params: &BParams,
    refs: &BRefs,
    texture: &mut TextureDecoder,
    target: &mut Target,
) -> BOutput {
    let total = params.mb_width * params.mb_height;
    let mut out = BOutput::default();
    texture.start_vop(vol, header);
    let syntax = PacketSyntax::new(vol, header, total);
    let mut qscale = header.quant.clamp(1, 31);
    let mut pred = [[0i32; 2]; 2];
    let mut mb = BMb {
        kind: BMbType::Skipped,
        fwd: [[0; 2]; 4],
        bwd: [[0; 2]; 4],
        four: false,
        export_four: false,
        cbp: 0,
        blocks: [[0; 64]; 6],
        field_dct: false,
        field: None,
    };
    // Interlaced: the predictors of the bottom field's vectors (`pred` holds the top's).
    let mut pred_bottom = [[0i32; 2]; 2];
    let mut mb_index = 0;
    while mb_index < total {
        let (mb_x, mb_y) = (mb_index % params.mb_width, mb_index / params.mb_width);
        if mb_x == 0 {
            pred = [[0; 2]; 2];
            pred_bottom = [[0; 2]; 2];
        }
        let colocated = refs.future_kinds.get(mb_index).copied();
        let parsed = decode_mb(
            r,
            vol.quarter_sample,
            header,
            params,
            refs,
            colocated,
            (mb_x, mb_y),
            &mut qscale,
            (&mut pred, &mut pred_bottom),
            texture,
            &mut mb,
        );
        if parsed.is_err() {
            // Conceal the rest of the VOP with forward copies and report it. Unlike I/P-VOPs
            // there is no search for a later video packet to resume from (B-VOPs are never
            // references, so the damage does not propagate).
            for k in mb_index..total {
                target.conceal(Some(refs.past), k % params.mb_width, k / params.mb_width);
            }
            out.damaged_mbs = total - mb_index;
            return out;
        }
        match target {
            Target::Pixels { cur, residual } => {
                if !*residual {
                    mb.cbp = 0;
                }
                reconstruct(cur, params, refs, vol.quarter_sample, &mut mb, mb_x, mb_y);
            }
            Target::Coefficients(record) => {
                record.store(&mb.blocks, mb.cbp, false, qscale, mb_x, mb_y);
                if mb.field_dct {
                    record.mark_field_dct(mb_x, mb_y);
                }
            }
            Target::Skip => {}
        }
        export(
            &mut out.motion_vectors,
            &mb,
            (mb_x, mb_y),
            vol.quarter_sample,
            params.b_motion,
        );
        mb_index += 1;
        let mut after = r.clone();
        if let Some(next) = syntax.as_ref().and_then(|s| s.next_packet(&mut after)) {
            // Like FFmpeg: a packet that starts further on leaves a macroblock that is skipped
            // in the future reference in this packet (it takes no bits).
            let next_skipped = refs.future_kinds.get(mb_index) == Some(&MbKind::Skipped);
            if next.mb_index > mb_index && next_skipped {
                continue;
            }
            *r = after;
            if next.mb_index < mb_index {
                continue;
            }
            for k in mb_index..next.mb_index.min(total) {
                target.conceal(Some(refs.past), k % params.mb_width, k / params.mb_width);
                out.damaged_mbs += 1;
            }
            mb_index = next.mb_index;
            if let Some(q) = next.qscale {
                qscale = q.clamp(1, 31);
            }
            // FFmpeg's packet start resets only the top field's (frame) predictors.
            pred = [[0; 2]; 2];
            texture.start_packet(mb_index);
        }
    }
    out
}

/// Parse one B macroblock into `mb` (coefficients dequantised).
#[allow(clippy::too_many_arguments)] // the macroblock syntax's inputs, borrowed separately from the VOP loop
fn decode_mb(
    r: &mut BitReader,
    qpel: bool,
    header: &VopHeader,
    params: &BParams,
    refs: &BRefs,
    colocated: Option<MbKind>,
    (mb_x, mb_y): (usize, usize),
    qscale: &mut u8,
    (pred, pred_bottom): (&mut [[i32; 2]; 2], &mut [[i32; 2]; 2]),
    texture: &mut TextureDecoder,
    mb: &mut BMb,
) -> std::result::Result<(), &'static str> {
    mb.cbp = 0;
    mb.four = false;
    mb.export_four = false;
    mb.field_dct = false;
    mb.field = None;
    if colocated == Some(MbKind::Skipped) {
        mb.kind = BMbType::Skipped;
        mb.fwd = [[0; 2]; 4];
        mb.bwd = [[0; 2]; 4];
        return Ok(());
    }
    // modb: `1` = direct with no delta and no texture; `01` = mb_type, no cbpb; `00` = both.
    let (kind, has_delta) = if r.read_bit() {
        (BMbType::Direct, false)
    } else {
        let no_cbpb = r.read_bit();
        let kind = read_mb_type_b(r).ok_or("invalid B mb_type")?;
        if !no_cbpb {
            mb.cbp = r.read(6) as u8;
        }
        if kind != BMbType::Direct && mb.cbp != 0 {
            *qscale = add_dquant(*qscale, read_dbquant(r));
        }
        if params.field_times.is_some() {
            mb.field_dct = mb.cbp != 0 && r.read_bit();
            if kind != BMbType::Direct && r.read_bit() {
                let mut fields = BFields::default();
                if kind.forward() {
                    fields.fwd.select = [r.read_bit(), r.read_bit()];
                }
                if kind.backward() {
                    fields.bwd.select = [r.read_bit(), r.read_bit()];
                }
                mb.field = Some(fields);
            }
        }
        (kind, true)
    };
    mb.kind = kind;
    let read = |r: &mut BitReader, p: i32, f: u8| {
        decode_component(r, read_mv_code, p, f).ok_or("invalid motion vector code")
    };
    match kind {
        BMbType::Direct => {
            // mvdb_x / mvdb_y: f_code 1, predictor 0.
            let delta = if has_delta {
                [read(r, 0, 1)?, read(r, 0, 1)?]
            } else {
                [0, 0]
            };
            let colocated_fields = refs.future_fields.get(mb_y * params.mb_width + mb_x);
            if let (Some(Some(c)), Some(times)) = (colocated_fields, params.field_times) {
                mb.field = Some(interlaced::direct_fields(
                    c,
                    delta,
                    times,
                    header.top_field_first,
                ));
            }
            let four_colocated = colocated == Some(MbKind::Inter4V);
            mb.export_four = four_colocated;
            mb.four = four_colocated || qpel;
            for block in 0..4 {
                let src_block = if four_colocated { block } else { 0 };
                let p = refs.future_mvs.get(mb_x, mb_y, src_block);
                let (f, b) = direct_vectors(p, delta, params.trb, params.trd);
                mb.fwd[block] = f;
                mb.bwd[block] = b;
            }
        }
        _ if mb.field.is_some() => {
            // Field vectors: per field, predicted from that field's last vector (vertical
            // halved), which then holds the vector in frame units.
            let fields = mb.field.as_mut().ok_or("field vectors")?;
            for (dir, motion, f) in [
                (0, &mut fields.fwd, header.fcode_forward.max(1)),
                (1, &mut fields.bwd, header.fcode_backward.max(1)),
            ] {
                if (dir == 0 && !kind.forward()) || (dir == 1 && !kind.backward()) {
                    continue;
                }
                for (i, p) in [&mut pred[dir], &mut pred_bottom[dir]]
                    .into_iter()
                    .enumerate()
                {
                    let mv = [read(r, p[0], f)?, read(r, p[1] / 2, f)?];
                    motion.mv[i] = mv;
                    *p = [mv[0], mv[1] * 2];
                }
            }
        }
        _ => {
            if kind.forward() {
                let f = header.fcode_forward.max(1);
                let mv = [read(r, pred[0][0], f)?, read(r, pred[0][1], f)?];
                pred[0] = mv;
                pred_bottom[0] = mv;
                mb.fwd = [mv; 4];
            }
            if kind.backward() {
                let f = header.fcode_backward.max(1);
                let mv = [read(r, pred[1][0], f)?, read(r, pred[1][1], f)?];
                pred[1] = mv;
                pred_bottom[1] = mv;
                mb.bwd = [mv; 4];
            }
        }
    }
    for i in 0..6 {
        if mb.cbp & (32 >> i) != 0 {
            mb.blocks[i].fill(0);
            texture.decode_inter_block(r, *qscale, &mut mb.blocks[i])?;
        }
    }
    texture.mark_inter(mb_x, mb_y);
    if r.overrun() {
        return Err("macroblock runs past the end of the VOP");
    }
    Ok(())
}

/// A 16x16 luma + two 8x8 chroma prediction buffer.
struct MbPred {
    y: [u8; 256],
    u: [u8; 64],
    v: [u8; 64],
}

impl MbPred {
    fn new() -> Self {
        MbPred {
            y: [0; 256],
            u: [0; 64],
            v: [0; 64],
        }
    }
}

/// Predict one direction of a macroblock from `reference` into `out`.
#[allow(clippy::too_many_arguments)] // plain values of the per-macroblock hot path; a struct would be filled per call
fn predict(
    out: &mut MbPred,
    reference: &Picture,
    params: &BParams,
    qpel: bool,
    rounding: bool,
    mvs: &[[i32; 2]; 4],
    four: bool,
    mb_x: usize,
    mb_y: usize,
) {
    let Some([ry, ru, rv]) = reference.ref_planes() else {
        return;
    };
    let (x, y) = ((mb_x * 16) as i32, (mb_y * 16) as i32);
    let (cx, cy) = ((mb_x * 8) as i32, (mb_y * 8) as i32);
    if !four {
        let [mx, my] = mvs[0];
        let (umx, umy) = if qpel {
            mc_qpel(&ry, &mut out.y, 0, 16, x, y, mx, my, 16, rounding);
            (
                chroma_1mv_qpel_with(mx, params.quirks.qpel_chroma),
                chroma_1mv_qpel_with(my, params.quirks.qpel_chroma),
            )
        } else {
            mc_halfpel(&ry, &mut out.y, 0, 16, x, y, mx, my, 16, 16, rounding);
            (chroma_1mv(mx), chroma_1mv(my))
        };
        mc_halfpel(&ru, &mut out.u, 0, 8, cx, cy, umx, umy, 8, 8, rounding);
        mc_halfpel(&rv, &mut out.v, 0, 8, cx, cy, umx, umy, 8, 8, rounding);
        return;
    }
    let (vis_w, vis_h) = (params.width as i32, params.height as i32);
    let shift = if qpel { 2 } else { 1 };
    for (i, &[mx, my]) in mvs.iter().enumerate() {
        let (bx, by) = (x + (i as i32 & 1) * 8, y + (i as i32 >> 1) * 8);
        let ex = clipped_vector(bx, mx, shift, -16, vis_w);
        let ey = clipped_vector(by, my, shift, -16, vis_h);
        let off = (i >> 1) * 8 * 16 + (i & 1) * 8;
        if qpel {
            mc_qpel(&ry, &mut out.y, off, 16, bx, by, ex, ey, 8, rounding);
        } else {
            mc_halfpel(&ry, &mut out.y, off, 16, bx, by, ex, ey, 8, 8, rounding);
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
    mc_halfpel(&ru, &mut out.u, 0, 8, cx, cy, ex, ey, 8, 8, rounding);
    mc_halfpel(&rv, &mut out.v, 0, 8, cx, cy, ex, ey, 8, 8, rounding);
}

/// FFmpeg clips an 8x8 block's integer source position to [lo, hi] and drops the fractional
/// offset when it lands on `hi`; return the vector (in units of 1/2^shift) reproducing that.
fn clipped_vector(pos: i32, mv: i32, shift: u32, lo: i32, hi: i32) -> i32 {
    let src = pos + (mv >> shift);
    let clipped = src.clamp(lo, hi.max(lo));
    let frac = if clipped == hi {
        0
    } else {
        mv & ((1 << shift) - 1)
    };
    ((clipped - pos) << shift) + frac
}

/// Write the prediction(s) and the residual of MB (`mb_x`, `mb_y`) into `cur`.
fn reconstruct(
    cur: &mut Picture,
    params: &BParams,
    refs: &BRefs,
    qpel: bool,
    mb: &mut BMb,
    mb_x: usize,
    mb_y: usize,
) {
    let mut a = MbPred::new();
    let kind = mb.kind;
    let fields = |out: &mut MbPred, reference: &Picture, motion: &FieldMotion| {
        let target = PredTarget {
            y: &mut out.y,
            u: &mut out.u,
            v: &mut out.v,
            luma: (0, 16),
            chroma: (0, 8),
        };
        interlaced::predict_fields_into(target, reference, motion, (false, qpel), mb_x, mb_y);
    };
    if kind.forward() {
        match &mb.field {
            Some(f) => fields(&mut a, refs.past, &f.fwd),
            None => predict(
                &mut a, refs.past, params, qpel, false, &mb.fwd, mb.four, mb_x, mb_y,
            ),
        }
    }
    if kind.backward() {
        let mut b = MbPred::new();
        match &mb.field {
            Some(f) => fields(&mut b, refs.future, &f.bwd),
            None => predict(
                &mut b,
                refs.future,
                params,
                qpel,
                false,
                &mb.bwd,
                mb.four,
                mb_x,
                mb_y,
            ),
        }
        if kind.forward() {
            average_into(&mut a.y, &b.y);
            average_into(&mut a.u, &b.u);
            average_into(&mut a.v, &b.v);
        } else {
            a = b;
        }
    }
    let cbp = mb.cbp;
    if mb.field_dct {
        // Chroma residual as usual, luma on alternate lines.
        add_residual(cur, params.idct, &a, cbp & 3, &mut mb.blocks, mb_x, mb_y);
        interlaced::add_field_luma_residual(cur, params.idct, cbp, &mut mb.blocks, mb_x, mb_y);
        return;
    }
    add_residual(cur, params.idct, &a, cbp, &mut mb.blocks, mb_x, mb_y);
}

/// Write the prediction `pred` of MB (`mb_x`, `mb_y`) into `cur` and add the IDCT of the coded
/// blocks (`cbp` bit `5 - i` for block `i`).
fn add_residual(
    cur: &mut Picture,
    idct: IdctKind,
    pred: &MbPred,
    cbp: u8,
    blocks: &mut [[i16; 64]; 6],
    mb_x: usize,
    mb_y: usize,
) {
    let (ls, cs) = (cur.width, cur.width / 2);
    for row in 0..16 {
        let at = (mb_y * 16 + row) * ls + mb_x * 16;
        if let Some(d) = cur.y.get_mut(at..at + 16) {
            d.copy_from_slice(&pred.y[row * 16..row * 16 + 16]);
        }
    }
    for row in 0..8 {
        let at = (mb_y * 8 + row) * cs + mb_x * 8;
        if let Some(d) = cur.u.get_mut(at..at + 8) {
            d.copy_from_slice(&pred.u[row * 8..row * 8 + 8]);
        }
        if let Some(d) = cur.v.get_mut(at..at + 8) {
            d.copy_from_slice(&pred.v[row * 8..row * 8 + 8]);
        }
    }
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

/// `a = (a + b + 1) >> 1`, FFmpeg's `avg_pixels` on the forward prediction.
fn average_into(a: &mut [u8], b: &[u8]) {
    for (x, &y) in a.iter_mut().zip(b) {
        *x = ((u16::from(*x) + u16::from(y) + 1) >> 1) as u8;
    }
}

/// Append the MB's entries in FFmpeg's export order and form: per direction it uses (forward
/// = source -1, then backward = +1) one 16x16 entry, four 8x8 ones when the co-located MB of
/// direct mode had four vectors, or two 16x8 ones (top field, bottom field) for a field MB. With
/// [`BMotion::Ffmpeg`] the motion is 0, like FFmpeg's (its MPEG-4 decoder never stores B-VOP
/// vectors).
///
/// With [`BMotion::Real`] each entry carries the vector its block is predicted with, in the
/// stream's units (`motion_scale` 2: half samples, 4: quarter samples) and `src = dst + motion /
/// motion_scale` (C division): skipped MBs forward (0, 0); forward/backward MBs their decoded
/// vector; interpolated MBs both; direct MBs the forward and backward vectors derived from the
/// co-located ones (7.6.9.5), as four 8x8 entries per direction whenever the MB is predicted as
/// four blocks (co-located 4MV, or any direct MB of a quarter-sample VOP). Field MBs (interlaced)
/// keep their two 16x8 entries, each with its field's displacement in frame units (see
/// [`field_displacement`]).
fn export(
    out: &mut Vec<MotionVector>,
    mb: &BMb,
    (mb_x, mb_y): (usize, usize),
    qpel: bool,
    b_motion: BMotion,
) {
    let scale: u16 = if qpel { 4 } else { 2 };
    let real = b_motion == BMotion::Real;
    let fields = mb.field.as_ref();
    let (four, halves) = if real {
        (mb.four && fields.is_none(), fields.is_some())
    } else {
        (mb.export_four, fields.is_some() && !mb.export_four)
    };
    for (source, used, mvs) in [
        (-1, mb.kind.forward(), &mb.fwd),
        (1, mb.kind.backward(), &mb.bwd),
    ] {
        if !used {
            continue;
        }
        let blocks: &[usize] = match (four, halves) {
            (true, _) => &[0, 1, 2, 3],
            (false, true) => &[0, 1],
            _ => &[0],
        };
        for &i in blocks {
            let (size, cx, cy) = if four {
                (
                    8u8,
                    mb_x * 16 + 4 + 8 * (i & 1),
                    mb_y * 16 + 4 + 8 * (i >> 1),
                )
            } else if halves {
                // Field MBs: two 16x8 entries (FFmpeg's 16x8 interlaced MB type).
                (16u8, mb_x * 16 + 8, mb_y * 16 + 4 + 8 * i)
            } else {
                (16u8, mb_x * 16 + 8, mb_y * 16 + 8)
            };
            let [mx, my] = match (real, fields) {
                (false, _) => [0, 0],
                (true, Some(f)) => {
                    let motion = if source < 0 { &f.fwd } else { &f.bwd };
                    field_displacement(motion, i, scale)
                }
                (true, None) => mvs[i],
            };
            let (dx, dy) = (cx as i32, cy as i32);
            out.push(MotionVector {
                source,
                w: size,
                h: if halves { 8 } else { size },
                src_x: (dx + mx / i32::from(scale)) as i16,
                src_y: (dy + my / i32::from(scale)) as i16,
                dst_x: dx as i16,
                dst_y: dy as i16,
                motion_x: mx,
                motion_y: my,
                motion_scale: scale,
            });
        }
    }
}

/// The displacement of field `field` (0 top, 1 bottom) of a field-predicted MB in frame units of
/// 1/`scale` sample: horizontally its vector; vertically its vector (field lines, i.e. two frame
/// rows each) plus the parity step to the reference field it selects. The record cannot say
/// that the prediction interpolates within that field.
fn field_displacement(motion: &FieldMotion, field: usize, scale: u16) -> [i32; 2] {
    let [mx, my] = motion.mv[field];
    let parity = i32::from(motion.select[field]) - field as i32;
    [mx, 2 * my + i32::from(scale) * parity]
}

/// A video packet header found after a macroblock.
struct NextPacket {
    mb_index: usize,
    qscale: Option<u8>,
}

/// Video-packet syntax of one B-VOP (only when resync markers are enabled).
struct PacketSyntax {
    prefix_zeros: usize,
    mb_num_bits: u32,
    total: usize,
    quant_precision: u32,
    time_increment_bits: u32,
}

impl PacketSyntax {
    fn new(vol: &VolHeader, header: &VopHeader, total: usize) -> Option<Self> {
        if vol.resync_marker_disable {
            return None;
        }
        let f = usize::from(header.fcode_forward.max(header.fcode_backward).max(2));
        Some(PacketSyntax {
            prefix_zeros: 15 + f,
            mb_num_bits: usize::BITS - total.saturating_sub(1).leading_zeros(),
            total,
            quant_precision: u32::from(vol.quant_precision),
            time_increment_bits: vol.time_increment_bits,
        })
    }

    /// After a macroblock: the packet that starts here, if any (FFmpeg's `mpeg4_is_resync`,
    /// without MCBPC stuffing, which B-VOPs do not have). The reader moves past its header.
    fn next_packet(&self, r: &mut BitReader) -> Option<NextPacket> {
        let pos = r.position();
        if pos + 8 >= r.len_bits() {
            return None;
        }
        const PREFIX: [u32; 8] = [
            0x7F00, 0x7E00, 0x7C00, 0x7800, 0x7000, 0x6000, 0x4000, 0x0000,
        ];
        if r.peek(16) != PREFIX[pos & 7] {
            return None;
        }
        let mut t = r.clone();
        t.skip(1);
        t.byte_align();
        let mut zeros = 0;
        while zeros < 32 && !t.read_bit() {
            zeros += 1;
        }
        if zeros < self.prefix_zeros {
            return None;
        }
        let mb_index = t.read(self.mb_num_bits) as usize;
        if mb_index == 0 || mb_index >= self.total {
            return None;
        }
        let q = t.read(self.quant_precision) as u8;
        if t.read_bit() {
            let mut seconds = 0;
            while t.read_bit() && seconds < 64 {
                seconds += 1;
            }
            // marker, time increment, marker, coding type, intra_dc_vlc_thr, both f_codes
            t.skip(1 + self.time_increment_bits + 1 + 2 + 3 + 3 + 3);
        }
        if t.overrun() {
            return None;
        }
        *r = t;
        Some(NextPacket {
            mb_index,
            qscale: (q != 0).then_some(q),
        })
    }
}

/// FFmpeg's VOP clock (`time_base`, `pp_time`, `pb_time` of mpeg4videodec.c), which gives
/// the temporal distances of direct mode. Feed it every VOP header in decode order (coded or
/// not) and every GOV time code.
#[derive(Clone, Copy, Debug, Default)]
pub struct VopClock {
    time_base: i64,
    last_time_base: i64,
    last_non_b_time: i64,
    pp_time: i64,
}

impl VopClock {
    /// A group-of-VOP header sets the seconds counter to its time code.
    pub fn gov(&mut self, seconds: u32) {
        self.time_base = i64::from(seconds);
    }

    /// Advance for one VOP header; for a B-VOP returns `Some((trb, trd))` when its time is
    /// between its references (FFmpeg drops it otherwise), `None` for other VOPs.
    pub fn vop(&mut self, header: &VopHeader, resolution: u32) -> Option<(i32, i32)> {
        let res = i64::from(resolution.max(1));
        let incr = i64::from(header.modulo_time_base);
        let increment = i64::from(header.time_increment);
        if header.coding_type == FrameType::B {
            let time = (self.last_time_base + incr) * res + increment;
            let pb_time = self.pp_time - (self.last_non_b_time - time);
            let ok = !(self.pp_time <= pb_time
                || self.pp_time <= self.pp_time - pb_time
                || self.pp_time <= 0);
            let fits = i32::try_from(self.pp_time).is_ok() && i32::try_from(pb_time).is_ok();
            (ok && fits).then_some((pb_time as i32, self.pp_time as i32))
        } else {
            self.last_time_base = self.time_base;
            self.time_base += incr;
            let time = self.time_base * res + increment;
            self.pp_time = time - self.last_non_b_time;
            self.last_non_b_time = time;
            None
        }
    }

    /// Time of the last I/P-VOP and its distance to the one before (interlaced direct mode).
    pub fn reference_times(&self) -> (i64, i64) {
        (self.last_non_b_time, self.pp_time)
    }
}

/// Reconstruct an inter (or not-coded) macroblock of a P-VOP with quarter-sample vectors:
/// prediction from `reference` (16x16, or four 8x8 blocks for 4MV, FFmpeg's clipping and chroma
/// derivation) with the VOP's rounding control, then the residual of the coded blocks.
#[allow(clippy::too_many_arguments)] // `cur` and `reference` are both pictures borrowed apart; the rest are per-MB values
pub fn reconstruct_p_qpel(
    cur: &mut Picture,
    reference: &Picture,
    params: &BParams,
    rounding: bool,
    mb: &mut Macroblock,
    mb_x: usize,
    mb_y: usize,
) {
    let mut pred = MbPred::new();
    let four = mb.kind == MbKind::Inter4V;
    predict(
        &mut pred, reference, params, true, rounding, &mb.mv, four, mb_x, mb_y,
    );
    let cbp = mb.cbp;
    add_residual(cur, params.idct, &pred, cbp, &mut mb.blocks, mb_x, mb_y);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(bits: &str) -> Vec<u8> {
        let mut bits = bits.to_string();
        while bits.len() % 8 != 0 {
            bits.push('1');
        }
        bits.as_bytes()
            .chunks(8)
            .map(|c| c.iter().fold(0u8, |a, &b| (a << 1) | u8::from(b == b'1')))
            .collect()
    }

    #[test]
    fn mb_type_b_codes() {
        for (code, want) in [
            ("1", Some(BMbType::Direct)),
            ("01", Some(BMbType::Interpolated)),
            ("001", Some(BMbType::Backward)),
            ("0001", Some(BMbType::Forward)),
            ("0000", None),
        ] {
            let data = reader(&(code.to_string() + "0000"));
            let mut r = BitReader::new(&data);
            assert_eq!(read_mb_type_b(&mut r), want, "{code}");
            assert_eq!(r.position(), code.len(), "{code}");
        }
    }

    #[test]
    fn dbquant_codes() {
        for (code, want) in [("0", 0), ("10", -2), ("11", 2)] {
            let data = reader(&(code.to_string() + "0"));
            let mut r = BitReader::new(&data);
            assert_eq!(read_dbquant(&mut r), want);
            assert_eq!(r.position(), code.len());
        }
    }

    #[test]
    fn direct_vectors_scale_with_c_division() {
        // TRB 1, TRD 3: forward p/3 (toward zero), backward -2p/3 (toward zero).
        assert_eq!(direct_vectors([7, -7], [0, 0], 1, 3), ([2, -2], [-4, 4]));
        // With a delta the backward vector is forward - p.
        assert_eq!(direct_vectors([7, -7], [1, 0], 1, 3), ([3, -2], [-4, 4]));
        assert_eq!(direct_vectors([6, 0], [-1, 2], 2, 3), ([3, 2], [-3, 2]));
        // TRB = TRD / 2 on a zero vector: zero everywhere.
        assert_eq!(direct_vectors([0, 0], [0, 0], 1, 2), ([0, 0], [0, 0]));
    }

    #[test]
    fn clipped_vectors_for_qpel_and_hpel() {
        assert_eq!(clipped_vector(32, 5, 1, -16, 176), 5);
        assert_eq!(clipped_vector(32, -7, 2, -16, 176), -7);
        // qpel: pos 160, +83 quarter samples -> src 180 > 176 -> 176, fraction dropped.
        assert_eq!(clipped_vector(160, 83, 2, -16, 176), 64);
        // far left: clipped to -16 keeping the fraction.
        assert_eq!(clipped_vector(0, -201, 2, -16, 176), -64 + 3);
    }

    fn vop(coding_type: FrameType, modulo_time_base: u32, time_increment: u32) -> VopHeader {
        VopHeader {
            coding_type,
            modulo_time_base,
            time_increment,
            vop_coded: true,
            rounding_type: false,
            intra_dc_vlc_thr: 0,
            top_field_first: false,
            alternate_vertical_scan: false,
            quant: 4,
            fcode_forward: 1,
            fcode_backward: 1,
            warping_points: Vec::new(),
            header_bits: 0,
        }
    }

    #[test]
    fn clock_gives_trb_and_trd_in_decode_order() {
        // Display I0 B1 B2 P3 B4 P5 at 25 ticks per second, decode order I0 P3 B1 B2 P5 B4.
        let mut clock = VopClock::default();
        let res = 25;
        assert_eq!(clock.vop(&vop(FrameType::I, 0, 0), res), None);
        assert_eq!(clock.vop(&vop(FrameType::P, 0, 3), res), None);
        assert_eq!(clock.vop(&vop(FrameType::B, 0, 1), res), Some((1, 3)));
        assert_eq!(clock.vop(&vop(FrameType::B, 0, 2), res), Some((2, 3)));
        assert_eq!(clock.vop(&vop(FrameType::P, 0, 5), res), None);
        assert_eq!(clock.vop(&vop(FrameType::B, 0, 4), res), Some((1, 2)));
        // A B-VOP timed at or after its future reference is dropped (FFmpeg's check).
        assert_eq!(clock.vop(&vop(FrameType::B, 0, 5), res), None);
        assert_eq!(clock.vop(&vop(FrameType::B, 0, 7), res), None);
    }

    #[test]
    fn clock_crosses_seconds_and_gov_time_codes() {
        let mut clock = VopClock::default();
        let res = 25;
        clock.vop(&vop(FrameType::I, 0, 20), res);
        // P one second later (modulo_time_base 1, increment 2): 7 ticks after the I.
        clock.vop(&vop(FrameType::P, 1, 2), res);
        // The B in between belongs to the first second: its modulo_time_base counts from the
        // time base before the P.
        assert_eq!(clock.vop(&vop(FrameType::B, 0, 23), res), Some((3, 7)));
        assert_eq!(clock.vop(&vop(FrameType::B, 1, 0), res), Some((5, 7)));
        // A GOV restarts the seconds at its time code; an I-VOP there has modulo_time_base 0.
        clock.gov(3);
        clock.vop(&vop(FrameType::I, 0, 1), res);
        clock.vop(&vop(FrameType::P, 0, 4), res);
        assert_eq!(clock.vop(&vop(FrameType::B, 0, 2), res), Some((1, 3)));
    }

    #[test]
    fn averaging_rounds_up() {
        let mut a = [1u8, 2, 255, 0];
        average_into(&mut a, &[2, 2, 254, 1]);
        assert_eq!(a, [2, 2, 255, 1]);
    }
}
