//! AVX2 version of `repr::colour`'s BT.601 conversion, 16 pixels at a time.
//!
//! The formula is the module's own, in 32-bit lanes (`pmulld`): `c = 76309 (Y - 16) + 32768`,
//! `R = (c + 104597 e) >> 16`, `G = (c - 25675 d - 53279 e) >> 16`, `B = (c + 132201 d) >> 16`
//! with `d = U - 128`, `e = V - 128`; the two saturating packs are the clamp to 0..=255 (the
//! shifted sums lie well inside 16 bits). Chroma sample `x / 2` serves pixels `x` and `x + 1`.
use std::arch::x86_64::*;

use super::Avx2;

impl Avx2 {
    /// Converts the first `16 * (y.len() / 16)` pixels of one row (luma `y`, the row's chroma
    /// `u`, `v`) into `out`, 3 bytes per pixel, red at byte `RI` and blue at `BI`; returns how
    /// many pixels it converted (the caller does the rest).
    pub fn yuv_row_to_rgb<const RI: usize, const BI: usize>(
        self,
        y: &[u8],
        u: &[u8],
        v: &[u8],
        out: &mut [u8],
    ) -> usize {
        let groups = (y.len() / 16)
            .min(u.len() / 8)
            .min(v.len() / 8)
            .min(out.len() / 48);
        // SAFETY: AVX2 by the token; group g reads y[16g..16g+16], u and v [8g..8g+8] and
        // writes out[48g..48g+48], all inside the slices by the `min` above.
        unsafe { convert::<RI, BI>(y, u, v, out, groups) };
        16 * groups
    }
}

/// `(c + t) >> 16` for two 8-lane halves, packed to 16 bytes with saturation.
#[target_feature(enable = "avx2")]
unsafe fn channel(c: [__m256i; 2], t: [__m256i; 2]) -> __m128i {
    let lo = _mm256_srai_epi32::<16>(_mm256_add_epi32(c[0], t[0]));
    let hi = _mm256_srai_epi32::<16>(_mm256_add_epi32(c[1], t[1]));
    // packs works within 128-bit halves: reorder the 64-bit quarters afterwards.
    let words = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packs_epi32(lo, hi));
    let w0 = _mm256_castsi256_si128(words);
    let w1 = _mm256_extracti128_si256::<1>(words);
    _mm_packus_epi16(w0, w1)
}

/// Shuffle masks that put 16 samples of one channel at its byte of each 3-byte pixel, for the
/// three 16-byte output vectors; `slot` is the channel's byte in the pixel.
const fn masks(slot: usize) -> [[i8; 16]; 3] {
    let mut m = [[-128i8; 16]; 3];
    let mut p = 0;
    while p < 48 {
        if p % 3 == slot {
            m[p / 16][p % 16] = (p / 3) as i8;
        }
        p += 1;
    }
    m
}

#[target_feature(enable = "avx2")]
unsafe fn interleave(r: __m128i, g: __m128i, b: __m128i, ri: usize, bi: usize, out: *mut u8) {
    let (mr, mg, mb) = (masks(ri), masks(1), masks(bi));
    for part in 0..3 {
        let m = |k: &[[i8; 16]; 3]| _mm_loadu_si128(k[part].as_ptr() as *const __m128i);
        let v = _mm_or_si128(
            _mm_or_si128(_mm_shuffle_epi8(r, m(&mr)), _mm_shuffle_epi8(g, m(&mg))),
            _mm_shuffle_epi8(b, m(&mb)),
        );
        _mm_storeu_si128(out.add(16 * part) as *mut __m128i, v);
    }
}

#[target_feature(enable = "avx2")]
unsafe fn convert<const RI: usize, const BI: usize>(
    y: &[u8],
    u: &[u8],
    v: &[u8],
    out: &mut [u8],
    groups: usize,
) {
    let set = |k: i32| _mm256_set1_epi32(k);
    let mul = |a, b| _mm256_mullo_epi32(a, b);
    for g in 0..groups {
        let luma = _mm_loadu_si128(y.as_ptr().add(16 * g) as *const __m128i);
        // Each chroma byte twice: 8 samples -> 16 lanes.
        let cu = _mm_loadl_epi64(u.as_ptr().add(8 * g) as *const __m128i);
        let cv = _mm_loadl_epi64(v.as_ptr().add(8 * g) as *const __m128i);
        let (cu, cv) = (_mm_unpacklo_epi8(cu, cu), _mm_unpacklo_epi8(cv, cv));
        let halves = |b: __m128i| {
            [
                _mm256_cvtepu8_epi32(b),
                _mm256_cvtepu8_epi32(_mm_srli_si128::<8>(b)),
            ]
        };
        let (ly, lu, lv) = (halves(luma), halves(cu), halves(cv));
        let c =
            ly.map(|l| _mm256_add_epi32(mul(set(76309), _mm256_sub_epi32(l, set(16))), set(32768)));
        let d = lu.map(|l| _mm256_sub_epi32(l, set(128)));
        let e = lv.map(|l| _mm256_sub_epi32(l, set(128)));
        let r_t = [mul(set(104597), e[0]), mul(set(104597), e[1])];
        let g_t: [__m256i; 2] = std::array::from_fn(|k| {
            _mm256_add_epi32(mul(set(-25675), d[k]), mul(set(-53279), e[k]))
        });
        let b_t = [mul(set(132201), d[0]), mul(set(132201), d[1])];
        let (r, gr, b) = (channel(c, r_t), channel(c, g_t), channel(c, b_t));
        interleave(r, gr, b, RI, BI, out.as_mut_ptr().add(48 * g));
    }
}

#[cfg(test)]
mod tests {
    use crate::decoded::Plane;
    use crate::repr::colour::scalar_yuv_to_rgb;
    use crate::simd::avx2_for_tests;
    use crate::test_rng::Rng;

    fn cpu() -> super::Avx2 {
        avx2_for_tests().expect("this CPU has no AVX2: the AVX2 kernels cannot be compared here")
    }

    /// Every (Y, U, V) triple: 256 rows of 65536 pixels whose chroma pairs sweep (U, V).
    #[test]
    fn all_2_pow_24_triples_equal_the_scalar_conversion() {
        let cpu = cpu();
        let (mut got, mut want) = (vec![0u8; 3 * 2 * 65536], vec![0u8; 3 * 2 * 65536]);
        let y: Vec<u8> = (0..2 * 65536).map(|i| (i / 2 % 256) as u8).collect();
        for luma_offset in 0..=255u8 {
            // Pixel pair k: U = k / 256, V = k % 256; luma shifted per round so every Y meets
            // every (U, V).
            let yl: Vec<u8> = y.iter().map(|v| v.wrapping_add(luma_offset)).collect();
            let u: Vec<u8> = (0..65536).map(|k| (k / 256) as u8).collect();
            let v: Vec<u8> = (0..65536).map(|k| (k % 256) as u8).collect();
            for bgr in [false, true] {
                let done = if bgr {
                    cpu.yuv_row_to_rgb::<2, 0>(&yl, &u, &v, &mut got)
                } else {
                    cpu.yuv_row_to_rgb::<0, 2>(&yl, &u, &v, &mut got)
                };
                assert_eq!(done, yl.len());
                let plane = |data: &[u8], w| Plane {
                    data: data.to_vec(),
                    width: w,
                    height: 1,
                };
                want.copy_from_slice(&scalar_yuv_to_rgb(
                    &plane(&yl, yl.len()),
                    &plane(&u, u.len()),
                    &plane(&v, v.len()),
                    bgr,
                ));
                assert!(got == want, "luma offset {luma_offset}, bgr {bgr}");
            }
        }
    }

    #[test]
    fn odd_sizes_and_tails_through_the_dispatch() {
        let mut rng = Rng(9);
        for (w, h) in [
            (1usize, 1usize),
            (15, 3),
            (16, 2),
            (17, 5),
            (33, 7),
            (340, 256),
            (47, 1),
        ] {
            let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
            let mut plane = |w: usize, h: usize| Plane {
                data: (0..w * h).map(|_| rng.range(0, 255) as u8).collect(),
                width: w,
                height: h,
            };
            let (y, u, v) = (plane(w, h), plane(cw, ch), plane(cw, ch));
            for bgr in [false, true] {
                let got = crate::repr::colour::yuv_to_rgb(&y, &u, &v, bgr);
                assert_eq!(got, scalar_yuv_to_rgb(&y, &u, &v, bgr), "{w}x{h} bgr {bgr}");
            }
        }
        let _ = cpu();
    }
}
