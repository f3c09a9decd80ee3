//! MPEG-4 Part 2 headers (ISO/IEC 14496-2, 6.2.2 - 6.2.5): visual object sequence, visual
//! object, video object layer (VOL), group of VOPs (GOV), VOP, and the encoder-identifying user
//! data that decides decoder quirks (packed bitstreams).
//!
//! Every parser takes a [`BitReader`] positioned just after the 32-bit start code. Errors are
//! `Corrupt` with offsets relative to the reader's buffer; the caller ([`crate::video`]) adds the
//! file offset and frame index. Coding tools pkdkit does not decode (non-rectangular shape,
//! scalability, NEWPRED, reduced resolution) are refused with `Unsupported`; tools the decoder
//! refuses later (sprites, interlace) are parsed far enough to keep the headers in sync.
#![forbid(unsafe_code)]

use crate::bits::BitReader;
use crate::decoded::FrameType;
use crate::mpeg4::tables::ZIGZAG;
use crate::{Error, Result};

/// Largest frame width or height pkdkit accepts (the VOL's 13-bit fields allow 8191).
pub const MAX_DIMENSION: u32 = 8192;
/// Largest frame area in pixels (2^25, a bit above 8K UHD).
pub const MAX_PIXELS: u64 = 1 << 25;

/// Start-code values (the byte after `00 00 01`), 14496-2 Table 6-3.
pub mod start_code {
    /// `video_object_start_code` range 0x00..=0x1F.
    pub const VIDEO_OBJECT_LAST: u8 = 0x1F;
    /// `video_object_layer_start_code` range 0x20..=0x2F.
    pub const VOL_FIRST: u8 = 0x20;
    pub const VOL_LAST: u8 = 0x2F;
    pub const VISUAL_OBJECT_SEQUENCE: u8 = 0xB0;
    pub const VISUAL_OBJECT_SEQUENCE_END: u8 = 0xB1;
    pub const USER_DATA: u8 = 0xB2;
    pub const GROUP_OF_VOP: u8 = 0xB3;
    pub const VISUAL_OBJECT: u8 = 0xB5;
    pub const VOP: u8 = 0xB6;
}

/// Default intra quantiser matrix, raster order (14496-2 Table 6-7).
pub const DEFAULT_INTRA_MATRIX: [u8; 64] = [
    8, 17, 18, 19, 21, 23, 25, 27, //
    17, 18, 19, 21, 23, 25, 27, 28, //
    20, 21, 22, 23, 24, 26, 28, 30, //
    21, 22, 23, 24, 26, 28, 30, 32, //
    22, 23, 24, 26, 28, 30, 32, 35, //
    23, 24, 26, 28, 30, 32, 35, 38, //
    25, 26, 28, 30, 32, 35, 38, 41, //
    27, 28, 30, 32, 35, 38, 41, 45,
];

/// Default non-intra quantiser matrix, raster order (14496-2 Table 6-8).
pub const DEFAULT_INTER_MATRIX: [u8; 64] = [
    16, 17, 18, 19, 20, 21, 22, 23, //
    17, 18, 19, 20, 21, 22, 23, 24, //
    18, 19, 20, 21, 22, 23, 24, 25, //
    19, 20, 21, 22, 23, 24, 26, 27, //
    20, 21, 22, 23, 25, 26, 27, 28, //
    21, 22, 23, 24, 26, 27, 28, 30, //
    22, 23, 24, 26, 27, 28, 30, 31, //
    23, 24, 25, 27, 28, 30, 31, 33,
];

/// `sprite_enable` values (14496-2 Table 6-16).
pub const SPRITE_NONE: u8 = 0;
pub const SPRITE_STATIC: u8 = 1;
pub const SPRITE_GMC: u8 = 2;

/// Number of 8-bit complexity-estimation fields each VOP type carries (6.2.5.1), derived once
/// from the VOL's `define_vop_complexity_estimation_header` so VOP parsing can skip them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ComplexityEstimation {
    /// Bits to skip in I-, P-, B- and S-VOP headers.
    pub bits_i: u32,
    pub bits_p: u32,
    pub bits_b: u32,
    pub bits_s: u32,
}

/// The video object layer header: everything the decoder needs to know about a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolHeader {
    /// `video_object_layer_verid` (1 or 2; 1 when not signalled).
    pub verid: u8,
    /// `video_object_type_indication` (1 = Simple, 17 = Advanced Simple, Table 6-11... ).
    pub vo_type: u8,
    pub width: u32,
    pub height: u32,
    /// Ticks per second of the VOP time stamps.
    pub time_increment_resolution: u32,
    /// Width of `vop_time_increment` in VOP headers.
    pub time_increment_bits: u32,
    /// `Some(ticks per VOP)` when `fixed_vop_rate` is set.
    pub fixed_vop_rate: Option<u32>,
    pub interlaced: bool,
    pub obmc_disable: bool,
    /// [`SPRITE_NONE`], [`SPRITE_STATIC`] or [`SPRITE_GMC`].
    pub sprite_enable: u8,
    pub sprite_warping_points: u8,
    pub sprite_warping_accuracy: u8,
    pub sprite_brightness_change: bool,
    /// Bits of `vop_quant` (5 unless `not_8_bit`).
    pub quant_precision: u8,
    pub bits_per_pixel: u8,
    /// `quant_type`: MPEG quantisation with matrices instead of H.263's.
    pub mpeg_quant: bool,
    /// Quantiser matrices in NATURAL raster order (the defaults when not loaded).
    pub intra_matrix: [u8; 64],
    pub inter_matrix: [u8; 64],
    pub quarter_sample: bool,
    pub resync_marker_disable: bool,
    pub data_partitioned: bool,
    pub reversible_vlc: bool,
    /// `low_delay` when `vol_control_parameters` signals it, otherwise `None`.
    pub low_delay: Option<bool>,
    /// `profile_and_level_indication` of the enclosing visual object sequence, if any.
    pub profile_and_level: Option<u8>,
    /// Extra VOP header bits from the complexity estimation header, when enabled.
    pub complexity: Option<ComplexityEstimation>,
}

/// One VOP header (14496-2 6.2.5), up to where macroblock data starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VopHeader {
    pub coding_type: FrameType,
    /// Number of `modulo_time_base` one-bits (whole seconds elapsed since the last GOV/VOP).
    pub modulo_time_base: u32,
    pub time_increment: u32,
    /// `vop_coded`: false for a skipped VOP (FFmpeg outputs no frame for it).
    pub vop_coded: bool,
    pub rounding_type: bool,
    /// The 3-bit `intra_dc_vlc_thr` code (see [`VopHeader::intra_dc_threshold`]).
    pub intra_dc_vlc_thr: u8,
    pub top_field_first: bool,
    pub alternate_vertical_scan: bool,
    /// `vop_quant` (1..=2^quant_precision - 1).
    pub quant: u8,
    pub fcode_forward: u8,
    pub fcode_backward: u8,
    /// Sprite warping vectors (du, dv) of an S-VOP, in the order coded.
    pub warping_points: Vec<(i32, i32)>,
    /// Bit offset, from the first byte after the `00 00 01 B6` start code, where macroblock data
    /// begins (for a non-coded VOP: where the header ended).
    pub header_bits: usize,
}

impl VopHeader {
    /// The qscale threshold below which intra DC uses its own VLC (Table 6-21):
    /// `{99, 13, 15, 17, 19, 21, 23, 0}[intra_dc_vlc_thr]`.
    pub fn intra_dc_threshold(&self) -> u8 {
        const THRESHOLDS: [u8; 8] = [99, 13, 15, 17, 19, 21, 23, 0];
        THRESHOLDS[usize::from(self.intra_dc_vlc_thr & 7)]
    }
}

/// Which encoder wrote the stream, as far as its user data tells.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Encoder {
    /// FFmpeg's libavcodec ("Lavc61.19.100", or the older "FFmpeg..." strings).
    Lavc,
    Xvid,
    Divx,
    #[default]
    Unknown,
}

/// Encoder identification from user data (0x1B2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EncoderInfo {
    pub kind: Encoder,
    /// Lavc: `major << 16 | minor << 8 | micro`; XviD: the build number ("XviD0064" -> 64);
    /// DivX: the build number ("DivX503b1393p" -> 1393).
    pub build: Option<u32>,
    /// DivX: the version ("DivX503b1393p" -> 503).
    pub version: Option<u32>,
    /// DivX/XviD "packed bitstream": a B-VOP stored in the same chunk as the P-VOP before it
    /// (the trailing `p` of the DivX string).
    pub packed_bitstream: bool,
}

impl EncoderInfo {
    /// Merge what a later user-data string tells (XviD streams carry both an XviD and a DivX
    /// string; the DivX one says whether the bitstream is packed).
    pub fn merge(&mut self, other: EncoderInfo) {
        if self.kind == Encoder::Unknown || other.kind == Encoder::Xvid {
            self.kind = other.kind;
            self.build = other.build;
            if other.version.is_some() {
                self.version = other.version;
            }
        }
        if other.kind == Encoder::Divx {
            self.packed_bitstream = other.packed_bitstream;
            if self.version.is_none() {
                self.version = other.version;
            }
        }
    }
}

fn corrupt(r: &BitReader, what: &str) -> Error {
    Error::corrupt(r.byte_position() as u64, format!("mpeg4: {what}"))
}

/// Fail with `Corrupt` if the reader ran past the end of its buffer.
fn check_overrun(r: &BitReader, what: &str) -> Result<()> {
    if r.overrun() {
        Err(corrupt(r, &format!("{what} is truncated")))
    } else {
        Ok(())
    }
}

/// `profile_and_level_indication` of a visual object sequence header (r after `00 00 01 B0`).
pub fn parse_vos(r: &mut BitReader) -> Result<u8> {
    let value = r.read(8) as u8;
    check_overrun(r, "visual object sequence header")?;
    Ok(value)
}

/// Number of bits of `vop_time_increment` for a given resolution: enough to hold
/// `resolution - 1`, at least one.
pub fn time_increment_bits(resolution: u32) -> u32 {
    (32 - resolution.saturating_sub(1).leading_zeros()).max(1)
}

/// Read a quantiser matrix coded in zigzag order and terminated early by a zero: the last value
/// read fills the remaining positions (14496-2 6.3.3, `load_*_quant_mat`).
fn read_quant_matrix(r: &mut BitReader) -> Result<[u8; 64]> {
    let mut matrix = [0u8; 64];
    let mut last = 0u8;
    let mut i = 0;
    while i < 64 {
        let v = r.read(8) as u8;
        if v == 0 {
            break;
        }
        last = v;
        matrix[usize::from(ZIGZAG[i])] = v;
        i += 1;
    }
    if i == 0 {
        return Err(corrupt(r, "quantiser matrix starts with 0"));
    }
    for &pos in &ZIGZAG[i..] {
        matrix[usize::from(pos)] = last;
    }
    check_overrun(r, "quantiser matrix")?;
    Ok(matrix)
}

/// `define_vop_complexity_estimation_header` (6.2.3): which 8-bit (vlc_bits: 4-bit) estimates
/// each VOP type will carry. I-VOPs carry the shape, intra/not-coded block and DCT estimates;
/// P-VOPs add the inter and motion-compensation ones; B-VOPs add `interpolate_mc_q`.
fn parse_complexity_estimation(r: &mut BitReader) -> Result<ComplexityEstimation> {
    let method = r.read(2);
    if method > 1 {
        return Err(Error::Unsupported(format!(
            "mpeg4: complexity estimation method {method}"
        )));
    }
    let (mut i, mut p, mut b) = (0u32, 0u32, 0u32);
    let bits = |r: &mut BitReader, n: u32| n * u32::from(r.read_bit());
    if !r.read_bit() {
        // opaque, transparent, intra_cae, inter_cae, no_update, upsampling
        for _ in 0..6 {
            i += bits(r, 8);
        }
    }
    if !r.read_bit() {
        i += bits(r, 8); // intra_blocks
        p += bits(r, 8); // inter_blocks
        p += bits(r, 8); // inter4v_blocks
        i += bits(r, 8); // not_coded_blocks
    }
    r.skip(1); // marker
    if !r.read_bit() {
        i += bits(r, 8); // dct_coefs
        i += bits(r, 8); // dct_lines
        i += bits(r, 8); // vlc_symbols
        i += bits(r, 4); // vlc_bits
    }
    if !r.read_bit() {
        p += bits(r, 8); // apm
        p += bits(r, 8); // npm
        b += bits(r, 8); // interpolate_mc_q
        p += bits(r, 8); // forw_back_mc_q
        p += bits(r, 8); // halfpel2
        p += bits(r, 8); // halfpel4
    }
    r.skip(1); // marker
    if method == 1 && !r.read_bit() {
        i += bits(r, 8); // sadct
        p += bits(r, 8); // quarterpel
    }
    check_overrun(r, "complexity estimation header")?;
    Ok(ComplexityEstimation {
        bits_i: i,
        bits_p: i + p,
        bits_b: i + p + b,
        // GMC S-VOPs are predicted like P-VOPs (static sprites are refused anyway)
        bits_s: i + p,
    })
}

/// Parse a video object layer header (6.2.3); `r` is just after `00 00 01 2x`.
pub fn parse_vol(r: &mut BitReader) -> Result<VolHeader> {
    r.skip(1); // random_accessible_vol
    let vo_type = r.read(8) as u8;
    let mut verid = 1u8;
    if r.read_bit() {
        verid = r.read(4) as u8;
        r.skip(3); // video_object_layer_priority
    }
    if r.read(4) == 0xF {
        r.skip(16); // extended par_width, par_height
    }
    let mut low_delay = None;
    if r.read_bit() {
        // vol_control_parameters
        let chroma_format = r.read(2);
        if chroma_format != 1 {
            // Only 4:2:0 (1) is defined; the other values are reserved.
            return Err(corrupt(
                r,
                &format!("reserved chroma_format {chroma_format}"),
            ));
        }
        low_delay = Some(r.read_bit());
        if r.read_bit() {
            // vbv_parameters: bit rate 15+1+15+1, buffer 15+1+3, occupancy 11+1+15+1
            r.skip(79);
        }
    }
    let shape = r.read(2);
    if shape != 0 {
        return Err(Error::Unsupported(format!(
            "mpeg4: non-rectangular video object layer shape {shape}"
        )));
    }
    r.skip(1); // marker
    let time_increment_resolution = r.read(16);
    if time_increment_resolution == 0 {
        return Err(corrupt(r, "vop_time_increment_resolution is 0"));
    }
    let time_increment_bits = time_increment_bits(time_increment_resolution);
    r.skip(1); // marker
    let fixed_vop_rate = if r.read_bit() {
        Some(r.read(time_increment_bits))
    } else {
        None
    };
    r.skip(1); // marker
    let width = r.read(13);
    r.skip(1);
    let height = r.read(13);
    r.skip(1);
    check_overrun(r, "video object layer header")?;
    check_frame_size(width, height, "mpeg4: video object layer")?;
    if width == 0 || height == 0 {
        return Err(corrupt(r, &format!("frame size {width}x{height}")));
    }
    let interlaced = r.read_bit();
    let obmc_disable = r.read_bit();
    let sprite_enable = if verid == 1 {
        r.read(1) as u8
    } else {
        r.read(2) as u8
    };
    let (mut sprite_warping_points, mut sprite_warping_accuracy) = (0u8, 0u8);
    let mut sprite_brightness_change = false;
    if sprite_enable == SPRITE_STATIC || sprite_enable == SPRITE_GMC {
        if sprite_enable == SPRITE_STATIC {
            // sprite_width, sprite_height, sprite_left/top_coordinate, each 13 bits + marker
            r.skip(4 * 14);
        }
        sprite_warping_points = r.read(6) as u8;
        if sprite_warping_points > 4 {
            return Err(corrupt(
                r,
                &format!("{sprite_warping_points} sprite warping points (at most 4)"),
            ));
        }
        sprite_warping_accuracy = r.read(2) as u8;
        sprite_brightness_change = r.read_bit();
        if sprite_enable == SPRITE_STATIC {
            r.skip(1); // low_latency_sprite_enable
        }
    } else if sprite_enable != SPRITE_NONE {
        return Err(corrupt(
            r,
            &format!("reserved sprite_enable {sprite_enable}"),
        ));
    }
    let (mut quant_precision, mut bits_per_pixel) = (5u8, 8u8);
    if r.read_bit() {
        // not_8_bit
        quant_precision = r.read(4) as u8;
        bits_per_pixel = r.read(4) as u8;
        if !(3..=9).contains(&quant_precision) {
            return Err(corrupt(r, &format!("quant_precision {quant_precision}")));
        }
    }
    let mpeg_quant = r.read_bit();
    let (mut intra_matrix, mut inter_matrix) = (DEFAULT_INTRA_MATRIX, DEFAULT_INTER_MATRIX);
    if mpeg_quant {
        if r.read_bit() {
            intra_matrix = read_quant_matrix(r)?;
        }
        if r.read_bit() {
            inter_matrix = read_quant_matrix(r)?;
        }
    }
    let quarter_sample = verid != 1 && r.read_bit();
    let complexity = if r.read_bit() {
        None
    } else {
        Some(parse_complexity_estimation(r)?)
    };
    let resync_marker_disable = r.read_bit();
    let data_partitioned = r.read_bit();
    let reversible_vlc = data_partitioned && r.read_bit();
    if verid != 1 {
        if r.read_bit() {
            return Err(Error::Unsupported("mpeg4: NEWPRED".into()));
        }
        if r.read_bit() {
            return Err(Error::Unsupported("mpeg4: reduced resolution VOPs".into()));
        }
    }
    if r.read_bit() {
        return Err(Error::Unsupported(
            "mpeg4: scalable video object layer".into(),
        ));
    }
    check_overrun(r, "video object layer header")?;
    Ok(VolHeader {
        verid,
        vo_type,
        width,
        height,
        time_increment_resolution,
        time_increment_bits,
        fixed_vop_rate,
        interlaced,
        obmc_disable,
        sprite_enable,
        sprite_warping_points,
        sprite_warping_accuracy,
        sprite_brightness_change,
        quant_precision,
        bits_per_pixel,
        mpeg_quant,
        intra_matrix,
        inter_matrix,
        quarter_sample,
        resync_marker_disable,
        data_partitioned,
        reversible_vlc,
        low_delay,
        profile_and_level: None,
        complexity,
    })
}

/// Refuse frame sizes beyond [`MAX_DIMENSION`] / [`MAX_PIXELS`] (before anything is allocated).
pub fn check_frame_size(width: u32, height: u32, layer: &str) -> Result<()> {
    if width > MAX_DIMENSION
        || height > MAX_DIMENSION
        || u64::from(width) * u64::from(height) > MAX_PIXELS
    {
        return Err(Error::Limit(format!(
            "{layer} declares a {width}x{height} frame (at most {MAX_DIMENSION} per side and \
             {MAX_PIXELS} pixels)"
        )));
    }
    Ok(())
}

/// One `warping_mv_code` (6.2.5.4): a length VLC (Table 6-32... sprite trajectory lengths),
/// then that many bits of a one's-complement-style signed value, then a marker.
fn read_warping_mv_code(r: &mut BitReader) -> Result<i32> {
    // dmv_length codes: 00->0, 010..110 -> 1..5, then 1110 -> 6, 11110 -> 7, ... up to 14.
    let length = if r.peek(2) == 0 {
        r.skip(2);
        0
    } else if r.peek(1) == 0 || r.peek(3) != 0b111 {
        let v = r.read(3);
        v - 1 // 010 -> 1, ..., 110 -> 5
    } else {
        r.skip(3);
        let mut len = 6;
        while r.read_bit() {
            len += 1;
            if len > 14 {
                return Err(corrupt(r, "sprite trajectory length code"));
            }
        }
        len
    };
    let value = if length == 0 {
        0
    } else {
        let code = r.read(length) as i32;
        // Leading 0 means negative: value = code - (2^length - 1).
        if code >> (length - 1) == 0 {
            code - ((1 << length) - 1)
        } else {
            code
        }
    };
    r.skip(1); // marker
    Ok(value)
}

/// The width of `vop_time_increment` to use for this VOP. When the marker bit after it is
/// not where the VOL says (a missing or wrong VOL), FFmpeg guesses the width from the bits that
/// follow: the marker, `vop_coded = 1` and `intra_dc_vlc_thr = 0` (with `rounding_type` in
/// between for P- and GMC S-VOPs). Same guess here, so the frame count agrees with FFmpeg.
fn checked_time_increment_bits(r: &BitReader, vol: &VolHeader, coding_type: FrameType) -> u32 {
    let bits = vol.time_increment_bits;
    if r.peek(bits + 1) & 1 == 1 {
        return bits;
    }
    let rounding = coding_type == FrameType::P
        || (coding_type == FrameType::S && vol.sprite_enable == SPRITE_GMC);
    (1..16)
        .find(|&n| {
            if rounding {
                r.peek(n + 6) & 0x37 == 0x30
            } else {
                r.peek(n + 5) & 0x1F == 0x18
            }
        })
        .unwrap_or(16)
}

/// Parse a VOP header (6.2.5); `r` is just after `00 00 01 B6`.
pub fn parse_vop(r: &mut BitReader, vol: &VolHeader) -> Result<VopHeader> {
    let start = r.position();
    let coding_type = match r.read(2) {
        0 => FrameType::I,
        1 => FrameType::P,
        2 => FrameType::B,
        _ => FrameType::S,
    };
    let mut modulo_time_base = 0u32;
    while r.read_bit() {
        modulo_time_base += 1;
        if r.overrun() || modulo_time_base > 3600 {
            return Err(corrupt(r, "modulo_time_base runs away"));
        }
    }
    r.skip(1); // marker
    let time_increment_bits = checked_time_increment_bits(r, vol, coding_type);
    let time_increment = r.read(time_increment_bits);
    r.skip(1); // marker
    let vop_coded = r.read_bit();
    let mut header = VopHeader {
        coding_type,
        modulo_time_base,
        time_increment,
        vop_coded,
        rounding_type: false,
        intra_dc_vlc_thr: 0,
        top_field_first: false,
        alternate_vertical_scan: false,
        quant: 0,
        fcode_forward: 0,
        fcode_backward: 0,
        warping_points: Vec::new(),
        header_bits: 0,
    };
    if !vop_coded {
        check_overrun(r, "VOP header")?;
        header.header_bits = r.position() - start;
        return Ok(header);
    }
    if coding_type == FrameType::S && vol.sprite_enable == SPRITE_NONE {
        return Err(corrupt(r, "sprite VOP in a layer without sprites"));
    }
    if coding_type == FrameType::P
        || (coding_type == FrameType::S && vol.sprite_enable == SPRITE_GMC)
    {
        header.rounding_type = r.read_bit();
    }
    if let Some(cx) = vol.complexity {
        r.skip(match coding_type {
            FrameType::I => cx.bits_i,
            FrameType::P => cx.bits_p,
            FrameType::B => cx.bits_b,
            FrameType::S => cx.bits_s,
        });
    }
    header.intra_dc_vlc_thr = r.read(3) as u8;
    if vol.interlaced {
        header.top_field_first = r.read_bit();
        header.alternate_vertical_scan = r.read_bit();
    }
    if coding_type == FrameType::S {
        for _ in 0..vol.sprite_warping_points {
            let du = read_warping_mv_code(r)?;
            let dv = read_warping_mv_code(r)?;
            header.warping_points.push((du, dv));
        }
        if vol.sprite_brightness_change {
            return Err(Error::Unsupported("mpeg4: sprite brightness change".into()));
        }
        if vol.sprite_enable == SPRITE_STATIC {
            return Err(Error::Unsupported("mpeg4: static sprite VOPs".into()));
        }
    }
    header.quant = r.read(u32::from(vol.quant_precision)) as u8;
    if header.quant == 0 {
        return Err(corrupt(r, "vop_quant is 0"));
    }
    if coding_type != FrameType::I {
        header.fcode_forward = r.read(3) as u8;
        if header.fcode_forward == 0 {
            return Err(corrupt(r, "vop_fcode_forward is 0"));
        }
    }
    if coding_type == FrameType::B {
        header.fcode_backward = r.read(3) as u8;
        if header.fcode_backward == 0 {
            return Err(corrupt(r, "vop_fcode_backward is 0"));
        }
    }
    check_overrun(r, "VOP header")?;
    header.header_bits = r.position() - start;
    Ok(header)
}

/// Parse a group-of-VOP header (6.2.4): returns `(time code in seconds, closed_gov, broken_link)`.
pub fn parse_gov(r: &mut BitReader) -> Result<(u32, bool, bool)> {
    let hours = r.read(5);
    let minutes = r.read(6);
    r.skip(1); // marker
    let seconds = r.read(6);
    let closed_gov = r.read_bit();
    let broken_link = r.read_bit();
    check_overrun(r, "group of VOP header")?;
    Ok((
        hours * 3600 + minutes * 60 + seconds,
        closed_gov,
        broken_link,
    ))
}

/// Leading decimal digits of `s` as a number, and the rest.
fn split_number(s: &[u8]) -> Option<(u32, &[u8])> {
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    let mut value = 0u32;
    for &d in &s[..digits] {
        value = value * 10 + u32::from(d - b'0');
    }
    Some((value, &s[digits..]))
}

/// Identify the encoder from a user-data payload (the bytes after `00 00 01 B2`):
/// "Lavc61.19.100", "FFmpeg...b4754", "XviD0064", "DivX503b1393p", "DivX501Build413p".
pub fn parse_user_data(bytes: &[u8]) -> Option<EncoderInfo> {
    if let Some(rest) = bytes.strip_prefix(b"Lavc") {
        let (major, rest) = split_number(rest)?;
        let (minor, micro) = match rest.strip_prefix(b".").and_then(split_number) {
            Some((minor, rest)) => (
                minor,
                rest.strip_prefix(b".")
                    .and_then(split_number)
                    .map_or(0, |(m, _)| m),
            ),
            None => (0, 0),
        };
        return Some(EncoderInfo {
            kind: Encoder::Lavc,
            build: Some((major << 16) | ((minor & 0xFF) << 8) | (micro & 0xFF)),
            ..EncoderInfo::default()
        });
    }
    if bytes.starts_with(b"FFmpe") {
        // Old libavcodec: "FFmpeg0.4.9-pre1b4754" -> build after the first 'b'.
        let build = bytes
            .iter()
            .position(|&b| b == b'b')
            .and_then(|i| split_number(&bytes[i + 1..]))
            .map(|(b, _)| b);
        return Some(EncoderInfo {
            kind: Encoder::Lavc,
            build,
            ..EncoderInfo::default()
        });
    }
    if let Some(rest) = bytes.strip_prefix(b"XviD") {
        return Some(EncoderInfo {
            kind: Encoder::Xvid,
            build: split_number(rest).map(|(b, _)| b),
            ..EncoderInfo::default()
        });
    }
    if let Some(rest) = bytes.strip_prefix(b"DivX") {
        let (version, rest) = split_number(rest)?;
        let rest = rest
            .strip_prefix(b"Build")
            .or_else(|| rest.strip_prefix(b"b"))?;
        let (build, rest) = split_number(rest)?;
        return Some(EncoderInfo {
            kind: Encoder::Divx,
            build: Some(build),
            version: Some(version),
            packed_bitstream: rest.first() == Some(&b'p'),
        });
    }
    None
}

/// A human-readable profile name from `profile_and_level_indication` (Table G-1), falling back
/// to the VOL's object type (Table 6-10) when the sequence header is absent.
pub fn profile_name(profile_and_level: Option<u8>, vo_type: u8) -> String {
    if let Some(pl) = profile_and_level {
        let level = |l: u8| format!(" @ L{l}");
        let named = match pl {
            0x01..=0x03 => Some(format!("Simple Profile{}", level(pl))),
            0x08 => Some("Simple Profile @ L0".to_string()),
            0x09 => Some("Simple Profile @ L0b".to_string()),
            0x04 => Some("Simple Profile @ L4a".to_string()),
            0x05 => Some("Simple Profile @ L5".to_string()),
            0x06 => Some("Simple Profile @ L6".to_string()),
            0x11..=0x12 => Some(format!("Simple Scalable Profile{}", level(pl - 0x10))),
            0x21..=0x22 => Some(format!("Core Profile{}", level(pl - 0x20))),
            0x32..=0x34 => Some(format!("Main Profile{}", level(pl - 0x30))),
            0x42 => Some("N-bit Profile @ L2".to_string()),
            0xF0..=0xF5 => Some(format!("Advanced Simple Profile{}", level(pl - 0xF0))),
            0xF7 => Some("Advanced Simple Profile @ L3b".to_string()),
            0x91..=0x94 => Some(format!(
                "Advanced Real Time Simple Profile{}",
                level(pl - 0x90)
            )),
            0xA1..=0xA3 => Some(format!("Core Scalable Profile{}", level(pl - 0xA0))),
            0xB1..=0xB4 => Some(format!(
                "Advanced Coding Efficiency Profile{}",
                level(pl - 0xB0)
            )),
            0xC1..=0xC2 => Some(format!("Advanced Core Profile{}", level(pl - 0xC0))),
            _ => None,
        };
        if let Some(name) = named {
            return name;
        }
    }
    match vo_type {
        1 => "Simple Profile".into(),
        2 => "Simple Scalable Profile".into(),
        3 => "Core Profile".into(),
        4 => "Main Profile".into(),
        17 => "Advanced Simple Profile".into(),
        other => format!("video object type {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MSB-first bit writer for building headers in tests.
    #[derive(Default)]
    pub(crate) struct BitWriter {
        bytes: Vec<u8>,
        bits: usize,
    }

    impl BitWriter {
        pub fn put(&mut self, n: u32, value: u32) -> &mut Self {
            for i in (0..n).rev() {
                if self.bits % 8 == 0 {
                    self.bytes.push(0);
                }
                if (value >> i) & 1 == 1 {
                    let last = self.bytes.len() - 1;
                    self.bytes[last] |= 0x80 >> (self.bits % 8);
                }
                self.bits += 1;
            }
            self
        }
        pub fn finish(&mut self) -> Vec<u8> {
            // stuffing: a 0 then ones to the byte boundary (next_start_code)
            self.put(1, 0);
            while self.bits % 8 != 0 {
                self.put(1, 1);
            }
            std::mem::take(&mut self.bytes)
        }
    }

    /// A Simple Profile VOL like FFmpeg's mpeg4 encoder writes (verid 1 unless given).
    fn vol_bits(w: &mut BitWriter, width: u32, height: u32, mpeg_quant: Option<&[u8]>) {
        w.put(1, 0).put(8, 1); // random_accessible, vo_type simple
        w.put(1, 1).put(4, 2).put(3, 1); // is_object_layer_identifier, verid 2, priority
        w.put(4, 1); // aspect square
        w.put(1, 1).put(2, 1).put(1, 0).put(1, 0); // vol_control: 4:2:0, low_delay 0, no vbv
        w.put(2, 0).put(1, 1); // shape rect, marker
        w.put(16, 25).put(1, 1); // resolution 25
        w.put(1, 1).put(5, 1); // fixed_vop_rate, increment 1 (5 bits for 25)
        w.put(1, 1)
            .put(13, width)
            .put(1, 1)
            .put(13, height)
            .put(1, 1);
        w.put(1, 0).put(1, 1).put(2, 0); // interlaced, obmc_disable, sprite (2 bits, verid 2)
        w.put(1, 0); // not_8_bit
        match mpeg_quant {
            None => {
                w.put(1, 0);
            }
            Some(m) => {
                w.put(1, 1).put(1, 1);
                for &v in m {
                    w.put(8, u32::from(v));
                }
                if m.len() < 64 {
                    w.put(8, 0);
                }
                w.put(1, 0); // default inter matrix
            }
        }
        w.put(1, 1); // quarter_sample
        w.put(1, 1); // complexity_estimation_disable
        w.put(1, 0).put(1, 1).put(1, 1); // resync on, data_partitioned, rvlc
        w.put(1, 0).put(1, 0); // newpred, reduced res
        w.put(1, 0); // scalability
    }

    #[test]
    fn parses_a_vol_with_loaded_matrix_in_zigzag_order() {
        let mut w = BitWriter::default();
        let loaded: Vec<u8> = (1..=10).collect();
        vol_bits(&mut w, 338, 250, Some(&loaded));
        let bytes = w.finish();
        let vol = parse_vol(&mut BitReader::new(&bytes)).unwrap();
        assert_eq!(
            (vol.width, vol.height, vol.verid, vol.vo_type),
            (338, 250, 2, 1)
        );
        assert_eq!(vol.time_increment_resolution, 25);
        assert_eq!(vol.time_increment_bits, 5);
        assert_eq!(vol.fixed_vop_rate, Some(1));
        assert_eq!(vol.low_delay, Some(false));
        assert!(vol.mpeg_quant && vol.quarter_sample && vol.obmc_disable);
        assert!(vol.data_partitioned && vol.reversible_vlc && !vol.resync_marker_disable);
        // zigzag positions 0..10 get 1..10 (raster 0, 1, 8, 16, 9, 2, ...), the rest repeat 10
        assert_eq!(vol.intra_matrix[0], 1);
        assert_eq!(vol.intra_matrix[1], 2);
        assert_eq!(vol.intra_matrix[8], 3);
        assert_eq!(vol.intra_matrix[16], 4);
        assert_eq!(vol.intra_matrix[9], 5);
        assert_eq!(vol.intra_matrix[24], 10);
        assert_eq!(vol.intra_matrix[63], 10);
        assert_eq!(vol.inter_matrix, DEFAULT_INTER_MATRIX);
    }

    #[test]
    fn refuses_huge_frames_and_truncation() {
        let mut w = BitWriter::default();
        vol_bits(&mut w, 8191, 8191, None);
        let bytes = w.finish();
        assert!(matches!(
            parse_vol(&mut BitReader::new(&bytes)),
            Err(Error::Limit(_))
        ));
        let mut w = BitWriter::default();
        vol_bits(&mut w, 176, 144, None);
        let bytes = w.finish();
        for cut in 0..bytes.len() - 1 {
            assert!(
                parse_vol(&mut BitReader::new(&bytes[..cut])).is_err(),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn parses_p_and_b_vop_headers() {
        let mut w = BitWriter::default();
        vol_bits(&mut w, 176, 144, None);
        let vol = parse_vol(&mut BitReader::new(&w.finish())).unwrap();
        let mut w = BitWriter::default();
        w.put(2, 1)
            .put(2, 0b10)
            .put(1, 1)
            .put(5, 7)
            .put(1, 1)
            .put(1, 1); // P, mtb=1, inc 7
        w.put(1, 1).put(3, 2).put(5, 9).put(3, 3); // rounding, dc thr, quant 9, fcode 3
        let bytes = w.finish();
        let vop = parse_vop(&mut BitReader::new(&bytes), &vol).unwrap();
        assert_eq!(vop.coding_type, FrameType::P);
        assert_eq!((vop.modulo_time_base, vop.time_increment), (1, 7));
        assert!(vop.vop_coded && vop.rounding_type);
        assert_eq!(
            (vop.quant, vop.fcode_forward, vop.intra_dc_threshold()),
            (9, 3, 15)
        );
        assert_eq!(vop.header_bits, 2 + 2 + 1 + 5 + 1 + 1 + 1 + 3 + 5 + 3);

        let mut w = BitWriter::default();
        w.put(2, 2)
            .put(1, 0)
            .put(1, 1)
            .put(5, 3)
            .put(1, 1)
            .put(1, 1); // B
        w.put(3, 0).put(5, 4).put(3, 1).put(3, 2);
        let vop = parse_vop(&mut BitReader::new(&w.finish()), &vol).unwrap();
        assert_eq!(vop.coding_type, FrameType::B);
        assert_eq!((vop.fcode_forward, vop.fcode_backward), (1, 2));
        assert!(!vop.rounding_type);

        let mut w = BitWriter::default();
        w.put(2, 1)
            .put(1, 0)
            .put(1, 1)
            .put(5, 3)
            .put(1, 1)
            .put(1, 0); // not coded
        let vop = parse_vop(&mut BitReader::new(&w.finish()), &vol).unwrap();
        assert!(!vop.vop_coded);
    }

    #[test]
    fn guesses_the_time_increment_width_like_ffmpeg_when_the_marker_is_missing() {
        let mut w = BitWriter::default();
        vol_bits(&mut w, 176, 144, None); // 5-bit time increments
        let vol = parse_vol(&mut BitReader::new(&w.finish())).unwrap();
        // A P-VOP written with 8-bit increments: the bit after 5 bits is 0, not a marker.
        let mut w = BitWriter::default();
        w.put(2, 1)
            .put(1, 0)
            .put(1, 1)
            .put(8, 0b0000_0010)
            .put(1, 1)
            .put(1, 1);
        w.put(1, 0).put(3, 0).put(5, 6).put(3, 1);
        let vop = parse_vop(&mut BitReader::new(&w.finish()), &vol).unwrap();
        assert_eq!(
            (vop.time_increment, vop.quant, vop.fcode_forward),
            (2, 6, 1)
        );
    }

    #[test]
    fn reads_sprite_trajectory_codes() {
        // length 0; length 2 "011" value "01" -> -2; length 6 "1110" value "100000" -> 32
        let mut w = BitWriter::default();
        w.put(2, 0).put(1, 1);
        w.put(3, 0b011).put(2, 0b01).put(1, 1);
        w.put(4, 0b1110).put(6, 0b100000).put(1, 1);
        let bytes = w.finish();
        let mut r = BitReader::new(&bytes);
        assert_eq!(read_warping_mv_code(&mut r).unwrap(), 0);
        assert_eq!(read_warping_mv_code(&mut r).unwrap(), -2);
        assert_eq!(read_warping_mv_code(&mut r).unwrap(), 32);
    }

    #[test]
    fn identifies_encoders_from_user_data() {
        let lavc = parse_user_data(b"Lavc61.19.100").unwrap();
        assert_eq!(lavc.kind, Encoder::Lavc);
        assert_eq!(lavc.build, Some((61 << 16) | (19 << 8) | 100));
        let divx = parse_user_data(b"DivX503b1393p").unwrap();
        assert_eq!(
            (divx.kind, divx.version, divx.build),
            (Encoder::Divx, Some(503), Some(1393))
        );
        assert!(divx.packed_bitstream);
        let divx = parse_user_data(b"DivX501Build413").unwrap();
        assert_eq!(divx.build, Some(413));
        assert!(!divx.packed_bitstream);
        let mut info = parse_user_data(b"XviD0064").unwrap();
        assert_eq!(info.build, Some(64));
        info.merge(parse_user_data(b"DivX503b1393p").unwrap());
        assert_eq!(info.kind, Encoder::Xvid);
        assert!(info.packed_bitstream);
        assert!(parse_user_data(b"hello").is_none());
    }

    #[test]
    fn profile_names() {
        assert_eq!(profile_name(Some(1), 1), "Simple Profile @ L1");
        assert_eq!(profile_name(Some(0xF5), 17), "Advanced Simple Profile @ L5");
        assert_eq!(profile_name(None, 17), "Advanced Simple Profile");
        assert_eq!(time_increment_bits(25), 5);
        assert_eq!(time_increment_bits(1), 1);
        assert_eq!(time_increment_bits(30000), 15);
    }
}
