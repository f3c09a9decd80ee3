//! Quarter-sample luma motion compensation (ISO/IEC 14496-2 7.6.2.2, `quarter_sample = 1`).
//!
//! Half-sample values come from the standard's 8-tap FIR filter
//! `(20, -6, 3, -1)` applied symmetrically, `(160 * ... + 16 - rounding) >> 5` after the
//! normalisation by 32, clipped to 0..=255, where samples beyond the reference block (the
//! `size + 1` samples the block reads) are MIRRORED at the block boundary, not read from the
//! picture. Quarter positions are averages of the two nearest integer/half values.
//!
//! The order of operations is FFmpeg's (the oracle of our tests), which is separable: a
//! horizontal stage (integer, half, or the average of half and the left/right integer sample)
//! over `size + 1` rows, then the same vertical stage over its output. Every average uses the
//! VOP's rounding control: `(a + b + 1 - rounding) >> 1`.
//!
//! Chroma of quarter-sample macroblocks is predicted at half-sample accuracy (see
//! [`chroma_1mv_qpel`] and [`chroma_4mv_qpel_sum`]).
#![forbid(unsafe_code)]

use crate::mpeg4::mc::RefPlane;

/// Largest block (16x16) plus the extra row/column the half-sample filter reads.
const MAX: usize = 17;

/// Predict the `size x size` block (size 8 or 16) whose top-left sample is (`x`, `y`) in the
/// current picture, displaced by the quarter-sample vector (`mvx`, `mvy`), into `dst` at
/// `dst_offset` (rows `dst_stride` apart). Reference samples outside the plane read as the
/// nearest edge sample. A caller bug (bad sizes) leaves `dst` unchanged (debug assertion).
#[allow(clippy::too_many_arguments)] // mc_halfpel's call shape: plane, destination and block geometry as plain values
pub fn mc_qpel(
    src: &RefPlane,
    dst: &mut [u8],
    dst_offset: usize,
    dst_stride: usize,
    x: i32,
    y: i32,
    mvx: i32,
    mvy: i32,
    size: usize,
    rounding: bool,
) {
    let ok = matches!(size, 8 | 16)
        && src.width > 0
        && src.height > 0
        && dst_stride >= size
        && dst_offset + (size - 1) * dst_stride + size <= dst.len()
        && (src.height - 1) * src.stride + src.width <= src.data.len();
    debug_assert!(ok, "mc_qpel: bad block {size} at {dst_offset}");
    if !ok {
        return;
    }
    // The (size + 1)^2 integer samples the filter may read, edge-clamped.
    let sx = i64::from(x) + i64::from(mvx >> 2);
    let sy = i64::from(y) + i64::from(mvy >> 2);
    let n = size + 1;
    let mut full = [0u8; MAX * MAX];
    let inside = sx >= 0
        && sy >= 0
        && sx as u64 + n as u64 <= src.width as u64
        && sy as u64 + n as u64 <= src.height as u64;
    let (fx, fy) = ((mvx & 3) as usize, (mvy & 3) as usize);
    let dst = &mut dst[dst_offset..];
    #[cfg(target_arch = "x86_64")]
    if let (true, Some(cpu)) = (inside, crate::simd::avx2()) {
        // Straight from the reference (no gathered copy).
        let start = sy as usize * src.stride + sx as usize;
        return cpu.qpel_filter(
            &src.data[start..],
            src.stride,
            size,
            fx,
            fy,
            rounding,
            dst,
            dst_stride,
        );
    }
    for r in 0..n {
        let cy = (sy + r as i64).clamp(0, src.height as i64 - 1) as usize;
        let row = &src.data[cy * src.stride..cy * src.stride + src.width];
        let out = &mut full[r * MAX..r * MAX + n];
        if inside {
            out.copy_from_slice(&row[sx as usize..sx as usize + n]);
        } else {
            for (c, o) in out.iter_mut().enumerate() {
                *o = row[(sx + c as i64).clamp(0, src.width as i64 - 1) as usize];
            }
        }
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(cpu) = crate::simd::avx2() {
        return cpu.qpel_filter(&full, MAX, size, fx, fy, rounding, dst, dst_stride);
    }
    filter_block(&full, size, fx, fy, rounding, dst, dst_stride);
}

/// The two filter stages of [`mc_qpel`] on the `(size + 1)^2` gathered samples `full` (rows
/// `MAX` apart), for fractions (`fx`, `fy`), into `dst` (rows `dst_stride` apart): the
/// specification of the SIMD version.
pub fn filter_block(
    full: &[u8; MAX * MAX],
    size: usize,
    fx: usize,
    fy: usize,
    rounding: bool,
    dst: &mut [u8],
    dst_stride: usize,
) {
    let n = size + 1;
    let rows = if fy == 0 { size } else { n };
    // Horizontal stage: `rows` rows of `size` samples.
    let mut horiz = [0u8; MAX * MAX];
    for r in 0..rows {
        let line = &full[r * MAX..r * MAX + n];
        let out = &mut horiz[r * MAX..r * MAX + size];
        stage(line, out, fx, rounding);
    }
    if fy == 0 {
        for r in 0..size {
            dst[r * dst_stride..r * dst_stride + size]
                .copy_from_slice(&horiz[r * MAX..r * MAX + size]);
        }
        return;
    }
    // Vertical stage, a row at a time: output row `r` filters the 8 (mirrored) rows around it.
    let last = size as i64;
    let mirror = |j: i64| -> usize {
        (if j < 0 {
            -1 - j
        } else if j > last {
            2 * last + 1 - j
        } else {
            j
        }) as usize
    };
    let rnd = i32::from(rounding);
    for r in 0..size {
        let ri = r as i64;
        let taps: [&[u8]; 8] = std::array::from_fn(|k| {
            let at = mirror(ri - 3 + k as i64) * MAX;
            &horiz[at..at + size]
        });
        let near = if fy == 3 { (r + 1) * MAX } else { r * MAX };
        // Row-wise multiply-accumulate (vectorises), then round, clip and average.
        let mut acc = [16 - rnd; MAX];
        for (k, weight) in [
            (3, 20),
            (4, 20),
            (2, -6),
            (5, -6),
            (1, 3),
            (6, 3),
            (0, -1),
            (7, -1),
        ] {
            for (a, &v) in acc[..size].iter_mut().zip(taps[k]) {
                *a += weight * i32::from(v);
            }
        }
        let out = &mut dst[r * dst_stride..r * dst_stride + size];
        let nearest = &horiz[near..near + size];
        for ((o, &a), &v) in out.iter_mut().zip(&acc).zip(nearest) {
            let half = (a >> 5).clamp(0, 255) as u8;
            *o = if fy == 2 {
                half
            } else {
                average(half, v, rounding)
            };
        }
    }
}

/// One filtering stage along a line of `size + 1` samples into `out` (`size` samples):
/// fraction 0 copies, 2 is the half-sample filter, 1 and 3 average the half sample with the
/// integer sample on its left or right.
fn stage(line: &[u8], out: &mut [u8], frac: usize, rounding: bool) {
    let size = out.len();
    if frac == 0 {
        out.copy_from_slice(&line[..size]);
        return;
    }
    // The line extended by 3 mirrored samples on each side (7.6.2.2), so the 8 taps of output
    // `i` are ext[i..i + 8].
    let mut ext = [0i32; MAX + 6];
    for (e, &v) in ext[3..size + 4].iter_mut().zip(&line[..=size]) {
        *e = i32::from(v);
    }
    for k in 0..3 {
        ext[2 - k] = i32::from(line[k]);
        ext[size + 4 + k] = i32::from(line[size - k]);
    }
    let r = 16 - i32::from(rounding);
    let mut half = [0u8; MAX];
    for (i, h) in half[..size].iter_mut().enumerate() {
        let e = &ext[i..i + 8];
        let sum = 20 * (e[3] + e[4]) - 6 * (e[2] + e[5]) + 3 * (e[1] + e[6]) - (e[0] + e[7]);
        *h = ((sum + r) >> 5).clamp(0, 255) as u8;
    }
    match frac {
        2 => out.copy_from_slice(&half[..size]),
        1 => {
            for ((o, &h), &v) in out.iter_mut().zip(&half).zip(line) {
                *o = average(h, v, rounding);
            }
        }
        _ => {
            for ((o, &h), &v) in out.iter_mut().zip(&half).zip(&line[1..]) {
                *o = average(h, v, rounding);
            }
        }
    }
}

/// The half-sample value between samples `i` and `i + 1` of a line of `size + 1` samples,
/// mirroring indices outside `0..=size` back into the line (7.6.2.2); the per-sample definition
/// [`stage`] is checked against.
#[cfg(test)]
fn half_sample(at: impl Fn(usize) -> u8, size: usize, i: usize, rounding: bool) -> u8 {
    let last = size as i64;
    let tap = |k: i64| -> i32 {
        let m = if k < 0 {
            -1 - k
        } else if k > last {
            2 * last + 1 - k
        } else {
            k
        };
        i32::from(at(m as usize))
    };
    let i = i as i64;
    let sum = 20 * (tap(i) + tap(i + 1)) - 6 * (tap(i - 1) + tap(i + 2))
        + 3 * (tap(i - 2) + tap(i + 3))
        - (tap(i - 3) + tap(i + 4));
    ((sum + 16 - i32::from(rounding)) >> 5).clamp(0, 255) as u8
}

#[inline]
fn average(a: u8, b: u8, rounding: bool) -> u8 {
    ((u16::from(a) + u16::from(b) + 1 - u16::from(rounding)) >> 1) as u8
}

/// How the chroma vector of a 16x16 quarter-sample MB is derived: the standard way, or one
/// of the two encoder bugs FFmpeg reproduces for old DivX 5 / XviD streams (its
/// `FF_BUG_QPEL_CHROMA` and `FF_BUG_QPEL_CHROMA2`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QpelChroma {
    #[default]
    Standard,
    Bug,
    Bug2,
}

/// Chroma vector (half-sample units of the chroma plane) of a 16x16 quarter-sample luma vector
/// component, as FFmpeg derives it: halve with C division (toward zero) to luma half samples,
/// then the H.263 rule (quarter positions of chroma go to the half position).
#[inline]
pub fn chroma_1mv_qpel(luma_qpel: i32) -> i32 {
    chroma_1mv_qpel_with(luma_qpel, QpelChroma::Standard)
}

/// [`chroma_1mv_qpel`] with the halving of a buggy encoder.
#[inline]
pub fn chroma_1mv_qpel_with(luma_qpel: i32, quirk: QpelChroma) -> i32 {
    const ROUND2: [i32; 8] = [0, 0, 1, 1, 0, 0, 0, 1];
    let half = match quirk {
        QpelChroma::Standard => luma_qpel / 2,
        QpelChroma::Bug => (luma_qpel >> 1) | (luma_qpel & 1),
        QpelChroma::Bug2 => (luma_qpel >> 1) + ROUND2[(luma_qpel & 7) as usize],
    };
    (half >> 1) | (half & 1)
}

/// What each 8x8 block's quarter-sample vector component adds to the 4MV chroma sum (FFmpeg
/// halves each with C division); the sum then goes through [`crate::mpeg4::mv::chroma_4mv`].
#[inline]
pub fn chroma_4mv_qpel_sum(luma_qpel: [i32; 4]) -> i32 {
    luma_qpel.iter().map(|v| v / 2).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_rng::Rng;

    /// Naive reference straight from the definition: 2D arrays of integer, horizontal half,
    /// vertical half and centre samples on a block-local grid, then the quarter averages,
    /// separable in FFmpeg's order.
    #[allow(clippy::too_many_arguments)] // the test reference takes mc_qpel's arguments one for one
    fn naive(
        plane: &[u8],
        w: usize,
        h: usize,
        x: i32,
        y: i32,
        mvx: i32,
        mvy: i32,
        size: usize,
        rnd: bool,
    ) -> Vec<u8> {
        let r = i64::from(rnd);
        let n = size as i64 + 1;
        let ix = i64::from(x) + i64::from(mvx).div_euclid(4);
        let iy = i64::from(y) + i64::from(mvy).div_euclid(4);
        let sample = |c: i64, rr: i64| -> i64 {
            let cx = (ix + c).clamp(0, w as i64 - 1) as usize;
            let cy = (iy + rr).clamp(0, h as i64 - 1) as usize;
            i64::from(plane[cy * w + cx])
        };
        let mirror = |k: i64| {
            if k < 0 {
                -1 - k
            } else if k >= n {
                2 * n - 1 - k
            } else {
                k
            }
        };
        let filt = |f: &dyn Fn(i64) -> i64, i: i64| -> i64 {
            let taps = [(0, 1, 20), (-1, 2, -6), (-2, 3, 3), (-3, 4, -1)];
            let s: i64 = taps
                .iter()
                .map(|&(a, b, t)| t * (f(mirror(i + a)) + f(mirror(i + b))))
                .sum();
            ((s + 16 - r) >> 5).clamp(0, 255)
        };
        let avg = |a: i64, b: i64| (a + b + 1 - r) >> 1;
        let (fx, fy) = (mvx.rem_euclid(4), mvy.rem_euclid(4));
        // horizontal stage for rows 0..=size
        let hval = |c: i64, rr: i64| -> i64 {
            let half = || filt(&|k| sample(k, rr), c);
            match fx {
                0 => sample(c, rr),
                1 => avg(half(), sample(c, rr)),
                2 => half(),
                _ => avg(half(), sample(c + 1, rr)),
            }
        };
        let mut out = Vec::new();
        for rr in 0..size as i64 {
            for c in 0..size as i64 {
                let half = || filt(&|k| hval(c, k), rr);
                let v = match fy {
                    0 => hval(c, rr),
                    1 => avg(half(), hval(c, rr)),
                    2 => half(),
                    _ => avg(half(), hval(c, rr + 1)),
                };
                out.push(v as u8);
            }
        }
        out
    }

    #[test]
    fn every_fraction_matches_the_naive_definition() {
        let (w, h) = (40usize, 36usize);
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let mut plane: Vec<u8> = (0..w * h).map(|_| (rng.next() >> 56) as u8).collect();
        // some saturated samples so the clip to 0..=255 matters
        for i in (0..plane.len()).step_by(7) {
            plane[i] = if i % 2 == 0 { 0 } else { 255 };
        }
        let src = RefPlane::new(&plane, w, h, w).unwrap();
        for size in [8usize, 16] {
            for rnd in [false, true] {
                for fy in 0..4 {
                    for fx in 0..4 {
                        for &(bx, by, ix, iy) in
                            &[(8, 8, 1, -2), (0, 0, -5, -7), (24, 16, 6, 9), (16, 0, 0, 0)]
                        {
                            let (mvx, mvy) = (ix * 4 + fx, iy * 4 + fy);
                            let mut dst = vec![0u8; size * size];
                            mc_qpel(&src, &mut dst, 0, size, bx, by, mvx, mvy, size, rnd);
                            let want = naive(&plane, w, h, bx, by, mvx, mvy, size, rnd);
                            assert_eq!(dst, want, "size {size} rnd {rnd} mv ({mvx},{mvy})");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn filter_stage_equals_the_per_sample_definition() {
        let mut rng = Rng(99);
        for size in [8usize, 16] {
            for rnd in [false, true] {
                let line: Vec<u8> = (0..=size).map(|_| (rng.next() >> 56) as u8).collect();
                let mut out = vec![0u8; size];
                stage(&line, &mut out, 2, rnd);
                let want: Vec<u8> = (0..size)
                    .map(|i| half_sample(|k| line[k], size, i, rnd))
                    .collect();
                assert_eq!(out, want);
            }
        }
    }

    #[test]
    fn flat_reference_stays_flat_and_filter_has_unit_gain() {
        let plane = vec![77u8; 32 * 32];
        let src = RefPlane::new(&plane, 32, 32, 32).unwrap();
        for mv in [(1, 3), (2, 2), (-7, 5), (3, 0)] {
            let mut dst = vec![0u8; 256];
            mc_qpel(&src, &mut dst, 0, 16, 8, 8, mv.0, mv.1, 16, true);
            assert!(dst.iter().all(|&v| v == 77), "{mv:?}");
        }
    }

    #[test]
    fn half_sample_filter_on_a_ramp_and_mirroring() {
        // A linear ramp inside the block: the symmetric filter is exact (sum of taps 32).
        let line: Vec<u8> = (0..9).map(|i| 10 + 10 * i).collect();
        let v = half_sample(|k| line[k], 8, 3, false);
        assert_eq!(v, 45);
        // At the block edge the mirrored taps differ from a straight continuation.
        let edge = half_sample(|k| line[k], 8, 0, false);
        let straight = (20 * (10 + 20) - 6 * 30 + 3 * (-10 + 40) - (-20 + 50) + 16) >> 5;
        assert_eq!(i32::from(edge), (20 * 30 - 6 * 40 + 3 * 60 - 80 + 16) >> 5);
        assert_ne!(i32::from(edge), straight);
    }

    #[test]
    fn chroma_vectors_follow_ffmpeg() {
        // 16x16: luma qpel -> luma hpel by C division -> chroma hpel with the H.263 rule.
        let got: Vec<i32> = (-6..=6).map(chroma_1mv_qpel).collect();
        assert_eq!(got, vec![-1, -1, -1, -1, -1, 0, 0, 0, 1, 1, 1, 1, 1]);
        assert_eq!(chroma_4mv_qpel_sum([3, -3, 5, -5]), 0);
        // The buggy encoders' halvings (FFmpeg's workarounds): 3 -> 1 | 1 = 1 -> 1; 5 -> 2 + 0.
        assert_eq!(chroma_1mv_qpel_with(3, QpelChroma::Bug), 1);
        assert_eq!(chroma_1mv_qpel_with(-3, QpelChroma::Bug), -1);
        assert_eq!(chroma_1mv_qpel_with(3, QpelChroma::Bug2), 1);
        assert_eq!(chroma_1mv_qpel_with(6, QpelChroma::Bug2), 1);
        assert_eq!(chroma_1mv_qpel_with(2, QpelChroma::Bug2), 1);
        assert_eq!(chroma_4mv_qpel_sum([7, 7, 7, 7]), 12);
    }
}
