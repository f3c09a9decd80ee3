//! Half-pel motion compensation (ISO/IEC 14496-2 7.6.2): copy a block from the reference
//! picture displaced by a half-pel vector, averaging neighbours for half positions with the
//! VOP's rounding control, and reading outside the picture as its nearest edge sample
//! (unrestricted motion vectors).
//!
//! The arithmetic is FFmpeg's `put_pixels` / `put_no_rnd_pixels` family: `rounding == false`
//! gives `(a + b + 1) >> 1` and `(a + b + c + d + 2) >> 2`, `rounding == true` (the bitstream's
//! `vop_rounding_type = 1`) gives `(a + b) >> 1` and `(a + b + c + d + 1) >> 2`.
#![forbid(unsafe_code)]

/// FFmpeg clips an 8x8 block's integer source position to [lo, hi] and drops the fractional
/// offset when it lands on `hi`; return the vector (in units of 1/2^shift) reproducing that.
#[inline]
pub fn clipped_vector(pos: i32, mv: i32, shift: u32, lo: i32, hi: i32) -> i32 {
    let src = pos + (mv >> shift);
    let clipped = src.clamp(lo, hi.max(lo));
    let frac = if clipped == hi {
        0
    } else {
        mv & ((1 << shift) - 1)
    };
    ((clipped - pos) << shift) + frac
}

/// A reference plane: `height` rows of `width` samples, rows `stride` apart in `data`. Reads
/// outside `[0, width) x [0, height)` return the nearest edge sample. For bit-exactness with
/// FFmpeg, `width`/`height` are the macroblock-aligned decoded size (its `h_edge_pos`/
/// `v_edge_pos`), not the visible size.
#[derive(Clone, Copy, Debug)]
pub struct RefPlane<'a> {
    pub data: &'a [u8],
    pub width: usize,
    pub height: usize,
    pub stride: usize,
}

impl<'a> RefPlane<'a> {
    /// A plane view, or `None` if the sizes are empty or `data` is too short for them.
    pub fn new(data: &'a [u8], width: usize, height: usize, stride: usize) -> Option<Self> {
        let plane = RefPlane {
            data,
            width,
            height,
            stride,
        };
        plane.is_valid().then_some(plane)
    }

    fn is_valid(&self) -> bool {
        self.width > 0
            && self.height > 0
            && self.stride >= self.width
            && (self.height - 1)
                .checked_mul(self.stride)
                .and_then(|n| n.checked_add(self.width))
                .is_some_and(|n| n <= self.data.len())
    }
}

/// Largest block the edge-emulation buffer holds (16x16 plus the extra half-pel row/column).
const MAX_BLOCK: usize = 16;
const EMU_SIZE: usize = MAX_BLOCK + 1;

/// Predicts the `w x h` block whose top-left sample is (x, y) in the current picture from
/// `src` displaced by the half-pel vector (mvx, mvy), writing it to `dst` at `dst_offset` with
/// rows `dst_stride` apart. The integer part of the vector is `mv >> 1` (floor), the half-pel
/// flag `mv & 1`. `w` and `h` are at most 16 (MPEG-4 uses 16x16 and 8x8).
///
/// A caller bug (invalid plane, block not fitting in `dst`, block larger than 16) leaves `dst`
/// unchanged and is caught by a debug assertion.
#[allow(clippy::too_many_arguments)] // plane, destination and block geometry as plain values: no struct to fill per block
pub fn mc_halfpel(
    src: &RefPlane,
    dst: &mut [u8],
    dst_offset: usize,
    dst_stride: usize,
    x: i32,
    y: i32,
    mvx: i32,
    mvy: i32,
    w: usize,
    h: usize,
    rounding: bool,
) {
    let dst_fits =
        w > 0 && h > 0 && dst_stride >= w && dst_offset + (h - 1) * dst_stride + w <= dst.len();
    let ok = src.is_valid() && dst_fits && w <= MAX_BLOCK && h <= MAX_BLOCK;
    debug_assert!(
        ok,
        "mc_halfpel: bad block {w}x{h} at {dst_offset} (stride {dst_stride})"
    );
    if !ok {
        return;
    }
    let dst = &mut dst[dst_offset..dst_offset + (h - 1) * dst_stride + w];
    let half = Half {
        x: mvx & 1 != 0,
        y: mvy & 1 != 0,
    };
    // i64: x + (mvx >> 1) cannot overflow whatever the bitstream says.
    let sx = i64::from(x) + i64::from(mvx >> 1);
    let sy = i64::from(y) + i64::from(mvy >> 1);
    let (need_w, need_h) = (w + usize::from(half.x), h + usize::from(half.y));
    let inside = sx >= 0
        && sy >= 0
        && sx as u64 + need_w as u64 <= src.width as u64
        && sy as u64 + need_h as u64 <= src.height as u64;
    if inside {
        // Common case: read straight from the reference.
        let start = sy as usize * src.stride + sx as usize;
        let src_rows = &src.data[start..];
        put_block(src_rows, src.stride, dst, dst_stride, w, h, half, rounding);
    } else {
        // Copy the needed area with clamped coordinates, then run the same kernel on it.
        let mut emu = [0u8; EMU_SIZE * EMU_SIZE];
        let last_x = src.width as i64 - 1;
        // Columns of the needed area left of, inside, and right of the plane.
        let left = (-sx).clamp(0, need_w as i64) as usize;
        let inside_end = (last_x + 1 - sx).clamp(left as i64, need_w as i64) as usize;
        for (r, row) in emu.chunks_exact_mut(EMU_SIZE).take(need_h).enumerate() {
            let cy = (sy + r as i64).clamp(0, src.height as i64 - 1) as usize;
            let src_row = &src.data[cy * src.stride..cy * src.stride + src.width];
            let row = &mut row[..need_w];
            if left > 0 {
                row[..left].fill(src_row[0]);
            }
            if inside_end > left {
                let x0 = (sx + left as i64) as usize;
                copy_row(&mut row[left..inside_end], &src_row[x0..]);
            }
            if inside_end < need_w {
                row[inside_end..].fill(src_row[src.width - 1]);
            }
        }
        put_block(&emu, EMU_SIZE, dst, dst_stride, w, h, half, rounding);
    }
}

/// Copy `dst.len()` samples from the start of `src`: the block widths (with and without the
/// half-sample column) as fixed-size moves, which the compiler does inline instead of calling
/// `memcpy` for a few bytes.
#[inline]
fn copy_row(dst: &mut [u8], src: &[u8]) {
    fn fixed<const N: usize>(dst: &mut [u8], src: &[u8]) -> bool {
        match (<&mut [u8; N]>::try_from(dst), src.get(..N)) {
            (Ok(d), Some(s)) => {
                d.copy_from_slice(s);
                true
            }
            _ => false,
        }
    }
    let done = match dst.len() {
        17 => fixed::<17>(dst, src),
        16 => fixed::<16>(dst, src),
        9 => fixed::<9>(dst, src),
        8 => fixed::<8>(dst, src),
        _ => false,
    };
    if !done {
        let n = dst.len();
        dst.copy_from_slice(&src[..n]);
    }
}

/// Which half-pel offsets the vector has.
#[derive(Clone, Copy)]
struct Half {
    x: bool,
    y: bool,
}

/// The prediction kernel: `src` starts at the block's top-left reference sample and holds at
/// least `h + half.y` rows of `w + half.x` samples, `src_stride` apart. Runs the SIMD version
/// where the CPU has one (same bytes).
#[allow(clippy::too_many_arguments)] // the kernel's scalars, as in `scalar_put_block`
#[inline]
fn put_block(
    src: &[u8],
    src_stride: usize,
    dst: &mut [u8],
    dst_stride: usize,
    w: usize,
    h: usize,
    half: Half,
    rounding: bool,
) {
    #[cfg(target_arch = "x86_64")]
    if let Some(cpu) = crate::simd::avx2() {
        let halves = (half.x, half.y);
        if cpu.hpel_put(src, src_stride, dst, dst_stride, w, h, halves, rounding) {
            return;
        }
    }
    scalar_put_block(
        src,
        src_stride,
        dst,
        dst_stride,
        w,
        h,
        (half.x, half.y),
        rounding,
    );
}

/// [`put_block`] in plain Rust, half-sample offsets as `(x, y)`: the specification of the SIMD
/// version. The MPEG-4 widths get their own copies with `w` a constant, which the compiler
/// unrolls and vectorises.
#[allow(clippy::too_many_arguments)] // the block geometry as plain values, as mc_halfpel passes it
pub fn scalar_put_block(
    src: &[u8],
    src_stride: usize,
    dst: &mut [u8],
    dst_stride: usize,
    w: usize,
    h: usize,
    (x, y): (bool, bool),
    rounding: bool,
) {
    let half = Half { x, y };
    // Constant width and rounding let the compiler turn `(a + b + 1) >> 1` into byte averages.
    match (w, rounding) {
        (16, false) => put_rows(src, src_stride, dst, dst_stride, 16, h, half, false),
        (16, true) => put_rows(src, src_stride, dst, dst_stride, 16, h, half, true),
        (8, false) => put_rows(src, src_stride, dst, dst_stride, 8, h, half, false),
        (8, true) => put_rows(src, src_stride, dst, dst_stride, 8, h, half, true),
        _ => put_rows(src, src_stride, dst, dst_stride, w, h, half, rounding),
    }
}

#[allow(clippy::too_many_arguments)] // scalars, so each width's copy inlines and vectorises
#[inline(always)]
fn put_rows(
    src: &[u8],
    src_stride: usize,
    dst: &mut [u8],
    dst_stride: usize,
    w: usize,
    h: usize,
    half: Half,
    rounding: bool,
) {
    let r = u16::from(rounding);
    let dst_rows = dst.chunks_mut(dst_stride).take(h);
    match (half.x, half.y) {
        (false, false) => {
            for (d, s) in dst_rows.zip(src.chunks(src_stride)) {
                d[..w].copy_from_slice(&s[..w]);
            }
        }
        (true, false) => {
            for (d, s) in dst_rows.zip(src.chunks(src_stride)) {
                let (a, b) = (&s[..w], &s[1..=w]);
                // 8 wide with rounding control: FFmpeg's default x86 build uses an approximate
                // kernel, pavgb(saturating(left - 1), right) (put_no_rnd_pixels8_x2_mmxext; only
                // its BITEXACT mode is exact). Its output is what PyAV gives, so match it.
                for ((o, &a), &b) in d[..w].iter_mut().zip(a).zip(b) {
                    *o = if rounding && w == 8 {
                        ((u16::from(a.saturating_sub(1)) + u16::from(b) + 1) >> 1) as u8
                    } else {
                        ((u16::from(a) + u16::from(b) + 1 - r) >> 1) as u8
                    };
                }
            }
        }
        (false, true) => {
            for (y, d) in dst_rows.enumerate() {
                let a = &src[y * src_stride..y * src_stride + w];
                let b = &src[(y + 1) * src_stride..(y + 1) * src_stride + w];
                for ((o, &a), &b) in d[..w].iter_mut().zip(a).zip(b) {
                    // As above (put_no_rnd_pixels8_y2_mmxext): the odd source rows of the block
                    // are decremented (saturating) before pavgb.
                    *o = match (rounding && w == 8, y % 2) {
                        (false, _) => ((u16::from(a) + u16::from(b) + 1 - r) >> 1) as u8,
                        (true, 0) => {
                            ((u16::from(a) + u16::from(b.saturating_sub(1)) + 1) >> 1) as u8
                        }
                        _ => ((u16::from(a.saturating_sub(1)) + u16::from(b) + 1) >> 1) as u8,
                    };
                }
            }
        }
        (true, true) => {
            for (y, d) in dst_rows.enumerate() {
                let top = &src[y * src_stride..y * src_stride + w + 1];
                let bottom = &src[(y + 1) * src_stride..(y + 1) * src_stride + w + 1];
                let corners = top[..w]
                    .iter()
                    .zip(&top[1..])
                    .zip(bottom[..w].iter().zip(&bottom[1..]));
                for (o, ((&a, &b), (&c, &e))) in d[..w].iter_mut().zip(corners) {
                    let sum = u16::from(a) + u16::from(b) + u16::from(c) + u16::from(e);
                    *o = ((sum + 2 - r) >> 2) as u8;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_rng::Rng;

    #[test]
    fn clipped_vectors_for_qpel_and_hpel() {
        assert_eq!(clipped_vector(32, 5, 1, -16, 176), 5);
        assert_eq!(clipped_vector(32, -7, 2, -16, 176), -7);
        // qpel: pos 160, +83 quarter samples -> src 180 > 176 -> 176, fraction dropped.
        assert_eq!(clipped_vector(160, 83, 2, -16, 176), 64);
        // far left: clipped to -16 keeping the fraction.
        assert_eq!(clipped_vector(0, -201, 2, -16, 176), -64 + 3);
        // hpel: pos 0, -101 half samples -> clipped to -16, half kept; pos 160, +41 -> 176,
        // half dropped.
        assert_eq!(clipped_vector(0, -101, 1, -16, 176), -32 + 1);
        assert_eq!(clipped_vector(160, 41, 1, -16, 176), 32);
    }

    /// Per-sample definition: bilinear half-pel interpolation of edge-clamped samples.
    #[allow(clippy::too_many_arguments)] // the test reference takes mc_halfpel's arguments one for one
    fn naive(
        src: &RefPlane,
        x: i32,
        y: i32,
        mvx: i32,
        mvy: i32,
        w: usize,
        h: usize,
        rounding: bool,
    ) -> Vec<u8> {
        let r = i64::from(rounding);
        let at = |px: i64, py: i64| -> i64 {
            let cx = px.clamp(0, src.width as i64 - 1) as usize;
            let cy = py.clamp(0, src.height as i64 - 1) as usize;
            i64::from(src.data[cy * src.stride + cx])
        };
        let (ix, iy) = (i64::from(mvx).div_euclid(2), i64::from(mvy).div_euclid(2));
        let (hx, hy) = (mvx.rem_euclid(2) == 1, mvy.rem_euclid(2) == 1);
        let mut out = Vec::with_capacity(w * h);
        for j in 0..h as i64 {
            for i in 0..w as i64 {
                let (px, py) = (i64::from(x) + ix + i, i64::from(y) + iy + j);
                let v = match (hx, hy) {
                    (false, false) => at(px, py),
                    (true, false) => (at(px, py) + at(px + 1, py) + 1 - r) / 2,
                    (false, true) => (at(px, py) + at(px, py + 1) + 1 - r) / 2,
                    (true, true) => {
                        (at(px, py) + at(px + 1, py) + at(px, py + 1) + at(px + 1, py + 1) + 2 - r)
                            / 4
                    }
                };
                out.push(v as u8);
            }
        }
        out
    }

    #[test]
    fn matches_the_per_sample_definition_inside_and_far_outside() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for _ in 0..4000 {
            let width = rng.range(1, 70) as usize;
            let height = rng.range(1, 50) as usize;
            let stride = width + rng.range(0, 9) as usize;
            let data: Vec<u8> = (0..stride * height).map(|_| rng.next() as u8).collect();
            let src = RefPlane::new(&data, width, height, stride).unwrap();
            let (w, h) = [(16, 16), (8, 8), (16, 8), (4, 4)][rng.range(0, 3) as usize];
            let x = rng.range(-40, width as i64 + 40) as i32;
            let y = rng.range(-40, height as i64 + 40) as i32;
            let far = if rng.range(0, 4) == 0 { 4000 } else { 80 };
            let mvx = rng.range(-far, far) as i32;
            let mvy = rng.range(-far, far) as i32;
            let rounding = rng.range(0, 1) == 1;
            let want = naive(&src, x, y, mvx, mvy, w, h, rounding);

            let dst_stride = w + 5;
            let offset = 3;
            let mut dst = vec![0xAAu8; offset + h * dst_stride + 2];
            mc_halfpel(
                &src, &mut dst, offset, dst_stride, x, y, mvx, mvy, w, h, rounding,
            );
            for j in 0..h {
                let row = &dst[offset + j * dst_stride..][..w];
                assert_eq!(
                    row,
                    &want[j * w..(j + 1) * w],
                    "plane {width}x{height} block {w}x{h} at ({x},{y}) mv ({mvx},{mvy}) rnd {rounding} row {j}"
                );
            }
            // Samples around the block are untouched.
            assert!(dst[..offset].iter().all(|&v| v == 0xAA));
            for j in 0..h {
                let gap = &dst[offset + j * dst_stride + w..][..dst_stride - w];
                assert!(gap.iter().all(|&v| v == 0xAA));
            }
        }
    }

    #[test]
    fn extreme_vectors_and_positions_do_not_panic() {
        let data = [7u8; 32 * 32];
        let src = RefPlane::new(&data, 32, 32, 32).unwrap();
        let mut dst = [0u8; 16 * 16];
        for v in [i32::MIN, i32::MIN + 1, -1, 0, 1, i32::MAX] {
            mc_halfpel(
                &src,
                &mut dst,
                0,
                16,
                v,
                v,
                v,
                -v.saturating_add(1),
                16,
                16,
                true,
            );
            assert!(dst.iter().all(|&s| s == 7));
        }
    }

    #[test]
    fn rounding_control_on_known_values() {
        // A 2x2 plane [[10, 13], [20, 30]]: half-pel between 10 and 13 is 11.5.
        let data = [10u8, 13, 20, 30];
        let src = RefPlane::new(&data, 2, 2, 2).unwrap();
        let one = |mvx, mvy, rounding| {
            let mut d = [0u8; 1];
            mc_halfpel(&src, &mut d, 0, 1, 0, 0, mvx, mvy, 1, 1, rounding);
            d[0]
        };
        assert_eq!(one(1, 0, false), 12); // (10 + 13 + 1) >> 1
        assert_eq!(one(1, 0, true), 11); // (10 + 13) >> 1
        assert_eq!(one(0, 1, false), 15); // (10 + 20 + 1) >> 1
        assert_eq!(one(0, 1, true), 15); // (10 + 20) >> 1
        assert_eq!(one(1, 1, false), 18); // (73 + 2) >> 2
        assert_eq!(one(1, 1, true), 18); // (73 + 1) >> 2
        assert_eq!(one(-1, 0, false), 10); // left of the edge: (10 + 10 + 1) >> 1
        assert_eq!(one(2, 2, true), 30); // full-pel (1, 1)
    }

    #[test]
    fn diagonal_rounding_differs_where_the_sum_is_two_mod_four() {
        // 1 + 1 + 0 + 0 = 2: rounding 0 gives (2 + 2) >> 2 = 1, rounding 1 gives (2 + 1) >> 2 = 0.
        let data = [1u8, 1, 0, 0];
        let src = RefPlane::new(&data, 2, 2, 2).unwrap();
        let mut d = [0u8; 1];
        mc_halfpel(&src, &mut d, 0, 1, 0, 0, 1, 1, 1, 1, false);
        assert_eq!(d[0], 1);
        mc_halfpel(&src, &mut d, 0, 1, 0, 0, 1, 1, 1, 1, true);
        assert_eq!(d[0], 0);
    }

    #[test]
    fn invalid_planes_are_refused() {
        assert!(RefPlane::new(&[0u8; 10], 4, 3, 4).is_none());
        assert!(RefPlane::new(&[0u8; 10], 0, 1, 4).is_none());
        assert!(RefPlane::new(&[0u8; 10], 5, 2, 4).is_none());
        assert!(RefPlane::new(&[0u8; 10], 4, 2, 6).is_some());
    }

    /// Micro-benchmark (not a test): `cargo test --release --lib -- --ignored bench_ --nocapture`.
    #[test]
    #[ignore]
    fn bench_mc() {
        let mut rng = Rng(99);
        let (width, height) = (352, 256);
        let data: Vec<u8> = (0..width * height).map(|_| rng.next() as u8).collect();
        let src = RefPlane::new(&data, width, height, width).unwrap();
        let mut dst = vec![0u8; 16 * 16];
        for (label, margin) in [("inside", 0i64), ("edge", 24)] {
            for (w, h) in [(16, 16), (8, 8)] {
                let jobs: Vec<(i32, i32, i32, i32)> = (0..4096)
                    .map(|_| {
                        let x = rng.range(16 - margin, width as i64 - 32 + margin) as i32;
                        let y = rng.range(16 - margin, height as i64 - 32 + margin) as i32;
                        (x, y, rng.range(-8, 8) as i32, rng.range(-8, 8) as i32)
                    })
                    .collect();
                let rounds = 100;
                let start = std::time::Instant::now();
                for _ in 0..rounds {
                    for &(x, y, mx, my) in &jobs {
                        mc_halfpel(&src, &mut dst, 0, 16, x, y, mx, my, w, h, mx & 2 == 0);
                    }
                }
                let ns = start.elapsed().as_nanos() as f64 / (rounds * jobs.len()) as f64;
                println!("mc {label} {w}x{h}: {ns:.1} ns/block");
                std::hint::black_box(&dst);
            }
        }
    }
}
