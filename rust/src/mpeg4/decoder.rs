//! The VOP decoder: walks the macroblocks of an I- or P-VOP, split into video packets by resync
//! markers, reconstructs them against the reference picture, and exports the motion vectors the
//! way FFmpeg's `export_mvs` does. B-VOPs go to [`bvop`] (with the past and the future reference
//! it keeps, the future one's vectors and `not_coded` flags for direct mode, and TRB/TRD from its
//! VOP clock); quarter-sample inter MBs of P-VOPs are reconstructed by
//! [`reconstruct_qpel`]. GMC S-VOPs decode like P-VOPs with the warp of [`gmc`] for
//! their `mcsel` macroblocks; interlaced I/P macroblocks with field DCT or field vectors go
//! through [`interlaced`] (B-VOPs: field vectors and interlaced direct mode in [`bvop`]). Still
//! refused with `Unsupported`: interlaced video with data partitioning or sprites, static
//! sprites, GMC with data partitioning, non-8-bit video.
//!
//! Damage handling (documented behaviour, the same in every VOP type, see
//! [`crate::mpeg4::packet`]): when a macroblock fails to parse (invalid code, overrun), the
//! decoder conceals the MBs from the failing one up to the next video packet it can find (a
//! resync marker with a valid header, searched byte by byte from where the damaged packet
//! started) by copying the co-located MBs of the reference picture (B-VOPs: the past reference;
//! mid-grey when there is none), counts them in [`Decoder::damaged_mbs`], and decodes on from
//! that packet. It never panics and only reads inside the VOP's bytes.
#![forbid(unsafe_code)]

use crate::bits::BitReader;
use crate::decoded::{DecodedFrame, FrameType, MotionVector, YuvFrame};
use crate::mpeg4::bvop::{self, BMotion, BParams, BRefs};
use crate::mpeg4::clock::{VopClock, VopTime};
use crate::mpeg4::coefficients::Coefficients;
use crate::mpeg4::gmc::{self, Warp};
use crate::mpeg4::header::{EncoderInfo, VolHeader, VopHeader, SPRITE_GMC, SPRITE_STATIC};
use crate::mpeg4::idct::IdctKind;
use crate::mpeg4::interlaced;
use crate::mpeg4::macroblock::{decode_macroblock, Macroblock, MbKind, MbParams, MbState};
use crate::mpeg4::mb_pred::PredParams;
use crate::mpeg4::mode::{DecodeMode, Target};
use crate::mpeg4::mv::{MvField, SliceState};
use crate::mpeg4::packet::{decode_packets, mb_by_mb, PacketDecoder, PacketStart, PacketSyntax};
use crate::mpeg4::partitioned::{self, PacketContext, PartitionedMb};
use crate::mpeg4::quirks::{auto_idct, Quirks};
use crate::mpeg4::recon::{reconstruct, reconstruct_qpel, Picture, ReconContext};
use crate::mpeg4::texture::{Dequantiser, TextureDecoder};
use crate::{Error, Result};

/// Decodes the VOPs of one video object layer, in decode order.
pub struct Decoder {
    vol: VolHeader,
    width: usize,
    height: usize,
    mb_width: usize,
    mb_height: usize,
    idct: IdctKind,
    /// The last decoded I/P picture (what P-VOPs predict from; the future reference of B-VOPs).
    reference: Option<Picture>,
    /// The I/P picture before `reference` (the past reference of B-VOPs).
    past: Option<Picture>,
    /// VOP time stamps, for the temporal distances of B-VOP direct mode.
    clock: VopClock,
    /// Encoder bugs FFmpeg works around (quarter-sample chroma, direct-mode block size).
    quirks: Quirks,
    /// Which vectors B-VOPs export (FFmpeg's zeros by default).
    b_motion: BMotion,
    /// The picture being decoded (its buffer is the old reference's, recycled).
    current: Option<Picture>,
    mvs: MvField,
    kinds: Vec<MbKind>,
    /// Field vectors of the field-predicted MBs of the last I/P-VOP (exported as two 16x8
    /// vectors; direct mode of interlaced B-VOPs).
    field_motion: Vec<Option<interlaced::FieldMotion>>,
    /// FFmpeg's `t_frame`: the first B-VOP's TRB, the frame duration of field distances.
    t_frame: i64,
    texture: TextureDecoder,
    mb: Box<Macroblock>,
    partition_scratch: Vec<PartitionedMb>,
    damaged_mbs: usize,
    frames_out: usize,
    mode: DecodeMode,
    /// What the last VOP decoded in [`DecodeMode::Coefficients`] recorded (until taken).
    coefficients: Option<Coefficients>,
}

/// Whether this decoder decodes streams with `vol`: `Unsupported` naming the coding tool if not.
/// [`crate::video::Video`] asks at indexing time, so callers know before decoding anything.
pub fn check_vol(vol: &VolHeader) -> Result<()> {
    let unsupported = |what: &str| Err(Error::Unsupported(format!("mpeg4: {what}")));
    if vol.interlaced && vol.data_partitioned {
        return unsupported("interlaced video with data partitioning");
    }
    if vol.interlaced && vol.sprite_enable != 0 {
        return unsupported("interlaced video with sprites");
    }
    if vol.data_partitioned && vol.sprite_enable == SPRITE_GMC {
        return unsupported("GMC sprite VOPs with data partitioning");
    }
    if vol.data_partitioned && vol.reversible_vlc {
        return unsupported("data partitioning with reversible VLCs");
    }
    if vol.quant_precision != 5 || vol.bits_per_pixel != 8 {
        return unsupported("video other than 8 bits per sample");
    }
    Ok(())
}

/// Whether this decoder decodes the VOP with `header` in a layer with `vol`: coded static-sprite
/// VOPs it refuses (GMC sprite VOPs it decodes).
pub fn check_vop(vol: &VolHeader, header: &VopHeader) -> Result<()> {
    if header.coding_type == FrameType::S && header.vop_coded && vol.sprite_enable == SPRITE_STATIC
    {
        return Err(Error::Unsupported(
            "mpeg4: static sprite VOPs (Main Profile)".into(),
        ));
    }
    Ok(())
}

impl Decoder {
    /// A decoder for `vol`; `idct` overrides FFmpeg's automatic choice by encoder (see
    /// [`auto_idct`]; pass it `fourcc` from the container when there is one).
    pub fn new(vol: &VolHeader, encoder: &EncoderInfo, idct: Option<IdctKind>) -> Result<Decoder> {
        check_vol(vol)?;
        let (width, height) = (vol.width as usize, vol.height as usize);
        if width == 0 || height == 0 {
            return Err(Error::corrupt(0, "mpeg4: frame size 0"));
        }
        let (mb_width, mb_height) = (width.div_ceil(16), height.div_ceil(16));
        Ok(Decoder {
            vol: vol.clone(),
            width,
            height,
            mb_width,
            mb_height,
            idct: idct.unwrap_or_else(|| auto_idct(encoder, None)),
            reference: None,
            past: None,
            clock: VopClock::default(),
            quirks: Quirks::detect(encoder, None),
            b_motion: BMotion::Ffmpeg,
            current: None,
            mvs: MvField::new(mb_width, mb_height),
            kinds: vec![MbKind::Concealed; mb_width * mb_height],
            field_motion: vec![None; mb_width * mb_height],
            t_frame: 0,
            texture: TextureDecoder::new(mb_width, mb_height),
            mb: Box::default(),
            partition_scratch: Vec::new(),
            damaged_mbs: 0,
            frames_out: 0,
            mode: DecodeMode::Full,
            coefficients: None,
        })
    }

    /// The IDCT in use.
    pub fn idct(&self) -> IdctKind {
        self.idct
    }

    /// Macroblocks concealed in the last decoded VOP (0 for an intact one).
    pub fn damaged_mbs(&self) -> usize {
        self.damaged_mbs
    }

    /// The kind of every macroblock of the last decoded I- or P-VOP, raster order (B-VOPs leave
    /// it alone: it is the co-located data of their direct mode).
    pub fn mb_kinds(&self) -> &[MbKind] {
        &self.kinds
    }

    /// Pictures held between calls (the two references B-VOPs need, plus a recycled buffer):
    /// at most 3, whatever the length of the video.
    pub fn pictures_held(&self) -> usize {
        usize::from(self.reference.is_some())
            + usize::from(self.past.is_some())
            + usize::from(self.current.is_some())
    }

    /// Use the encoder workarounds FFmpeg picks for this stream when the container tags it
    /// `fourcc` (XviD tags without user data count as XviD build 0, like in [`auto_idct`]).
    pub fn set_fourcc(&mut self, encoder: &EncoderInfo, fourcc: Option<&str>) {
        self.quirks = Quirks::detect(encoder, fourcc);
    }

    /// A group-of-VOP header with time code `seconds` precedes the next VOP (FFmpeg restarts
    /// its VOP clock there).
    pub fn gov(&mut self, seconds: u32) {
        self.clock.gov(seconds);
    }

    /// Forget the reference (before decoding from a new random-access point).
    pub fn reset(&mut self) {
        self.reference = None;
        self.past = None;
    }

    /// How far the next VOPs are decoded. In modes other than [`DecodeMode::Full`] the
    /// returned frames carry no (or not the real) picture, and the decoder keeps no reference
    /// afterwards: a P- or B-VOP decoded in full mode after one of them has no reference (a
    /// P-VOP is then reported damaged, as at a cut). Coefficients need no reference at all.
    pub fn set_mode(&mut self, mode: DecodeMode) {
        if self.mode == DecodeMode::Vectors && mode != DecodeMode::Vectors {
            // Vectors mode holds sample-less placeholders: no other mode may read or reuse them.
            self.reference = None;
            self.past = None;
            self.current = None;
        }
        self.mode = mode;
    }

    pub fn mode(&self) -> DecodeMode {
        self.mode
    }

    /// The coefficients of the last VOP decoded in [`DecodeMode::Coefficients`], once.
    pub fn take_coefficients(&mut self) -> Option<Coefficients> {
        let mut record = self.coefficients.take()?;
        record.finish();
        Some(record)
    }

    /// A VOP that is not decoded at all: its time stamp still moves the VOP clock (the TRB/TRD
    /// of later B-VOPs' direct mode), and the references no longer precede the next VOP, so
    /// they are dropped. Motion data for B-VOPs comes only from the last I/P-VOP decoded.
    pub fn skip(&mut self, header: &VopHeader) {
        let time = self.clock.vop(header, self.vol.time_increment_resolution);
        if header.coding_type != FrameType::B {
            self.drop_references();
        } else if let VopTime::Between { trb, trd } = time {
            let fits = i32::try_from(trb).is_ok() && i32::try_from(trd).is_ok();
            if fits && header.vop_coded && self.t_frame == 0 {
                // As decoding it would: later interlaced B-VOPs measure field distances with it.
                self.t_frame = trb;
            }
        }
    }

    /// Forget both references, keeping one buffer for the next picture.
    fn drop_references(&mut self) {
        self.past = None;
        if let Some(old) = self.reference.take() {
            self.current.get_or_insert(old);
        }
    }

    /// Decode one VOP: `vop` holds the bytes after its `00 00 01 B6` start code (up to the next
    /// start code), `header` its parsed header. Returns `None` for a non-coded VOP (FFmpeg
    /// outputs no frame for it). The frame's `index` counts the frames output so far; callers
    /// that know the display index overwrite it.
    pub fn decode(&mut self, vop: &[u8], header: &VopHeader) -> Result<Option<DecodedFrame>> {
        check_vop(&self.vol, header)?;
        self.texture.set_levels_only(self.mode.levels_only());
        self.texture
            .set_with_coefficients(self.mode == DecodeMode::Coefficients);
        self.texture.set_parse_only(self.mode.parse_only());
        let b_times = match self.clock.vop(header, self.vol.time_increment_resolution) {
            // FFmpeg's times are ints: a B-VOP whose distances do not fit is dropped.
            VopTime::Between { trb, trd } => i32::try_from(trb).ok().zip(i32::try_from(trd).ok()),
            VopTime::Reference | VopTime::Mistimed => None,
        };
        match header.coding_type {
            FrameType::I | FrameType::P => {}
            FrameType::B => return Ok(self.decode_b(vop, header, b_times)),
            // (static sprites were refused by `check_vop`)
            FrameType::S if self.vol.sprite_enable == SPRITE_GMC || !header.vop_coded => {}
            FrameType::S => {
                return Err(Error::corrupt(
                    0,
                    "mpeg4: sprite VOP in a layer without sprites",
                ))
            }
        }
        if !header.vop_coded {
            self.damaged_mbs = 0;
            return Ok(None);
        }
        let sprite = match header.coding_type {
            FrameType::S => Some(
                Warp::for_vop(&self.vol, header)
                    .ok_or_else(|| Error::corrupt(0, "mpeg4: sprite trajectory out of range"))?,
            ),
            _ => None,
        };
        self.damaged_mbs = 0;
        if self.mode == DecodeMode::Coefficients {
            let dequant = Dequantiser::new(&self.vol, header);
            let mut record =
                Coefficients::new(header.coding_type, self.mb_width, self.mb_height, dequant);
            self.decode_mbs(vop, header, sprite, &mut Target::Coefficients(&mut record));
            self.coefficients = Some(record);
            self.drop_references();
            return Ok(Some(self.frame(header.coding_type, YuvFrame::default())));
        }
        let total = self.mb_width * self.mb_height;
        // Vectors mode reads and writes no picture: sample-less placeholders stand for the
        // current one and the references (their presence decides which B-VOPs are output).
        let vectors = self.mode == DecodeMode::Vectors;
        let placeholder = |mb_width, mb_height| {
            if vectors {
                Picture::empty()
            } else {
                Picture::grey(mb_width, mb_height)
            }
        };
        let mut cur = self
            .current
            .take()
            .unwrap_or_else(|| placeholder(self.mb_width, self.mb_height));
        let is_p = header.coding_type != FrameType::I;
        if is_p && self.reference.is_none() {
            // A P-VOP without its reference (stream cut before an I-VOP): predict from grey and
            // report the whole frame as damaged.
            self.reference = Some(placeholder(self.mb_width, self.mb_height));
            self.damaged_mbs = total;
        }
        let yuv = if self.mode == DecodeMode::Vectors {
            self.decode_mbs(vop, header, sprite, &mut Target::Skip);
            YuvFrame::sized(self.width, self.height)
        } else {
            let residual = self.mode != DecodeMode::Prediction;
            let mut target = Target::Pixels {
                cur: &mut cur,
                residual,
            };
            self.decode_mbs(vop, header, sprite, &mut target);
            cur.crop(self.width, self.height)
        };
        let frame = self.frame(header.coding_type, yuv);
        if !self.mode.keeps_references() {
            self.current = Some(cur);
            self.drop_references();
            return Ok(Some(frame));
        }
        // The new picture becomes the reference, the old one the past reference; the buffer of
        // the one before is reused next.
        if let Some(old) = self.reference.replace(cur) {
            self.current = self.past.replace(old);
        }
        Ok(Some(frame))
    }

    /// The output frame of the I/P/S-VOP just decoded, with its exported vectors (none in the
    /// coefficient mode, whose output is the record).
    fn frame(&mut self, frame_type: FrameType, yuv: YuvFrame) -> DecodedFrame {
        let motion_vectors = if frame_type != FrameType::I && self.mode != DecodeMode::Coefficients
        {
            self.export_mvs()
        } else {
            Vec::new()
        };
        let frame = DecodedFrame {
            index: self.frames_out,
            frame_type,
            yuv,
            motion_vectors,
        };
        self.frames_out += 1;
        frame
    }

    /// Decode a B-VOP (`times` = TRB, TRD from the clock). Like FFmpeg, outputs nothing for a
    /// B-VOP without both references or with an impossible time stamp.
    fn decode_b(
        &mut self,
        vop: &[u8],
        header: &VopHeader,
        times: Option<(i32, i32)>,
    ) -> Option<DecodedFrame> {
        self.damaged_mbs = 0;
        let (trb, trd) = times?;
        if !header.vop_coded {
            return None;
        }
        let mut params = self.block_params(trb, trd);
        if self.t_frame == 0 {
            self.t_frame = i64::from(trb);
        }
        if self.vol.interlaced {
            // FFmpeg drops an interlaced B-VOP whose field distances are impossible.
            let (last, pp) = self.clock.reference_times();
            let time = last - i64::from(trd - trb);
            params.field_times = Some(interlaced::field_times(time, last, pp, self.t_frame)?);
        }
        let none = Picture::empty();
        let (past, future) = match self.mode {
            // No picture is read or written: empty ones stand for the references.
            DecodeMode::Coefficients => (&none, &none),
            _ => (self.past.as_ref()?, self.reference.as_ref()?),
        };
        let mut record = (self.mode == DecodeMode::Coefficients).then(|| {
            let dequant = Dequantiser::new(&self.vol, header);
            Coefficients::new(FrameType::B, self.mb_width, self.mb_height, dequant)
        });
        let mut cur = matches!(self.mode, DecodeMode::Full | DecodeMode::Prediction).then(|| {
            self.current
                .take()
                .unwrap_or_else(|| Picture::grey(self.mb_width, self.mb_height))
        });
        let refs = BRefs {
            past,
            future,
            future_mvs: &self.mvs,
            future_kinds: &self.kinds,
            future_fields: &self.field_motion,
        };
        let residual = self.mode != DecodeMode::Prediction;
        let mut target = match (&mut record, &mut cur) {
            (Some(record), _) => Target::Coefficients(record),
            (None, Some(cur)) => Target::Pixels { cur, residual },
            (None, None) => Target::Skip,
        };
        let out = bvop::decode_bvop(
            vop,
            &self.vol,
            header,
            &params,
            &refs,
            &mut self.texture,
            &mut target,
        );
        self.damaged_mbs = out.damaged_mbs;
        let yuv = match (record, cur) {
            (Some(record), _) => {
                self.coefficients = Some(record);
                YuvFrame::default()
            }
            (None, Some(cur)) => {
                let yuv = cur.crop(self.width, self.height);
                // B-VOPs are never references: the buffer is reused next.
                self.current = Some(cur);
                yuv
            }
            (None, None) => YuvFrame::sized(self.width, self.height),
        };
        Some(self.b_frame(yuv, out.motion_vectors))
    }

    fn b_frame(&mut self, yuv: YuvFrame, motion_vectors: Vec<MotionVector>) -> DecodedFrame {
        let frame = DecodedFrame {
            index: self.frames_out,
            frame_type: FrameType::B,
            yuv,
            motion_vectors,
        };
        self.frames_out += 1;
        frame
    }

    /// What a B-VOP needs to know about the stream (TRB, TRD from the clock).
    fn block_params(&self, trb: i32, trd: i32) -> BParams {
        BParams {
            pred: self.pred_params(),
            mb_width: self.mb_width,
            mb_height: self.mb_height,
            trb,
            trd,
            field_times: None,
            b_motion: self.b_motion,
        }
    }

    /// What predicting a macroblock into a buffer needs (B-VOPs, quarter-sample P-VOPs).
    fn pred_params(&self) -> PredParams {
        PredParams {
            idct: self.idct,
            width: self.width,
            height: self.height,
            qpel_chroma: self.quirks.qpel_chroma,
        }
    }

    /// Export B-VOP vectors as FFmpeg does (zero motion, the default) or the real ones.
    pub fn set_b_motion(&mut self, b_motion: BMotion) {
        self.b_motion = b_motion;
    }

    /// Decode every macroblock of the VOP into `target`, packet by packet, concealing damage.
    fn decode_mbs(
        &mut self,
        vop: &[u8],
        header: &VopHeader,
        sprite: Option<Warp>,
        target: &mut Target,
    ) {
        let total = self.mb_width * self.mb_height;
        let params = MbParams {
            coding_type: header.coding_type,
            f_code: header.fcode_forward.max(1),
            intra_dc_threshold: header.intra_dc_threshold(),
            sprite,
            interlaced: self.vol.interlaced,
        };
        let syntax = PacketSyntax::new(&self.vol, header, total);
        self.mvs.clear();
        self.kinds.fill(MbKind::Concealed);
        self.field_motion.fill(None);
        self.texture.start_vop(&self.vol, header);
        let qpel = self.vol.quarter_sample.then(|| self.pred_params());
        let recon = ReconContext {
            reference: self.reference.as_ref(),
            idct: self.idct,
            rounding: header.rounding_type,
            visible_width: self.width,
            visible_height: self.height,
            sprite,
        };
        let mut packets = VopPackets {
            params: &params,
            recon: &recon,
            qpel: qpel.as_ref(),
            partitioned: self.vol.data_partitioned,
            mb_width: self.mb_width,
            mvs: &mut self.mvs,
            kinds: &mut self.kinds,
            field_motion: &mut self.field_motion,
            texture: &mut self.texture,
            mb: &mut self.mb,
            partition_scratch: &mut self.partition_scratch,
            target,
        };
        let concealed =
            decode_packets(vop, header.header_bits, &syntax, header.quant, &mut packets);
        self.damaged_mbs = (self.damaged_mbs + concealed).min(total);
    }

    /// The vectors of the last P-VOP in FFmpeg's `export_mvs` order and form.
    fn export_mvs(&self) -> Vec<MotionVector> {
        let mut out = self.export_halfpel_mvs();
        if self.vol.quarter_sample {
            // Quarter-sample vectors: FFmpeg exports motion_scale 4, src = dst + motion / 4.
            for v in &mut out {
                v.motion_scale = 4;
                v.src_x = (i32::from(v.dst_x) + v.motion_x / 4) as i16;
                v.src_y = (i32::from(v.dst_y) + v.motion_y / 4) as i16;
            }
        }
        out
    }

    /// The vectors as [`export`] forms them (half-sample scale).
    fn export_halfpel_mvs(&self) -> Vec<MotionVector> {
        let mut out = Vec::with_capacity(self.kinds.len());
        for (i, kind) in self.kinds.iter().enumerate() {
            let (mb_x, mb_y) = (i % self.mb_width, i / self.mb_width);
            match kind {
                MbKind::Inter if self.field_motion[i].is_some() => {
                    // FFmpeg: two 16x8 entries with the frame vector, y doubled (field MB).
                    let [mx, my] = self.mvs.get(mb_x, mb_y, 0);
                    for half in 0..2 {
                        let y = mb_y * 16 + 4 + 8 * half;
                        let mut v = export(16, mb_x * 16 + 8, y, [mx, my * 2]);
                        v.h = 8;
                        out.push(v);
                    }
                }
                MbKind::Skipped | MbKind::Inter => {
                    let mv = self.mvs.get(mb_x, mb_y, 0);
                    out.push(export(16, mb_x * 16 + 8, mb_y * 16 + 8, mv));
                }
                MbKind::Inter4V => {
                    for block in 0..4 {
                        let mv = self.mvs.get(mb_x, mb_y, block);
                        let x = mb_x * 16 + 4 + 8 * (block & 1);
                        let y = mb_y * 16 + 4 + 8 * (block >> 1);
                        out.push(export(8, x, y, mv));
                    }
                }
                MbKind::Intra | MbKind::Concealed => {}
            }
        }
        out
    }
}

/// The macroblocks of an I/P/S-VOP being decoded, with the decoder state they update.
struct VopPackets<'a, 'b> {
    params: &'a MbParams,
    recon: &'a ReconContext<'a>,
    qpel: Option<&'a PredParams>,
    partitioned: bool,
    mb_width: usize,
    mvs: &'a mut MvField,
    kinds: &'a mut [MbKind],
    field_motion: &'a mut [Option<interlaced::FieldMotion>],
    texture: &'a mut TextureDecoder,
    mb: &'a mut Macroblock,
    partition_scratch: &'a mut Vec<PartitionedMb>,
    target: &'a mut Target<'b>,
}

impl PacketDecoder for VopPackets<'_, '_> {
    fn packet(&mut self, start: PacketStart) -> (usize, bool) {
        let first = start.first;
        self.texture.start_packet(first);
        let mb_width = self.mb_width;
        if self.partitioned {
            let ctx = PacketContext {
                params: self.params,
                mb_width,
                total_mbs: self.kinds.len(),
                first_mb: first,
                mvs: self.mvs,
                texture: self.texture,
                scratch: self.partition_scratch,
            };
            let (kinds, target, recon, qpel) =
                (&mut *self.kinds, &mut *self.target, self.recon, self.qpel);
            let result =
                partitioned::decode_packet(start.r, ctx, start.qscale, self.mb, |index, mb| {
                    kinds[index] = mb.kind;
                    hand_over(target, recon, qpel, mb, index % mb_width, index / mb_width);
                });
            return match result {
                Ok(n) => (first + n, false),
                Err((_, n)) => (first + n, true),
            };
        }
        let mut slice = SliceState::start(first % mb_width, first / mb_width);
        let decode_mb = |r: &mut BitReader, index: usize, qscale: &mut u8| {
            let (mb_x, mb_y) = (index % mb_width, index / mb_width);
            slice.enter_mb(mb_x, mb_y);
            let mut state = MbState {
                qscale,
                mvs: self.mvs,
                texture: self.texture,
                slice: &slice,
            };
            if decode_macroblock(r, self.params, &mut state, mb_x, mb_y, self.mb).is_err() {
                return false;
            }
            self.kinds[index] = self.mb.kind;
            self.field_motion[index] = self.mb.field;
            hand_over(self.target, self.recon, self.qpel, self.mb, mb_x, mb_y);
            true
        };
        mb_by_mb(start, decode_mb, |_| true)
    }

    fn conceal(&mut self, index: usize) {
        let mb_width = self.mb_width;
        self.target
            .conceal(self.recon.reference, index % mb_width, index / mb_width);
    }
}

/// Hand a parsed MB of an I/P/S-VOP to `target`: the pixel modes reconstruct it (without the
/// texture of inter MBs in prediction mode), the coefficient mode records its levels.
fn hand_over(
    target: &mut Target,
    recon: &ReconContext,
    qpel: Option<&PredParams>,
    mb: &mut Macroblock,
    mb_x: usize,
    mb_y: usize,
) {
    match target {
        Target::Pixels { cur, residual } => {
            if !*residual && mb.kind != MbKind::Intra {
                mb.cbp = 0;
            }
            reconstruct_mb(cur, recon, qpel, mb, mb_x, mb_y);
        }
        Target::Coefficients(record) => {
            let intra = mb.kind == MbKind::Intra;
            record.store(&mb.blocks, &mb.coefs, mb.cbp, intra, mb.qscale, mb_x, mb_y);
            if mb.field_dct {
                record.mark_field_dct(mb_x, mb_y);
            }
        }
        Target::Skip => {}
    }
}

/// Reconstruct one MB of an I/P-VOP; interlaced MBs with field DCT or field vectors go through
/// [`interlaced::reconstruct`].
fn reconstruct_mb(
    cur: &mut Picture,
    recon: &ReconContext,
    qpel: Option<&PredParams>,
    mb: &mut Macroblock,
    mb_x: usize,
    mb_y: usize,
) {
    if mb.field_dct || mb.field.is_some() {
        let (reference, idct) = (recon.reference, recon.idct);
        let rounding = (recon.rounding, qpel.is_some());
        interlaced::reconstruct(cur, reference, idct, rounding, mb, mb_x, mb_y, |cur, mb| {
            reconstruct_frame_mb(cur, recon, qpel, mb, mb_x, mb_y)
        });
        return;
    }
    reconstruct_frame_mb(cur, recon, qpel, mb, mb_x, mb_y)
}

/// Reconstruct one MB of an I/P-VOP: quarter-sample inter MBs (`qpel` given) by
/// [`reconstruct_qpel`], everything else by [`reconstruct`].
fn reconstruct_frame_mb(
    cur: &mut Picture,
    recon: &ReconContext,
    qpel: Option<&PredParams>,
    mb: &mut Macroblock,
    mb_x: usize,
    mb_y: usize,
) {
    match (qpel, recon.reference) {
        (_, Some(reference)) if mb.gmc => {
            let (warp, visible) = (recon.sprite, (recon.visible_width, recon.visible_height));
            if let Some(warp) = warp {
                warp.predict(cur, reference, visible, recon.rounding, mb_x, mb_y);
            }
            gmc::add_residual(cur, recon.idct, mb, mb_x, mb_y);
        }
        (Some(params), Some(reference)) if mb.kind != MbKind::Intra => {
            reconstruct_qpel(cur, reference, params, recon.rounding, mb, mb_x, mb_y)
        }
        _ => reconstruct(cur, recon, mb, mb_x, mb_y),
    }
}

/// One exported vector: `dst` is the block centre, `src = dst + motion / 2` (C division).
fn export(size: u8, dst_x: usize, dst_y: usize, mv: [i32; 2]) -> MotionVector {
    let (dx, dy) = (dst_x as i32, dst_y as i32);
    MotionVector {
        source: -1,
        w: size,
        h: size,
        src_x: (dx + mv[0] / 2) as i16,
        src_y: (dy + mv[1] / 2) as i16,
        dst_x: dx as i16,
        dst_y: dy as i16,
        motion_x: mv[0],
        motion_y: mv[1],
        motion_scale: 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MSB-first bits from `(count, value)` pairs, padded with ones to a byte boundary.
    fn pack(fields: &[(u32, u32)]) -> Vec<u8> {
        let mut bits: Vec<bool> = Vec::new();
        for &(n, v) in fields {
            bits.extend((0..n).rev().map(|i| (v >> i) & 1 == 1));
        }
        while bits.len() % 8 != 0 {
            bits.push(true);
        }
        bits.chunks(8)
            .map(|c| c.iter().fold(0u8, |acc, &b| (acc << 1) | u8::from(b)))
            .collect()
    }

    /// A Simple Profile VOL (verid 1, 25 fps) of the given size.
    fn vol(width: u32, height: u32, mpeg_quant: bool, partitioned: bool) -> VolHeader {
        let bytes = pack(&[
            (1, 0),
            (8, 1),
            (1, 0),
            (4, 1),
            (1, 0),
            (2, 0),
            (1, 1),
            (16, 25),
            (1, 1),
            (1, 0),
            (1, 1),
            (13, width),
            (1, 1),
            (13, height),
            (1, 1),
            (1, 0),
            (1, 1),
            (1, 0),
            (1, 0),
            (1, u32::from(mpeg_quant)),
            // default matrices (only read with mpeg_quant), complexity estimation disabled,
            // resync markers on, data partitioning (no reversible VLCs), no scalability
            (u32::from(mpeg_quant) * 2, 0),
            (1, 1),
            (1, 0),
            (1, u32::from(partitioned)),
            (u32::from(partitioned), 0),
            (1, 0),
        ]);
        crate::mpeg4::header::parse_vol(&mut BitReader::new(&bytes)).unwrap()
    }

    /// xorshift64*: deterministic pseudo-random bytes for the robustness test.
    fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
                (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
            })
            .collect()
    }

    #[test]
    fn garbage_macroblock_data_is_concealed_without_panicking() {
        let mut damaged_frames = 0;
        for (w, h, mq, dp) in [
            (176, 144, false, false),
            (33, 17, true, false),
            (16, 16, false, false),
            (176, 144, false, true),
            (48, 32, true, true),
        ] {
            let vol = vol(w, h, mq, dp);
            let mut dec = Decoder::new(&vol, &EncoderInfo::default(), None).unwrap();
            for seed in 0..150u64 {
                let coding = if seed % 3 == 0 { 0 } else { 1 };
                // type, modulo_time_base 0, marker, time 5 bits, marker, coded, [rounding],
                // dc thr, quant, [fcode]
                let mut fields = vec![(2, coding), (1, 0), (1, 1), (5, 3), (1, 1), (1, 1)];
                if coding == 1 {
                    fields.push((1, (seed & 1) as u32));
                }
                fields.extend([(3, (seed % 8) as u32), (5, 1 + (seed % 31) as u32)]);
                if coding == 1 {
                    fields.push((3, 1 + (seed % 7) as u32));
                }
                let head = pack(&fields);
                let mut vop = head.clone();
                vop.extend(random_bytes(seed, (seed as usize * 37) % 700));
                let header =
                    crate::mpeg4::header::parse_vop(&mut BitReader::new(&vop), &vol).unwrap();
                let frame = dec.decode(&vop, &header).unwrap().unwrap();
                assert_eq!(
                    (frame.yuv.width(), frame.yuv.height()),
                    (w as usize, h as usize)
                );
                assert!(dec.damaged_mbs() <= w.div_ceil(16) as usize * h.div_ceil(16) as usize);
                assert!(dec.pictures_held() <= 3);
                damaged_frames += usize::from(dec.damaged_mbs() > 0);
            }
        }
        // Random bits are rarely a valid 99-MB VOP: the damage path really ran.
        assert!(damaged_frames > 100, "{damaged_frames}");
    }

    /// A VOP header: type, time (modulo 0, `time` in 5 bits), coded, then the type's fields.
    fn vop_head(coding: u32, time: u32, seed: u64) -> Vec<(u32, u32)> {
        let mut fields = vec![(2, coding), (1, 0), (1, 1), (5, time), (1, 1), (1, 1)];
        if coding == 1 {
            fields.push((1, (seed & 1) as u32));
        }
        fields.extend([(3, (seed % 8) as u32), (5, 1 + (seed % 31) as u32)]);
        if coding != 0 {
            fields.push((3, 1 + (seed % 7) as u32));
        }
        if coding == 2 {
            fields.push((3, 1 + (seed / 7 % 7) as u32));
        }
        fields
    }

    #[test]
    fn garbage_b_vops_are_concealed_without_panicking() {
        let mut damaged_frames = 0;
        for (w, h, mq, dp) in [
            (176, 144, false, false),
            (33, 17, true, false),
            (48, 32, true, true),
        ] {
            let vol = vol(w, h, mq, dp);
            let mut dec = Decoder::new(&vol, &EncoderInfo::default(), None).unwrap();
            // References: an I-VOP at time 0 and a P-VOP at time 4, both random data too.
            for (coding, time) in [(0, 0), (1, 4)] {
                let mut vop = pack(&vop_head(coding, time, 5));
                vop.extend(random_bytes(77 + u64::from(time), 300));
                let header =
                    crate::mpeg4::header::parse_vop(&mut BitReader::new(&vop), &vol).unwrap();
                dec.decode(&vop, &header).unwrap().unwrap();
            }
            for seed in 0..120u64 {
                let mut vop = pack(&vop_head(2, 1 + (seed % 3) as u32, seed));
                vop.extend(random_bytes(seed, (seed as usize * 37) % 700));
                let header =
                    crate::mpeg4::header::parse_vop(&mut BitReader::new(&vop), &vol).unwrap();
                let frame = dec.decode(&vop, &header).unwrap().unwrap();
                assert_eq!(frame.frame_type, FrameType::B);
                assert_eq!(
                    (frame.yuv.width(), frame.yuv.height()),
                    (w as usize, h as usize)
                );
                assert!(dec.damaged_mbs() <= w.div_ceil(16) as usize * h.div_ceil(16) as usize);
                assert!(dec.pictures_held() <= 3);
                damaged_frames += usize::from(dec.damaged_mbs() > 0);
            }
            // A B-VOP timed after its future reference is dropped like FFmpeg does.
            let vop = pack(&vop_head(2, 9, 1));
            let header = crate::mpeg4::header::parse_vop(&mut BitReader::new(&vop), &vol).unwrap();
            assert!(dec.decode(&vop, &header).unwrap().is_none());
        }
        assert!(damaged_frames > 100, "{damaged_frames}");
    }

    #[test]
    fn sprite_vops_need_a_gmc_layer() {
        let mut vol = vol(32, 32, false, false);
        let mut dec = Decoder::new(&vol, &EncoderInfo::default(), None).unwrap();
        let vop = pack(&vop_head(1, 1, 0));
        let mut header = crate::mpeg4::header::parse_vop(&mut BitReader::new(&vop), &vol).unwrap();
        header.coding_type = FrameType::S;
        assert!(matches!(
            dec.decode(&vop, &header),
            Err(Error::Corrupt { .. })
        ));
        vol.sprite_enable = SPRITE_STATIC;
        let mut dec = Decoder::new(&vol, &EncoderInfo::default(), None).unwrap();
        match dec.decode(&vop, &header) {
            Err(Error::Unsupported(what)) => assert!(what.contains("static sprite"), "{what}"),
            other => panic!("{other:?}"),
        }
        // GMC with data partitioning is refused when the layer is opened.
        let mut vol = self::vol(32, 32, false, true);
        vol.sprite_enable = SPRITE_GMC;
        match Decoder::new(&vol, &EncoderInfo::default(), None) {
            Err(Error::Unsupported(what)) => assert!(what.contains("GMC"), "{what}"),
            other => panic!("{:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn a_p_vop_without_reference_is_reported_damaged() {
        let vol = vol(32, 32, false, false);
        let mut dec = Decoder::new(&vol, &EncoderInfo::default(), None).unwrap();
        // P-VOP, all four MBs not coded (bit 1 each), then stuffing.
        let vop = pack(&[
            (2, 1),
            (1, 0),
            (1, 1),
            (5, 1),
            (1, 1),
            (1, 1),
            (1, 0),
            (3, 0),
            (5, 4),
            (3, 1),
            (4, 0b1111),
            (1, 0),
        ]);
        let header = crate::mpeg4::header::parse_vop(&mut BitReader::new(&vop), &vol).unwrap();
        let frame = dec.decode(&vop, &header).unwrap().unwrap();
        assert_eq!(dec.damaged_mbs(), 4);
        assert_eq!(frame.motion_vectors.len(), 4);
        assert!(frame.yuv.y.data.iter().all(|&v| v == 128));
        // The next P-VOP has its reference: nothing damaged, all skipped with zero vectors.
        let frame = dec.decode(&vop, &header).unwrap().unwrap();
        assert_eq!(dec.damaged_mbs(), 0);
        assert!(frame
            .motion_vectors
            .iter()
            .all(|m| m.motion_x == 0 && m.w == 16));
    }

    #[test]
    fn export_follows_ffmpeg_conventions() {
        let v = export(16, 24, 8, [-3, 5]);
        assert_eq!((v.src_x, v.src_y, v.dst_x, v.dst_y), (23, 10, 24, 8));
        assert_eq!(
            (v.motion_x, v.motion_y, v.motion_scale, v.source),
            (-3, 5, 2, -1)
        );
    }
}
