//! The DCT coefficients of one VOP as [`DecodeMode::Coefficients`](super::mode::DecodeMode)
//! records them: for every 8x8 block of Y, U and V, the dequantised coefficients the IDCT would
//! receive and the quantised levels they come from, the block's coding (intra, inter-coded, not
//! coded, concealed), and every macroblock's quantiser.
//!
//! Layout: the block grid of the macroblock-aligned picture, row-major, 64 values per block in
//! natural (row-major frequency) order: `y` is `(2 * mb_height, 2 * mb_width, 64)`, `u` and `v`
//! are `(mb_height, mb_width, 64)`. A field-DCT macroblock (interlaced) keeps the decoder's
//! field blocks in its four luma slots: Y0/Y1 the top field's (even lines) left/right halves,
//! Y2/Y3 the bottom field's; [`Coefficients::field_dct`] marks those macroblocks. Values are `i16` because the IDCT's input is 16-bit: these
//! are exactly the numbers FFmpeg's decoder stores in its `int16_t` blocks, wrap-around of
//! absurd streams included, so nothing is lost and nothing needs widening. Blocks that are not
//! coded stay zero.
//!
//! The six `i16` arrays of a VOP are half a megabyte at 352x256: fresh from the allocator every
//! frame they cost more in page faults than the parsing that fills them, and rewriting every
//! block of them every frame costs as much as the parsing of a sparse stream (most blocks of a
//! B-frame or a q 4 P-frame are not coded). So buffers that callers are done with go back to a
//! pool ([`recycle`], [`Recyclable`]) with a map of the blocks their frame wrote: the next
//! record writes its coded blocks over them, zeroes those of its not-coded blocks that the map
//! marks, and leaves every other block alone; [`Coefficients::finish`] zeroes the marked blocks
//! of macroblocks the VOP never reached.
#![forbid(unsafe_code)]

use std::sync::Mutex;

use crate::decoded::FrameType;
use crate::mpeg4::texture::Dequantiser;

/// Coding of one 8x8 block, as stored in [`Coefficients::block_types`].
pub mod block_type {
    /// No texture (skipped macroblock, or coded-block-pattern bit 0): all zeros.
    pub const NOT_CODED: u8 = 0;
    /// Intra block: the coefficients are the block's samples' transform.
    pub const INTRA: u8 = 1;
    /// Inter block with texture: the coefficients are the prediction error's transform.
    pub const INTER: u8 = 2;
    /// Lost to a bitstream error (concealed from the reference): all zeros.
    pub const CONCEALED: u8 = 3;
}

/// The six buffers of one VOP's record (Y, U, V coefficients, then Y, U, V levels) for a
/// `mb_width x mb_height` picture, and per macroblock the blocks written since they were last
/// zero (bit `i` for block `i`, as in [`Coefficients::store`]): every other block is all zeros.
#[derive(Debug)]
pub struct Recyclable {
    planes: [Vec<i16>; 6],
    mb_width: usize,
    mb_height: usize,
    written: Vec<u8>,
}

impl Recyclable {
    /// The six buffers, in the order of [`Coefficients::into_recyclable`].
    pub fn planes(&self) -> &[Vec<i16>; 6] {
        &self.planes
    }

    /// Buffers for a `mb_width x mb_height` picture: kept as they are when the size is the
    /// same (their `written` map says which blocks may be non-zero), all zeros otherwise.
    fn resized(mut self, mb_width: usize, mb_height: usize) -> Self {
        if (self.mb_width, self.mb_height) != (mb_width, mb_height) {
            for (buf, len) in self.planes.iter_mut().zip(plane_lens(mb_width, mb_height)) {
                buf.clear();
                buf.resize(len, 0);
            }
            self.written.clear();
            self.written.resize(mb_width * mb_height, 0);
            (self.mb_width, self.mb_height) = (mb_width, mb_height);
        }
        self
    }

    fn bytes(&self) -> usize {
        self.planes.iter().map(|v| v.capacity()).sum::<usize>() * std::mem::size_of::<i16>()
    }
}

/// Records handed back by [`recycle`], reused by the next [`Coefficients::new`].
static SPARE: Mutex<Vec<Recyclable>> = Mutex::new(Vec::new());
/// At most this many bytes wait in [`SPARE`]: a few GOPs' worth at 340x256, a few frames at 1080p.
const SPARE_BYTES: usize = 64 << 20;

/// Lengths of the six buffers of a `mb_width x mb_height` picture.
fn plane_lens(mb_width: usize, mb_height: usize) -> [usize; 6] {
    let mbs = mb_width * mb_height;
    [
        mbs * 4 * 64,
        mbs * 64,
        mbs * 64,
        mbs * 4 * 64,
        mbs * 64,
        mbs * 64,
    ]
}

/// Buffers for a `mb_width x mb_height` picture: a recycled set of that size when one waits
/// (its non-zero blocks marked in `written`), else one large enough (zeroed), else fresh zeros.
fn reusable(mb_width: usize, mb_height: usize) -> Recyclable {
    let lens = plane_lens(mb_width, mb_height);
    let reused = SPARE.lock().ok().and_then(|mut spare| {
        let same = |r: &Recyclable| (r.mb_width, r.mb_height) == (mb_width, mb_height);
        let fits = |r: &Recyclable| r.planes.iter().zip(lens).all(|(v, n)| v.capacity() >= n);
        let at = spare
            .iter()
            .rposition(same)
            .or_else(|| spare.iter().rposition(fits))?;
        Some(spare.swap_remove(at))
    });
    match reused {
        Some(set) => set.resized(mb_width, mb_height),
        None => Recyclable {
            planes: lens.map(|n| vec![0; n]),
            mb_width,
            mb_height,
            written: vec![0; mb_width * mb_height],
        },
    }
}

/// Hand a record's buffers back for reuse by later VOPs (dropped when enough wait).
pub fn recycle(set: Recyclable) {
    if let Ok(mut spare) = SPARE.lock() {
        let held: usize = spare.iter().map(Recyclable::bytes).sum();
        if held + set.bytes() <= SPARE_BYTES {
            spare.push(set);
        }
    }
}

/// A coded block pattern (bit `5 - i` for block `i`) as a block mask (bit `i` for block `i`).
#[inline]
fn reverse6(cbp: u8) -> u8 {
    (cbp.reverse_bits() >> 2) & 63
}

/// Where block `i` (0..=3 luma, 4 Cb, 5 Cr) of macroblock (`mb_x`, `mb_y`) starts in its
/// plane's arrays, and which plane (0 Y, 1 U, 2 V), in a picture `mb_width` macroblocks wide.
#[inline]
fn block_at(mb_width: usize, mb_x: usize, mb_y: usize, i: usize) -> (usize, usize) {
    if i < 4 {
        let (row, col) = (2 * mb_y + (i >> 1), 2 * mb_x + (i & 1));
        (0, (row * 2 * mb_width + col) * 64)
    } else {
        (i - 3, (mb_y * mb_width + mb_x) * 64)
    }
}

/// Every block's coefficients and levels of one VOP (see the module documentation).
#[derive(Clone, Debug)]
pub struct Coefficients {
    pub frame_type: FrameType,
    pub mb_width: usize,
    pub mb_height: usize,
    /// Dequantised coefficients, `(2 * mb_height, 2 * mb_width, 64)`.
    pub y: Vec<i16>,
    /// Dequantised coefficients, `(mb_height, mb_width, 64)`.
    pub u: Vec<i16>,
    pub v: Vec<i16>,
    /// Quantised levels in the same layouts (intra: DC level at 0, AC prediction added).
    pub y_levels: Vec<i16>,
    pub u_levels: Vec<i16>,
    pub v_levels: Vec<i16>,
    /// `(mb_height, mb_width, 6)`: the [`block_type`] of blocks Y0, Y1, Y2, Y3, Cb, Cr of each
    /// macroblock (Y0..Y3 in raster order inside the macroblock).
    pub block_types: Vec<u8>,
    /// `(mb_height, mb_width)`: each macroblock's quantiser (1..=31).
    pub qscale: Vec<u8>,
    /// `(mb_height, mb_width)`: 1 where the macroblock's luma blocks are field blocks (see the
    /// module documentation), else 0.
    pub field_dct: Vec<u8>,
    /// Per macroblock, the blocks that may be non-zero (see [`Recyclable`]).
    written: Vec<u8>,
    /// Per macroblock: stored (or concealed) since [`Coefficients::new`].
    stored: Vec<bool>,
    dequant: Dequantiser,
}

impl Coefficients {
    /// Coefficients of a `mb_width x mb_height` VOP, every block not coded; the values are all
    /// zero once [`Coefficients::finish`] has run (the buffers may be recycled ones).
    pub fn new(
        frame_type: FrameType,
        mb_width: usize,
        mb_height: usize,
        dequant: Dequantiser,
    ) -> Self {
        let mbs = mb_width * mb_height;
        let Recyclable {
            planes: [y, u, v, y_levels, u_levels, v_levels],
            written,
            ..
        } = reusable(mb_width, mb_height);
        Coefficients {
            frame_type,
            mb_width,
            mb_height,
            y,
            u,
            v,
            y_levels,
            u_levels,
            v_levels,
            block_types: vec![block_type::NOT_CODED; mbs * 6],
            qscale: vec![0; mbs],
            field_dct: vec![0; mbs],
            written,
            stored: vec![false; mbs],
            dequant,
        }
    }

    /// Zero the written blocks of every macroblock that was neither stored nor concealed (none
    /// of a VOP decoded to its end): after this every value is defined. The decoder runs it
    /// before handing the record out.
    pub fn finish(&mut self) {
        for mb in 0..self.stored.len() {
            if !self.stored[mb] && self.written[mb] != 0 {
                self.clear(mb, self.written[mb]);
            }
        }
        self.stored.fill(true);
    }

    /// Zero blocks `bits` (bit `i` for block `i`) of macroblock `mb`, values and levels.
    fn clear(&mut self, mb: usize, bits: u8) {
        let (mb_x, mb_y) = (mb % self.mb_width, mb / self.mb_width);
        for i in (0..6).filter(|i| bits & (1 << i) != 0) {
            if let Some((coefs, levels, _)) = self.block_mut(mb_x, mb_y, i) {
                coefs.fill(0);
                levels.fill(0);
            }
        }
        self.written[mb] &= !bits;
    }

    /// The coefficient and level arrays of block `i` (0..=3 luma, 4 Cb, 5 Cr) of macroblock
    /// (`mb_x`, `mb_y`), with the dequantiser (borrowed beside them).
    fn block_mut(
        &mut self,
        mb_x: usize,
        mb_y: usize,
        i: usize,
    ) -> Option<(&mut [i16; 64], &mut [i16; 64], &Dequantiser)> {
        let (plane, at) = block_at(self.mb_width, mb_x, mb_y, i);
        let (coefs, levels) = match plane {
            0 => (&mut self.y, &mut self.y_levels),
            1 => (&mut self.u, &mut self.u_levels),
            _ => (&mut self.v, &mut self.v_levels),
        };
        let coefs = coefs.get_mut(at..at + 64)?.try_into().ok()?;
        let levels = levels.get_mut(at..at + 64)?.try_into().ok()?;
        Some((coefs, levels, &self.dequant))
    }

    /// The six buffers (Y, U, V coefficients, Y, U, V levels) with what [`recycle`] needs to
    /// reuse them; the other fields are dropped.
    pub fn into_recyclable(self) -> Recyclable {
        Recyclable {
            planes: [
                self.y,
                self.u,
                self.v,
                self.y_levels,
                self.u_levels,
                self.v_levels,
            ],
            mb_width: self.mb_width,
            mb_height: self.mb_height,
            written: self.written,
        }
    }

    /// Give the six coefficient and level buffers back for reuse ([`recycle`]).
    pub fn recycle(self) {
        recycle(self.into_recyclable());
    }

    /// Record macroblock (`mb_x`, `mb_y`): `levels` holds the quantised levels of its six
    /// blocks, `inter_coefs` their coefficients when inter-coded (the texture decoder's
    /// [`with_coefficients`](crate::mpeg4::texture::TextureDecoder::set_with_coefficients));
    /// `cbp` bit `5 - i` says block `i` has texture (every block of an intra MB does).
    #[allow(clippy::too_many_arguments)] // the macroblock as the parse leaves it, plain values
    pub fn store(
        &mut self,
        levels: &[[i16; 64]; 6],
        inter_coefs: &[[i16; 64]; 6],
        cbp: u8,
        intra: bool,
        qscale: u8,
        mb_x: usize,
        mb_y: usize,
    ) {
        if mb_x >= self.mb_width || mb_y >= self.mb_height {
            return;
        }
        let mb = mb_y * self.mb_width + mb_x;
        self.qscale[mb] = qscale;
        self.stored[mb] = true;
        let coded = if intra { 63 } else { cbp & 63 };
        // Blocks without texture are zero: only the ones still holding an older frame's values
        // (or this VOP's, for a macroblock decoded twice) need writing.
        let stale = self.written[mb] & !reverse6(coded);
        if stale != 0 {
            self.clear(mb, stale);
        }
        let types = &mut self.block_types[mb * 6..mb * 6 + 6];
        if coded == 0 {
            types.fill(block_type::NOT_CODED);
            return;
        }
        let kind = if intra {
            block_type::INTRA
        } else {
            block_type::INTER
        };
        for (i, t) in types.iter_mut().enumerate() {
            *t = if coded & (32 >> i) != 0 {
                kind
            } else {
                block_type::NOT_CODED
            };
        }
        for (i, block_levels) in levels.iter().enumerate() {
            if coded & (32 >> i) == 0 {
                continue;
            }
            let Some((out, kept, dequant)) = self.block_mut(mb_x, mb_y, i) else {
                continue;
            };
            *kept = *block_levels;
            if intra {
                // AC prediction works on levels: these are dequantised once predicted.
                dequant.intra(block_levels, i, qscale, out);
            } else {
                *out = inter_coefs[i];
            }
            self.written[mb] |= 1 << i;
        }
    }

    /// Macroblock (`mb_x`, `mb_y`) (already stored) uses field DCT: its luma slots hold field
    /// blocks.
    pub fn mark_field_dct(&mut self, mb_x: usize, mb_y: usize) {
        if mb_x < self.mb_width && mb_y < self.mb_height {
            self.field_dct[mb_y * self.mb_width + mb_x] = 1;
        }
    }

    /// Macroblock (`mb_x`, `mb_y`) was concealed: zero blocks marked [`block_type::CONCEALED`].
    pub fn conceal(&mut self, mb_x: usize, mb_y: usize) {
        if mb_x >= self.mb_width || mb_y >= self.mb_height {
            return;
        }
        self.store(&[[0; 64]; 6], &[[0; 64]; 6], 0, false, 0, mb_x, mb_y);
        let mb = mb_y * self.mb_width + mb_x;
        self.block_types[mb * 6..mb * 6 + 6].fill(block_type::CONCEALED);
        self.field_dct[mb] = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mpeg4::tables::{chroma_dc_scaler, luma_dc_scaler};
    use crate::mpeg4::tables::{DEFAULT_INTER_MATRIX, DEFAULT_INTRA_MATRIX};

    /// `c.store` with the inter blocks' coefficients the texture decoder would hand over.
    fn store(
        c: &mut Coefficients,
        levels: &[[i16; 64]; 6],
        cbp: u8,
        intra: bool,
        q: u8,
        x: usize,
        y: usize,
    ) {
        let mut coefs = [[0; 64]; 6];
        for (block, out) in levels.iter().zip(&mut coefs) {
            c.dequant.inter(block, q, out);
        }
        c.store(levels, &coefs, cbp, intra, q, x, y);
    }

    fn dequantiser(mpeg_quant: bool) -> Dequantiser {
        Dequantiser {
            mpeg_quant,
            intra_matrix: DEFAULT_INTRA_MATRIX,
            inter_matrix: DEFAULT_INTER_MATRIX,
            reversible: false,
        }
    }

    #[test]
    fn blocks_land_in_their_planes_with_types_and_quantisers() {
        let mut c = Coefficients::new(FrameType::P, 3, 2, dequantiser(false));
        let mut levels = [[0i16; 64]; 6];
        levels[1][5] = 2; // Y1 (top right) of the MB
        levels[4][0] = -1; // Cb
        levels[0][0] = 7; // Y0 has levels but its cbp bit is clear: not coded
        store(&mut c, &levels, 0b010010, false, 6, 2, 1);
        c.finish();
        // Y1 of MB (2, 1) is luma block row 2, column 5 of a 6-wide grid.
        let at = (2 * 6 + 5) * 64;
        // H.263 inter: 2 * 2 * 6 + (6 - 1 | 1) = 29; -(2 * 6 + 5) = -17.
        assert_eq!(c.y[at + 5], 29);
        assert_eq!(c.y_levels[at + 5], 2);
        assert_eq!(c.u[(3 + 2) * 64], -17);
        assert_eq!(c.v.iter().filter(|&&v| v != 0).count(), 0);
        assert_eq!(
            c.y[(2 * 6 + 4) * 64],
            0,
            "a block without texture stays zero"
        );
        let mb = 6 - 1;
        assert_eq!(c.qscale[mb], 6);
        assert_eq!(
            &c.block_types[mb * 6..mb * 6 + 6],
            &[0, 2, 0, 0, 2, 0],
            "Y1 and Cb inter-coded"
        );
        assert!(c.field_dct.iter().all(|&f| f == 0));
        c.mark_field_dct(2, 1);
        assert_eq!(c.field_dct[mb], 1);
        c.conceal(2, 1);
        assert!(c.y.iter().all(|&v| v == 0) && c.u.iter().all(|&v| v == 0));
        assert!(c.block_types[mb * 6..mb * 6 + 6]
            .iter()
            .all(|&t| t == block_type::CONCEALED));
        assert_eq!(c.field_dct[mb], 0, "a concealed MB has no field blocks");
        // Outside the picture: ignored, never a panic.
        store(&mut c, &levels, 63, true, 4, 3, 0);
        c.conceal(0, 9);
        c.mark_field_dct(3, 0);
    }

    #[test]
    fn recycled_buffers_are_zero_where_not_coded() {
        let all_zero = |d: &Coefficients| {
            [&d.y, &d.u, &d.v, &d.y_levels, &d.u_levels, &d.v_levels]
                .iter()
                .all(|p| p.iter().all(|&v| v == 0))
        };
        let mut levels = [[0i16; 64]; 6];
        for (i, block) in levels.iter_mut().enumerate() {
            block[i * 9] = 5 + i as i16;
        }
        let written = |mbw: usize, mbh: usize| {
            let mut c = Coefficients::new(FrameType::I, mbw, mbh, dequantiser(false));
            for mb in 0..mbw * mbh {
                store(&mut c, &levels, 0, true, 3, mb % mbw, mb / mbw);
            }
            c.finish();
            assert!(!all_zero(&c));
            c
        };
        let mut c = written(2, 1);
        // A macroblock stored again without texture (decoded twice) is zero again.
        store(&mut c, &levels, 0b100001, false, 3, 1, 0);
        store(&mut c, &levels, 0, false, 3, 1, 0);
        assert!(c.y[2 * 64..4 * 64].iter().all(|&v| v == 0));
        assert!(c.v[64..].iter().all(|&v| v == 0));
        c.recycle();
        // Buffers of a written frame: not-coded blocks are zeroed as they are stored, the
        // macroblocks never stored by finish(); coded blocks are written whole.
        for _ in 0..4 {
            written(2, 1).recycle();
        }
        for (mbw, mbh) in [(2, 1), (2, 1), (1, 1), (3, 2), (2, 1)] {
            let mut d = Coefficients::new(FrameType::P, mbw, mbh, dequantiser(false));
            let lens = (d.y.len(), d.u.len(), d.v_levels.len());
            assert_eq!(lens, (mbw * mbh * 4 * 64, mbw * mbh * 64, mbw * mbh * 64));
            store(&mut d, &levels, 0, false, 2, 0, 0);
            let mb0: Vec<usize> = (0..4).map(|i| block_at(mbw, 0, 0, i).1).collect();
            assert!(mb0
                .iter()
                .all(|&at| d.y[at..at + 64].iter().all(|&v| v == 0)));
            assert!(d.u[..64].iter().chain(&d.v_levels[..64]).all(|&v| v == 0));
            store(&mut d, &levels, 0b000100, false, 2, mbw - 1, mbh - 1);
            d.finish();
            let nonzero: usize = [&d.y, &d.y_levels, &d.u, &d.u_levels, &d.v, &d.v_levels]
                .iter()
                .map(|p| p.iter().filter(|&&v| v != 0).count())
                .sum();
            // One coded block (Y3 of the last macroblock), one value, as coefficient and level.
            assert_eq!(nonzero, 2, "{mbw}x{mbh}");
            d.conceal(0, 0);
            d.recycle();
        }
        for (mbw, mbh) in [(2, 1), (3, 2)] {
            let mut d = Coefficients::new(FrameType::P, mbw, mbh, dequantiser(false));
            d.finish();
            assert!(all_zero(&d), "{mbw}x{mbh}");
        }
    }

    #[test]
    fn intra_blocks_scale_the_dc_by_the_dc_scaler() {
        for mpeg_quant in [false, true] {
            let mut c = Coefficients::new(FrameType::I, 1, 1, dequantiser(mpeg_quant));
            let mut levels = [[0i16; 64]; 6];
            levels[0][0] = 100;
            levels[4][0] = 100;
            levels[0][1] = 3;
            store(&mut c, &levels, 0, true, 10, 0, 0);
            // qscale 10: the DC scalers of Table 7-1 (luma 10 + 8, chroma (10 + 13) / 2).
            assert_eq!((luma_dc_scaler(10), chroma_dc_scaler(10)), (18, 11));
            assert_eq!(c.y[0], 100 * 18);
            assert_eq!(c.u[0], 100 * 11);
            // AC: MPEG 3 * W[1] * 2 * 10 / 16 (W[1] = 17) truncated; H.263 3 * 20 + (10 - 1 | 1).
            let want = if mpeg_quant {
                3 * 17 * 20 / 16
            } else {
                3 * 20 + 9
            };
            assert_eq!(c.y[1], want, "mpeg_quant {mpeg_quant}");
            // Every intra block is coded, even with a zero pattern.
            assert!(c.block_types.iter().all(|&t| t == block_type::INTRA));
        }
    }
}
