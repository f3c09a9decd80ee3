//! AVX2 version of the two filter stages of `mpeg4::qpel` (quarter-sample luma MC).
//!
//! Sixteen outputs at a time in 16-bit lanes: the 8-tap sums lie in -3570..=11730, so 16 bits
//! hold them exactly; `packus` after the shift is the scalar clip to 0..=255, `pavgb` the
//! rounded average, and its complement form `!pavgb(!a, !b)` the `(a + b) >> 1` of
//! `rounding == true`.
use std::arch::x86_64::*;

use super::Avx2;

/// Row stride of `mpeg4::qpel`'s gathered-sample array (a 16x16 block plus one).
const MAX: usize = 17;
/// Bytes a row read may touch: one 16-byte load at the row start (and one byte at +16).
const ROW_READ: usize = 32;

impl Avx2 {
    /// `mpeg4::qpel::filter_block`: the `size x size` (8 or 16) prediction for fractions
    /// (`fx`, `fy`) in 0..4 from the `(size + 1)^2` samples at the start of `src` (rows
    /// `src_stride` apart), into `dst` (rows `dst_stride` apart).
    #[allow(clippy::too_many_arguments)] // the scalar kernel's arguments one for one
    pub fn qpel_filter(
        self,
        src: &[u8],
        src_stride: usize,
        size: usize,
        fx: usize,
        fy: usize,
        rounding: bool,
        dst: &mut [u8],
        dst_stride: usize,
    ) {
        assert!(matches!(size, 8 | 16) && fx < 4 && fy < 4);
        assert!(dst_stride >= size && (size - 1) * dst_stride + size <= dst.len());
        let n = size + 1;
        assert!(src_stride >= n && (n - 1) * src_stride + n <= src.len());
        if (n - 1) * src_stride + ROW_READ <= src.len() {
            // SAFETY: AVX2 by the token; row reads stay inside `src` (ROW_READ bytes of slack
            // after the last row start), stores inside the asserted rows of `dst`.
            unsafe { qpel_filter(src, src_stride, size, fx, fy, rounding, dst, dst_stride) }
        } else {
            // Near the end of the plane: the same on a padded copy.
            let mut padded = [0u8; (MAX - 1) * MAX + ROW_READ];
            for r in 0..n {
                padded[r * MAX..r * MAX + n]
                    .copy_from_slice(&src[r * src_stride..r * src_stride + n]);
            }
            // SAFETY: as above, on `padded`, which has the slack.
            unsafe { qpel_filter(&padded, MAX, size, fx, fy, rounding, dst, dst_stride) }
        }
    }
}

#[target_feature(enable = "avx2")]
unsafe fn average(a: __m128i, b: __m128i, rounding: bool) -> __m128i {
    if rounding {
        let ones = _mm_set1_epi8(-1);
        let not = |v| _mm_xor_si128(v, ones);
        not(_mm_avg_epu8(not(a), not(b)))
    } else {
        _mm_avg_epu8(a, b)
    }
}

/// `clip((20 (t3 + t4) - 6 (t2 + t5) + 3 (t1 + t6) - (t0 + t7) + 16 - rounding) >> 5)` on 16
/// lanes, narrowed to bytes in order.
#[target_feature(enable = "avx2")]
unsafe fn filter(t: [__m256i; 8], rounding: bool) -> __m128i {
    let add = |a, b| _mm256_add_epi16(a, b);
    let mul = |k: i16, v| _mm256_mullo_epi16(_mm256_set1_epi16(k), v);
    let bias = _mm256_set1_epi16(16 - i16::from(rounding));
    let sum = add(
        add(mul(20, add(t[3], t[4])), mul(-6, add(t[2], t[5]))),
        add(
            mul(3, add(t[1], t[6])),
            _mm256_sub_epi16(bias, add(t[0], t[7])),
        ),
    );
    let v = _mm256_srai_epi16::<5>(sum);
    _mm_packus_epi16(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v))
}

#[target_feature(enable = "avx2")]
unsafe fn shuffle(v: __m128i, mask: &[i8; 16]) -> __m128i {
    _mm_shuffle_epi8(v, _mm_loadu_si128(mask.as_ptr() as *const __m128i))
}

#[target_feature(enable = "avx2")]
unsafe fn words(v: __m128i) -> __m256i {
    _mm256_cvtepu8_epi16(v)
}

/// The horizontal stage of one row (`lo` = samples 0..16 of the row, `last` = sample 16, read
/// only for size 16): 16 output bytes, the first `size` meaningful. The line is extended by 3
/// mirrored samples on each side (`ext`), and the taps of output i are `ext[i..i + 8]`.
#[target_feature(enable = "avx2")]
unsafe fn horizontal(lo: __m128i, last: u8, size: usize, frac: usize, rounding: bool) -> __m128i {
    if frac == 0 {
        return lo;
    }
    const X: i8 = -128; // pshufb: zero
    let (taps, right): ([__m256i; 8], __m128i) = if size == 16 {
        // ext[0..16] = L2 L1 L0 L0 .. L12; ext[16..23] = L13 L14 L15 L16 L16 L15 L14.
        let e_lo = shuffle(lo, &[2, 1, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        let e_hi = shuffle(lo, &[13, 14, 15, X, X, 15, 14, X, X, X, X, X, X, X, X, X]);
        let e_hi =
            _mm_insert_epi8::<4>(_mm_insert_epi8::<3>(e_hi, i32::from(last)), i32::from(last));
        let t = [
            e_lo,
            _mm_alignr_epi8::<1>(e_hi, e_lo),
            _mm_alignr_epi8::<2>(e_hi, e_lo),
            _mm_alignr_epi8::<3>(e_hi, e_lo),
            _mm_alignr_epi8::<4>(e_hi, e_lo),
            _mm_alignr_epi8::<5>(e_hi, e_lo),
            _mm_alignr_epi8::<6>(e_hi, e_lo),
            _mm_alignr_epi8::<7>(e_hi, e_lo),
        ];
        let right = _mm_alignr_epi8::<1>(_mm_cvtsi32_si128(i32::from(last)), lo);
        (t.map(|v| words(v)), right)
    } else {
        // ext[0..15] = L2 L1 L0 L0 .. L8 L8 L7 L6.
        let e = shuffle(lo, &[2, 1, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 8, 7, 6, X]);
        let t = [
            e,
            _mm_srli_si128::<1>(e),
            _mm_srli_si128::<2>(e),
            _mm_srli_si128::<3>(e),
            _mm_srli_si128::<4>(e),
            _mm_srli_si128::<5>(e),
            _mm_srli_si128::<6>(e),
            _mm_srli_si128::<7>(e),
        ];
        (t.map(|v| words(v)), _mm_srli_si128::<1>(lo))
    };
    let half = filter(taps, rounding);
    match frac {
        2 => half,
        1 => average(half, lo, rounding),
        _ => average(half, right, rounding),
    }
}

#[target_feature(enable = "avx2")]
unsafe fn store(dst: &mut [u8], at: usize, v: __m128i, size: usize) {
    if size == 16 {
        _mm_storeu_si128(dst.as_mut_ptr().add(at) as *mut __m128i, v);
    } else {
        _mm_storel_epi64(dst.as_mut_ptr().add(at) as *mut __m128i, v);
    }
}

#[allow(clippy::too_many_arguments)] // the safe wrapper's arguments, checked
#[target_feature(enable = "avx2")]
unsafe fn qpel_filter(
    src: &[u8],
    src_stride: usize,
    size: usize,
    fx: usize,
    fy: usize,
    rounding: bool,
    dst: &mut [u8],
    dst_stride: usize,
) {
    let rows = if fy == 0 { size } else { size + 1 };
    let mut horiz = [_mm_setzero_si128(); MAX];
    for (r, out) in horiz.iter_mut().enumerate().take(rows) {
        let row = src.as_ptr().add(r * src_stride);
        let lo = _mm_loadu_si128(row as *const __m128i);
        let last = if size == 16 { *row.add(16) } else { 0 };
        *out = horizontal(lo, last, size, fx, rounding);
    }
    if fy == 0 {
        for (r, &v) in horiz.iter().enumerate().take(size) {
            store(dst, r * dst_stride, v, size);
        }
        return;
    }
    // Vertical stage: output row r filters the 8 rows around it, mirrored at 0 and `size`.
    let wide: [__m256i; MAX] = std::array::from_fn(|r| words(horiz[r]));
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
    for r in 0..size {
        let taps: [__m256i; 8] = std::array::from_fn(|k| wide[mirror(r as i64 - 3 + k as i64)]);
        let half = filter(taps, rounding);
        let out = match fy {
            2 => half,
            1 => average(half, horiz[r], rounding),
            _ => average(half, horiz[r + 1], rounding),
        };
        store(dst, r * dst_stride, out, size);
    }
}

#[cfg(test)]
mod tests {
    use crate::mpeg4::qpel::filter_block;
    use crate::simd::avx2_for_tests;
    use crate::test_rng::Rng;

    #[test]
    fn qpel_filter_equals_the_scalar_specification() {
        let cpu = avx2_for_tests()
            .expect("this CPU has no AVX2: the AVX2 kernels cannot be compared here");
        let mut rng = Rng(5);
        for i in 0..6000 {
            let mut full = [0u8; 17 * 17];
            // Random, extreme (0/255 checkerboards: the sums' ends) and flat references.
            match i % 4 {
                0 => full.iter_mut().for_each(|v| *v = rng.range(0, 255) as u8),
                1 => full
                    .iter_mut()
                    .enumerate()
                    .for_each(|(k, v)| *v = if (k + k / 17) % 2 == 0 { 255 } else { 0 }),
                2 => full
                    .iter_mut()
                    .for_each(|v| *v = [0, 255][rng.range(0, 1) as usize]),
                _ => full.fill(rng.range(0, 255) as u8),
            }
            let size = [8, 16][i % 2];
            let (fx, fy) = ((i / 2) % 4, (i / 8) % 4);
            let rounding = (i / 32) % 2 == 1;
            let stride = size + rng.range(0, 5) as usize;
            let len = (size - 1) * stride + size;
            let background: Vec<u8> = (0..len).map(|_| rng.range(0, 255) as u8).collect();
            let (mut want, mut got) = (background.clone(), background);
            filter_block(&full, size, fx, fy, rounding, &mut want, stride);
            // The SIMD kernel reads the plane in place: any stride, with or without slack
            // after the last row (it copies when the slack is short).
            let src_stride = 17 + rng.range(0, 20) as usize;
            let slack = rng.range(0, 40) as usize;
            let mut src = vec![0u8; 16 * src_stride + 17 + slack];
            for r in 0..17 {
                src[r * src_stride..r * src_stride + 17]
                    .copy_from_slice(&full[r * 17..r * 17 + 17]);
            }
            cpu.qpel_filter(&src, src_stride, size, fx, fy, rounding, &mut got, stride);
            assert_eq!(
                got, want,
                "size {size} fraction ({fx}, {fy}) rounding {rounding} case {i}"
            );
        }
    }
}
