//! Block texture of I- and P-VOPs (ISO/IEC 14496-2, 7.4): intra DC (own VLC or inside the AC
//! run/level stream), DC and AC prediction with scan selection, TCOEF run/level decoding with
//! the three escape modes (or the reversible tables of data-partitioned VOLs), and inverse
//! quantisation (H.263 method, or MPEG method with matrices). Output blocks are dequantised
//! coefficients in natural raster order, ready for the IDCT. Data partitioning splits an intra
//! block in two calls ([`TextureDecoder::decode_intra_dc`], [`TextureDecoder::decode_intra_ac`]).
//!
//! Prediction never crosses a video packet: a neighbour outside the current packet (or outside
//! the VOP, or not intra) counts as DC 1024 with zero AC, the rule FFmpeg implements.
//!
//! Where FFmpeg's arithmetic differs from the standard's wording, FFmpeg wins (the goal is
//! bit-exact output with its decoder, x86-64 build):
//! - intra DC and AC prediction work on quantised levels in 16-bit storage (wrapping adds); the
//!   DC predictor a block leaves behind is `level * dc_scaler` clamped to 0..=2047;
//! - H.263 inter levels are dequantised while parsing (`|F| = 2QP|L| + ((QP-1)|1)`) and an
//!   escape-3 result is clamped to -2048..=2047; nothing else is clamped (16-bit stores wrap);
//! - MPEG dequantisation follows FFmpeg's SIMD kernels: 16-bit products, intra without mismatch
//!   control, inter with it (`F[63] ^= 1` when the coefficient sum is even).
#![forbid(unsafe_code)]

use crate::bits::BitReader;
use crate::decoded::FrameType;
use crate::mpeg4::header::{VolHeader, VopHeader};
use crate::mpeg4::tables::{
    chroma_dc_scaler, luma_dc_scaler, ALTERNATE_HORIZONTAL, ALTERNATE_VERTICAL, ZIGZAG,
};
use crate::mpeg4::vlc::{
    event_len, event_tcoef, read_dc_size, rvlc_inter, rvlc_intra, tcoef_inter, tcoef_intra,
    TcoefTable,
};

/// The prediction state one 8x8 block leaves for its right and lower neighbours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pred {
    /// Reconstructed DC (`level * dc_scaler`, clamped to 0..=2047); 1024 = unavailable.
    dc: i16,
    /// Quantised levels of the first column, rows 1..=7 (for the block on the right).
    col: [i16; 7],
    /// Quantised levels of the first row, columns 1..=7 (for the block below).
    row: [i16; 7],
    /// The block's own DC prediction came from above (kept between the partitions of a
    /// data-partitioned packet).
    dc_from_top: bool,
}

const UNAVAILABLE: Pred = Pred {
    dc: 1024,
    col: [0; 7],
    row: [0; 7],
    dc_from_top: false,
};

/// An intra block's location, DC scaler and DC prediction.
#[derive(Clone, Copy, Debug)]
struct IntraSetup {
    site: Site,
    scale: i32,
    dir: Direction,
    /// The predicted DC level (predictor / scaler, rounded).
    pred_dc: i32,
    left: Pred,
    above: Pred,
}

/// Which neighbour the DC gradient picked (and so the AC predictor and the scan).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    /// From the block on the left: first column predicted, alternate-vertical scan.
    Left,
    /// From the block above: first row predicted, alternate-horizontal scan.
    Top,
}

/// Where a block's prediction state lives and which of its neighbours may be used.
#[derive(Clone, Copy, Debug)]
struct Site {
    idx: usize,
    stride: usize,
    left_ok: bool,
    above_ok: bool,
    above_left_ok: bool,
}

/// VOP-wide texture state: DC/AC predictors of every block, quantiser of every macroblock,
/// the quantisation method and the tables. Allocated once per stream, reused for every VOP.
#[derive(Debug)]
pub struct TextureDecoder {
    mb_width: usize,
    mb_height: usize,
    /// Luma block grid `(2 * mb_width + 1) x (2 * mb_height + 1)` with a border row and column
    /// of permanently unavailable predictors on top and left, then the Cb and Cr grids
    /// `(mb_width + 1) x (mb_height + 1)` laid out the same way.
    preds: Vec<Pred>,
    chroma_base: [usize; 2],
    qscales: Vec<u8>,
    packet_start: usize,
    mpeg_quant: bool,
    intra_matrix: [u8; 64],
    inter_matrix: [u8; 64],
    alternate_vertical: bool,
    intra: &'static TcoefTable,
    inter: &'static TcoefTable,
    /// Leave the quantised levels in the output blocks instead of dequantising them (decode
    /// modes that stop before the IDCT; [`Dequantiser`] finishes the job where wanted).
    levels_only: bool,
    /// With `levels_only`: also write inter blocks' dequantised coefficients, as the full mode
    /// computes them, into a second block (the coefficient record wants both, and dequantising
    /// the few levels an inter block holds as they are read beats a pass over all 64).
    with_coefficients: bool,
    /// Read the bits only: no DC/AC prediction and no predictor storage (decode modes that
    /// want neither pixels nor levels). Which bits an intra block takes never depends on the
    /// prediction: the DC size VLC, the differential and the run/level events are read alike,
    /// and the scan the prediction picks only places the levels.
    parse_only: bool,
}

/// The inverse quantisation of one VOP, apart from the parsing: what turns the quantised levels
/// [`TextureDecoder`] leaves in levels-only mode into exactly the coefficients its full mode
/// hands the IDCT.
#[derive(Clone, Debug)]
pub struct Dequantiser {
    /// MPEG quantisation with the matrices (else H.263's).
    pub mpeg_quant: bool,
    pub intra_matrix: [u8; 64],
    pub inter_matrix: [u8; 64],
    /// Reversible-VLC escape levels are not clamped (FFmpeg).
    pub reversible: bool,
}

impl Dequantiser {
    /// The inverse quantisation of VOP `vop` of `vol` (what [`TextureDecoder::start_vop`] sets).
    pub fn new(vol: &VolHeader, vop: &VopHeader) -> Self {
        Dequantiser {
            mpeg_quant: vol.mpeg_quant,
            intra_matrix: vol.intra_matrix,
            inter_matrix: vol.inter_matrix,
            reversible: uses_reversible_vlc(vol, vop),
        }
    }

    /// Coefficients of intra block `block` (0..=3 luma, 4/5 chroma) from its levels (DC level
    /// at 0, AC prediction already added) at quantiser `qscale`.
    pub fn intra(&self, levels: &[i16; 64], block: usize, qscale: u8, out: &mut [i16; 64]) {
        let qscale = qscale.clamp(1, 31);
        *out = *levels;
        if self.mpeg_quant {
            dequant_mpeg_intra(out, &self.intra_matrix, qscale);
        } else {
            dequant_h263_intra(out, qscale);
        }
        let scale = if block < 4 {
            luma_dc_scaler(qscale)
        } else {
            chroma_dc_scaler(qscale)
        };
        out[0] = (i32::from(levels[0]) * i32::from(scale)) as i16;
    }

    /// Coefficients of a coded inter block from its levels at quantiser `qscale`: what the
    /// coefficient mode's parse computes level by level (`decode_inter_block`), as one rule over
    /// the block, against which tests check the records.
    pub fn inter(&self, levels: &[i16; 64], qscale: u8, out: &mut [i16; 64]) {
        let qscale = qscale.clamp(1, 31);
        if self.mpeg_quant {
            *out = *levels;
            dequant_mpeg_inter(out, &self.inter_matrix, qscale);
        } else if self.reversible {
            // FFmpeg does not clamp reversible-escape levels (the 16-bit store wraps).
            let (qmul, qadd) = (2 * i32::from(qscale), (i32::from(qscale) - 1) | 1);
            for (v, &level) in out.iter_mut().zip(levels) {
                let level = i32::from(level);
                *v = (level * qmul + level.signum() * qadd) as i16;
            }
        } else {
            dequant_h263_inter(levels, qscale, out);
        }
    }
}

/// H.263 inter dequantisation of a block's levels into `out`, `F = L * 2QP + sign(L) * ((QP-1)|1)`.
/// As while parsing, the result is clamped to -2048..=2047. Levels beyond 2048 / qmul + 1 land
/// outside it whatever they are, so clamping them first keeps every product inside 16 bits: the
/// loop is branch-free 16-bit arithmetic, which vectorises.
fn dequant_h263_inter(levels: &[i16; 64], qscale: u8, out: &mut [i16; 64]) {
    let qmul = 2 * i16::from(qscale);
    let qadd = (i16::from(qscale) - 1) | 1;
    let bound = 2048 / qmul + 1;
    for (v, &level) in out.iter_mut().zip(levels) {
        let level = level.clamp(-bound, bound);
        // signum() with shifts only (its comparisons stay scalar): -1, 0 or 1.
        let sign = (level >> 15) | ((-level >> 15) & 1);
        *v = (level * qmul + sign * qadd).clamp(-2048, 2047);
    }
}

/// Reversible VLCs replace the TCOEF tables in data-partitioned (non-B) VOPs, as in FFmpeg.
fn uses_reversible_vlc(vol: &VolHeader, vop: &VopHeader) -> bool {
    vol.data_partitioned && vol.reversible_vlc && vop.coding_type != FrameType::B
}

/// `(a + b/2) / b` rounded half away from zero, C integer semantics (FFmpeg's `ROUNDED_DIV`).
#[inline]
fn rounded_div(a: i32, b: i32) -> i32 {
    if a > 0 {
        (a + (b >> 1)) / b
    } else {
        (a - (b >> 1)) / b
    }
}

impl TextureDecoder {
    pub fn new(mb_width: usize, mb_height: usize) -> Self {
        let luma = (2 * mb_width + 1) * (2 * mb_height + 1);
        let chroma = (mb_width + 1) * (mb_height + 1);
        TextureDecoder {
            mb_width,
            mb_height,
            preds: vec![UNAVAILABLE; luma + 2 * chroma],
            chroma_base: [luma, luma + chroma],
            qscales: vec![0; mb_width * mb_height],
            packet_start: 0,
            mpeg_quant: false,
            intra_matrix: crate::mpeg4::tables::DEFAULT_INTRA_MATRIX,
            inter_matrix: crate::mpeg4::tables::DEFAULT_INTER_MATRIX,
            alternate_vertical: false,
            intra: tcoef_intra(),
            inter: tcoef_inter(),
            levels_only: false,
            with_coefficients: false,
            parse_only: false,
        }
    }

    /// Keep quantised levels in the output blocks (`true`) or dequantise them (`false`, the
    /// default): set per VOP by the decode mode.
    pub fn set_levels_only(&mut self, levels_only: bool) {
        self.levels_only = levels_only;
    }

    /// In levels-only mode, also hand out inter blocks' coefficients (see
    /// [`TextureDecoder::decode_inter_block`]): set per VOP by the decode mode; off by default.
    pub fn set_with_coefficients(&mut self, with_coefficients: bool) {
        self.with_coefficients = with_coefficients;
    }

    /// Only read the blocks' bits (`true`): intra blocks skip DC/AC prediction and leave their
    /// output block unspecified. Set per VOP by the decode mode; off by default.
    pub fn set_parse_only(&mut self, parse_only: bool) {
        self.parse_only = parse_only;
    }

    /// Read past an intra block (parse-only mode): its DC differential when it has its own VLC
    /// (`dc_vlc`, the luma or chroma one by `block`) and its run/level events from scan
    /// position `pos` when `coded`.
    fn skip_intra(
        &self,
        r: &mut BitReader,
        (mb_x, mb_y, block): (usize, usize, usize),
        dc_vlc: bool,
        pos: usize,
        coded: bool,
        out: &mut [i16; 64],
    ) -> std::result::Result<(), &'static str> {
        if mb_x >= self.mb_width || mb_y >= self.mb_height || block > 5 {
            return Err("intra block outside the VOP");
        }
        if dc_vlc {
            read_dc_differential(r, block < 4)?;
        }
        if coded {
            read_run_levels(r, self.intra, &ZIGZAG, pos, out, |level| level as i16)?;
        }
        Ok(())
    }

    /// Start a VOP: take the quantisation method and scan from the headers and forget every
    /// predictor (the first packet starts at macroblock 0).
    pub fn start_vop(&mut self, vol: &VolHeader, vop: &VopHeader) {
        self.mpeg_quant = vol.mpeg_quant;
        self.intra_matrix = vol.intra_matrix;
        self.inter_matrix = vol.inter_matrix;
        self.alternate_vertical = vol.interlaced && vop.alternate_vertical_scan;
        (self.intra, self.inter) = if uses_reversible_vlc(vol, vop) {
            (rvlc_intra(), rvlc_inter())
        } else {
            (tcoef_intra(), tcoef_inter())
        };
        self.preds.fill(UNAVAILABLE);
        self.packet_start = 0;
    }

    /// Start a video packet at macroblock `first_mb_index` (raster order): predictors never
    /// reach into earlier packets.
    pub fn start_packet(&mut self, first_mb_index: usize) {
        self.packet_start = first_mb_index;
    }

    /// A non-intra macroblock (inter or not coded): its blocks stop being DC/AC predictors.
    pub fn mark_inter(&mut self, mb_x: usize, mb_y: usize) {
        if mb_x >= self.mb_width || mb_y >= self.mb_height {
            return;
        }
        // The blocks of `block_index`, computed once: luma Y0/Y1 and Y2/Y3 side by side, a
        // row apart; one block in each chroma plane.
        let stride = 2 * self.mb_width + 1;
        let top = (2 * mb_y + 1) * stride + 2 * mb_x + 1;
        for at in [top, top + stride] {
            if let Some(pair) = self.preds.get_mut(at..at + 2) {
                pair.fill(UNAVAILABLE);
            }
        }
        let chroma = (mb_y + 1) * (self.mb_width + 1) + mb_x + 1;
        for base in self.chroma_base {
            if let Some(p) = self.preds.get_mut(base + chroma) {
                *p = UNAVAILABLE;
            }
        }
    }

    /// Index of block `block` (0..=3 luma, 4 Cb, 5 Cr) of a macroblock in `preds`.
    #[inline]
    fn block_index(&self, mb_x: usize, mb_y: usize, block: usize) -> usize {
        if block < 4 {
            let stride = 2 * self.mb_width + 1;
            let (bx, by) = (2 * mb_x + (block & 1), 2 * mb_y + (block >> 1));
            (by + 1) * stride + bx + 1
        } else {
            let stride = self.mb_width + 1;
            self.chroma_base[(block - 4) & 1] + (mb_y + 1) * stride + mb_x + 1
        }
    }

    /// Locate a block and decide which neighbours belong to the current video packet (the rule
    /// of FFmpeg's `ff_mpeg4_pred_dc`: the packet is a run of macroblocks in raster order).
    fn site(&self, mb_x: usize, mb_y: usize, block: usize) -> Site {
        let k = mb_y * self.mb_width + mb_x;
        let start = self.packet_start;
        let first_line = k < start + self.mb_width;
        let first_mb = k == start;
        let (left_ok, above_ok, above_left_ok) = match block {
            0 | 4 | 5 => (
                !first_mb,
                !first_line,
                !first_line && k != start + self.mb_width,
            ),
            1 => (true, !first_line, !first_line),
            2 => (!first_mb, true, !first_mb),
            _ => (true, true, true),
        };
        Site {
            idx: self.block_index(mb_x, mb_y, block),
            stride: if block < 4 {
                2 * self.mb_width + 1
            } else {
                self.mb_width + 1
            },
            left_ok,
            above_ok,
            above_left_ok,
        }
    }

    #[inline]
    fn pred_at(&self, idx: Option<usize>, ok: bool) -> Pred {
        match idx {
            Some(i) if ok => self.preds.get(i).copied().unwrap_or(UNAVAILABLE),
            _ => UNAVAILABLE,
        }
    }

    /// Check the coordinates and gather what an intra block needs: its site, DC scaler and the
    /// DC prediction (direction and predicted level) from its neighbours (7.4.3.1).
    fn intra_setup(
        &self,
        mb_x: usize,
        mb_y: usize,
        block: usize,
        qscale: u8,
    ) -> std::result::Result<IntraSetup, &'static str> {
        if mb_x >= self.mb_width || mb_y >= self.mb_height || block > 5 {
            return Err("intra block outside the VOP");
        }
        let scale = i32::from(if block < 4 {
            luma_dc_scaler(qscale)
        } else {
            chroma_dc_scaler(qscale)
        });
        let site = self.site(mb_x, mb_y, block);
        let left = self.pred_at(site.idx.checked_sub(1), site.left_ok);
        let above = self.pred_at(site.idx.checked_sub(site.stride), site.above_ok);
        let above_left = self.pred_at(site.idx.checked_sub(site.stride + 1), site.above_left_ok);
        let (a, b, c) = (
            i32::from(left.dc),
            i32::from(above_left.dc),
            i32::from(above.dc),
        );
        let (dir, pred) = if (a - b).abs() < (b - c).abs() {
            (Direction::Top, c)
        } else {
            (Direction::Left, a)
        };
        Ok(IntraSetup {
            site,
            scale,
            dir,
            pred_dc: (pred + (scale >> 1)) / scale,
            left,
            above,
        })
    }

    /// Store the DC predictor a block leaves behind: `level * scaler`, clamped to 0..=2047
    /// (the coefficient itself is not clamped).
    fn store_dc(&mut self, setup: &IntraSetup, dc_level: i32) {
        let mut recon = dc_level * setup.scale;
        if recon & !2047 != 0 {
            recon = if recon < 0 { 0 } else { 2047 };
        }
        if let Some(p) = self.preds.get_mut(setup.site.idx) {
            p.dc = recon as i16;
            p.dc_from_top = setup.dir == Direction::Top;
        }
    }

    /// The AC half of an intra block: run/level decoding from scan position `pos` (when coded),
    /// the DC (`dc_level`, or when `None` the first coded level plus the prediction), AC
    /// prediction, predictor storage and dequantisation.
    #[allow(clippy::too_many_arguments)] // the block's position and flags as plain values in the per-block hot path
    fn intra_rest(
        &mut self,
        r: &mut BitReader,
        setup: &IntraSetup,
        (mb_x, mb_y, block): (usize, usize, usize),
        qscale: u8,
        dc_level: Option<i32>,
        ac_pred: bool,
        coded: bool,
        out: &mut [i16; 64],
    ) -> std::result::Result<(), &'static str> {
        if coded {
            let scan = if self.alternate_vertical {
                &ALTERNATE_VERTICAL
            } else if !ac_pred {
                &ZIGZAG
            } else if setup.dir == Direction::Left {
                &ALTERNATE_VERTICAL
            } else {
                &ALTERNATE_HORIZONTAL
            };
            let pos = usize::from(dc_level.is_some());
            read_run_levels(r, self.intra, scan, pos, out, |level| level as i16)?;
        }
        let dc_level = match dc_level {
            Some(level) => level,
            None => {
                let level = i32::from(out[0]) + setup.pred_dc;
                self.store_dc(setup, level);
                level
            }
        };
        out[0] = dc_level as i16;

        // AC prediction of the first column (from the left) or row (from above), on levels.
        let mb = mb_y * self.mb_width + mb_x;
        if ac_pred {
            match setup.dir {
                Direction::Left => {
                    let neighbour_q = if mb_x == 0 || block == 1 || block == 3 {
                        qscale
                    } else {
                        self.qscales.get(mb - 1).copied().unwrap_or(qscale)
                    };
                    add_prediction(out, &setup.left.col, 8, neighbour_q, qscale);
                }
                Direction::Top => {
                    let neighbour_q = if mb_y == 0 || block == 2 || block == 3 {
                        qscale
                    } else {
                        self.qscales
                            .get(mb - self.mb_width)
                            .copied()
                            .unwrap_or(qscale)
                    };
                    add_prediction(out, &setup.above.row, 1, neighbour_q, qscale);
                }
            }
        }
        if let Some(p) = self.preds.get_mut(setup.site.idx) {
            for i in 1..8 {
                p.col[i - 1] = out[i * 8];
                p.row[i - 1] = out[i];
            }
        }
        if let Some(q) = self.qscales.get_mut(mb) {
            *q = qscale;
        }
        if self.levels_only {
            return Ok(());
        }

        if self.mpeg_quant {
            dequant_mpeg_intra(out, &self.intra_matrix, qscale);
        } else {
            dequant_h263_intra(out, qscale);
        }
        out[0] = (dc_level * setup.scale) as i16;
        Ok(())
    }

    /// Decode intra block `block` (0..=5) of macroblock (`mb_x`, `mb_y`) into `out` (fully
    /// overwritten). `qscale` is the macroblock's quantiser after its `dquant`; `use_dc_vlc`
    /// says whether the DC has its own VLC (`qscale_before_dquant < intra_dc_threshold`, as in
    /// FFmpeg) or comes first in the run/level stream; `coded` is the block's CBP bit.
    #[allow(clippy::too_many_arguments)] // the macroblock layer's natural call; see interface doc
    pub fn decode_intra_block(
        &mut self,
        r: &mut BitReader,
        mb_x: usize,
        mb_y: usize,
        block: usize,
        qscale: u8,
        use_dc_vlc: bool,
        ac_pred: bool,
        coded: bool,
        out: &mut [i16; 64],
    ) -> std::result::Result<(), &'static str> {
        if self.parse_only {
            let pos = usize::from(use_dc_vlc);
            return self.skip_intra(r, (mb_x, mb_y, block), use_dc_vlc, pos, coded, out);
        }
        let qscale = qscale.clamp(1, 31);
        let setup = self.intra_setup(mb_x, mb_y, block, qscale)?;
        *out = [0; 64];
        let dc_level = if use_dc_vlc {
            let level = read_dc_differential(r, block < 4)? + setup.pred_dc;
            self.store_dc(&setup, level);
            Some(level)
        } else {
            None
        };
        self.intra_rest(
            r,
            &setup,
            (mb_x, mb_y, block),
            qscale,
            dc_level,
            ac_pred,
            coded,
            out,
        )
    }

    /// Data partitioning, first half of an intra block whose DC has its own VLC: read the DC
    /// (`dct_dc_size` + differential) and do the DC prediction, remembering the direction.
    /// [`TextureDecoder::decode_intra_ac`] later finishes the block.
    pub fn decode_intra_dc(
        &mut self,
        r: &mut BitReader,
        mb_x: usize,
        mb_y: usize,
        block: usize,
        qscale: u8,
    ) -> std::result::Result<(), &'static str> {
        if self.parse_only {
            let mut unused = [0; 64];
            return self.skip_intra(r, (mb_x, mb_y, block), true, 0, false, &mut unused);
        }
        let qscale = qscale.clamp(1, 31);
        let setup = self.intra_setup(mb_x, mb_y, block, qscale)?;
        let level = read_dc_differential(r, block < 4)? + setup.pred_dc;
        self.store_dc(&setup, level);
        Ok(())
    }

    /// Data partitioning, second half of an intra block (same arguments as
    /// [`TextureDecoder::decode_intra_block`]). With `use_dc_vlc` the DC comes from
    /// [`TextureDecoder::decode_intra_dc`]: as in FFmpeg, the level is recovered from the stored
    /// (clamped) predictor, `(dc + scaler / 2) / scaler`, with the direction chosen then.
    #[allow(clippy::too_many_arguments)] // the block's position and flags as plain values in the per-block hot path
    pub fn decode_intra_ac(
        &mut self,
        r: &mut BitReader,
        mb_x: usize,
        mb_y: usize,
        block: usize,
        qscale: u8,
        use_dc_vlc: bool,
        ac_pred: bool,
        coded: bool,
        out: &mut [i16; 64],
    ) -> std::result::Result<(), &'static str> {
        if self.parse_only {
            // The DC was read by `decode_intra_dc`.
            let pos = usize::from(use_dc_vlc);
            return self.skip_intra(r, (mb_x, mb_y, block), false, pos, coded, out);
        }
        let qscale = qscale.clamp(1, 31);
        let mut setup = self.intra_setup(mb_x, mb_y, block, qscale)?;
        *out = [0; 64];
        let dc_level = if use_dc_vlc {
            let own = self
                .preds
                .get(setup.site.idx)
                .copied()
                .unwrap_or(UNAVAILABLE);
            setup.dir = if own.dc_from_top {
                Direction::Top
            } else {
                Direction::Left
            };
            Some((i32::from(own.dc) + (setup.scale >> 1)) / setup.scale)
        } else {
            None
        };
        self.intra_rest(
            r,
            &setup,
            (mb_x, mb_y, block),
            qscale,
            dc_level,
            ac_pred,
            coded,
            out,
        )
    }

    /// Decode one coded inter block into `out` (fully overwritten), dequantised, or as levels
    /// in levels-only mode; with [`TextureDecoder::set_with_coefficients`] as well, `coefs` is
    /// overwritten with the dequantised block (otherwise it is not touched).
    pub fn decode_inter_block(
        &mut self,
        r: &mut BitReader,
        qscale: u8,
        out: &mut [i16; 64],
        coefs: &mut [i16; 64],
    ) -> std::result::Result<(), &'static str> {
        let qscale = qscale.clamp(1, 31);
        let scan = if self.alternate_vertical {
            &ALTERNATE_VERTICAL
        } else {
            &ZIGZAG
        };
        *out = [0; 64];
        let as_level = |level: i32| level as i16;
        if self.levels_only && !self.with_coefficients {
            return read_run_levels(r, self.inter, scan, 0, out, as_level);
        }
        if self.mpeg_quant {
            // Mismatch control needs the whole block: the levels first, then the values.
            read_run_levels(r, self.inter, scan, 0, out, as_level)?;
            let block = if self.levels_only {
                *coefs = *out;
                coefs
            } else {
                out
            };
            dequant_mpeg_inter(block, &self.inter_matrix, qscale);
            return Ok(());
        }
        if self.inter.is_reversible() {
            self.read_h263_inter::<true>(r, scan, qscale, out, coefs)
        } else {
            self.read_h263_inter::<false>(r, scan, qscale, out, coefs)
        }
    }

    /// The H.263-quantised inter block of [`TextureDecoder::decode_inter_block`], dequantised as
    /// it is read (`REVERSIBLE`: reversible-VLC escapes, which are not clamped).
    #[inline(always)]
    fn read_h263_inter<const REVERSIBLE: bool>(
        &self,
        r: &mut BitReader,
        scan: &[u8; 64],
        qscale: u8,
        out: &mut [i16; 64],
        coefs: &mut [i16; 64],
    ) -> std::result::Result<(), &'static str> {
        let (qmul, qadd) = (2 * i32::from(qscale), (i32::from(qscale) - 1) | 1);
        let value = |level: i32| h263_inter_coefficient::<REVERSIBLE>(level, qmul, qadd);
        if self.levels_only {
            *coefs = [0; 64];
            return read_events(r, self.inter, scan, 0, |raster, level| {
                out[raster] = level as i16;
                coefs[raster] = value(level);
            });
        }
        read_run_levels(r, self.inter, scan, 0, out, value)
    }
}

/// H.263 dequantisation of one inter level, `L * 2QP + sign(L) * ((QP-1)|1)` with `qmul` = 2QP
/// and `qadd` = (QP-1)|1, clamped to -2048..=2047 except for reversible-VLC escapes
/// (`REVERSIBLE`; FFmpeg does not clamp those: the 16-bit store wraps).
#[inline(always)]
fn h263_inter_coefficient<const REVERSIBLE: bool>(level: i32, qmul: i32, qadd: i32) -> i16 {
    let f = if level > 0 {
        level * qmul + qadd
    } else {
        level * qmul - qadd
    };
    // Only escape-3 levels can leave -2048..=2047 (table and escape-1/2 levels are at most
    // 24: 24 * 62 + 31 < 2048), so the clamp hides behind a cheap test.
    if REVERSIBLE || level.unsigned_abs() <= 32 {
        f as i16
    } else {
        f.clamp(-2048, 2047) as i16
    }
}

/// `dct_dc_size` and the DC differential (7.4.1.2); sizes above 8 are followed by a marker
/// bit, which FFmpeg only checks in strict mode (so neither do we). FFmpeg refuses sizes > 9.
fn read_dc_differential(r: &mut BitReader, luma: bool) -> std::result::Result<i32, &'static str> {
    let size = u32::from(read_dc_size(r, luma).ok_or("invalid intra DC size code")?);
    if size > 9 {
        return Err("intra DC size out of range");
    }
    if size == 0 {
        return Ok(0);
    }
    let bits = r.read(size);
    if size > 8 {
        r.skip(1);
    }
    Ok(if bits >> (size - 1) == 0 {
        bits as i32 - ((1 << size) - 1)
    } else {
        bits as i32
    })
}

/// Read (last, run, level) events from scan position `pos` until `last`, storing
/// `value(level)` at the raster position. A run past coefficient 63 is an error. Terminates:
/// at most 64 events fit, and past the end of the data the all-zero window is an invalid code.
#[inline(always)]
fn read_run_levels(
    r: &mut BitReader,
    table: &TcoefTable,
    scan: &[u8; 64],
    pos: usize,
    out: &mut [i16; 64],
    value: impl Fn(i32) -> i16,
) -> std::result::Result<(), &'static str> {
    read_events(r, table, scan, pos, |raster, level| {
        out[raster] = value(level)
    })
}

/// The event loop of [`read_run_levels`], handing each level and its raster position (0..64)
/// to `put`.
#[inline(always)]
fn read_events(
    r: &mut BitReader,
    table: &TcoefTable,
    scan: &[u8; 64],
    mut pos: usize,
    mut put: impl FnMut(usize, i32),
) -> std::result::Result<(), &'static str> {
    // A local copy of the reader, so its 64-bit register and position stay in registers
    // through the loop (nothing else can see them); handed back at the end.
    let mut br = r.clone();
    let result = loop {
        let ev = match table.event(br.peek32()) {
            Ok(ev) => ev,
            Err(e) => break Err(e),
        };
        br.skip(event_len(ev));
        let t = event_tcoef(ev);
        pos += t.run as usize;
        let Some(&raster) = scan.get(pos) else {
            break Err("DCT coefficient run past the end of the block");
        };
        put(usize::from(raster & 63), t.level);
        pos += 1;
        if t.last {
            break Ok(());
        }
    };
    *r = br;
    result
}

/// Add a neighbour's first row (`step` 1) or column (`step` 8) of levels, rescaled from its
/// quantiser to ours when they differ (7.4.3.3, with FFmpeg's rounding).
fn add_prediction(out: &mut [i16; 64], pred: &[i16; 7], step: usize, neighbour_q: u8, qscale: u8) {
    for (i, &p) in pred.iter().enumerate() {
        let v = if neighbour_q == qscale {
            p
        } else {
            rounded_div(i32::from(p) * i32::from(neighbour_q), i32::from(qscale)) as i16
        };
        let k = (i + 1) * step;
        out[k] = out[k].wrapping_add(v);
    }
}

/// H.263 intra dequantisation of the AC levels, `F = L * 2QP + sign(L) * ((QP-1)|1)` in 16-bit
/// arithmetic (FFmpeg's SSSE3 kernel); the DC is handled by the caller.
fn dequant_h263_intra(out: &mut [i16; 64], qscale: u8) {
    let qmul = 2 * i16::from(qscale);
    let qadd = (i16::from(qscale) - 1) | 1;
    for v in out.iter_mut().skip(1) {
        let l = *v;
        *v = l.wrapping_mul(qmul).wrapping_add(qadd * l.signum());
    }
}

/// MPEG intra dequantisation of the AC levels, `F = L * W * 2QP / 16` rounded toward zero, in
/// 16-bit arithmetic like FFmpeg's default (non-bitexact) SSE2 kernel: no mismatch control.
fn dequant_mpeg_intra(out: &mut [i16; 64], matrix: &[u8; 64], qscale: u8) {
    let q2 = 2 * u16::from(qscale);
    for (v, &w) in out.iter_mut().zip(matrix.iter()).skip(1) {
        let q = q2.wrapping_mul(u16::from(w)) as i16;
        // Negative levels get a bias of 15 so the arithmetic shift rounds toward zero.
        let bias = ((*v as u16) >> 12) as i16;
        *v = v.wrapping_mul(q).wrapping_add(bias) >> 4;
    }
}

/// MPEG inter dequantisation, `F = (2L + sign(L)) * W * QP / 16` rounded toward zero, in 16-bit
/// arithmetic like FFmpeg's SSSE3 kernel, then mismatch control: when the sum of all
/// coefficients is even, the last coefficient's lowest bit is flipped.
fn dequant_mpeg_inter(out: &mut [i16; 64], matrix: &[u8; 64], qscale: u8) {
    let q2 = 2 * u16::from(qscale);
    let mut parity = 0u16;
    for (v, &w) in out.iter_mut().zip(matrix.iter()) {
        if *v == 0 {
            continue;
        }
        let q = q2.wrapping_mul(u16::from(w));
        let a = v.unsigned_abs();
        let f = (a.wrapping_mul(2).wrapping_mul(q).wrapping_add(q) >> 5) as i16;
        *v = if *v < 0 { f.wrapping_neg() } else { f };
        parity ^= *v as u16;
    }
    if parity & 1 == 0 {
        out[63] ^= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mpeg4::tables::{self, Code};
    use crate::mpeg4::vlc::tests::BitWriter;

    fn code_of(rows: &[tables::TcoefRow], run: usize, level: usize) -> Code {
        rows[run][level - 1]
    }

    /// Append one table-coded coefficient.
    fn coef(w: &mut BitWriter, intra: bool, last: bool, run: usize, level: i32) {
        let rows: &[tables::TcoefRow] = match (intra, last) {
            (true, false) => &tables::TCOEF_INTRA_LAST0,
            (true, true) => &tables::TCOEF_INTRA_LAST1,
            (false, false) => &tables::TCOEF_INTER_LAST0,
            (false, true) => &tables::TCOEF_INTER_LAST1,
        };
        w.code(code_of(rows, run, level.unsigned_abs() as usize));
        w.put(u32::from(level < 0), 1);
    }

    /// Append an intra DC differential with its size code.
    fn dc(w: &mut BitWriter, luma: bool, diff: i32) {
        let size = 32 - diff.unsigned_abs().leading_zeros();
        let table = if luma {
            &tables::DC_SIZE_LUMA
        } else {
            &tables::DC_SIZE_CHROMA
        };
        w.code(table[size as usize]);
        if size > 0 {
            let bits = if diff < 0 {
                (diff + (1 << size) - 1) as u32
            } else {
                diff as u32
            };
            w.put(bits, size);
        }
        if size > 8 {
            w.put(1, 1);
        }
    }

    fn reader(w: &mut BitWriter) -> Vec<u8> {
        w.put(0, 32);
        w.bytes.clone()
    }

    fn decoder(mpeg_quant: bool) -> TextureDecoder {
        let mut t = TextureDecoder::new(3, 2);
        t.mpeg_quant = mpeg_quant;
        t
    }

    #[test]
    fn intra_dc_with_own_vlc_predicts_from_1024_at_the_vop_corner() {
        // qscale 4: dc_scaler 8, predictor 1024 / 8 = 128; differential -3 -> level 125.
        let mut w = BitWriter::default();
        dc(&mut w, true, -3);
        coef(&mut w, true, true, 0, 2); // one AC coefficient at zigzag position 1
        let data = reader(&mut w);
        let mut r = BitReader::new(&data);
        let mut t = decoder(false);
        let mut out = [0i16; 64];
        t.decode_intra_block(&mut r, 0, 0, 0, 4, true, false, true, &mut out)
            .unwrap();
        assert_eq!(out[0], 125 * 8);
        // H.263: 2 * 2 * 4 + (4 - 1 | 1) = 16 + 3.
        assert_eq!(out[1], 19);
        assert!(out[2..].iter().all(|&v| v == 0));
        assert_eq!(t.preds[t.block_index(0, 0, 0)].dc, 1000);
    }

    #[test]
    fn dc_sizes_above_8_carry_a_marker_bit() {
        let mut w = BitWriter::default();
        dc(&mut w, false, -300); // size 9: 9 bits then a marker
        let data = reader(&mut w);
        let mut r = BitReader::new(&data);
        let mut t = decoder(false);
        let mut out = [0i16; 64];
        t.decode_intra_block(&mut r, 0, 0, 4, 2, true, false, false, &mut out)
            .unwrap();
        assert_eq!(r.position(), 9 + 9 + 1);
        // (128 - 300) * 8 = -1376: the coefficient is kept, the stored predictor clamps to 0.
        assert_eq!(out[0], -1376);
        assert_eq!(t.preds[t.block_index(0, 0, 4)].dc, 0);
    }

    #[test]
    fn dc_through_the_ac_vlc_when_above_the_threshold() {
        let mut w = BitWriter::default();
        coef(&mut w, true, false, 0, 5); // DC level difference 5 at scan position 0
        coef(&mut w, true, true, 1, -1); // then a -1 at zigzag position 2 (raster 8)
        let data = reader(&mut w);
        let mut r = BitReader::new(&data);
        let mut t = decoder(false);
        let mut out = [0i16; 64];
        // qscale 20: luma scaler 28; predictor (1024 + 14) / 28 = 37.
        t.decode_intra_block(&mut r, 0, 0, 0, 20, false, false, true, &mut out)
            .unwrap();
        assert_eq!(out[0], (37 + 5) * 28);
        assert_eq!(out[8], -(2 * 20 + 19));
    }

    #[test]
    fn dc_direction_follows_the_gradient() {
        let mut t = decoder(false);
        let mut r = BitReader::new(&[0b0110_0000, 0, 0, 0]); // luma DC size 0, nothing else
        let mut out = [0i16; 64];
        // Block 3 of MB (1, 1): left = block 2, above = block 1, above-left = block 0.
        let (i0, i1, i2) = (
            t.block_index(1, 1, 0),
            t.block_index(1, 1, 1),
            t.block_index(1, 1, 2),
        );
        // |A - B| = |400 - 800| < |B - C| = |800 - 80|: predict from above (C).
        t.preds[i2].dc = 400;
        t.preds[i0].dc = 800;
        t.preds[i1].dc = 80;
        t.preds[i1].row = [1, 2, 3, 4, 5, 6, 7];
        t.preds[i2].col = [9; 7];
        t.decode_intra_block(&mut r, 1, 1, 3, 4, true, true, false, &mut out)
            .unwrap();
        assert_eq!(out[0], 10 * 8);
        // AC prediction from above: first row gets the neighbour's levels (dequantised: 2*4*L + 3).
        assert_eq!(&out[1..8], &[11, 19, 27, 35, 43, 51, 59]);
        assert!((1..8).all(|i| out[i * 8] == 0));

        // Now |B - C| = |800 - 800| = 0 <= |A - B|: predict from the left (A = 400).
        let mut r = BitReader::new(&[0b0110_0000, 0, 0, 0]);
        t.preds[i1].dc = 800;
        t.decode_intra_block(&mut r, 1, 1, 3, 4, true, true, false, &mut out)
            .unwrap();
        assert_eq!(out[0], 50 * 8);
        assert!((1..8).all(|i| out[i * 8] == 9 * 8 + 3));
        assert!(out[1..8].iter().all(|&v| v == 0));
    }

    #[test]
    fn ac_prediction_rescales_across_quantisers_and_picks_the_scan() {
        let mut t = decoder(false);
        // MB (0,0) intra at qscale 10 leaves a first column for block 1 of MB (0,0)... use the
        // MB to the left instead: block 0 of MB (1, 0) predicts from block 1 of MB (0, 0).
        let left = t.block_index(0, 0, 1);
        t.preds[left] = Pred {
            col: [3, -3, 5, 0, 0, 0, 1],
            ..UNAVAILABLE
        };
        t.qscales[0] = 10;
        // Equal DCs everywhere -> direction Left; the block itself codes level 1 at alternate
        // vertical scan position 1 (raster 8).
        let mut w = BitWriter::default();
        dc(&mut w, true, 0);
        coef(&mut w, true, true, 0, 1);
        let data = reader(&mut w);
        let mut r = BitReader::new(&data);
        let mut out = [0i16; 64];
        t.decode_intra_block(&mut r, 1, 0, 0, 4, true, true, true, &mut out)
            .unwrap();
        // Levels: rounded_div(3 * 10, 4) = 8 (7.5 away from zero), -8, 13 (12.5), 0, 0, 0, 3 (2.5).
        let levels = [1 + 8, -8, 13, 0, 0, 0, 3];
        let expect: Vec<i16> = levels
            .iter()
            .map(|&l: &i16| l * 8 + 3 * l.signum())
            .collect();
        let got: Vec<i16> = (1..8).map(|i| out[i * 8]).collect();
        assert_eq!(got, expect);
        // The stored column is the predicted levels (before dequantisation).
        assert_eq!(t.preds[t.block_index(1, 0, 0)].col, [9, -8, 13, 0, 0, 0, 3]);
    }

    #[test]
    fn predictors_do_not_cross_video_packets() {
        let mut t = decoder(false);
        // MB 0 of the VOP leaves DC 2000 in every block.
        for b in 0..6 {
            let i = t.block_index(0, 0, b);
            t.preds[i].dc = 2000;
            t.preds[i].col = [50; 7];
        }
        t.start_packet(1);
        let mut r = BitReader::new(&[0b0110_0000, 0, 0, 0]);
        let mut out = [0i16; 64];
        // Block 0 of MB 1 is the packet's first: its left neighbour (MB 0) is out of reach.
        t.decode_intra_block(&mut r, 1, 0, 0, 4, true, true, false, &mut out)
            .unwrap();
        assert_eq!(out[0], 128 * 8);
        assert!(out[1..].iter().all(|&v| v == 0));
        // In the same packet, block 0 of MB (0, 1) has MB (0, 0) above it but that MB is in the
        // previous packet too (first line of the packet extends to MB index 1 + 3 - 1 = 3).
        let mut r = BitReader::new(&[0b0110_0000, 0, 0, 0]);
        t.decode_intra_block(&mut r, 0, 1, 0, 4, true, false, false, &mut out)
            .unwrap();
        assert_eq!(out[0], 128 * 8);
        // Without the packet boundary, the same block predicts from MB (0, 0) above: 2000 / 8.
        t.start_packet(0);
        let mut r = BitReader::new(&[0b0110_0000, 0, 0, 0]);
        t.decode_intra_block(&mut r, 0, 1, 0, 4, true, false, false, &mut out)
            .unwrap();
        assert_eq!(out[0], 250 * 8);
    }

    #[test]
    fn partitioned_dc_then_ac_equals_the_whole_block() {
        let setup = |t: &mut TextureDecoder| {
            let left = t.block_index(0, 0, 1);
            t.preds[left] = Pred {
                dc: 900,
                col: [4, -2, 0, 0, 1, 0, 0],
                ..UNAVAILABLE
            };
            t.qscales[0] = 6;
        };
        let mut whole = BitWriter::default();
        dc(&mut whole, true, -7);
        coef(&mut whole, true, false, 2, 3);
        coef(&mut whole, true, true, 0, -1);
        let whole = reader(&mut whole);
        let mut dc_part = BitWriter::default();
        dc(&mut dc_part, true, -7);
        let dc_part = reader(&mut dc_part);
        let mut ac_part = BitWriter::default();
        coef(&mut ac_part, true, false, 2, 3);
        coef(&mut ac_part, true, true, 0, -1);
        let ac_part = reader(&mut ac_part);

        let mut a = decoder(false);
        setup(&mut a);
        let mut out_a = [0i16; 64];
        a.decode_intra_block(
            &mut BitReader::new(&whole),
            1,
            0,
            0,
            9,
            true,
            true,
            true,
            &mut out_a,
        )
        .unwrap();
        let mut b = decoder(false);
        setup(&mut b);
        let mut out_b = [0i16; 64];
        b.decode_intra_dc(&mut BitReader::new(&dc_part), 1, 0, 0, 9)
            .unwrap();
        b.decode_intra_ac(
            &mut BitReader::new(&ac_part),
            1,
            0,
            0,
            9,
            true,
            true,
            true,
            &mut out_b,
        )
        .unwrap();
        assert_eq!(out_a, out_b);
        assert_eq!(a.preds, b.preds);
        assert!(out_a[8] != 0 && out_a[0] != 0);
    }

    #[test]
    fn partitioned_dc_is_recovered_from_the_clamped_predictor() {
        // qscale 4 (scaler 8), predictor 128, differential +200: level 328, reconstructed 2624
        // is clamped to 2047 for prediction. The partitioned path (like FFmpeg) rebuilds the
        // level from the clamped value: (2047 + 4) / 8 = 256.
        let mut w = BitWriter::default();
        dc(&mut w, true, 200);
        let data = reader(&mut w);
        let mut t = decoder(false);
        let mut out = [0i16; 64];
        t.decode_intra_dc(&mut BitReader::new(&data), 0, 0, 0, 4)
            .unwrap();
        t.decode_intra_ac(
            &mut BitReader::new(&[]),
            0,
            0,
            0,
            4,
            true,
            false,
            false,
            &mut out,
        )
        .unwrap();
        assert_eq!(out[0], 256 * 8);
        let mut t = decoder(false);
        t.decode_intra_block(
            &mut BitReader::new(&data),
            0,
            0,
            0,
            4,
            true,
            false,
            false,
            &mut out,
        )
        .unwrap();
        assert_eq!(out[0], 328 * 8);
    }

    #[test]
    fn random_data_never_panics_and_always_terminates() {
        // Deterministic xorshift noise through every entry point, with odd quantisers and
        // coordinates; results may be Ok or Err but must come back.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut out = [0i16; 64];
        for mpeg_quant in [false, true] {
            let mut t = decoder(mpeg_quant);
            for round in 0..3000 {
                let data: Vec<u8> = (0..(next() % 24)).map(|_| next() as u8).collect();
                let mut r = BitReader::new(&data);
                let v = next();
                let (mb_x, mb_y, block) = (
                    (v % 4) as usize,
                    (v >> 8) as usize % 3,
                    (v >> 16) as usize % 7,
                );
                let q = (v >> 24) as u8 % 40;
                let flags = v >> 32;
                if round % 97 == 0 {
                    t.start_packet((v >> 40) as usize % 7);
                }
                let _ = match flags % 4 {
                    0 => t.decode_inter_block(&mut r, q, &mut out, &mut [0; 64]),
                    1 => t.decode_intra_dc(&mut r, mb_x, mb_y, block, q),
                    2 => t.decode_intra_ac(
                        &mut r,
                        mb_x,
                        mb_y,
                        block,
                        q,
                        flags & 4 != 0,
                        flags & 8 != 0,
                        flags & 16 != 0,
                        &mut out,
                    ),
                    _ => t.decode_intra_block(
                        &mut r,
                        mb_x,
                        mb_y,
                        block,
                        q,
                        flags & 4 != 0,
                        flags & 8 != 0,
                        flags & 16 != 0,
                        &mut out,
                    ),
                };
                if flags & 32 != 0 {
                    t.mark_inter(mb_x, mb_y);
                }
            }
        }
    }

    #[test]
    fn parse_only_reads_the_same_bits_as_a_full_decode() {
        // Streams of intra blocks (valid ones, then noise) read by a predicting decoder and a
        // parse-only one: every call must end at the same bit with the same outcome, whatever
        // the prediction picked (scan, DC direction).
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for mpeg_quant in [false, true] {
            for round in 0..400 {
                let mut w = BitWriter::default();
                let mut calls = Vec::new();
                for k in 0..18usize {
                    let (mb_x, mb_y, block) = ((k / 6) % 3, k / 12, k % 6);
                    let v = next();
                    let (use_dc_vlc, ac_pred, coded) = (v & 1 != 0, v & 2 != 0, v & 4 != 0);
                    let partitioned = v & 8 != 0 && use_dc_vlc;
                    if use_dc_vlc {
                        dc(&mut w, block < 4, (v >> 8) as i32 % 300);
                    }
                    if coded {
                        let events = 1 + (v >> 20) as usize % 5;
                        for e in 0..events {
                            let ev = next();
                            let level = 1 + (ev % 2) as i32;
                            let level = if ev & 4 != 0 { -level } else { level };
                            coef(&mut w, true, e + 1 == events, (ev >> 3) as usize % 4, level);
                        }
                    }
                    calls.push((
                        mb_x,
                        mb_y,
                        block,
                        (v >> 32) as u8 % 32,
                        use_dc_vlc,
                        ac_pred,
                        coded,
                        partitioned,
                    ));
                }
                let mut data = reader(&mut w);
                if round % 2 == 1 {
                    // Noise from some byte on: the outcomes must still agree.
                    let from = (next() as usize) % data.len().max(1);
                    for b in &mut data[from..] {
                        *b = next() as u8;
                    }
                }
                let (mut full, mut parse) = (decoder(mpeg_quant), decoder(mpeg_quant));
                parse.set_levels_only(true);
                parse.set_parse_only(true);
                let (mut rf, mut rp) = (BitReader::new(&data), BitReader::new(&data));
                let (mut of, mut op) = ([0i16; 64], [0i16; 64]);
                for (i, &(x, y, b, q, dcv, acp, coded, part)) in calls.iter().enumerate() {
                    let (a, c) = if part {
                        let a = full.decode_intra_dc(&mut rf, x, y, b, q).and_then(|()| {
                            full.decode_intra_ac(&mut rf, x, y, b, q, dcv, acp, coded, &mut of)
                        });
                        let c = parse.decode_intra_dc(&mut rp, x, y, b, q).and_then(|()| {
                            parse.decode_intra_ac(&mut rp, x, y, b, q, dcv, acp, coded, &mut op)
                        });
                        (a, c)
                    } else {
                        (
                            full.decode_intra_block(&mut rf, x, y, b, q, dcv, acp, coded, &mut of),
                            parse.decode_intra_block(&mut rp, x, y, b, q, dcv, acp, coded, &mut op),
                        )
                    };
                    assert_eq!(a, c, "round {round} call {i}");
                    assert_eq!(rf.position(), rp.position(), "round {round} call {i}");
                    if a.is_err() {
                        break;
                    }
                }
            }
        }
    }

    #[test]
    fn mark_inter_makes_a_macroblock_unavailable() {
        // Every predictor set, then one macroblock marked: exactly its six blocks change.
        for (mb_x, mb_y) in [(0, 0), (2, 0), (1, 1), (2, 1)] {
            let mut t = decoder(false);
            t.preds.iter_mut().for_each(|p| p.dc = 2000);
            t.mark_inter(mb_x, mb_y);
            let mine: Vec<usize> = (0..6).map(|b| t.block_index(mb_x, mb_y, b)).collect();
            for (i, p) in t.preds.iter().enumerate() {
                let want = if mine.contains(&i) { 1024 } else { 2000 };
                assert_eq!(p.dc, want, "MB ({mb_x}, {mb_y}), predictor {i}");
            }
        }
    }

    #[test]
    fn inter_block_h263_dequantisation_and_escape_3_clamp() {
        let mut w = BitWriter::default();
        coef(&mut w, false, false, 0, -1);
        coef(&mut w, false, false, 3, 2);
        // Escape 3: last, run 0, level 1500 -> 1500 * 2 * 31 + 31 clamps to 2047.
        w.code(tables::TCOEF_ESCAPE);
        w.put(0b11, 2);
        w.put(1, 1);
        w.put(0, 6);
        w.put(1, 1);
        w.put(1500, 12);
        w.put(1, 1);
        let data = reader(&mut w);
        let mut t = decoder(false);
        let mut out = [0i16; 64];
        let mut r = BitReader::new(&data);
        t.decode_inter_block(&mut r, 31, &mut out, &mut [0; 64])
            .unwrap();
        assert_eq!(out[0], -(2 * 31 + 31));
        assert_eq!(out[ZIGZAG[4] as usize], 2 * 2 * 31 + 31);
        assert_eq!(out[ZIGZAG[5] as usize], 2047);
        assert_eq!(out.iter().filter(|&&v| v != 0).count(), 3);
    }

    #[test]
    fn runs_past_the_block_are_errors_not_panics() {
        let mut w = BitWriter::default();
        // Escape 3 with run 63 after one coefficient: position 64.
        coef(&mut w, false, false, 0, 1);
        w.code(tables::TCOEF_ESCAPE);
        w.put(0b11, 2);
        w.put(1, 1);
        w.put(63, 6);
        w.put(1, 1);
        w.put(1, 12);
        w.put(1, 1);
        let data = reader(&mut w);
        let mut t = decoder(false);
        let mut out = [0i16; 64];
        assert!(t
            .decode_inter_block(&mut BitReader::new(&data), 8, &mut out, &mut [0; 64])
            .is_err());
        // Garbage and an empty buffer: errors.
        assert!(t
            .decode_inter_block(&mut BitReader::new(&[0; 4]), 8, &mut out, &mut [0; 64])
            .is_err());
        assert!(t
            .decode_inter_block(&mut BitReader::new(&[]), 8, &mut out, &mut [0; 64])
            .is_err());
        assert!(t
            .decode_intra_block(
                &mut BitReader::new(&[]),
                0,
                0,
                0,
                8,
                true,
                false,
                true,
                &mut out
            )
            .is_err());
        assert!(t
            .decode_intra_block(
                &mut BitReader::new(&[0xFF]),
                3,
                0,
                0,
                8,
                true,
                false,
                true,
                &mut out
            )
            .is_err());
    }

    #[test]
    fn mpeg_intra_dequantisation_uses_the_matrix_and_truncates() {
        let mut out = [0i16; 64];
        out[1] = 3;
        out[9] = -5;
        out[63] = 1;
        let m = tables::DEFAULT_INTRA_MATRIX;
        dequant_mpeg_intra(&mut out, &m, 7);
        // 3 * 17 * 14 / 16 = 44.625 -> 44; -5 * 18 * 14 / 16 = -78.75 -> -78; 45 * 14 / 16 = 39.375.
        assert_eq!((out[1], out[9], out[63]), (44, -78, 39));
        assert_eq!(out.iter().filter(|&&v| v != 0).count(), 3); // no mismatch control
    }

    #[test]
    fn mpeg_inter_dequantisation_with_mismatch_control() {
        let m = tables::DEFAULT_INTER_MATRIX;
        let mut out = [0i16; 64];
        out[0] = 2;
        out[10] = -1;
        dequant_mpeg_inter(&mut out, &m, 5);
        // (2*2+1) * 16 * 5 / 16 = 25; -(3 * 19 * 5 / 16) = -(17.8) -> -17. Sum 8 is even: F[63]
        // becomes 1.
        assert_eq!((out[0], out[10], out[63]), (25, -17, 1));
        let mut out = [0i16; 64];
        out[0] = 1;
        dequant_mpeg_inter(&mut out, &m, 2);
        // 3 * 16 * 2 / 16 = 6, even: flip F[63].
        assert_eq!((out[0], out[63]), (6, 1));
        let mut out = [0i16; 64];
        out[63] = 1;
        dequant_mpeg_inter(&mut out, &m, 1);
        // 3 * 33 / 16 = 6.19 -> 6, even: 6 ^ 1 = 7.
        assert_eq!(out[63], 7);
    }

    #[test]
    fn inter_blocks_with_coefficients_give_the_levels_and_the_full_modes_values() {
        let mut rng = crate::test_rng::Rng(0x5eed_b10c);
        for case in 0..300 {
            // Table events (runs 0..=3, levels +-1..=3 where the table has them), and now and
            // then an escape-3 level beyond the clamp.
            let mut w = BitWriter::default();
            let mut pos = 0usize;
            let events = rng.range(1, 16);
            for e in 0..events {
                let run = rng.range(0, 3) as usize;
                if pos + run > 63 {
                    break;
                }
                pos += run + 1;
                let last = e + 1 == events || pos == 64;
                let sign = if rng.range(0, 1) == 0 { 1 } else { -1 };
                if rng.range(0, 9) == 0 {
                    // Escape, type 3: fixed-length last, run and a 12-bit level.
                    w.code(tables::TCOEF_ESCAPE);
                    w.put(0b11, 2);
                    w.put(u32::from(last), 1);
                    w.put(run as u32, 6);
                    w.put(1, 1);
                    w.put((sign * rng.range(1, 2047) as i32) as u32 & 0xfff, 12);
                    w.put(1, 1);
                } else {
                    coef(
                        &mut w,
                        false,
                        last,
                        run,
                        sign * rng.range(1, if run == 0 { 3 } else { 1 }) as i32,
                    );
                }
                if last {
                    break;
                }
            }
            let data = reader(&mut w);
            for mpeg_quant in [false, true] {
                let q = rng.range(1, 31) as u8;
                let decode = |levels_only: bool, with_coefficients: bool| {
                    let mut t = decoder(mpeg_quant);
                    t.set_levels_only(levels_only);
                    t.set_with_coefficients(with_coefficients);
                    let (mut out, mut coefs) = ([7i16; 64], [9i16; 64]);
                    let result =
                        t.decode_inter_block(&mut BitReader::new(&data), q, &mut out, &mut coefs);
                    (result, out, coefs)
                };
                let (full, pixels, untouched) = decode(false, false);
                let (levels_only, levels, _) = decode(true, false);
                let (both, both_levels, both_coefs) = decode(true, true);
                assert_eq!((full, levels_only), (both, both), "case {case}");
                assert_eq!(
                    untouched, [9; 64],
                    "case {case}: coefs written outside the mode"
                );
                if both.is_ok() {
                    assert_eq!(both_levels, levels, "case {case}, mpeg {mpeg_quant}");
                    assert_eq!(both_coefs, pixels, "case {case}, mpeg {mpeg_quant}");
                    let mut dense = [0; 64];
                    let dequant = Dequantiser {
                        mpeg_quant,
                        intra_matrix: tables::DEFAULT_INTRA_MATRIX,
                        inter_matrix: tables::DEFAULT_INTER_MATRIX,
                        reversible: false,
                    };
                    dequant.inter(&levels, q, &mut dense);
                    assert_eq!(
                        dense, pixels,
                        "case {case}: Dequantiser::inter, mpeg {mpeg_quant}"
                    );
                }
            }
        }
    }

    #[test]
    fn mpeg_inter_block_decodes_and_dequantises() {
        let mut w = BitWriter::default();
        coef(&mut w, false, true, 0, 1);
        let data = reader(&mut w);
        let mut t = decoder(true);
        let mut out = [0i16; 64];
        t.decode_inter_block(&mut BitReader::new(&data), 3, &mut out, &mut [0; 64])
            .unwrap();
        // (2 + 1) * 16 * 3 / 16 = 9, odd sum: no flip.
        assert_eq!(out[0], 9);
        assert_eq!(out.iter().filter(|&&v| v != 0).count(), 1);
    }

    #[test]
    fn mpeg_intra_block_keeps_dc_scaler_dequant() {
        let mut w = BitWriter::default();
        dc(&mut w, true, 2);
        coef(&mut w, true, true, 0, -2);
        let data = reader(&mut w);
        let mut t = decoder(true);
        let mut out = [0i16; 64];
        t.decode_intra_block(
            &mut BitReader::new(&data),
            0,
            0,
            0,
            6,
            true,
            false,
            true,
            &mut out,
        )
        .unwrap();
        // qscale 6: scaler 12, predictor (1024 + 6) / 12 = 85 -> 87 * 12.
        assert_eq!(out[0], 87 * 12);
        // -2 * 17 * 12 / 16 = -25.5 -> -25.
        assert_eq!(out[1], -25);
    }

    #[test]
    fn h263_intra_dequantisation_by_hand() {
        let mut out = [0i16; 64];
        out[0] = 7;
        out[5] = 1;
        out[6] = -2;
        dequant_h263_intra(&mut out, 6);
        // DC untouched here; 1 * 12 + 5 = 17; -2 * 12 - 5 = -29.
        assert_eq!((out[0], out[5], out[6]), (7, 17, -29));
    }

    #[test]
    fn rounded_div_rounds_half_away_from_zero() {
        assert_eq!(rounded_div(15, 2), 8);
        assert_eq!(rounded_div(-15, 2), -8);
        assert_eq!(rounded_div(14, 4), 4);
        assert_eq!(rounded_div(0, 7), 0);
        assert_eq!(rounded_div(-5, 4), -1);
    }
}
