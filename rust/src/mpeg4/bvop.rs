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
use crate::decoded::MotionVector;
use crate::mpeg4::header::{VolHeader, VopHeader};
use crate::mpeg4::interlaced::{self, BFields, FieldMotion, PredTarget};
use crate::mpeg4::macroblock::{add_dquant, MbKind};
use crate::mpeg4::mb_pred::{add_coded_blocks, average_from, predict, MbPred, PredParams};
use crate::mpeg4::mode::Target;
use crate::mpeg4::mv::{decode_component, MvField};
use crate::mpeg4::packet::{decode_packets, mb_by_mb, PacketDecoder, PacketStart, PacketSyntax};
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

/// Stream-level parameters of a B-VOP.
pub struct BParams {
    /// IDCT, visible size and quirks (what predicting a macroblock needs).
    pub pred: PredParams,
    pub mb_width: usize,
    pub mb_height: usize,
    /// TRB and TRD in VOP clock ticks (FFmpeg's `pb_time`, `pp_time`); TRD > 0.
    pub trb: i32,
    pub trd: i32,
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
    /// The coefficient mode's dequantised blocks (see `Macroblock::coefs`).
    coefs: [[i16; 64]; 6],
    /// Interlaced: field DCT, and field vectors (then `fwd`/`bwd` are unused).
    field_dct: bool,
    field: Option<BFields>,
}

/// Decode the B-VOP `vop` (the bytes after its start code) into `target` (a macroblock-aligned
/// picture, or the coefficient record). Damage is handled as in I/P-VOPs
/// ([`crate::mpeg4::packet`]): the macroblocks up to the next video packet found are concealed
/// by forward copies, and decoding goes on from there.
pub fn decode_bvop(
    vop: &[u8],
    vol: &VolHeader,
    header: &VopHeader,
    params: &BParams,
    refs: &BRefs,
    texture: &mut TextureDecoder,
    target: &mut Target,
) -> BOutput {
    let total = params.mb_width * params.mb_height;
    texture.start_vop(vol, header);
    let syntax = PacketSyntax::new(vol, header, total);
    let mut packets = BPackets {
        qpel: vol.quarter_sample,
        header,
        params,
        refs,
        texture,
        target,
        pred: [[0; 2]; 2],
        pred_bottom: [[0; 2]; 2],
        mb: BMb {
            kind: BMbType::Skipped,
            fwd: [[0; 2]; 4],
            bwd: [[0; 2]; 4],
            four: false,
            export_four: false,
            cbp: 0,
            blocks: [[0; 64]; 6],
            coefs: [[0; 64]; 6],
            field_dct: false,
            field: None,
        },
        scratch: MbPred::new(),
        out: BOutput::default(),
    };
    let concealed = decode_packets(vop, header.header_bits, &syntax, header.quant, &mut packets);
    let mut out = packets.out;
    out.damaged_mbs = concealed;
    out
}

/// The macroblocks of a B-VOP being decoded, with what they read and update.
struct BPackets<'a, 'b> {
    qpel: bool,
    header: &'a VopHeader,
    params: &'a BParams,
    refs: &'a BRefs<'a>,
    texture: &'a mut TextureDecoder,
    target: &'a mut Target<'b>,
    /// Forward and backward vector predictors (interlaced: of the top field).
    pred: [[i32; 2]; 2],
    /// Interlaced: the predictors of the bottom field's vectors.
    pred_bottom: [[i32; 2]; 2],
    mb: BMb,
    /// The second direction's prediction of a bidirectional macroblock.
    scratch: MbPred,
    out: BOutput,
}

impl BPackets<'_, '_> {
    /// Parse, reconstruct (or record) and export macroblock `index`; false on damage.
    fn macroblock(&mut self, r: &mut BitReader, index: usize, qscale: &mut u8) -> bool {
        let params = self.params;
        let (mb_x, mb_y) = (index % params.mb_width, index / params.mb_width);
        if mb_x == 0 {
            self.pred = [[0; 2]; 2];
            self.pred_bottom = [[0; 2]; 2];
        }
        let colocated = self.refs.future_kinds.get(index).copied();
        // The coefficient record wants no vectors: direct mode's divisions are left out there.
        let vectors = !matches!(self.target, Target::Coefficients(_));
        let mb = &mut self.mb;
        let parsed = decode_mb(
            r,
            (self.qpel, vectors),
            self.header,
            params,
            self.refs,
            colocated,
            (mb_x, mb_y),
            qscale,
            (&mut self.pred, &mut self.pred_bottom),
            self.texture,
            mb,
        );
        if parsed.is_err() {
            return false;
        }
        match &mut *self.target {
            Target::Pixels { cur, residual } => {
                if !*residual {
                    mb.cbp = 0;
                }
                let scratch = &mut self.scratch;
                reconstruct(cur, params, self.refs, self.qpel, mb, scratch, mb_x, mb_y);
            }
            Target::Coefficients(record) => {
                record.store(&mb.blocks, &mb.coefs, mb.cbp, false, *qscale, mb_x, mb_y);
                if mb.field_dct {
                    record.mark_field_dct(mb_x, mb_y);
                }
                return true; // the record is the output: no vectors exported
            }
            Target::Skip => {}
        }
        let motion = &mut self.out.motion_vectors;
        export(motion, mb, (mb_x, mb_y), self.qpel, params.b_motion);
        true
    }
}

impl PacketDecoder for BPackets<'_, '_> {
    fn packet(&mut self, start: PacketStart) -> (usize, bool) {
        // FFmpeg's packet start resets only the top field's (frame) predictors.
        self.pred = [[0; 2]; 2];
        self.texture.start_packet(start.first);
        // Like FFmpeg: a packet that starts further on leaves a macroblock that is skipped in
        // the future reference in this packet (it takes no bits).
        let future_kinds = self.refs.future_kinds;
        mb_by_mb(
            start,
            |r, index, qscale| self.macroblock(r, index, qscale),
            |index| future_kinds.get(index) == Some(&MbKind::Skipped),
        )
    }

    fn conceal(&mut self, index: usize) {
        let width = self.params.mb_width;
        self.target
            .conceal(Some(self.refs.past), index % width, index / width);
    }
}

/// Parse one B macroblock into `mb` (coefficients dequantised); without `vectors`, direct-mode
/// macroblocks are left without their derived vectors.
#[allow(clippy::too_many_arguments)] // the macroblock syntax's inputs, borrowed separately from the VOP loop
fn decode_mb(
    r: &mut BitReader,
    (qpel, vectors): (bool, bool),
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
            if !vectors {
                (mb.fwd, mb.bwd) = ([[0; 2]; 4], [[0; 2]; 4]);
            } else if four_colocated {
                for block in 0..4 {
                    let p = refs.future_mvs.get(mb_x, mb_y, block);
                    let (f, b) = direct_vectors(p, delta, params.trb, params.trd);
                    mb.fwd[block] = f;
                    mb.bwd[block] = b;
                }
            } else {
                // One co-located vector: the same (divided) pair for all four blocks.
                let p = refs.future_mvs.get(mb_x, mb_y, 0);
                let (f, b) = direct_vectors(p, delta, params.trb, params.trd);
                mb.fwd = [f; 4];
                mb.bwd = [b; 4];
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
            texture.decode_inter_block(r, *qscale, &mut mb.blocks[i], &mut mb.coefs[i])?;
        }
    }
    texture.mark_inter(mb_x, mb_y);
    if r.overrun() {
        return Err("macroblock runs past the end of the VOP");
    }
    Ok(())
}

/// Write the prediction(s) and the residual of MB (`mb_x`, `mb_y`) into `cur`: the first
/// direction straight into the picture, the second (bidirectional MBs) into `scratch` and
/// averaged in, then the coded blocks added.
#[allow(clippy::too_many_arguments)] // the picture, the MB and its scratch are borrowed apart
fn reconstruct(
    cur: &mut Picture,
    params: &BParams,
    refs: &BRefs,
    qpel: bool,
    mb: &mut BMb,
    scratch: &mut MbPred,
    mb_x: usize,
    mb_y: usize,
) {
    let kind = mb.kind;
    let one_direction =
        |out: PredTarget, reference: &Picture, mvs, field: Option<&FieldMotion>| match field {
            Some(f) => {
                interlaced::predict_fields_into(out, reference, f, (false, qpel), mb_x, mb_y)
            }
            None => predict(
                out,
                reference,
                &params.pred,
                qpel,
                false,
                mvs,
                mb.four,
                mb_x,
                mb_y,
            ),
        };
    let field = mb.field.as_ref();
    if kind.forward() {
        one_direction(
            cur.mb_target(mb_x, mb_y),
            refs.past,
            &mb.fwd,
            field.map(|f| &f.fwd),
        );
        if kind.backward() {
            one_direction(
                scratch.target(),
                refs.future,
                &mb.bwd,
                field.map(|f| &f.bwd),
            );
            average_from(cur.mb_target(mb_x, mb_y), scratch);
        }
    } else {
        one_direction(
            cur.mb_target(mb_x, mb_y),
            refs.future,
            &mb.bwd,
            field.map(|f| &f.bwd),
        );
    }
    let (idct, cbp) = (params.pred.idct, mb.cbp);
    if mb.field_dct {
        // Chroma residual as usual, luma on alternate lines.
        add_coded_blocks(cur, idct, cbp & 3, &mut mb.blocks, mb_x, mb_y);
        interlaced::add_field_luma_residual(cur, idct, cbp, &mut mb.blocks, mb_x, mb_y);
        return;
    }
    add_coded_blocks(cur, idct, cbp, &mut mb.blocks, mb_x, mb_y);
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
}
