//! Motion vectors of P-VOPs (ISO/IEC 14496-2, 7.6.3): differential decoding with `f_code`,
//! prediction from the median of three neighbouring 8x8-block vectors, and the chroma vectors
//! derived from the luma ones. All vectors are in half-sample units.
//!
//! The prediction follows FFmpeg's `ff_h263_pred_motion` exactly (the oracle of our tests),
//! including its treatment of the first row of a video packet and of the VOP edges: vectors
//! outside the VOP read as zero, candidates in an earlier packet are replaced per the standard's
//! "first slice line" rules.
#![forbid(unsafe_code)]

use crate::bits::BitReader;

/// Where the current video packet starts and whether the current MB is still in its first
/// "line" (the MBs between the packet's first MB and the one just below it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SliceState {
    pub resync_mb_x: usize,
    pub resync_mb_y: usize,
    pub first_line: bool,
}

impl SliceState {
    /// State at the first MB of a packet starting at (`mb_x`, `mb_y`).
    pub fn start(mb_x: usize, mb_y: usize) -> Self {
        SliceState {
            resync_mb_x: mb_x,
            resync_mb_y: mb_y,
            first_line: true,
        }
    }

    /// Update before decoding MB (`mb_x`, `mb_y`): the first line ends at the MB right below
    /// the packet's first MB.
    pub fn enter_mb(&mut self, mb_x: usize, mb_y: usize) {
        if mb_x == self.resync_mb_x && mb_y == self.resync_mb_y + 1 {
            self.first_line = false;
        }
    }
}

/// One vector per 8x8 luma block of the VOP, with a zero guard column on the left of each row
/// (which is also the right neighbour of the previous row's last block) and a zero guard row
/// on top, so the neighbours of edge blocks read as (0, 0) without bounds checks.
#[derive(Clone, Debug)]
pub struct MvField {
    stride: usize,
    rows: usize,
    data: Vec<[i16; 2]>,
}

/// Offset of candidate C (above-right) relative to the block above, per block index 0..3.
const C_OFFSET: [isize; 4] = [2, 1, 1, -1];

#[inline]
fn median3(a: i32, b: i32, c: i32) -> i32 {
    a.max(b).min(a.min(b).max(c))
}

impl MvField {
    pub fn new(mb_width: usize, mb_height: usize) -> Self {
        let stride = mb_width * 2 + 1;
        let rows = mb_height * 2 + 1;
        MvField {
            stride,
            rows,
            data: vec![[0, 0]; stride * (rows + 1)],
        }
    }

    /// Index of 8x8 block `block` (0..3, raster inside the MB) of MB (`mb_x`, `mb_y`).
    #[inline]
    fn index(&self, mb_x: usize, mb_y: usize, block: usize) -> usize {
        (mb_y * 2 + 1 + (block >> 1)) * self.stride + 1 + mb_x * 2 + (block & 1)
    }

    #[inline]
    fn at(&self, index: isize) -> [i32; 2] {
        let v = usize::try_from(index)
            .ok()
            .and_then(|i| self.data.get(i))
            .copied()
            .unwrap_or([0, 0]);
        [v[0] as i32, v[1] as i32]
    }

    /// The stored vector of one 8x8 block.
    pub fn get(&self, mb_x: usize, mb_y: usize, block: usize) -> [i32; 2] {
        self.at(self.index(mb_x, mb_y, block) as isize)
    }

    /// Store the vector of one 8x8 block.
    pub fn set(&mut self, mb_x: usize, mb_y: usize, block: usize, mv: [i32; 2]) {
        let i = self.index(mb_x, mb_y, block);
        if let Some(slot) = self.data.get_mut(i) {
            *slot = [mv[0] as i16, mv[1] as i16];
        }
    }

    /// Store one vector in all four blocks of an MB (1MV, skipped and intra MBs).
    pub fn set_mb(&mut self, mb_x: usize, mb_y: usize, mv: [i32; 2]) {
        for block in 0..4 {
            self.set(mb_x, mb_y, block, mv);
        }
    }

    /// Zero every vector (start of a VOP).
    pub fn clear(&mut self) {
        self.data.fill([0, 0]);
    }

    /// Predictor of block `block` (0..3) of MB (`mb_x`, `mb_y`). Like FFmpeg, at the start of
    /// a packet that begins mid-row this zeroes the stored vector of the left neighbour's
    /// block 3 (it lies in the previous packet), which later predictions and the exported
    /// vectors then see.
    pub fn predict(
        &mut self,
        mb_x: usize,
        mb_y: usize,
        block: usize,
        slice: &SliceState,
    ) -> [i32; 2] {
        let cur = self.index(mb_x, mb_y, block) as isize;
        let stride = self.stride as isize;
        let a = self.at(cur - 1);
        let above = cur - stride;
        let c_at = above + C_OFFSET[block & 3];
        if !(slice.first_line && block < 3) {
            let (b, c) = (self.at(above), self.at(c_at));
            return [median3(a[0], b[0], c[0]), median3(a[1], b[1], c[1])];
        }
        // C (above-right) is in this packet only when this MB is just left of its first MB.
        let c_in_packet = mb_x + 1 == slice.resync_mb_x;
        match block {
            0 => {
                if mb_x == slice.resync_mb_x {
                    [0, 0]
                } else if c_in_packet {
                    let c = self.at(c_at);
                    if mb_x == 0 {
                        c
                    } else {
                        [median3(a[0], 0, c[0]), median3(a[1], 0, c[1])]
                    }
                } else {
                    a
                }
            }
            1 => {
                if c_in_packet {
                    let c = self.at(c_at);
                    [median3(a[0], 0, c[0]), median3(a[1], 0, c[1])]
                } else {
                    a
                }
            }
            _ => {
                let (b, c) = (self.at(above), self.at(c_at));
                let a = if mb_x == slice.resync_mb_x {
                    if let Some(slot) = usize::try_from(cur - 1)
                        .ok()
                        .and_then(|i| self.data.get_mut(i))
                    {
                        *slot = [0, 0];
                    }
                    [0, 0]
                } else {
                    a
                };
                [median3(a[0], b[0], c[0]), median3(a[1], b[1], c[1])]
            }
        }
    }

    /// Rows of 8x8 blocks held (for tests and assertions).
    pub fn block_rows(&self) -> usize {
        self.rows - 1
    }
}

/// Decode one vector component: the MVD VLC (`read_code` returns the signed motion code,
/// -32..=32, sign bit included), `f_code - 1` residual bits, then the sum with the predictor
/// wrapped into [-32 << (f_code - 1), (32 << (f_code - 1)) - 1] half samples (7.6.3.1). `None` on an invalid code.
pub fn decode_component(
    r: &mut BitReader,
    read_code: impl Fn(&mut BitReader) -> Option<i32>,
    pred: i32,
    f_code: u8,
) -> Option<i32> {
    let code = read_code(r)?;
    if code == 0 {
        return Some(pred);
    }
    let r_size = u32::from(f_code.clamp(1, 7)) - 1;
    let mut magnitude = code.abs();
    if r_size > 0 {
        magnitude = (((magnitude - 1) << r_size) | r.read(r_size) as i32) + 1;
    }
    let diff = if code < 0 { -magnitude } else { magnitude };
    Some(wrap(pred + diff, f_code))
}

/// Wrap a vector component into the range of `f_code` (sign extension of its low
/// `5 + f_code` bits).
#[inline]
pub fn wrap(v: i32, f_code: u8) -> i32 {
    let bits = 5 + u32::from(f_code.clamp(1, 7));
    let shift = 32 - bits;
    (v << shift) >> shift
}

/// Chroma vector of a 1MV macroblock, in chroma half samples: the luma vector halved, with
/// quarter positions rounded to the half position (H.263 rule).
#[inline]
pub fn chroma_1mv(luma: i32) -> i32 {
    ((luma >> 2) << 1) | i32::from(luma & 3 != 0)
}

/// Chroma vector of a 4MV macroblock from the sum of its four luma vectors (Table 7-9
/// sixteenth-sample rounding, written as FFmpeg's `ff_h263_round_chroma`).
#[inline]
pub fn chroma_4mv(sum: i32) -> i32 {
    const ROUND: [i32; 16] = [0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1];
    ROUND[(sum & 15) as usize] + (sum >> 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_three() {
        assert_eq!(median3(1, 2, 3), 2);
        assert_eq!(median3(3, -1, 2), 2);
        assert_eq!(median3(-5, -5, 7), -5);
    }

    #[test]
    fn wraps_into_the_f_code_range() {
        // f_code 1: [-32, 31] half samples; f_code 2: [-64, 63].
        assert_eq!(wrap(31, 1), 31);
        assert_eq!(wrap(32, 1), -32);
        assert_eq!(wrap(-33, 1), 31);
        assert_eq!(wrap(63, 2), 63);
        assert_eq!(wrap(64, 2), -64);
        assert_eq!(wrap(-65, 2), 63);
    }

    /// A reader that yields a fixed code and then the given residual bits.
    fn decode_with(code: i32, residual: &[u8], pred: i32, f_code: u8) -> i32 {
        let mut r = BitReader::new(residual);
        decode_component(&mut r, |_| Some(code), pred, f_code).unwrap()
    }

    #[test]
    fn differential_with_residual_bits() {
        // f_code 1: MVD = code.
        assert_eq!(decode_with(3, &[], 2, 1), 5);
        assert_eq!(decode_with(-3, &[], 2, 1), -1);
        assert_eq!(decode_with(0, &[0xFF], 7, 3), 7);
        // f_code 3 (r_size 2): |MVD| = ((|code| - 1) << 2 | r) + 1; r = 0b10.
        assert_eq!(decode_with(2, &[0b1000_0000], 0, 3), ((1 << 2) | 2) + 1);
        assert_eq!(decode_with(-2, &[0b1000_0000], 0, 3), -7);
        // wrap: range is [-128, 127] for f_code 3; 60 + 64 stays, 100 + 64 wraps.
        assert_eq!(decode_with(16, &[0b1100_0000], 60, 3), 60 + 64);
        assert_eq!(decode_with(16, &[0b1100_0000], 100, 3), 164 - 256);
    }

    #[test]
    fn chroma_1mv_rounds_quarters_to_half() {
        // luma half-pel -> chroma half-pel: 0->0, 1 (1/4 chroma)->1, 2->1, 3->1, 4->2, 5->3.
        let got: Vec<i32> = (-5..=5).map(chroma_1mv).collect();
        assert_eq!(got, vec![-3, -2, -1, -1, -1, 0, 1, 1, 1, 2, 3]);
    }

    #[test]
    fn chroma_4mv_matches_sixteenth_table() {
        // Table 7-9: sum/8 in half units with the sixteenth rounding 0,0,0,1,...,1,2,2, symmetric.
        let table = [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2];
        for s in -200i32..=200 {
            let m = s.abs();
            let expect = (m >> 4) * 2 + table[(m & 15) as usize];
            let expect = if s < 0 { -expect } else { expect };
            assert_eq!(chroma_4mv(s), expect, "sum {s}");
        }
    }

    fn field_with(mb_w: usize, mb_h: usize, set: &[(usize, usize, usize, [i32; 2])]) -> MvField {
        let mut f = MvField::new(mb_w, mb_h);
        for &(x, y, b, mv) in set {
            f.set(x, y, b, mv);
        }
        f
    }

    #[test]
    fn interior_prediction_is_the_median_of_left_above_above_right() {
        // MB (1,1), block 0: A = MB(0,1) block 1, B = MB(1,0) block 2, C = MB(2,0) block 2.
        let mut f = field_with(
            3,
            2,
            &[(0, 1, 1, [4, -2]), (1, 0, 2, [10, 0]), (2, 0, 2, [-6, 8])],
        );
        let slice = SliceState {
            first_line: false,
            ..SliceState::start(0, 0)
        };
        assert_eq!(f.predict(1, 1, 0, &slice), [4, 0]);
        // block 1 of MB (1,1): A = block 0 of the same MB, B = MB(1,0) block 3, C = MB(2,0) block 2.
        f.set(1, 1, 0, [2, 2]);
        f.set(1, 0, 3, [0, 9]);
        assert_eq!(f.predict(1, 1, 1, &slice), [0, 8]);
        // block 3: A = block 2, B = block 1, C = block 0, all inside the MB.
        f.set(1, 1, 1, [1, 1]);
        f.set(1, 1, 2, [3, 3]);
        assert_eq!(f.predict(1, 1, 3, &slice), [2, 2]);
    }

    #[test]
    fn vectors_outside_the_vop_are_zero() {
        // Left edge: A is outside -> 0; right edge: C is outside -> 0.
        let mut f = field_with(
            2,
            2,
            &[(0, 0, 2, [6, 6]), (1, 0, 2, [8, 8]), (1, 0, 3, [8, 8])],
        );
        let slice = SliceState {
            first_line: false,
            ..SliceState::start(0, 0)
        };
        assert_eq!(f.predict(0, 1, 0, &slice), [6, 6]); // median(0, 6, 8)
        f.set(1, 1, 0, [-4, -4]);
        // MB(1,1) block 1: A = (-4,-4), B = MB(1,0) block 3 = (8,8), C = outside = 0.
        assert_eq!(f.predict(1, 1, 1, &slice), [0, 0]);
    }

    #[test]
    fn first_line_of_a_packet() {
        let mut f = field_with(4, 3, &[(0, 0, 1, [5, 5]), (1, 0, 1, [7, -7])]);
        let slice = SliceState::start(0, 0);
        // First MB of the packet: zero.
        assert_eq!(f.predict(0, 0, 0, &slice), [0, 0]);
        // Other MBs of the first row: block 0 and 1 use A only.
        assert_eq!(f.predict(2, 0, 0, &slice), [7, -7]);
        // Block 2: median(A, B, C) with the MB's own upper blocks.
        f.set(2, 0, 0, [1, 1]);
        f.set(2, 0, 1, [3, 3]);
        f.set(1, 0, 3, [9, 9]);
        assert_eq!(f.predict(2, 0, 2, &slice), [3, 3]);
    }

    #[test]
    fn packet_starting_mid_row() {
        // Packet starts at MB (2,1); MB (1,2) is still in its first line and its above-right
        // neighbour (2,1) is inside the packet.
        let mut f = field_with(
            4,
            3,
            &[(2, 1, 2, [6, 2]), (0, 2, 1, [2, 4]), (1, 1, 3, [9, 9])],
        );
        let mut slice = SliceState::start(2, 1);
        slice.enter_mb(1, 2);
        assert!(slice.first_line);
        // block 0: median(A, 0, C) with A = MB(0,2) block 1, C = MB(2,1) block 2.
        assert_eq!(f.predict(1, 2, 0, &slice), [2, 2]);
        // First MB of the packet, block 2: A (left MB block 3) is in the previous packet,
        // zeroed in the field too.
        let slice = SliceState::start(2, 1);
        assert_eq!(f.predict(2, 1, 2, &slice), [0, 0]);
        assert_eq!(f.get(1, 1, 3), [0, 0]);
        // Leaving the first line at the MB below the packet's first MB.
        let mut slice = SliceState::start(2, 1);
        slice.enter_mb(2, 2);
        assert!(!slice.first_line);
    }

    #[test]
    fn packet_starting_at_mb_1_uses_c_at_the_left_edge() {
        let mut f = field_with(3, 3, &[(1, 0, 2, [4, -4])]);
        let mut slice = SliceState::start(1, 0);
        slice.enter_mb(0, 1);
        assert_eq!(f.predict(0, 1, 0, &slice), [4, -4]);
        assert_eq!(f.block_rows(), 6);
    }
}
