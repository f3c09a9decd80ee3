//! 8x8 inverse DCTs with the exact integer arithmetic of the two IDCTs FFmpeg uses for MPEG-4
//! Part 2: its "simple" row/column IDCT (streams from its own encoder) and the XviD IDCT (streams
//! from XviD). Decoding is only bit-exact with FFmpeg when the same arithmetic reconstructs every
//! block, because P-frames keep adding to whatever the IDCT produced before.
//!
//! Both transforms work in place on a block of dequantised coefficients in natural (raster)
//! order, rows first, with 32-bit wrap-around arithmetic and 16-bit storage between the passes,
//! exactly as the C code does (so even absurd coefficient values give FFmpeg's answer, and never
//! a panic). FFmpeg's x86 SIMD versions give the same samples as its C versions (checked by
//! decoding with and without `av_force_cpu_flags(0)`), so these are the numbers to match.
#![forbid(unsafe_code)]

use std::num::Wrapping;

type W = Wrapping<i32>;

/// Which integer IDCT reconstructs the blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdctKind {
    /// FFmpeg's "simple" IDCT (`idct=simple`), its default for streams it encoded itself.
    Simple,
    /// The XviD IDCT (`idct=xvid`), which FFmpeg selects for streams XviD encoded.
    Xvid,
}

/// Inverse transform of `c` in place: afterwards `c` holds the signed spatial samples (the
/// residual, before any clamping). Runs the SIMD version where the CPU has one (same result).
pub fn idct_in_place(kind: IdctKind, c: &mut [i16; 64]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(cpu) = crate::simd::avx2() {
        return match kind {
            IdctKind::Simple => cpu.simple_idct(c),
            IdctKind::Xvid => cpu.xvid_idct(c),
        };
    }
    scalar_idct_in_place(kind, c);
}

/// [`idct_in_place`] in plain Rust: the specification the SIMD versions are tested against.
pub fn scalar_idct_in_place(kind: IdctKind, c: &mut [i16; 64]) {
    match kind {
        IdctKind::Simple => simple::idct(c),
        IdctKind::Xvid => xvid::idct(c),
    }
}

/// Writes `clamp(IDCT(c), 0, 255)` into the 8x8 block of `dst` whose top-left sample is
/// `dst[offset]`, rows `stride` apart. `c` is scratch space afterwards (it holds the residual);
/// zero it before the next block.
pub fn idct_put(kind: IdctKind, c: &mut [i16; 64], dst: &mut [u8], offset: usize, stride: usize) {
    let Some(block) = block_region(dst, offset, stride) else {
        return;
    };
    idct_in_place(kind, c);
    #[cfg(target_arch = "x86_64")]
    if let Some(cpu) = crate::simd::avx2() {
        return cpu.put_clamped(c, block, 0, stride);
    }
    scalar_put_clamped(c, block, stride);
}

/// The store of [`idct_put`]: `block[y * stride + x] = clamp(res[8 * y + x], 0, 255)`.
pub fn scalar_put_clamped(res: &[i16; 64], block: &mut [u8], stride: usize) {
    for (y, res) in res.chunks_exact(8).enumerate() {
        // Fixed 8-sample rows: the compiler turns this into packed saturating arithmetic.
        let row = &mut block[y * stride..y * stride + 8];
        for x in 0..8 {
            row[x] = clamp_u8(i32::from(res[x]));
        }
    }
}

/// Adds `IDCT(c)` to the prediction already in the 8x8 block of `dst` at `offset` (rows `stride`
/// apart), clamping each sum to 0..=255. `c` is scratch space afterwards, as in [`idct_put`].
pub fn idct_add(kind: IdctKind, c: &mut [i16; 64], dst: &mut [u8], offset: usize, stride: usize) {
    let Some(block) = block_region(dst, offset, stride) else {
        return;
    };
    idct_in_place(kind, c);
    #[cfg(target_arch = "x86_64")]
    if let Some(cpu) = crate::simd::avx2() {
        return cpu.add_clamped(c, block, 0, stride);
    }
    scalar_add_clamped(c, block, stride);
}

/// The sum of [`idct_add`]: `block[y * stride + x] = clamp(block[..] + res[8 * y + x], 0, 255)`.
pub fn scalar_add_clamped(res: &[i16; 64], block: &mut [u8], stride: usize) {
    for (y, res) in res.chunks_exact(8).enumerate() {
        let row = &mut block[y * stride..y * stride + 8];
        for x in 0..8 {
            row[x] = clamp_u8(i32::from(row[x]) + i32::from(res[x]));
        }
    }
}

/// The slice from the block's first sample to its last one, or `None` (a caller bug, caught in
/// debug builds) when the block does not fit in `dst`.
fn block_region(dst: &mut [u8], offset: usize, stride: usize) -> Option<&mut [u8]> {
    let fits = stride >= 8 && offset + 7 * stride + 8 <= dst.len();
    debug_assert!(
        fits,
        "8x8 block at {offset} (stride {stride}) outside a {}-byte plane",
        dst.len()
    );
    if !fits {
        return None;
    }
    Some(&mut dst[offset..offset + 7 * stride + 8])
}

#[inline]
fn clamp_u8(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

#[inline]
fn w(v: i16) -> W {
    Wrapping(i32::from(v))
}

/// FFmpeg's simple IDCT, 8-bit variant: weights `round(cos(k*pi/16) * sqrt(2) * 2^14)` except
/// `W4 = 16383`, rows shifted by 11 with rounding, columns by 20 with the rounding folded into
/// the DC term, and a shortcut for rows whose only non-zero coefficient is the first one
/// (`dc << 3`, which differs from the full formula for large DC values).
mod simple {
    use super::{w, Wrapping, W};

    const W1: W = Wrapping(22725);
    const W2: W = Wrapping(21407);
    const W3: W = Wrapping(19266);
    const W4: W = Wrapping(16383);
    const W5: W = Wrapping(12873);
    const W6: W = Wrapping(8867);
    const W7: W = Wrapping(4520);
    const ROW_SHIFT: usize = 11;
    const COL_SHIFT: usize = 20;
    /// `(1 << (COL_SHIFT - 1)) / W4` in integer division: the column rounding, added to the DC
    /// input so that it is multiplied by W4 with it.
    const COL_ROUND: W = Wrapping(32);

    pub(super) fn idct(c: &mut [i16; 64]) {
        if c[1..].iter().all(|&v| v == 0) {
            // A DC-only block: every row but the first is zero, the first becomes `dc << 3`,
            // and every column then gives the same value.
            let v = (i32::from(c[0]) << 3) as i16;
            let out = ((W4 * (w(v) + COL_ROUND)).0 >> COL_SHIFT) as i16;
            c.fill(out);
            return;
        }
        for row in c.chunks_exact_mut(8) {
            row_pass(row);
        }
        column_pass(c);
    }

    fn row_pass(row: &mut [i16]) {
        let ac = row[1] | row[2] | row[3] | row[4] | row[5] | row[6] | row[7];
        if ac == 0 {
            // FFmpeg's shortcut: `dc << 3` truncated to 16 bits.
            let v = (i32::from(row[0]) << 3) as i16;
            row.fill(v);
            return;
        }
        let a = W4 * w(row[0]) + Wrapping(1 << (ROW_SHIFT - 1));
        let (r1, r2, r3) = (w(row[1]), w(row[2]), w(row[3]));
        let (mut a0, mut a1, mut a2, mut a3) = (a + W2 * r2, a + W6 * r2, a - W6 * r2, a - W2 * r2);
        let mut b0 = W1 * r1 + W3 * r3;
        let mut b1 = W3 * r1 - W7 * r3;
        let mut b2 = W5 * r1 - W1 * r3;
        let mut b3 = W7 * r1 - W5 * r3;
        // Most rows end in zeros: their terms add nothing (skipping them changes no result).
        if row[4] | row[5] | row[6] | row[7] != 0 {
            let (r4, r5, r6, r7) = (w(row[4]), w(row[5]), w(row[6]), w(row[7]));
            a0 += W4 * r4 + W6 * r6;
            a1 += -(W4 * r4) - W2 * r6;
            a2 += -(W4 * r4) + W2 * r6;
            a3 += W4 * r4 - W6 * r6;
            b0 += W5 * r5 + W7 * r7;
            b1 += -(W1 * r5) - W5 * r7;
            b2 += W7 * r5 + W3 * r7;
            b3 += W3 * r5 - W1 * r7;
        }
        let out = |v: W| (v.0 >> ROW_SHIFT) as i16;
        row[0] = out(a0 + b0);
        row[1] = out(a1 + b1);
        row[2] = out(a2 + b2);
        row[3] = out(a3 + b3);
        row[4] = out(a3 - b3);
        row[5] = out(a2 - b2);
        row[6] = out(a1 - b1);
        row[7] = out(a0 - b0);
    }

    /// All eight columns at once, lane `x` = column `x`: the same arithmetic as one column at a
    /// time, written so the compiler can vectorise it (16-bit inputs, 32-bit wrapping sums).
    fn column_pass(c: &mut [i16; 64]) {
        let mut rows = [[0i16; 8]; 8];
        for (row, src) in rows.iter_mut().zip(c.chunks_exact(8)) {
            row.copy_from_slice(src);
        }
        let mut out = [[0i16; 8]; 8];
        let mul = |k: W, v: i16| k * w(v);
        for x in 0..8 {
            let col = |y: usize| rows[y][x];
            // FFmpeg's W4 * (c0 + 32), distributed (equal in wrapping arithmetic) so that every
            // product is 16 x 16 bits.
            let a = mul(W4, col(0)) + W4 * COL_ROUND;
            let (c2, c4, c6) = (col(2), col(4), col(6));
            let a0 = a + mul(W2, c2) + mul(W4, c4) + mul(W6, c6);
            let a1 = a + mul(W6, c2) - mul(W4, c4) - mul(W2, c6);
            let a2 = a - mul(W6, c2) - mul(W4, c4) + mul(W2, c6);
            let a3 = a - mul(W2, c2) + mul(W4, c4) - mul(W6, c6);
            let (c1, c3, c5, c7) = (col(1), col(3), col(5), col(7));
            let b0 = mul(W1, c1) + mul(W3, c3) + mul(W5, c5) + mul(W7, c7);
            let b1 = mul(W3, c1) - mul(W7, c3) - mul(W1, c5) - mul(W5, c7);
            let b2 = mul(W5, c1) - mul(W1, c3) + mul(W7, c5) + mul(W3, c7);
            let b3 = mul(W7, c1) - mul(W5, c3) + mul(W3, c5) - mul(W1, c7);
            // (a +- b) >> 20 lies in -2048..=2047, so the i16 store loses nothing.
            let shift = |v: W| (v.0 >> COL_SHIFT) as i16;
            out[0][x] = shift(a0 + b0);
            out[1][x] = shift(a1 + b1);
            out[2][x] = shift(a2 + b2);
            out[3][x] = shift(a3 + b3);
            out[4][x] = shift(a3 - b3);
            out[5][x] = shift(a2 - b2);
            out[6][x] = shift(a1 - b1);
            out[7][x] = shift(a0 - b0);
        }
        for (dst, row) in c.chunks_exact_mut(8).zip(out) {
            dst.copy_from_slice(&row);
        }
    }
}

/// The XviD IDCT ("Walken" IDCT, in the C form FFmpeg keeps for exactness with XviD's SIMD):
/// rows use per-row scaled cosine tables and rounding terms and a shift of 11; columns use
/// tangent/sqrt(2) butterflies with 16-bit fixed-point multiplies (keeping the high half) and a
/// shift of 6. A row whose only non-zero coefficient is the first and whose output rounds to 0
/// is left untouched, as in the C code.
mod xvid {
    use super::{w, Wrapping, W};

    const ROW_SHIFT: usize = 11;
    const COL_SHIFT: usize = 6;

    /// Cosine tables `[c1, c2, c3, c4, c5, c6, c7]`, each scaled for the row it serves.
    const TAB04: [i32; 7] = [22725, 21407, 19266, 16384, 12873, 8867, 4520];
    const TAB17: [i32; 7] = [31521, 29692, 26722, 22725, 17855, 12299, 6270];
    const TAB26: [i32; 7] = [29692, 27969, 25172, 21407, 16819, 11585, 5906];
    const TAB35: [i32; 7] = [26722, 25172, 22654, 19266, 15137, 10426, 5315];
    const ROW_TABLES: [&[i32; 7]; 8] = [
        &TAB04, &TAB17, &TAB26, &TAB35, &TAB04, &TAB35, &TAB26, &TAB17,
    ];
    /// Per-row rounding: row 0 carries the final rounding (`1 << 16`), the others bias
    /// corrections in units of 2^-11.
    const ROW_ROUNDING: [i32; 8] = [65536, 3597, 2260, 1203, 0, 120, 512, 512];

    const TAN1: W = Wrapping(0x32EC);
    const TAN2: W = Wrapping(0x6A0A);
    const TAN3: W = Wrapping(0xAB0E);
    const SQRT2: W = Wrapping(0x5A82);

    pub(super) fn idct(c: &mut [i16; 64]) {
        for (y, row) in c.chunks_exact_mut(8).enumerate() {
            row_pass(row, ROW_TABLES[y], ROW_ROUNDING[y]);
        }
        for x in 0..8 {
            column_pass(c, x);
        }
    }

    fn row_pass(row: &mut [i16], tab: &[i32; 7], rounding: i32) {
        let [c1, c2, c3, c4, c5, c6, c7] = tab.map(Wrapping);
        let k = c4 * w(row[0]) + Wrapping(rounding);
        if row[1..8].iter().all(|&v| v == 0) {
            let v = k.0 >> ROW_SHIFT;
            if v != 0 {
                row.fill(v as i16);
            }
            return;
        }
        let (r2, r4, r6) = (w(row[2]), w(row[4]), w(row[6]));
        let a0 = k + c2 * r2 + c4 * r4 + c6 * r6;
        let a1 = k + c6 * r2 - c4 * r4 - c2 * r6;
        let a2 = k - c6 * r2 - c4 * r4 + c2 * r6;
        let a3 = k - c2 * r2 + c4 * r4 - c6 * r6;
        let (r1, r3, r5, r7) = (w(row[1]), w(row[3]), w(row[5]), w(row[7]));
        let b0 = c1 * r1 + c3 * r3 + c5 * r5 + c7 * r7;
        let b1 = c3 * r1 - c7 * r3 - c1 * r5 - c5 * r7;
        let b2 = c5 * r1 - c1 * r3 + c7 * r5 + c3 * r7;
        let b3 = c7 * r1 - c5 * r3 + c3 * r5 - c1 * r7;
        let out = |v: W| (v.0 >> ROW_SHIFT) as i16;
        row[0] = out(a0 + b0);
        row[1] = out(a1 + b1);
        row[2] = out(a2 + b2);
        row[3] = out(a3 + b3);
        row[4] = out(a3 - b3);
        row[5] = out(a2 - b2);
        row[6] = out(a1 - b1);
        row[7] = out(a0 - b0);
    }

    /// `(c * x) >> 16` on 32 bits: the high half of a 16x16 multiply, as `pmulhw` computes it.
    #[inline]
    fn mul_hi(c: W, x: W) -> W {
        Wrapping((c * x).0 >> 16)
    }

    fn column_pass(c: &mut [i16; 64], x: usize) {
        let at = |y: usize| w(c[8 * y + x]);
        // Odd part.
        let (x1, x3, x5, x7) = (at(1), at(3), at(5), at(7));
        let t0 = mul_hi(TAN1, x7) + x1;
        let t1 = mul_hi(TAN1, x1) - x7;
        let t2 = mul_hi(TAN3, x5) + x3;
        let t3 = mul_hi(TAN3, x3) - x5;
        let o7 = t0 + t2;
        let o4 = t1 - t3;
        let (u0, u1) = (t0 - t2, t1 + t3);
        // Doubling after the multiply loses a bit, as the SIMD versions do.
        let o6 = Wrapping(2) * mul_hi(SQRT2, u0 + u1);
        let o5 = Wrapping(2) * mul_hi(SQRT2, u0 - u1);
        // Even part.
        let (x2, x6) = (at(2), at(6));
        let e3 = mul_hi(TAN2, x6) + x2;
        let e2 = mul_hi(TAN2, x2) - x6;
        let (s0, s1) = (at(0) + at(4), at(0) - at(4));
        let (p0, p3) = (s0 + e3, s0 - e3);
        let (p1, p2) = (s1 + e2, s1 - e2);
        let out = |v: W| (v.0 >> COL_SHIFT) as i16;
        let results = [
            out(p0 + o7),
            out(p1 + o6),
            out(p2 + o5),
            out(p3 + o4),
            out(p3 - o4),
            out(p2 - o5),
            out(p1 - o6),
            out(p0 - o7),
        ];
        for (y, v) in results.into_iter().enumerate() {
            c[8 * y + x] = v;
        }
    }
}

/// The exact (double precision) 8x8 IDCT, `f(x, y) = 1/4 sum C(u) C(v) F(v, u) cos((2x+1)u pi/16)
/// cos((2y+1)v pi/16)` with `C(0) = 1/sqrt(2)`, rows of `coeffs` indexed by the vertical
/// frequency. The accuracy reference for the integer transforms.
pub fn reference_idct(coeffs: &[f64; 64]) -> [f64; 64] {
    let basis = dct_basis();
    let mut tmp = [0.0; 64];
    // Rows: tmp[v][x] = sum_u C(u) F[v][u] cos(...) / 2
    for v in 0..8 {
        for x in 0..8 {
            tmp[8 * v + x] = (0..8).map(|u| basis[u][x] * coeffs[8 * v + u]).sum();
        }
    }
    let mut out = [0.0; 64];
    for y in 0..8 {
        for x in 0..8 {
            out[8 * y + x] = (0..8).map(|v| basis[v][y] * tmp[8 * v + x]).sum();
        }
    }
    out
}

/// The exact forward 8x8 DCT (the inverse of [`reference_idct`]).
pub fn reference_fdct(samples: &[f64; 64]) -> [f64; 64] {
    let basis = dct_basis();
    let mut tmp = [0.0; 64];
    for y in 0..8 {
        for u in 0..8 {
            tmp[8 * y + u] = (0..8).map(|x| basis[u][x] * samples[8 * y + x]).sum();
        }
    }
    let mut out = [0.0; 64];
    for v in 0..8 {
        for u in 0..8 {
            out[8 * v + u] = (0..8).map(|y| basis[v][y] * tmp[8 * y + u]).sum();
        }
    }
    out
}

/// `basis[k][n] = C(k)/2 * cos((2n+1) k pi / 16)`: the orthonormal 1-D DCT-II basis.
fn dct_basis() -> [[f64; 8]; 8] {
    let mut b = [[0.0; 8]; 8];
    for (k, row) in b.iter_mut().enumerate() {
        let scale = if k == 0 { 0.5 / 2f64.sqrt() } else { 0.5 };
        for (n, v) in row.iter_mut().enumerate() {
            *v = scale * ((2 * n + 1) as f64 * k as f64 * std::f64::consts::PI / 16.0).cos();
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [IdctKind; 2] = [IdctKind::Simple, IdctKind::Xvid];

    /// The random generator IEEE 1180-1990 prescribes: values uniform in `-low..=high`.
    struct Ieee1180Rng(u32);

    impl Ieee1180Rng {
        fn next(&mut self, low: i32, high: i32) -> i32 {
            self.0 = self.0.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let i = self.0 & 0x7fff_fffe;
            let x = f64::from(i) / f64::from(0x7fff_ffff_u32) * f64::from(low + high + 1);
            x as i32 - low
        }
    }

    struct Accuracy {
        peak: i32,
        worst_mse: f64,
        worst_mean: f64,
        overall_mse: f64,
        overall_mean: f64,
    }

    /// IEEE 1180 accuracy run: random pixel blocks in `-low..=high` (times `sign`), exact forward
    /// DCT rounded and clipped to -2048..=2047, then the integer IDCT against the exact IDCT
    /// (both rounded/clipped to -256..=255).
    fn ieee1180(kind: IdctKind, low: i32, high: i32, sign: i32, blocks: usize) -> Accuracy {
        let mut rng = Ieee1180Rng(1);
        let mut sum = [0i64; 64];
        let mut sum_sq = [0i64; 64];
        let mut peak = 0;
        for _ in 0..blocks {
            let mut pixels = [0.0; 64];
            for p in pixels.iter_mut() {
                *p = f64::from(rng.next(low, high) * sign);
            }
            let coeffs = reference_fdct(&pixels).map(|v| v.round().clamp(-2048.0, 2047.0));
            let want = reference_idct(&coeffs).map(|v| v.round().clamp(-256.0, 255.0) as i32);
            let mut block = coeffs.map(|v| v as i16);
            idct_in_place(kind, &mut block);
            for i in 0..64 {
                let err = i32::from(block[i]).clamp(-256, 255) - want[i];
                peak = peak.max(err.abs());
                sum[i] += i64::from(err);
                sum_sq[i] += i64::from(err * err);
            }
        }
        let n = blocks as f64;
        Accuracy {
            peak,
            worst_mse: sum_sq.iter().map(|&s| s as f64 / n).fold(0.0, f64::max),
            worst_mean: sum
                .iter()
                .map(|&s| (s as f64 / n).abs())
                .fold(0.0, f64::max),
            overall_mse: sum_sq.iter().sum::<i64>() as f64 / (64.0 * n),
            overall_mean: (sum.iter().sum::<i64>() as f64 / (64.0 * n)).abs(),
        }
    }

    const RANGES: [(i32, i32); 3] = [(256, 255), (5, 5), (300, 300)];

    #[test]
    fn simple_idct_meets_ieee1180() {
        for (low, high) in RANGES {
            for sign in [1, -1] {
                let a = ieee1180(IdctKind::Simple, low, high, sign, 10_000);
                let at = format!("range -{low}..{high}, sign {sign}");
                println!(
                    "{at}: peak {} mse {:.4} mean {:.4} overall mse {:.4} overall mean {:.5}",
                    a.peak, a.worst_mse, a.worst_mean, a.overall_mse, a.overall_mean
                );
                assert!(a.peak <= 1, "{at}: peak error {}", a.peak);
                assert!(a.worst_mse <= 0.06, "{at}: mse {}", a.worst_mse);
                assert!(a.worst_mean <= 0.015, "{at}: mean error {}", a.worst_mean);
                assert!(a.overall_mse <= 0.02, "{at}: overall mse {}", a.overall_mse);
                assert!(
                    a.overall_mean <= 0.0015,
                    "{at}: overall mean {}",
                    a.overall_mean
                );
            }
        }
    }

    #[test]
    fn xvid_idct_meets_ieee1180() {
        for (low, high) in RANGES {
            for sign in [1, -1] {
                let a = ieee1180(IdctKind::Xvid, low, high, sign, 10_000);
                let at = format!("range -{low}..{high}, sign {sign}");
                println!(
                    "{at}: peak {} mse {:.4} mean {:.4} overall mse {:.4} overall mean {:.5}",
                    a.peak, a.worst_mse, a.worst_mean, a.overall_mse, a.overall_mean
                );
                assert!(a.peak <= 1, "{at}: peak error {}", a.peak);
                assert!(a.worst_mse <= 0.06, "{at}: mse {}", a.worst_mse);
                assert!(a.worst_mean <= 0.015, "{at}: mean error {}", a.worst_mean);
                assert!(a.overall_mse <= 0.02, "{at}: overall mse {}", a.overall_mse);
                assert!(
                    a.overall_mean <= 0.0015,
                    "{at}: overall mean {}",
                    a.overall_mean
                );
            }
        }
    }

    #[test]
    fn zero_block_gives_zero() {
        for kind in KINDS {
            let mut c = [0i16; 64];
            idct_in_place(kind, &mut c);
            assert_eq!(c, [0; 64], "{kind:?}");
        }
    }

    fn dc_only(kind: IdctKind, dc: i16) -> [i16; 64] {
        let mut c = [0i16; 64];
        c[0] = dc;
        idct_in_place(kind, &mut c);
        c
    }

    #[test]
    fn simple_dc_only_blocks_are_flat_and_round_ties_toward_zero() {
        // W4 = 16383 (not 16384) shrinks the value a little, so exact halves round toward zero:
        // the tie rule matters for bit-exactness (0.5 -> 0, 1.5 -> 1, -0.5 -> 0, -1.5 -> -1).
        for dc in -2048i16..=2047 {
            let c = dc_only(IdctKind::Simple, dc);
            let exact = f64::from(dc) / 8.0;
            let want = if exact.fract().abs() == 0.5 {
                exact.trunc()
            } else {
                exact.round()
            };
            assert!(
                c.iter().all(|&v| f64::from(v) == want),
                "dc {dc}: {c:?} vs {want}"
            );
        }
    }

    #[test]
    fn xvid_dc_only_blocks_are_within_one_level() {
        // The XviD rows carry per-row bias corrections, so a DC-only block is not always flat.
        for dc in -2048i16..=2047 {
            let c = dc_only(IdctKind::Xvid, dc);
            let exact = f64::from(dc) / 8.0;
            assert!(
                c.iter().all(|&v| (f64::from(v) - exact).abs() <= 1.0),
                "dc {dc}: {c:?}"
            );
            let mean = c.iter().map(|&v| f64::from(v)).sum::<f64>() / 64.0;
            assert!((mean - exact).abs() <= 0.5, "dc {dc}: mean {mean}");
        }
    }

    #[test]
    fn xvid_leaves_a_row_that_rounds_to_zero_untouched() {
        // Row 0 = [-4, 0, ...]: (16384 * -4 + 65536) >> 11 == 0, so the C code skips the row and
        // the column pass still sees -4 in column 0. Had the row been written (as zeros) the
        // block would transform like the zero block, which gives all zeros.
        let c = dc_only(IdctKind::Xvid, -4);
        assert_ne!(c, [0; 64]);
        assert!(
            (0..8).all(|y| c[8 * y] == -1),
            "column 0 carries the -4: {c:?}"
        );
        assert!(c[1..8].iter().all(|&v| v == 0), "{c:?}");
    }

    #[test]
    fn single_coefficients_match_the_reference_within_one() {
        for kind in KINDS {
            for pos in 0..64 {
                for value in [-2048i16, -301, -17, -1, 1, 9, 250, 2047] {
                    let mut c = [0i16; 64];
                    c[pos] = value;
                    let mut coeffs = [0.0; 64];
                    coeffs[pos] = f64::from(value);
                    let want = reference_idct(&coeffs);
                    idct_in_place(kind, &mut c);
                    for i in 0..64 {
                        let err = (f64::from(c[i]) - want[i]).abs();
                        assert!(
                            err <= 1.5,
                            "{kind:?} coeff {pos}={value}: sample {i} err {err}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn put_clamps_and_add_is_clamped_sum() {
        let mut rng = Ieee1180Rng(7);
        for kind in KINDS {
            for _ in 0..500 {
                let mut c = [0i16; 64];
                for v in c.iter_mut().step_by(3) {
                    *v = rng.next(600, 600) as i16;
                }
                let mut residual = c;
                idct_in_place(kind, &mut residual);

                let stride = 13;
                let offset = 2 * stride + 3;
                let plane: Vec<u8> = (0..stride * 11).map(|_| rng.next(0, 255) as u8).collect();

                let mut put = plane.clone();
                idct_put(kind, &mut c.clone(), &mut put, offset, stride);
                let mut add = plane.clone();
                idct_add(kind, &mut c.clone(), &mut add, offset, stride);
                for i in 0..plane.len() {
                    let (y, x) = (i / stride, i % stride);
                    let inside = (2..10).contains(&y) && (3..11).contains(&x);
                    if !inside {
                        assert_eq!((put[i], add[i]), (plane[i], plane[i]), "outside block");
                        continue;
                    }
                    let r = i32::from(residual[8 * (y - 2) + (x - 3)]);
                    assert_eq!(i32::from(put[i]), r.clamp(0, 255));
                    assert_eq!(i32::from(add[i]), (i32::from(plane[i]) + r).clamp(0, 255));
                }
            }
        }
    }

    #[test]
    fn extreme_coefficients_wrap_instead_of_panicking() {
        for kind in KINDS {
            for fill in [i16::MAX, i16::MIN] {
                let mut c = [fill; 64];
                let mut dst = [0u8; 64];
                idct_put(kind, &mut c, &mut dst, 0, 8);
                let mut c = [fill; 64];
                idct_add(kind, &mut c, &mut dst, 0, 8);
            }
        }
    }

    /// Micro-benchmark (not a test): `cargo test --release --lib -- --ignored bench_ --nocapture`.
    #[test]
    #[ignore]
    fn bench_idct() {
        let mut rng = Ieee1180Rng(3);
        // Inter-like sparse blocks: a handful of low-frequency coefficients.
        let blocks: Vec<[i16; 64]> = (0..4096)
            .map(|_| {
                let mut c = [0i16; 64];
                for _ in 0..rng.next(0, 6) {
                    c[rng.next(0, 20) as usize] = rng.next(60, 60) as i16;
                }
                c
            })
            .collect();
        let mut dst = vec![128u8; 64];
        for kind in KINDS {
            for (name, add) in [("put", false), ("add", true)] {
                let start = std::time::Instant::now();
                let rounds = 200;
                for _ in 0..rounds {
                    for b in &blocks {
                        let mut c = *b;
                        if add {
                            idct_add(kind, &mut c, &mut dst, 0, 8);
                        } else {
                            idct_put(kind, &mut c, &mut dst, 0, 8);
                        }
                    }
                }
                let ns = start.elapsed().as_nanos() as f64 / (rounds * blocks.len()) as f64;
                println!("idct {kind:?} {name}: {ns:.1} ns/block");
                std::hint::black_box(&dst);
            }
        }
    }
}
