//! Global motion compensation of GMC sprite VOPs (ISO/IEC 14496-2, 7.8 "sprite decoding"; the
//! S-VOPs libxvid writes with `-gmc 1`): the warp that a VOP's sprite trajectory (up to three
//! warping points) describes, the prediction of `mcsel` macroblocks from the reference through
//! that warp, and the average warp vector such a macroblock stands for in motion-vector
//! prediction and B-VOP direct mode.
//!
//! The arithmetic is the standard's, arranged the way FFmpeg's decoder (the oracle of the
//! tests) arranges it, because its choices decide the output bit for bit:
//! * the warp is kept as a start position and per-column / per-row increments in 1/2^16 of the
//!   warp's sub-sample unit; a warp that is a pure translation (always the case with 0 or 1
//!   warping point) is reduced to an offset and predicted by the 1/16-sample bilinear "fast
//!   path" (or plain half-sample MC when the offset is on the half-sample grid);
//! * the source block of the fast path is clipped to the VISIBLE frame like 4MV blocks; the
//!   general warp reads samples clamped to the macroblock-aligned reference;
//! * FFmpeg on x86 predicts most 8-column blocks of a general warp with 16-bit SIMD code that
//!   takes the sample fraction from bits 16..19 of the position whatever the accuracy: exact
//!   at 1/16-sample accuracy (libxvid's), different from the standard below it. PyAV's FFmpeg
//!   is that build, so [`Warp::simd_block`] reproduces it, including when it applies;
//! * a warp whose terms do not fit 32 bits is refused (FFmpeg drops such a VOP).
#![forbid(unsafe_code)]

use crate::decoded::FrameType;
use crate::mpeg4::header::{VolHeader, VopHeader, SPRITE_GMC};
use crate::mpeg4::idct::{idct_add, IdctKind};
use crate::mpeg4::macroblock::Macroblock;
use crate::mpeg4::mc::{mc_halfpel, RefPlane};
use crate::mpeg4::recon::Picture;

/// The warp of one S-VOP, with what the macroblock layer needs to derive GMC vectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Warp {
    /// `sprite_warping_accuracy` (0..=3): positions are in 1/2^(accuracy + 1) samples.
    pub accuracy: u32,
    /// A pure translation: `offset` holds it and the fast path predicts (FFmpeg's
    /// `real_sprite_warping_points == 1`).
    pub translation: bool,
    /// Position of the top-left sample, luma then chroma, (x, y). Translation: in warp units;
    /// otherwise in warp units * 2^16.
    pub offset: [[i32; 2]; 2],
    /// `delta[c][d]`: change of coordinate c (0 = x, 1 = y) per step along d (0 = one column
    /// right, 1 = one row down), in the units of `offset` (the same for luma and chroma).
    pub delta: [[i32; 2]; 2],
    /// Vectors are in quarter samples (the VOL's `quarter_sample`).
    pub quarter_sample: bool,
    /// `vop_fcode_forward`: the range GMC vectors are clipped to.
    pub f_code: u8,
}

/// The fixed-point shift of a general warp (FFmpeg normalises both planes to 16 bits).
const WARP_SHIFT: u32 = 16;

/// `ROUNDED_DIV`: division rounding half away from zero.
fn rounded_div(a: i64, b: i64) -> i64 {
    if a >= 0 {
        (a + (b >> 1)) / b
    } else {
        (a - (b >> 1)) / b
    }
}

/// The warp parameters before FFmpeg's normalisation: offsets, deltas and the two shifts.
struct RawWarp {
    offset: [[i64; 2]; 2],
    delta: [[i64; 2]; 2],
    shift: [u32; 2],
}

impl Warp {
    /// The warp of S-VOP `vop` in a GMC layer `vol`; `None` when the layer is not GMC or the
    /// trajectory is out of range (FFmpeg refuses those VOPs too).
    pub fn for_vop(vol: &VolHeader, vop: &VopHeader) -> Option<Warp> {
        if vop.coding_type != FrameType::S || vol.sprite_enable != SPRITE_GMC {
            return None;
        }
        let mut warp = Warp::from_trajectory(
            &vop.warping_points,
            u32::from(vol.sprite_warping_accuracy),
            i64::from(vol.width),
            i64::from(vol.height),
        )?;
        warp.quarter_sample = vol.quarter_sample;
        warp.f_code = vop.fcode_forward.max(1);
        Some(warp)
    }

    /// The warp of a trajectory (`points` = (du, dv) of up to 3 warping points, 7.8.4) for a
    /// `width x height` VOP.
    pub fn from_trajectory(
        points: &[(i32, i32)],
        accuracy: u32,
        width: i64,
        height: i64,
    ) -> Option<Warp> {
        if points.len() > 3 || accuracy > 3 || width <= 0 || height <= 0 {
            return None;
        }
        let raw = raw_warp(points, accuracy, width, height);
        let a = 2i64 << accuracy;
        let identity = a << raw.shift[0];
        let translation = raw.delta == [[identity, 0], [0, identity]];
        let (offset, delta) = if translation {
            let offset = [
                [
                    raw.offset[0][0] >> raw.shift[0],
                    raw.offset[0][1] >> raw.shift[0],
                ],
                [
                    raw.offset[1][0] >> raw.shift[1],
                    raw.offset[1][1] >> raw.shift[1],
                ],
            ];
            (offset, [[a, 0], [0, a]])
        } else {
            // Bring both planes to WARP_SHIFT fractional bits, refusing what would overflow.
            let (sy, sc) = (
                WARP_SHIFT.checked_sub(raw.shift[0])?,
                WARP_SHIFT.checked_sub(raw.shift[1])?,
            );
            let limit = |v: i64, s: u32| v.abs() < (i64::from(i32::MAX) >> s);
            for c in 0..2 {
                let ok = limit(raw.offset[0][c], sy)
                    && limit(raw.offset[1][c], sc)
                    && limit(raw.delta[0][c], sy)
                    && limit(raw.delta[1][c], sy);
                if !ok {
                    return None;
                }
            }
            let offset = [
                [raw.offset[0][0] << sy, raw.offset[0][1] << sy],
                [raw.offset[1][0] << sc, raw.offset[1][1] << sc],
            ];
            let delta = raw.delta.map(|row| row.map(|d| d << sy));
            // Every position the MBs (and the GMC vector sum) can reach must fit 32 bits.
            let (w, h) = (width + 16, height + 16);
            for c in 0..2 {
                let (o, [dx, dy]) = (offset[0][c], delta[c]);
                let (ex, ey) = (dx - (a << WARP_SHIFT), dy - (a << WARP_SHIFT));
                let small = |v: i64| v.abs() < i64::from(i32::MAX);
                let ok = [
                    o + dx * w,
                    o + dy * h,
                    o + dx * w + dy * h,
                    dx * w,
                    dy * h,
                    ex,
                    ey,
                    o + ex * w,
                    o + ey * h,
                    o + ex * w + ey * h,
                ]
                .into_iter()
                .all(small);
                if !ok {
                    return None;
                }
            }
            (offset, delta)
        };
        Some(Warp {
            accuracy,
            translation,
            offset: offset.map(|p| p.map(|v| v as i32)),
            delta: delta.map(|p| p.map(|v| v as i32)),
            quarter_sample: false,
            f_code: 1,
        })
    }

    /// The vector a GMC macroblock (`mcsel`, or not coded in an S-VOP) at (`mb_x`, `mb_y`)
    /// stands for: the warp's displacement averaged over its 256 luma samples, in half (or
    /// quarter) samples, clipped to the f_code range (FFmpeg's `get_amv`).
    pub fn average_vector(&self, mb_x: usize, mb_y: usize) -> [i32; 2] {
        let len = 1i32 << (u32::from(self.f_code.min(7)) + 4);
        let qs = u32::from(self.quarter_sample);
        let acc = self.accuracy;
        let mut out = [0i32; 2];
        for (n, v) in out.iter_mut().enumerate() {
            let sum = if self.translation {
                round_shift(self.offset[0][n].wrapping_mul(1 << qs), acc)
            } else {
                let [mut dx, mut dy] = self.delta[n];
                // Subtract the identity: what remains is the displacement per sample.
                let identity = 1i32 << (WARP_SHIFT + acc + 1);
                if n == 0 {
                    dx = dx.wrapping_sub(identity);
                } else {
                    dy = dy.wrapping_sub(identity);
                }
                let start = self.offset[0][n]
                    .wrapping_add(dx.wrapping_mul(mb_x as i32 * 16))
                    .wrapping_add(dy.wrapping_mul(mb_y as i32 * 16));
                let mut sum = 0i32;
                for y in 0..16 {
                    let mut p = start.wrapping_add(dy.wrapping_mul(y));
                    for _ in 0..16 {
                        sum = sum.wrapping_add(p >> WARP_SHIFT);
                        p = p.wrapping_add(dx);
                    }
                }
                round_shift(sum, acc + 8 - qs)
            };
            *v = sum.clamp(-len, len - 1);
        }
        out
    }

    /// Predict macroblock (`mb_x`, `mb_y`) of `cur` from `reference` through the warp.
    /// `visible` is the frame's visible size, `rounding` the VOP's `rounding_type`.
    pub fn predict(
        &self,
        cur: &mut Picture,
        reference: &Picture,
        visible: (usize, usize),
        rounding: bool,
        mb_x: usize,
        mb_y: usize,
    ) {
        let Some(planes) = reference.ref_planes() else {
            return;
        };
        let (lw, cw) = (cur.width, cur.width / 2);
        let luma_at = mb_y * 16 * lw + mb_x * 16;
        let chroma_at = mb_y * 8 * cw + mb_x * 8;
        let [ry, ru, rv] = planes;
        if self.translation {
            let (vw, vh) = (visible.0 as i32, visible.1 as i32);
            self.translate_luma(&ry, &mut cur.y, luma_at, lw, (vw, vh), rounding, mb_x, mb_y);
            let shift = TranslatedBlock::new(self, 1, 8, (vw >> 1, vh >> 1), mb_x, mb_y);
            let r = 128 - i32::from(rounding);
            bilinear16(&ru, &mut cur.u, chroma_at, cw, 8, shift, r);
            bilinear16(&rv, &mut cur.v, chroma_at, cw, 8, shift, r);
            return;
        }
        let (mx, my) = (mb_x as i32, mb_y as i32);
        let r = (1i32 << (2 * self.accuracy + 1)) - i32::from(rounding);
        let start = |plane: usize, size: i32| {
            let [[dxx, dxy], [dyx, dyy]] = self.delta;
            let [ox, oy] = self.offset[plane];
            (
                ox.wrapping_add(dxx.wrapping_mul(mx * size))
                    .wrapping_add(dxy.wrapping_mul(my * size)),
                oy.wrapping_add(dyx.wrapping_mul(mx * size))
                    .wrapping_add(dyy.wrapping_mul(my * size)),
            )
        };
        let luma = start(0, 16);
        let [[dxx, _], [dyx, _]] = self.delta;
        let right = (
            luma.0.wrapping_add(dxx.wrapping_mul(8)),
            luma.1.wrapping_add(dyx.wrapping_mul(8)),
        );
        self.warp_8wide(&ry, &mut cur.y, luma_at, lw, 16, luma, r);
        self.warp_8wide(&ry, &mut cur.y, luma_at + 8, lw, 16, right, r);
        let chroma = start(1, 8);
        self.warp_8wide(&ru, &mut cur.u, chroma_at, cw, 8, chroma, r);
        self.warp_8wide(&rv, &mut cur.v, chroma_at, cw, 8, chroma, r);
    }

    /// One 8-column block of the general warp, `rows` high. FFmpeg's x86 decoder predicts
    /// most such blocks with 16-bit SIMD arithmetic that reads the fraction from bits 16..19 of
    /// the position whatever the accuracy; reproduce it where it applies.
    #[allow(clippy::too_many_arguments)]
    fn warp_8wide(
        &self,
        src: &RefPlane,
        dst: &mut [u8],
        at: usize,
        stride: usize,
        rows: usize,
        start: (i32, i32),
        r: i32,
    ) {
        if !self.simd_block(src, dst, at, stride, rows, start, r) {
            self.warp_block(src, dst, at, stride, 8, rows, start, r);
        }
    }

    /// FFmpeg's x86 `gmc` for one 8-column block: applies when the block's whole-sample offset
    /// is constant, the increments have no bits below 16 and the block is inside or at most
    /// 8 rows high; all products and sums wrap at 16 bits. Returns false where the plain
    /// warp applies.
    #[allow(clippy::too_many_arguments)]
    fn simd_block(
        &self,
        src: &RefPlane,
        dst: &mut [u8],
        at: usize,
        stride: usize,
        h: usize,
        (ox, oy): (i32, i32),
        r: i32,
    ) -> bool {
        let shift = self.accuracy + 1;
        let [[dxx, dxy], [dyx, dyy]] = self.delta;
        let (w, hh) = (8i32, h as i32);
        let one = 1i32 << (16 + shift);
        let dxw = dxx.wrapping_sub(one).wrapping_mul(w - 1);
        let dyh = dyy.wrapping_sub(one).wrapping_mul(hh - 1);
        let dxh = dxy.wrapping_mul(hh - 1);
        let dyw = dyx.wrapping_mul(w - 1);
        let (width, height) = (src.width as i32, src.height as i32);
        let (ix, iy) = (ox >> (16 + shift), oy >> (16 + shift));
        let need_emu = (ix as u32) >= (width - w) as u32
            || width < w
            || (iy as u32) >= (height - hh) as u32
            || height < hh;
        let moving = ((ox ^ ox.wrapping_add(dxw))
            | (ox ^ ox.wrapping_add(dxh))
            | (ox ^ ox.wrapping_add(dxw).wrapping_add(dxh))
            | (oy ^ oy.wrapping_add(dyw))
            | (oy ^ oy.wrapping_add(dyh))
            | (oy ^ oy.wrapping_add(dyw).wrapping_add(dyh)))
            >> (16 + shift)
            != 0;
        if moving || (dxx | dxy | dyx | dyy) & 15 != 0 || (need_emu && h > 8) {
            return false;
        }
        let s = 1u16 << shift;
        let (oxs, oys) = (ox >> 4, oy >> 4);
        let (dxxs, dxys, dyxs, dyys) = (dxx >> 4, dxy >> 4, dyx >> 4, dyy >> 4);
        for x in 0..8i32 {
            let mut lx = oxs.wrapping_sub(dxys).wrapping_add(dxxs.wrapping_mul(x)) as u16;
            let mut ly = oys.wrapping_sub(dyys).wrapping_add(dyxs.wrapping_mul(x)) as u16;
            for y in 0..h {
                lx = lx.wrapping_add(dxys as u16);
                ly = ly.wrapping_add(dyys as u16);
                let (fx, fy) = (lx >> 12, ly >> 12);
                let (gx, gy) = (s.wrapping_sub(fx), s.wrapping_sub(fy));
                let p = |dx: i32, dy: i32| src.at(ix + x + dx, iy + y as i32 + dy) as u16;
                let m0 = gx.wrapping_mul(gy).wrapping_mul(p(0, 0));
                let m1 = fx.wrapping_mul(gy).wrapping_mul(p(1, 0));
                let m2 = gx.wrapping_mul(fy).wrapping_mul(p(0, 1));
                let m3 = fx.wrapping_mul(fy).wrapping_mul(p(1, 1));
                let sum = m0
                    .wrapping_add(m1.wrapping_add(r as u16))
                    .wrapping_add(m2.wrapping_add(m3));
                let v = (sum >> (2 * shift)) as i16;
                if let Some(o) = dst.get_mut(at + y * stride + x as usize) {
                    *o = v.clamp(0, 255) as u8;
                }
            }
        }
        true
    }

    /// Fast-path luma: 1/16-sample bilinear, or half-sample MC when the offset allows.
    #[allow(clippy::too_many_arguments)]
    fn translate_luma(
        &self,
        src: &RefPlane,
        dst: &mut [u8],
        at: usize,
        stride: usize,
        visible: (i32, i32),
        rounding: bool,
        mb_x: usize,
        mb_y: usize,
    ) {
        let block = TranslatedBlock::new(self, 0, 16, visible, mb_x, mb_y);
        if (block.frac_x | block.frac_y) & 7 != 0 {
            bilinear16(src, dst, at, stride, 16, block, 128 - i32::from(rounding));
        } else {
            // On the half-sample grid: FFmpeg's (no-)rounding half-sample copy.
            let (x, y) = ((mb_x * 16) as i32, (mb_y * 16) as i32);
            let mvx = 2 * (block.x - x) + (block.frac_x >> 3);
            let mvy = 2 * (block.y - y) + (block.frac_y >> 3);
            mc_halfpel(src, dst, at, stride, x, y, mvx, mvy, 16, 16, rounding);
        }
    }

    /// The general warp of one `cols x rows` block starting at warp position `start`: each
    /// sample is the bilinear interpolation at its own position, reading the reference with
    /// clamped coordinates (FFmpeg's `gmc` / the standard's 7.8.5), rounding `r`.
    #[allow(clippy::too_many_arguments)]
    fn warp_block(
        &self,
        src: &RefPlane,
        dst: &mut [u8],
        at: usize,
        stride: usize,
        cols: usize,
        rows: usize,
        start: (i32, i32),
        r: i32,
    ) {
        let shift = self.accuracy + 1;
        let s = 1i32 << shift;
        let [[dxx, dxy], [dyx, dyy]] = self.delta;
        let (mut row_x, mut row_y) = start;
        for y in 0..rows {
            let Some(out) = dst.get_mut(at + y * stride..at + y * stride + cols) else {
                return;
            };
            let (mut vx, mut vy) = (row_x, row_y);
            for o in out.iter_mut() {
                let (px, py) = (vx >> WARP_SHIFT, vy >> WARP_SHIFT);
                let (fx, fy) = (px & (s - 1), py & (s - 1));
                let (ix, iy) = (px >> shift, py >> shift);
                let top = src.at(ix, iy) * (s - fx) + src.at(ix + 1, iy) * fx;
                let bottom = src.at(ix, iy + 1) * (s - fx) + src.at(ix + 1, iy + 1) * fx;
                *o = ((top * (s - fy) + bottom * fy + r) >> (2 * shift)) as u8;
                vx = vx.wrapping_add(dxx);
                vy = vy.wrapping_add(dyx);
            }
            row_x = row_x.wrapping_add(dxy);
            row_y = row_y.wrapping_add(dyy);
        }
    }
}

/// `RSHIFT`: shift right by `b`, rounding half away from zero.
fn round_shift(a: i32, b: u32) -> i32 {
    let half = (1i32 << b) >> 1;
    if a > 0 {
        a.wrapping_add(half) >> b
    } else {
        a.wrapping_add(half).wrapping_sub(1) >> b
    }
}

/// Where the fast path reads one plane's block: the clipped integer source position and the
/// 1/16-sample fraction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TranslatedBlock {
    x: i32,
    y: i32,
    frac_x: i32,
    frac_y: i32,
}

impl TranslatedBlock {
    /// Plane `plane` (0 luma, 1 chroma) of a translation warp, for a block of `size` at MB
    /// (`mb_x`, `mb_y`); `visible` is that plane's visible size (FFmpeg clips to it and drops
    /// the fraction on the far edge, like 4MV blocks).
    fn new(
        warp: &Warp,
        plane: usize,
        size: i32,
        visible: (i32, i32),
        mb_x: usize,
        mb_y: usize,
    ) -> Self {
        let acc = warp.accuracy;
        let axis = |o: i32, mb: usize, vis: i32| {
            let pos = (mb as i32 * size).wrapping_add(o >> (acc + 1));
            let frac = o.wrapping_mul(1 << (3 - acc));
            let clipped = pos.clamp(-size, vis.max(-size));
            (clipped, if clipped == vis { 0 } else { frac & 15 })
        };
        let (x, frac_x) = axis(warp.offset[plane][0], mb_x, visible.0);
        let (y, frac_y) = axis(warp.offset[plane][1], mb_y, visible.1);
        TranslatedBlock {
            x,
            y,
            frac_x,
            frac_y,
        }
    }
}

impl RefPlane<'_> {
    /// The sample at (x, y), coordinates clamped into the plane (edge replication).
    #[inline]
    fn at(&self, x: i32, y: i32) -> i32 {
        let x = x.clamp(0, self.width as i32 - 1) as usize;
        let y = y.clamp(0, self.height as i32 - 1) as usize;
        i32::from(self.data[y * self.stride + x])
    }
}

/// The fast path's 1/16-sample bilinear prediction of a `size x size` block (FFmpeg's `gmc1`),
/// reading the reference with clamped coordinates; `r` is 128 minus the rounding type.
fn bilinear16(
    src: &RefPlane,
    dst: &mut [u8],
    at: usize,
    stride: usize,
    size: usize,
    block: TranslatedBlock,
    r: i32,
) {
    let (fx, fy) = (block.frac_x, block.frac_y);
    let weights = [
        (16 - fx) * (16 - fy),
        fx * (16 - fy),
        (16 - fx) * fy,
        fx * fy,
    ];
    for y in 0..size {
        let Some(out) = dst.get_mut(at + y * stride..at + y * stride + size) else {
            return;
        };
        let sy = block.y + y as i32;
        for (x, o) in out.iter_mut().enumerate() {
            let sx = block.x + x as i32;
            let v = weights[0] * src.at(sx, sy)
                + weights[1] * src.at(sx + 1, sy)
                + weights[2] * src.at(sx, sy + 1)
                + weights[3] * src.at(sx + 1, sy + 1);
            *o = ((v + r) >> 8) as u8;
        }
    }
}

/// Add the residual of the coded blocks of `mb` to its (already predicted) samples in `cur`.
pub fn add_residual(
    cur: &mut Picture,
    idct: IdctKind,
    mb: &mut Macroblock,
    mb_x: usize,
    mb_y: usize,
) {
    let (ls, cs) = (cur.width, cur.width / 2);
    for i in 0..4 {
        if mb.coded(i) {
            let at = (mb_y * 16 + (i >> 1) * 8) * ls + mb_x * 16 + (i & 1) * 8;
            idct_add(idct, &mut mb.blocks[i], &mut cur.y, at, ls);
        }
    }
    let chroma_at = mb_y * 8 * cs + mb_x * 8;
    if mb.coded(4) {
        idct_add(idct, &mut mb.blocks[4], &mut cur.u, chroma_at, cs);
    }
    if mb.coded(5) {
        idct_add(idct, &mut mb.blocks[5], &mut cur.v, chroma_at, cs);
    }
}

/// The standard's warp parameters (7.8.4) for VOP reference points (0, 0), (W, 0), (0, H),
/// in FFmpeg's fixed-point arrangement: `offset`/`delta` scaled by 2^shift.
fn raw_warp(points: &[(i32, i32)], accuracy: u32, w: i64, h: i64) -> RawWarp {
    let a = 2i64 << accuracy; // 1 / warp unit
    let rho = 3 - accuracy;
    let r = 16 / a;
    let mut d = [[0i64; 2]; 3];
    for (slot, &(du, dv)) in d.iter_mut().zip(points) {
        *slot = [i64::from(du), i64::from(dv)];
    }
    // alpha, beta: the smallest powers of two with 2^alpha >= W (alpha >= 1), 2^beta >= H.
    let mut alpha = 1u32;
    while (1i64 << alpha) < w {
        alpha += 1;
    }
    let mut beta = 0u32;
    while (1i64 << beta) < h {
        beta += 1;
    }
    let (w2, h2) = (1i64 << alpha, 1i64 << beta);
    // Sprite positions of the VOP corners (0,0), (W,0), (0,H) in warp units.
    let half = a >> 1;
    let s0 = [half * d[0][0], half * d[0][1]];
    let s1 = [
        half * (2 * w + d[0][0] + d[1][0]),
        half * (d[0][1] + d[1][1]),
    ];
    let s2 = [
        half * (d[0][0] + d[2][0]),
        half * (2 * h + d[0][1] + d[2][1]),
    ];
    // Virtual points at (W', 0) and (0, H'), 1/16 sample.
    let v1 = [
        16 * w2 + rounded_div((w - w2) * (r * s0[0]) + w2 * (r * s1[0] - 16 * w), w),
        rounded_div((w - w2) * (r * s0[1]) + w2 * (r * s1[1]), w),
    ];
    let v2 = [
        rounded_div((h - h2) * (r * s0[0]) + h2 * (r * s2[0]), h),
        16 * h2 + rounded_div((h - h2) * (r * s0[1]) + h2 * (r * s2[1] - 16 * h), h),
    ];
    match points.len() {
        0 => RawWarp {
            offset: [[0; 2]; 2],
            delta: [[a, 0], [0, a]],
            shift: [0, 0],
        },
        1 => RawWarp {
            offset: [s0, [(s0[0] >> 1) | (s0[0] & 1), (s0[1] >> 1) | (s0[1] & 1)]],
            delta: [[a, 0], [0, a]],
            shift: [0, 0],
        },
        2 => {
            // Isotropic scale + rotation from the virtual point at (W', 0).
            let s = alpha + rho;
            let (ex, ey) = (-r * s0[0] + v1[0], r * s0[1] - v1[1]);
            let fy = -r * s0[1] + v1[1];
            RawWarp {
                offset: [
                    [(s0[0] << s) + (1 << (s - 1)), (s0[1] << s) + (1 << (s - 1))],
                    [
                        ex + ey + 2 * w2 * r * s0[0] - 16 * w2 + (1 << (s + 1)),
                        fy + ex + 2 * w2 * r * s0[1] - 16 * w2 + (1 << (s + 1)),
                    ],
                ],
                delta: [[ex, ey], [fy, ex]],
                shift: [s, s + 2],
            }
        }
        _ => {
            // Affine from the virtual points at (W', 0) and (0, H').
            let min_ab = alpha.min(beta);
            let (w3, h3) = (w2 >> min_ab, h2 >> min_ab);
            let s = alpha + beta + rho - min_ab;
            let dxx = (-r * s0[0] + v1[0]) * h3;
            let dxy = (-r * s0[0] + v2[0]) * w3;
            let dyx = (-r * s0[1] + v1[1]) * h3;
            let dyy = (-r * s0[1] + v2[1]) * w3;
            let chroma = |c: usize, dx: i64, dy: i64| {
                dx + dy + 2 * w2 * h3 * r * s0[c] - 16 * w2 * h3 + (1 << (s + 1))
            };
            RawWarp {
                offset: [
                    [(s0[0] << s) + (1 << (s - 1)), (s0[1] << s) + (1 << (s - 1))],
                    [chroma(0, dxx, dxy), chroma(1, dyx, dyy)],
                ],
                delta: [[dxx, dxy], [dyx, dyy]],
                shift: [s, s + 2],
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::Rng;

    /// Luma position of sample (x, y) under a general warp, in samples.
    fn position(w: &Warp, x: f64, y: f64) -> (f64, f64) {
        let unit = f64::from(1u32 << (16 + w.accuracy + 1));
        let [[dxx, dxy], [dyx, dyy]] = w.delta.map(|r| r.map(f64::from));
        let [ox, oy] = w.offset[0].map(f64::from);
        (
            (ox + dxx * x + dxy * y) / unit,
            (oy + dyx * x + dyy * y) / unit,
        )
    }

    #[test]
    fn no_or_one_warping_point_is_a_translation_in_warp_units() {
        let w = Warp::from_trajectory(&[], 3, 176, 144).unwrap();
        assert!(w.translation);
        assert_eq!(w.offset, [[0, 0], [0, 0]]);
        assert_eq!(w.average_vector(3, 2), [0, 0]);
        // du, dv are half samples: (6, -3) -> (3, -1.5) samples = (48, -24) sixteenths.
        let mut w = Warp::from_trajectory(&[(6, -3)], 3, 176, 144).unwrap();
        assert!(w.translation);
        assert_eq!(w.offset, [[48, -24], [24, -12]]);
        assert_eq!(w.average_vector(0, 0), [6, -3]);
        w.quarter_sample = true;
        assert_eq!(w.average_vector(5, 5), [12, -6]);
        // Odd positions keep their last bit in the chroma offset (FFmpeg's `(v >> 1) | (v & 1)`).
        let w = Warp::from_trajectory(&[(3, -3)], 0, 176, 144).unwrap();
        assert_eq!(w.offset, [[3, -3], [1 | 1, -2 | 1]]);
    }

    #[test]
    fn extra_points_without_relative_motion_take_the_fast_path() {
        let one = Warp::from_trajectory(&[(10, -6)], 3, 208, 120).unwrap();
        for points in [&[(10, -6), (0, 0)][..], &[(10, -6), (0, 0), (0, 0)][..]] {
            let w = Warp::from_trajectory(points, 3, 208, 120).unwrap();
            assert!(w.translation, "{points:?}");
            assert_eq!(w.offset, one.offset, "{points:?}");
        }
        let zoom = Warp::from_trajectory(&[(10, -6), (4, 0)], 3, 208, 120).unwrap();
        assert!(!zoom.translation);
    }

    #[test]
    fn the_warp_maps_the_vop_corners_to_the_sprite_points() {
        let mut rng = Rng(0x5eed_6a3c);
        for &(width, height) in &[(176, 144), (208, 120), (352, 288), (100, 300)] {
            for _ in 0..200 {
                let accuracy = rng.range(0, 3) as u32;
                let n = rng.range(2, 3) as usize;
                let points: Vec<(i32, i32)> = (0..n)
                    .map(|_| (rng.range(-40, 40) as i32, rng.range(-40, 40) as i32))
                    .collect();
                let w = Warp::from_trajectory(&points, accuracy, width, height).unwrap();
                if w.translation {
                    continue;
                }
                let half = |v: i32| f64::from(v) / 2.0;
                let (d0, d1) = (points[0], points[1]);
                let (wf, hf) = (width as f64, height as f64);
                let mut corners = vec![
                    ((0.0, 0.0), (half(d0.0), half(d0.1))),
                    ((wf, 0.0), (wf + half(d0.0 + d1.0), half(d0.1 + d1.1))),
                ];
                if n == 3 {
                    let d2 = points[2];
                    corners.push(((0.0, hf), (half(d0.0 + d2.0), hf + half(d0.1 + d2.1))));
                }
                for ((x, y), (want_x, want_y)) in corners {
                    let (got_x, got_y) = position(&w, x, y);
                    // Positions carry half a warp unit of rounding offset (for the truncating
                    // shifts that follow), on top of the virtual points' 1/16-sample rounding.
                    let tol = 0.5 / f64::from(2u32 << accuracy) + 0.13;
                    assert!(
                        (got_x - want_x).abs() < tol && (got_y - want_y).abs() < tol,
                        "{width}x{height} acc {accuracy} {points:?} at ({x}, {y}): \
                         ({got_x}, {got_y}) vs ({want_x}, {want_y})"
                    );
                }
            }
        }
    }

    #[test]
    fn the_gmc_vector_is_the_mean_displacement_of_the_macroblock() {
        let mut w = Warp::from_trajectory(&[(6, -4), (9, 2), (-3, 7)], 3, 176, 144).unwrap();
        assert!(!w.translation);
        w.f_code = 3;
        for (mb_x, mb_y) in [(0, 0), (5, 3), (10, 8)] {
            let (mut sx, mut sy) = (0.0, 0.0);
            for y in 0..16 {
                for x in 0..16 {
                    let (px, py) = ((mb_x * 16 + x) as f64, (mb_y * 16 + y) as f64);
                    let (qx, qy) = position(&w, px, py);
                    sx += qx - px;
                    sy += qy - py;
                }
            }
            let want = [2.0 * sx / 256.0, 2.0 * sy / 256.0];
            let got = w.average_vector(mb_x, mb_y);
            for c in 0..2 {
                assert!(
                    (f64::from(got[c]) - want[c]).abs() <= 1.0,
                    "{got:?} vs {want:?}"
                );
            }
        }
    }

    #[test]
    fn gmc_vectors_are_clipped_to_the_f_code_range() {
        let mut w = Warp::from_trajectory(&[(200, -200)], 3, 176, 144).unwrap();
        assert_eq!(w.average_vector(0, 0), [31, -32]);
        w.f_code = 4;
        assert_eq!(w.average_vector(0, 0), [200, -200]);
    }

    #[test]
    fn out_of_range_trajectories_are_refused() {
        let huge = [(16383, 16383), (16383, 0), (0, 16383)];
        assert!(Warp::from_trajectory(&huge, 3, 4096, 4096).is_none());
        assert!(Warp::from_trajectory(&[(0, 0); 4], 3, 176, 144).is_none());
        assert!(Warp::from_trajectory(&[], 3, 0, 144).is_none());
    }

    fn random_picture(rng: &mut Rng, mb_w: usize, mb_h: usize) -> Picture {
        let mut p = Picture::grey(mb_w, mb_h);
        for plane in [&mut p.y, &mut p.u, &mut p.v] {
            for v in plane.iter_mut() {
                *v = rng.range(0, 255) as u8;
            }
        }
        p
    }

    #[test]
    fn a_whole_sample_translation_copies_the_reference() {
        let mut rng = Rng(77);
        let reference = random_picture(&mut rng, 4, 3);
        let mut cur = Picture::grey(4, 3);
        // accuracy 0: warp unit = half sample; (6, -4) = (3, -2) samples luma, (1.5, -1) chroma.
        let w = Warp::from_trajectory(&[(6, -4)], 0, 64, 48).unwrap();
        w.predict(&mut cur, &reference, (64, 48), false, 1, 1);
        for y in 0..16 {
            for x in 0..16 {
                let (sx, sy) = (16 + x + 3, 16 + y - 2);
                assert_eq!(cur.y[(16 + y) * 64 + 16 + x], reference.y[sy * 64 + sx]);
            }
        }
        // Chroma at (1.5, -1): the rounded average of two neighbours.
        for y in 0..8 {
            for x in 0..8 {
                let (sx, sy) = (8 + x + 1, 8 + y - 1);
                let a = u16::from(reference.u[sy * 32 + sx]);
                let b = u16::from(reference.u[sy * 32 + sx + 1]);
                assert_eq!(u16::from(cur.u[(8 + y) * 32 + 8 + x]), (a + b + 1) >> 1);
            }
        }
    }

    #[test]
    fn ffmpegs_simd_warp_equals_the_standard_one_at_sixteenth_sample_accuracy() {
        let mut rng = Rng(2024);
        let reference = random_picture(&mut rng, 6, 5);
        let planes = reference.ref_planes().unwrap();
        let mut simd_blocks = 0;
        for _ in 0..300 {
            // Mild zooms and rotations: most 8-sample rows keep one whole-sample offset.
            let small = |rng: &mut Rng| rng.range(-2, 2) as i32;
            let points = [
                (rng.range(-30, 30) as i32, rng.range(-30, 30) as i32),
                (small(&mut rng), small(&mut rng)),
                (small(&mut rng), small(&mut rng)),
            ];
            let w = Warp::from_trajectory(&points, 3, 96, 80).unwrap();
            if w.translation {
                continue;
            }
            let start = (
                w.offset[0][0] + w.delta[0][0] * rng.range(0, 80) as i32,
                w.offset[0][1] + w.delta[1][1] * rng.range(0, 64) as i32,
            );
            let rows = if rng.range(0, 1) == 0 { 8 } else { 16 };
            let (mut simd, mut plain) = ([0u8; 128], [0u8; 128]);
            let r = 128 - rng.range(0, 1) as i32;
            if w.simd_block(&planes[0], &mut simd, 0, 8, rows, start, r) {
                w.warp_block(&planes[0], &mut plain, 0, 8, 8, rows, start, r);
                assert_eq!(simd, plain);
                simd_blocks += 1;
            }
        }
        assert!(simd_blocks > 50, "{simd_blocks}");
    }
}

#[cfg(test)]
mod stream_tests {
    use crate::test_rng::Rng;
    use crate::video::Video;

    /// A 96x64 libxvid stream with GMC S-VOPs, quarter-sample vectors and B-frames
    /// (`ffmpeg -f lavfi -i mandelbrot,zoompan -c:v libxvid -gmc 1 -flags +qpel -bf 1`),
    /// bit-exact with FFmpeg (checked by tests/test_gmc.py on fresh encodes).
    const GMC_STREAM: &[u8] = include_bytes!("../../../tests/data/gmc_xvid.m4v");

    /// Decode every frame; an error ends the stream like for a user. Returns (frames, S-VOPs).
    fn decode_all(data: Vec<u8>) -> (usize, usize) {
        let Ok(video) = Video::from_bytes(data) else {
            return (0, 0);
        };
        let (w, h) = (video.width() as usize, video.height() as usize);
        let (mut frames, mut sprites) = (0, 0);
        for frame in video.frames(None).map_while(|f| f.ok()) {
            assert_eq!((frame.frame.yuv.width(), frame.frame.yuv.height()), (w, h));
            frames += 1;
            sprites += usize::from(frame.frame.frame_type.letter() == 'S');
        }
        (frames, sprites)
    }

    #[test]
    fn mutated_gmc_streams_decode_without_panicking() {
        let (frames, sprites) = decode_all(GMC_STREAM.to_vec());
        assert_eq!(frames, 9);
        assert!(sprites >= 2, "{sprites}");
        let mut rng = Rng(0x6d63_5e1f);
        for i in 0..600 {
            decode_all(rng.mutant(GMC_STREAM, i, 30));
        }
    }
}
