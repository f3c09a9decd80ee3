//! AVX2 version of the two filter stages of `mpeg4::qpel` (quarter-sample luma MC).
//!
//! Sixteen outputs at a time in 16-bit lanes: the 8-tap sums lie in -3570..=11730, so 16 bits
//! hold them exactly; `packus` after the shift is the scalar clip to 0..=255, `pavgb` the
//! rounded average, and its complement form `!pavgb(!a, !b)` the `(a + b) >> 1` of
//! `rounding == true`.
use std::arch::x86_64::*;

use super::Avx2;

/// Row stride of the sample arrays (`mpeg4::qpel`'s 17: a 16x16 block plus one).
const MAX: usize = 17;
/// The arrays are padded so that a 16-byte load at any row start stays inside.
const PADDED: usize = MAX * MAX + 16;

impl Avx2 {
    /// `mpeg4::qpel::filter_block`: the `size x size` (8 or 16) prediction for fractions
    /// (`fx`, `fy`) in 0..4 from the `(size + 1)^2` samples of `full` (rows `MAX` apart),
    /// into `dst` (rows `dst_stride` apart).
    #[allow(clippy::too_many_arguments)]
    pub fn qpel_filter(
        self,
        full: &[u8; MAX * MAX],
        size: usize,
        fx: usize,
        fy: usize,
        rounding: bool,
        dst: &mut [u8],
        dst_stride: usize,
    ) {
        assert!(matches!(size, 8 | 16) && fx < 4 && fy < 4);
        assert!(dst_stride >= size && (size - 1) * dst_stride + size <= dst.len());
        // SAFETY: AVX2 by the token; loads stay in the padded copies, stores in the asserted
        // rows of `dst`.
        unsafe { qpel_filter(full, size, fx, fy, rounding, dst, dst_stride) }
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
    let sum = add(
        add(mul(20, add(t[3], t[4])), mul(-6, add(t[2], t[5]))),
        add(
            mul(3, add(t[1], t[6])),
            _mm256_sub_epi16(_mm256_set1_epi16(16 - i16::from(rounding)), add(t[0], t[7])),
        ),
    );
    let v = _mm256_srai_epi16::<5>(sum);
    _mm_packus_epi16(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v))
}

#[target_feature(enable = "avx2")]
unsafe fn load16(p: *const u8) -> __m128i {
    _mm_loadu_si128(p as *const __m128i)
}

#[target_feature(enable = "avx2")]
unsafe fn bytes_to_words(p: *const u8) -> __m256i {
    _mm256_cvtepu8_epi16(load16(p))
}

/// One horizontal stage on the line `line[..=size]` (padded to 32 bytes): 16 output bytes,
/// the first `size` meaningful.
#[target_feature(enable = "avx2")]
unsafe fn horizontal(line: &[u8; 32], size: usize, frac: usize, rounding: bool) -> __m128i {
    let own = load16(line.as_ptr());
    if frac == 0 {
        return own;
    }
    // The line with 3 mirrored samples on each side: taps of output i are ext[i..i + 8].
    let mut ext = [0u8; 40];
    ext[3..size + 4].copy_from_slice(&line[..=size]);
    for k in 0..3 {
        ext[2 - k] = line[k];
        ext[size + 4 + k] = line[size - k];
    }
    let taps: [__m256i; 8] = std::array::from_fn(|k| bytes_to_words(ext.as_ptr().add(k)));
    let half = filter(taps, rounding);
    match frac {
        2 => half,
        1 => average(half, own, rounding),
        _ => average(half, load16(line.as_ptr().add(1)), rounding),
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

#[target_feature(enable = "avx2")]
unsafe fn qpel_filter(
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
    let mut horiz = [0u8; PADDED];
    for r in 0..rows {
        let mut line = [0u8; 32];
        line[..n].copy_from_slice(&full[r * MAX..r * MAX + n]);
        let out = horizontal(&line, size, fx, rounding);
        _mm_storeu_si128(horiz.as_mut_ptr().add(r * MAX) as *mut __m128i, out);
    }
    let row = |r: usize| horiz.as_ptr().add(r * MAX);
    if fy == 0 {
        for r in 0..size {
            store(dst, r * dst_stride, load16(row(r)), size);
        }
        return;
    }
    // Vertical stage: output row r filters the 8 rows around it, mirrored at 0 and `size`.
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
        let taps: [__m256i; 8] =
            std::array::from_fn(|k| bytes_to_words(row(mirror(r as i64 - 3 + k as i64))));
        let half = filter(taps, rounding);
        let out = match fy {
            2 => half,
            1 => average(half, load16(row(r)), rounding),
            _ => average(half, load16(row(r + 1)), rounding),
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
            cpu.qpel_filter(&full, size, fx, fy, rounding, &mut got, stride);
            assert_eq!(
                got, want,
                "size {size} fraction ({fx}, {fy}) rounding {rounding} case {i}"
            );
        }
    }
}
