//! AVX2 versions of `mpeg4::idct`'s simple and XviD IDCTs and of its clamped put/add.
//!
//! Both IDCTs are computed "one lane per 1-D transform": the block is transposed so that
//! vector `k` holds coefficient `k` of all eight rows, the eight row transforms then run side
//! by side in 32-bit lanes (`pmaddwd` of coefficient pairs, whose products are exact and whose
//! sums wrap exactly like the scalar `Wrapping<i32>`), the result is transposed back and the
//! columns run the same way. Results are narrowed by keeping the low 16 bits, which is the
//! scalar `as i16`.
use std::arch::x86_64::*;

use super::Avx2;

/// Row `y` of the block as eight 16-bit lanes.
type Rows = [__m128i; 8];

impl Avx2 {
    /// `mpeg4::idct`'s simple IDCT of `c` in place.
    #[inline]
    pub fn simple_idct(self, c: &mut [i16; 64]) {
        // SAFETY: the token proves AVX2; `c` is 64 samples.
        unsafe { simple_idct(c) }
    }

    /// `mpeg4::idct`'s XviD IDCT of `c` in place.
    #[inline]
    pub fn xvid_idct(self, c: &mut [i16; 64]) {
        // SAFETY: as above.
        unsafe { xvid_idct(c) }
    }

    /// `dst[offset + y * stride + x] = clamp(res[8 * y + x], 0, 255)` for the 8x8 block; the
    /// block must lie inside `dst` (checked by the caller, asserted here).
    #[inline]
    pub fn put_clamped(self, res: &[i16; 64], dst: &mut [u8], offset: usize, stride: usize) {
        assert!(stride >= 8 && offset + 7 * stride + 8 <= dst.len());
        // SAFETY: AVX2 by the token; the assertion keeps the 8 stores of 8 bytes inside `dst`.
        unsafe { put_clamped(res, dst, offset, stride) }
    }

    /// `dst = clamp(dst + res, 0, 255)` on the 8x8 block, as [`Avx2::put_clamped`].
    #[inline]
    pub fn add_clamped(self, res: &[i16; 64], dst: &mut [u8], offset: usize, stride: usize) {
        assert!(stride >= 8 && offset + 7 * stride + 8 <= dst.len());
        // SAFETY: as above.
        unsafe { add_clamped(res, dst, offset, stride) }
    }
}

#[target_feature(enable = "avx2")]
unsafe fn load(c: &[i16; 64]) -> Rows {
    let p = c.as_ptr() as *const __m128i;
    std::array::from_fn(|y| _mm_loadu_si128(p.add(y)))
}

#[target_feature(enable = "avx2")]
unsafe fn store(c: &mut [i16; 64], rows: Rows) {
    let p = c.as_mut_ptr() as *mut __m128i;
    for (y, row) in rows.into_iter().enumerate() {
        _mm_storeu_si128(p.add(y), row);
    }
}

/// 8x8 transpose of 16-bit lanes.
#[target_feature(enable = "avx2")]
unsafe fn transpose(r: Rows) -> Rows {
    let t0 = _mm_unpacklo_epi16(r[0], r[1]);
    let t1 = _mm_unpackhi_epi16(r[0], r[1]);
    let t2 = _mm_unpacklo_epi16(r[2], r[3]);
    let t3 = _mm_unpackhi_epi16(r[2], r[3]);
    let t4 = _mm_unpacklo_epi16(r[4], r[5]);
    let t5 = _mm_unpackhi_epi16(r[4], r[5]);
    let t6 = _mm_unpacklo_epi16(r[6], r[7]);
    let t7 = _mm_unpackhi_epi16(r[6], r[7]);
    let u0 = _mm_unpacklo_epi32(t0, t2);
    let u1 = _mm_unpackhi_epi32(t0, t2);
    let u2 = _mm_unpacklo_epi32(t1, t3);
    let u3 = _mm_unpackhi_epi32(t1, t3);
    let u4 = _mm_unpacklo_epi32(t4, t6);
    let u5 = _mm_unpackhi_epi32(t4, t6);
    let u6 = _mm_unpacklo_epi32(t5, t7);
    let u7 = _mm_unpackhi_epi32(t5, t7);
    [
        _mm_unpacklo_epi64(u0, u4),
        _mm_unpackhi_epi64(u0, u4),
        _mm_unpacklo_epi64(u1, u5),
        _mm_unpackhi_epi64(u1, u5),
        _mm_unpacklo_epi64(u2, u6),
        _mm_unpackhi_epi64(u2, u6),
        _mm_unpacklo_epi64(u3, u7),
        _mm_unpackhi_epi64(u3, u7),
    ]
}

/// Lanes `i` of `a` and `b` as the 16-bit pair of 32-bit lane `i` (a low, b high).
#[target_feature(enable = "avx2")]
unsafe fn pairs(a: __m128i, b: __m128i) -> __m256i {
    _mm256_set_m128i(_mm_unpackhi_epi16(a, b), _mm_unpacklo_epi16(a, b))
}

/// A pair constant: `lo * a + hi * b` under `pmaddwd` with [`pairs`]`(a, b)`.
#[target_feature(enable = "avx2")]
unsafe fn coef(lo: i32, hi: i32) -> __m256i {
    _mm256_set1_epi32(((hi as u32) << 16 | (lo as u32 & 0xFFFF)) as i32)
}

/// The low 16 bits of eight 32-bit lanes (the scalar `as i16`).
#[target_feature(enable = "avx2")]
unsafe fn narrow(v: __m256i) -> __m128i {
    let m = _mm256_and_si256(v, _mm256_set1_epi32(0xFFFF));
    _mm_packus_epi32(_mm256_castsi256_si128(m), _mm256_extracti128_si256::<1>(m))
}

/// Sign-extends eight 16-bit lanes to 32 bits.
#[target_feature(enable = "avx2")]
unsafe fn widen(v: __m128i) -> __m256i {
    _mm256_cvtepi16_epi32(v)
}

// ------------------------------------------------------------------------------ simple IDCT

const W1: i32 = 22725;
const W2: i32 = 21407;
const W3: i32 = 19266;
const W4: i32 = 16383;
const W5: i32 = 12873;
const W6: i32 = 8867;
const W7: i32 = 4520;

/// One pass of the simple IDCT over eight transforms side by side: `x[k]` holds input `k` of
/// every transform; returns output `k` of every transform, before the shift, plus `round`.
#[target_feature(enable = "avx2")]
unsafe fn simple_pass(x: &Rows, round: i32) -> [__m256i; 8] {
    let md = |a, b| _mm256_madd_epi16(a, b);
    let add = |a, b| _mm256_add_epi32(a, b);
    let sub = |a, b| _mm256_sub_epi32(a, b);
    let (p02, p46) = (pairs(x[0], x[2]), pairs(x[4], x[6]));
    let (p13, p57) = (pairs(x[1], x[3]), pairs(x[5], x[7]));
    let r = _mm256_set1_epi32(round);
    let a0 = add(r, add(md(p02, coef(W4, W2)), md(p46, coef(W4, W6))));
    let a1 = add(r, add(md(p02, coef(W4, W6)), md(p46, coef(-W4, -W2))));
    let a2 = add(r, add(md(p02, coef(W4, -W6)), md(p46, coef(-W4, W2))));
    let a3 = add(r, add(md(p02, coef(W4, -W2)), md(p46, coef(W4, -W6))));
    let b0 = add(md(p13, coef(W1, W3)), md(p57, coef(W5, W7)));
    let b1 = add(md(p13, coef(W3, -W7)), md(p57, coef(-W1, -W5)));
    let b2 = add(md(p13, coef(W5, -W1)), md(p57, coef(W7, W3)));
    let b3 = add(md(p13, coef(W7, -W5)), md(p57, coef(W3, -W1)));
    [
        add(a0, b0),
        add(a1, b1),
        add(a2, b2),
        add(a3, b3),
        sub(a3, b3),
        sub(a2, b2),
        sub(a1, b1),
        sub(a0, b0),
    ]
}

#[target_feature(enable = "avx2")]
unsafe fn simple_idct(c: &mut [i16; 64]) {
    let rows = load(c);
    // A DC-only block (frequent in inter chroma): the general path gives `dc << 3` in row 0,
    // zero rows, then the same value `(W4 * (v + 32)) >> 20` in every column; compute it once.
    let ac = rows[1..].iter().fold(
        _mm_andnot_si128(_mm_cvtsi32_si128(0xFFFF), rows[0]),
        |acc, &v| _mm_or_si128(acc, v),
    );
    if _mm_testz_si128(ac, ac) != 0 {
        let v = i32::from((i32::from(c[0]) << 3) as i16);
        c.fill((W4.wrapping_mul(v + 32) >> 20) as i16);
        return;
    }
    let cols = transpose(rows);
    // Rows: (sum >> 11) as i16, except rows whose AC coefficients are all zero, which become
    // `dc << 3` (16-bit shift, the scalar truncation).
    let ac = cols[1..]
        .iter()
        .fold(_mm_setzero_si128(), |acc, &v| _mm_or_si128(acc, v));
    let dc_only = _mm_cmpeq_epi16(ac, _mm_setzero_si128());
    let dc = _mm_slli_epi16::<3>(cols[0]);
    let sums = simple_pass(&cols, 1 << 10);
    let rows: Rows = std::array::from_fn(|k| {
        let full = narrow(_mm256_srai_epi32::<11>(sums[k]));
        _mm_blendv_epi8(full, dc, dc_only)
    });
    // Columns: W4 * (c0 + 32) distributed as in the scalar code, >> 20.
    let sums = simple_pass(&transpose(rows), W4 * 32);
    store(
        c,
        std::array::from_fn(|k| narrow(_mm256_srai_epi32::<20>(sums[k]))),
    );
}

// ------------------------------------------------------------------------------ XviD IDCT

/// Cosine tables `[c1 .. c7]` per row and the row rounding terms (see `mpeg4::idct::xvid`).
const TAB04: [i32; 7] = [22725, 21407, 19266, 16384, 12873, 8867, 4520];
const TAB17: [i32; 7] = [31521, 29692, 26722, 22725, 17855, 12299, 6270];
const TAB26: [i32; 7] = [29692, 27969, 25172, 21407, 16819, 11585, 5906];
const TAB35: [i32; 7] = [26722, 25172, 22654, 19266, 15137, 10426, 5315];
const ROW_TABLES: [[i32; 7]; 8] = [TAB04, TAB17, TAB26, TAB35, TAB04, TAB35, TAB26, TAB17];
const ROW_ROUNDING: [i32; 8] = [65536, 3597, 2260, 1203, 0, 120, 512, 512];
const TAN1: i32 = 0x32EC;
const TAN2: i32 = 0x6A0A;
const TAN3: i32 = 0xAB0E;
const SQRT2: i32 = 0x5A82;

/// A per-lane pair constant: lane `y` gets `(f(tab_y)[0], f(tab_y)[1])`.
#[target_feature(enable = "avx2")]
unsafe fn row_coef(f: impl Fn(&[i32; 7]) -> (i32, i32)) -> __m256i {
    let lanes: [i32; 8] = std::array::from_fn(|y| {
        let (lo, hi) = f(&ROW_TABLES[y]);
        ((hi as u32) << 16 | (lo as u32 & 0xFFFF)) as i32
    });
    _mm256_loadu_si256(lanes.as_ptr() as *const __m256i)
}

#[target_feature(enable = "avx2")]
unsafe fn xvid_idct(c: &mut [i16; 64]) {
    let x = transpose(load(c));
    let md = |a, b| _mm256_madd_epi16(a, b);
    let add = |a, b| _mm256_add_epi32(a, b);
    let sub = |a, b| _mm256_sub_epi32(a, b);
    // Rows, lane y = row y with its own table. Table index: [c1, c2, c3, c4, c5, c6, c7].
    let (p04, p26) = (pairs(x[0], x[4]), pairs(x[2], x[6]));
    let (p13, p57) = (pairs(x[1], x[3]), pairs(x[5], x[7]));
    let round = _mm256_loadu_si256(ROW_ROUNDING.as_ptr() as *const __m256i);
    let k = add(round, md(p04, row_coef(|t| (t[3], 0))));
    let r4 = md(p04, row_coef(|t| (0, t[3])));
    let a0 = add(add(k, r4), md(p26, row_coef(|t| (t[1], t[5]))));
    let a1 = add(sub(k, r4), md(p26, row_coef(|t| (t[5], -t[1]))));
    let a2 = add(sub(k, r4), md(p26, row_coef(|t| (-t[5], t[1]))));
    let a3 = add(add(k, r4), md(p26, row_coef(|t| (-t[1], -t[5]))));
    let b0 = add(
        md(p13, row_coef(|t| (t[0], t[2]))),
        md(p57, row_coef(|t| (t[4], t[6]))),
    );
    let b1 = add(
        md(p13, row_coef(|t| (t[2], -t[6]))),
        md(p57, row_coef(|t| (-t[0], -t[4]))),
    );
    let b2 = add(
        md(p13, row_coef(|t| (t[4], -t[0]))),
        md(p57, row_coef(|t| (t[6], t[2]))),
    );
    let b3 = add(
        md(p13, row_coef(|t| (t[6], -t[4]))),
        md(p57, row_coef(|t| (t[2], -t[0]))),
    );
    let sums = [
        add(a0, b0),
        add(a1, b1),
        add(a2, b2),
        add(a3, b3),
        sub(a3, b3),
        sub(a2, b2),
        sub(a1, b1),
        sub(a0, b0),
    ];
    let shifted = sums.map(|v| _mm256_srai_epi32::<11>(v));
    // Output j of all eight rows (lane y = row y).
    let mut outs: Rows = shifted.map(|v| narrow(v));
    // A row whose AC coefficients are all zero and whose output (all equal to output 0, on 32
    // bits) is 0 keeps its input; its inputs 1..7 are zero already, so only output 0 changes.
    let ac = x[1..]
        .iter()
        .fold(_mm_setzero_si128(), |acc, &v| _mm_or_si128(acc, v));
    let zero = _mm_setzero_si128();
    let rounds_to_zero = _mm256_cmpeq_epi32(shifted[0], _mm256_setzero_si256());
    let rounds_to_zero = _mm_packs_epi32(
        _mm256_castsi256_si128(rounds_to_zero),
        _mm256_extracti128_si256::<1>(rounds_to_zero),
    );
    let keep = _mm_and_si128(_mm_cmpeq_epi16(ac, zero), rounds_to_zero);
    outs[0] = _mm_blendv_epi8(outs[0], x[0], keep);

    // Columns, lane x = column x, in 32-bit lanes as the scalar code (its sums can leave 16 bits).
    let at = transpose(outs).map(|v| widen(v));
    let mul_hi =
        |k: i32, v: __m256i| _mm256_srai_epi32::<16>(_mm256_mullo_epi32(_mm256_set1_epi32(k), v));
    let t0 = add(mul_hi(TAN1, at[7]), at[1]);
    let t1 = sub(mul_hi(TAN1, at[1]), at[7]);
    let t2 = add(mul_hi(TAN3, at[5]), at[3]);
    let t3 = sub(mul_hi(TAN3, at[3]), at[5]);
    let o7 = add(t0, t2);
    let o4 = sub(t1, t3);
    let (u0, u1) = (sub(t0, t2), add(t1, t3));
    let o6 = _mm256_slli_epi32::<1>(mul_hi(SQRT2, add(u0, u1)));
    let o5 = _mm256_slli_epi32::<1>(mul_hi(SQRT2, sub(u0, u1)));
    let e3 = add(mul_hi(TAN2, at[6]), at[2]);
    let e2 = sub(mul_hi(TAN2, at[2]), at[6]);
    let (s0, s1) = (add(at[0], at[4]), sub(at[0], at[4]));
    let (p0, p3) = (add(s0, e3), sub(s0, e3));
    let (p1, p2) = (add(s1, e2), sub(s1, e2));
    let out = [
        add(p0, o7),
        add(p1, o6),
        add(p2, o5),
        add(p3, o4),
        sub(p3, o4),
        sub(p2, o5),
        sub(p1, o6),
        sub(p0, o7),
    ];
    store(c, out.map(|v| narrow(_mm256_srai_epi32::<6>(v))));
}

// ------------------------------------------------------------------------------ put / add

#[target_feature(enable = "avx2")]
unsafe fn put_clamped(res: &[i16; 64], dst: &mut [u8], offset: usize, stride: usize) {
    let rows = load(res);
    let p = dst.as_mut_ptr().add(offset);
    for (y, row) in rows.into_iter().enumerate() {
        _mm_storel_epi64(
            p.add(y * stride) as *mut __m128i,
            _mm_packus_epi16(row, row),
        );
    }
}

#[target_feature(enable = "avx2")]
unsafe fn add_clamped(res: &[i16; 64], dst: &mut [u8], offset: usize, stride: usize) {
    let rows = load(res);
    let p = dst.as_mut_ptr().add(offset);
    for (y, row) in rows.into_iter().enumerate() {
        let at = p.add(y * stride) as *mut __m128i;
        let pred = _mm_cvtepu8_epi16(_mm_loadl_epi64(at));
        // Saturating: a sum beyond 32767 clamps to 255 either way.
        let sum = _mm_adds_epi16(pred, row);
        _mm_storel_epi64(at, _mm_packus_epi16(sum, sum));
    }
}

#[cfg(test)]
mod tests {
    use crate::mpeg4::idct::{
        scalar_add_clamped, scalar_idct_in_place, scalar_put_clamped, IdctKind,
    };
    use crate::simd::avx2_for_tests;
    use crate::test_rng::Rng;

    fn cpu() -> super::Avx2 {
        avx2_for_tests().expect("this CPU has no AVX2: the AVX2 kernels cannot be compared here")
    }

    /// Random blocks of every flavour the decoder meets and some it never should: sparse
    /// low-frequency blocks, DC-only rows and blocks, dense blocks of dequantised magnitudes,
    /// and full 16-bit values (where the 32-bit sums wrap).
    fn blocks(seed: u64, n: usize) -> impl Iterator<Item = [i16; 64]> {
        let mut rng = Rng(seed);
        (0..n).map(move |i| {
            let mut c = [0i16; 64];
            let (lo, hi) = match i % 5 {
                0 => (-2048, 2047),
                1 => (-256, 255),
                2 => (-32768, 32767),
                3 => (-8, 8),
                _ => (-4096, 4095),
            };
            let density = rng.range(0, 64);
            for v in c.iter_mut() {
                if rng.range(0, 63) < density {
                    *v = rng.range(lo, hi) as i16;
                }
            }
            match i % 7 {
                // DC-only block, and blocks whose rows are DC-only
                0 => c[1..].fill(0),
                1 => (0..8).for_each(|y| c[8 * y + 1..8 * y + 8].fill(0)),
                2 => c[8..].fill(0),
                _ => {}
            }
            c
        })
    }

    fn extremes() -> Vec<[i16; 64]> {
        let mut out = vec![[i16::MAX; 64], [i16::MIN; 64], [0; 64]];
        for k in 0..64 {
            for v in [i16::MIN, i16::MAX, -1, 1, 2047, -2048] {
                let mut c = [0; 64];
                c[k] = v;
                out.push(c);
            }
        }
        let mut alt = [0i16; 64];
        alt.iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v = if i % 2 == 0 { i16::MAX } else { i16::MIN });
        out.push(alt);
        out
    }

    #[test]
    fn idcts_equal_the_scalar_specification() {
        let cpu = cpu();
        for kind in [IdctKind::Simple, IdctKind::Xvid] {
            for (i, block) in blocks(7, 60_000).chain(extremes()).enumerate() {
                let (mut want, mut got) = (block, block);
                scalar_idct_in_place(kind, &mut want);
                match kind {
                    IdctKind::Simple => cpu.simple_idct(&mut got),
                    IdctKind::Xvid => cpu.xvid_idct(&mut got),
                }
                assert_eq!(got, want, "{kind:?} block {i}: {block:?}");
            }
        }
    }

    #[test]
    fn xvid_rows_that_round_to_zero_on_32_bits_only() {
        // c4 * dc + rounding >> 11 == 65536 for row 1: 16 zero bits, but not zero, so the
        // scalar code fills the row with (65536 as i16) = 0 instead of keeping it.
        let cpu = cpu();
        for dc in [i16::MIN, i16::MAX, -32000, 30000, -1, 1, 0] {
            for row in 0..8 {
                let mut c = [0i16; 64];
                c[8 * row] = dc;
                let (mut want, mut got) = (c, c);
                scalar_idct_in_place(IdctKind::Xvid, &mut want);
                cpu.xvid_idct(&mut got);
                assert_eq!(got, want, "dc {dc} in row {row}");
            }
        }
    }

    #[test]
    fn put_and_add_clamp_as_the_scalar_code() {
        let cpu = cpu();
        let mut rng = Rng(3);
        for (i, res) in blocks(11, 4000).chain(extremes()).enumerate() {
            let stride = 8 + rng.range(0, 9) as usize;
            let offset = rng.range(0, 5) as usize;
            let len = offset + 7 * stride + 8 + rng.range(0, 3) as usize;
            let plane: Vec<u8> = (0..len).map(|_| rng.range(0, 255) as u8).collect();
            let (mut want, mut got) = (plane.clone(), plane.clone());
            scalar_put_clamped(&res, &mut want[offset..], stride);
            cpu.put_clamped(&res, &mut got, offset, stride);
            assert_eq!(got, want, "put, block {i}");
            let (mut want, mut got) = (plane.clone(), plane);
            scalar_add_clamped(&res, &mut want[offset..], stride);
            cpu.add_clamped(&res, &mut got, offset, stride);
            assert_eq!(got, want, "add, block {i}");
        }
    }
}
