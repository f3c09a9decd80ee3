//! AVX2 version of `mpeg4::mc`'s half-pel block prediction (widths 8 and 16).
//!
//! `pavgb` is the rounded average `(a + b + 1) >> 1`; with rounding control set,
//! `!pavgb(!a, !b)` is `(a + b) >> 1`, except at width 8 where the scalar code reproduces
//! FFmpeg's approximate x86 kernel `pavgb(a - 1 saturating, b)`, which is the same instruction
//! sequence here. The 2-D case sums in 16-bit lanes.
use std::arch::x86_64::*;

use super::Avx2;

impl Avx2 {
    /// `mpeg4::mc::scalar_put_block` for widths 8 and 16: predicts the `w x h` block from
    /// `src` (top-left reference sample first, rows `src_stride` apart) with half-sample
    /// offsets `hx`, `hy`, into `dst` (rows `dst_stride` apart). Returns `false`, leaving `dst`
    /// alone, for other widths or slices too short for the block.
    #[allow(clippy::too_many_arguments)] // the scalar kernel's arguments one for one
    #[inline]
    pub fn hpel_put(
        self,
        src: &[u8],
        src_stride: usize,
        dst: &mut [u8],
        dst_stride: usize,
        w: usize,
        h: usize,
        (hx, hy): (bool, bool),
        rounding: bool,
    ) -> bool {
        let fits = matches!(w, 8 | 16)
            && h > 0
            && src_stride >= w
            && dst_stride >= w
            && (h - 1 + usize::from(hy)) * src_stride + w + usize::from(hx) <= src.len()
            && (h - 1) * dst_stride + w <= dst.len();
        if !fits {
            return false;
        }
        // SAFETY: AVX2 by the token; every load reads inside the `w + hx` samples of the
        // `h + hy` source rows and every store writes inside the `h` rows of `dst`, as checked.
        unsafe {
            if w == 16 {
                put::<16>(src, src_stride, dst, dst_stride, h, hx, hy, rounding)
            } else {
                put::<8>(src, src_stride, dst, dst_stride, h, hx, hy, rounding)
            }
        }
        true
    }
}

#[target_feature(enable = "avx2")]
unsafe fn load<const W: usize>(p: *const u8) -> __m128i {
    if W == 16 {
        _mm_loadu_si128(p as *const __m128i)
    } else {
        _mm_loadl_epi64(p as *const __m128i)
    }
}

#[target_feature(enable = "avx2")]
unsafe fn store<const W: usize>(p: *mut u8, v: __m128i) {
    if W == 16 {
        _mm_storeu_si128(p as *mut __m128i, v)
    } else {
        _mm_storel_epi64(p as *mut __m128i, v)
    }
}

/// `(a + b + 1 - rounding) >> 1`.
#[target_feature(enable = "avx2")]
unsafe fn average(a: __m128i, b: __m128i, rounding: bool) -> __m128i {
    if rounding {
        let ones = _mm_set1_epi8(-1);
        _mm_xor_si128(
            _mm_avg_epu8(_mm_xor_si128(a, ones), _mm_xor_si128(b, ones)),
            ones,
        )
    } else {
        _mm_avg_epu8(a, b)
    }
}

/// FFmpeg's 8-wide no-rounding approximation: `pavgb(a - 1 saturating, b)`.
#[target_feature(enable = "avx2")]
unsafe fn approx_average(decremented: __m128i, b: __m128i) -> __m128i {
    _mm_avg_epu8(_mm_subs_epu8(decremented, _mm_set1_epi8(1)), b)
}

/// One loop per half-sample case; the vertical cases keep the row below (its horizontal sum
/// in the 2-D case) for the next output row instead of loading it again.
#[allow(clippy::too_many_arguments)] // the safe wrapper's arguments, checked
#[target_feature(enable = "avx2")]
unsafe fn put<const W: usize>(
    src: &[u8],
    src_stride: usize,
    dst: &mut [u8],
    dst_stride: usize,
    h: usize,
    hx: bool,
    hy: bool,
    rounding: bool,
) {
    let (s, d) = (src.as_ptr(), dst.as_mut_ptr());
    let approx = rounding && W == 8;
    let row = |y: usize| s.add(y * src_stride);
    let out = |y: usize| d.add(y * dst_stride);
    match (hx, hy) {
        (false, false) => {
            for y in 0..h {
                store::<W>(out(y), load::<W>(row(y)));
            }
        }
        (true, false) => {
            for y in 0..h {
                let (a, b) = (load::<W>(row(y)), load::<W>(row(y).add(1)));
                let v = if approx {
                    approx_average(a, b)
                } else {
                    average(a, b, rounding)
                };
                store::<W>(out(y), v);
            }
        }
        (false, true) => {
            let mut a = load::<W>(row(0));
            for y in 0..h {
                let b = load::<W>(row(y + 1));
                let v = match (approx, y % 2) {
                    (false, _) => average(a, b, rounding),
                    (true, 0) => approx_average(b, a),
                    _ => approx_average(a, b),
                };
                store::<W>(out(y), v);
                a = b;
            }
        }
        (true, true) => {
            let wide = |p: *const u8| _mm256_cvtepu8_epi16(load::<W>(p));
            let pair = |p: *const u8| _mm256_add_epi16(wide(p), wide(p.add(1)));
            let bias = _mm256_set1_epi16(2 - i16::from(rounding));
            let mut top = pair(row(0));
            for y in 0..h {
                let bottom = pair(row(y + 1));
                let sum = _mm256_add_epi16(_mm256_add_epi16(top, bottom), bias);
                let v = _mm256_srli_epi16::<2>(sum);
                let packed =
                    _mm_packus_epi16(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
                store::<W>(out(y), packed);
                top = bottom;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::mpeg4::mc::scalar_put_block;
    use crate::simd::avx2_for_tests;
    use crate::test_rng::Rng;

    #[test]
    fn hpel_put_equals_the_scalar_specification() {
        let cpu = avx2_for_tests()
            .expect("this CPU has no AVX2: the AVX2 kernels cannot be compared here");
        let mut rng = Rng(13);
        for i in 0..8000 {
            let w = [8, 16][i % 2];
            let h = [8, 16, 4, 1][(i / 2) % 4];
            let (hx, hy) = ((i / 8) % 2 == 1, (i / 16) % 2 == 1);
            let rounding = (i / 32) % 2 == 1;
            let src_stride = w + 1 + rng.range(0, 4) as usize;
            let dst_stride = w + rng.range(0, 4) as usize;
            let src_len = (h - 1 + usize::from(hy)) * src_stride + w + usize::from(hx);
            // Random, all 0/1/255 (the saturating decrement's and the sums' ends), flat.
            let src: Vec<u8> = match (i / 64) % 3 {
                0 => (0..src_len).map(|_| rng.range(0, 255) as u8).collect(),
                1 => (0..src_len)
                    .map(|_| [0, 1, 254, 255][rng.range(0, 3) as usize])
                    .collect(),
                _ => vec![rng.range(0, 255) as u8; src_len],
            };
            let dst_len = (h - 1) * dst_stride + w;
            let background: Vec<u8> = (0..dst_len).map(|_| rng.range(0, 255) as u8).collect();
            let (mut want, mut got) = (background.clone(), background);
            scalar_put_block(
                &src,
                src_stride,
                &mut want,
                dst_stride,
                w,
                h,
                (hx, hy),
                rounding,
            );
            assert!(cpu.hpel_put(
                &src,
                src_stride,
                &mut got,
                dst_stride,
                w,
                h,
                (hx, hy),
                rounding
            ));
            assert_eq!(
                got, want,
                "{w}x{h} half ({hx}, {hy}) rounding {rounding} case {i}"
            );
        }
    }

    #[test]
    fn other_widths_and_short_slices_are_declined() {
        let cpu = avx2_for_tests()
            .expect("this CPU has no AVX2: the AVX2 kernels cannot be compared here");
        let src = [7u8; 64];
        let mut dst = [0u8; 64];
        assert!(!cpu.hpel_put(&src, 9, &mut dst, 8, 4, 4, (true, true), false));
        assert!(!cpu.hpel_put(&src[..20], 17, &mut dst, 16, 16, 2, (false, false), false));
        assert_eq!(dst, [0u8; 64]);
    }
}
