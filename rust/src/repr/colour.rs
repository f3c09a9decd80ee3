//! The one YUV -> RGB conversion of pkdkit (decoded frames, I-frame representations,
//! accumulated residuals all go through it), so that every RGB number in the library can be
//! reproduced from the YUV planes with a few lines of numpy.
//!
//! # The conversion, exactly
//!
//! BT.601, limited range (Y 16..=235, Cb/Cr 16..=240), 4:2:0 with chroma upsampled by
//! repetition: the RGB pixel at (x, y) uses `Y[y][x]`, `U[y / 2][x / 2]`, `V[y / 2][x / 2]`
//! (integer division). With 32-bit signed integers and `>>` an arithmetic (flooring) shift:
//!
//! ```text
//! c = 76309 * (Y - 16) + 32768          # 76309 = round(65536 * 255 / 219)
//! d = U - 128
//! e = V - 128
//! R = clamp((c + 104597 * e) >> 16, 0, 255)              # 104597 = round(65536 * 1.596027)
//! G = clamp((c - 25675 * d - 53279 * e) >> 16, 0, 255)  # 0.391762 and 0.812968
//! B = clamp((c + 132201 * d) >> 16, 0, 255)              # 132201 = round(65536 * 2.017232)
//! ```
//!
//! The coefficients are `65536 * 255/219` for luma and `65536 * 255/224 * k` for chroma with
//! `k` = 2(1 - Kr), 2(1 - Kb) Kb / Kg, 2(1 - Kr) Kr / Kg, 2(1 - Kb) for Kr = 0.299,
//! Kb = 0.114, Kg = 0.587, each rounded to the nearest integer; `+ 32768` rounds to nearest.
//! In numpy: `c = 76309 * (y.astype(np.int32) - 16) + 32768` ... `np.clip(... >> 16, 0, 255)`.
//! Output is row-major `H x W x 3`, channel order R, G, B (or B, G, R when asked).
#![forbid(unsafe_code)]

use crate::decoded::{Plane, YuvFrame};

const LUMA: i32 = 76309;
const R_FROM_V: i32 = 104597;
const G_FROM_U: i32 = 25675;
const G_FROM_V: i32 = 53279;
const B_FROM_U: i32 = 132201;
const HALF: i32 = 1 << 15;

/// A read-only plane: `height` rows of `width` samples, tightly packed (`data.len() ==
/// width * height`).
#[derive(Clone, Copy, Debug)]
pub struct PlaneView<'a> {
    pub data: &'a [u8],
    pub width: usize,
    pub height: usize,
}

impl<'a> From<&'a Plane> for PlaneView<'a> {
    fn from(p: &'a Plane) -> Self {
        PlaneView {
            data: &p.data,
            width: p.width,
            height: p.height,
        }
    }
}

/// Checks that the three planes form a 4:2:0 picture: each plane's data matches its size, and
/// both chroma planes are `ceil(W/2) x ceil(H/2)` for a `W x H` luma plane. The message says
/// which plane is wrong and what was expected.
pub fn check_420(y: PlaneView, u: PlaneView, v: PlaneView) -> std::result::Result<(), String> {
    for (name, p) in [("y", y), ("u", u), ("v", v)] {
        if p.data.len() != p.width * p.height {
            return Err(format!(
                "{name} plane has {} samples, expected {} x {}",
                p.data.len(),
                p.height,
                p.width
            ));
        }
    }
    let (cw, ch) = (y.width.div_ceil(2), y.height.div_ceil(2));
    for (name, p) in [("u", u), ("v", v)] {
        if (p.width, p.height) != (cw, ch) {
            return Err(format!(
                "{name} plane is {}x{} (HxW) but a {}x{} luma plane needs {ch}x{cw} chroma (4:2:0)",
                p.height, p.width, y.height, y.width
            ));
        }
    }
    Ok(())
}

/// Converts a 4:2:0 picture to packed 8-bit RGB (or BGR), `H * W * 3` bytes, with the
/// conversion documented at the top of this module. Planes that do not satisfy [`check_420`]
/// give a black picture of the luma size (callers validate user input first).
pub fn yuv_to_rgb(y: &Plane, u: &Plane, v: &Plane, bgr: bool) -> Vec<u8> {
    yuv_view_to_rgb(y.into(), u.into(), v.into(), bgr)
}

/// [`yuv_to_rgb`] for a decoded frame.
pub fn frame_to_rgb(frame: &YuvFrame, bgr: bool) -> Vec<u8> {
    yuv_to_rgb(&frame.y, &frame.u, &frame.v, bgr)
}

/// [`yuv_to_rgb`] on borrowed planes (e.g. numpy buffers). Runs the SIMD version where the CPU
/// has one (same bytes).
pub fn yuv_view_to_rgb(y: PlaneView, u: PlaneView, v: PlaneView, bgr: bool) -> Vec<u8> {
    convert_with(y, u, v, bgr, crate::simd::avx2())
}

/// [`yuv_to_rgb`] in plain Rust: the specification the SIMD version is tested against.
pub fn scalar_yuv_to_rgb(y: &Plane, u: &Plane, v: &Plane, bgr: bool) -> Vec<u8> {
    convert_with(y.into(), u.into(), v.into(), bgr, None)
}

/// [`yuv_to_rgb`] into an existing buffer, resized to `H * W * 3` (so that a caller converting
/// frame after frame allocates once).
pub fn yuv_to_rgb_into(y: &Plane, u: &Plane, v: &Plane, bgr: bool, out: &mut Vec<u8>) {
    convert_into(y.into(), u.into(), v.into(), bgr, crate::simd::avx2(), out);
}

fn convert_with(
    y: PlaneView,
    u: PlaneView,
    v: PlaneView,
    bgr: bool,
    cpu: Option<crate::simd::Avx2>,
) -> Vec<u8> {
    let mut out = Vec::new();
    convert_into(y, u, v, bgr, cpu, &mut out);
    out
}

fn convert_into(
    y: PlaneView,
    u: PlaneView,
    v: PlaneView,
    bgr: bool,
    cpu: Option<crate::simd::Avx2>,
    out: &mut Vec<u8>,
) {
    let (w, h) = (y.width, y.height);
    out.resize(w * h * 3, 0);
    if check_420(y, u, v).is_err() || w == 0 || h == 0 {
        out.fill(0);
        return;
    }
    // One copy per channel order, so the byte positions are constants.
    if bgr {
        convert::<2, 0>(y, u, v, out, cpu);
    } else {
        convert::<0, 2>(y, u, v, out, cpu);
    }
}

/// The conversion into `out` (checked sizes), red at byte `RI` and blue at `BI` of each pixel.
fn convert<const RI: usize, const BI: usize>(
    y: PlaneView,
    u: PlaneView,
    v: PlaneView,
    out: &mut [u8],
    cpu: Option<crate::simd::Avx2>,
) {
    let w = y.width;
    let cw = u.width;
    let t = &TABLES;
    for (row, (out_row, y_row)) in out
        .chunks_exact_mut(w * 3)
        .zip(y.data.chunks_exact(w))
        .enumerate()
    {
        let crow = row / 2 * cw;
        let (u_row, v_row) = (&u.data[crow..crow + cw], &v.data[crow..crow + cw]);
        let pixel = |px: &mut [u8], luma: u8, (r, g, b): (i32, i32, i32)| {
            let c = t.luma[usize::from(luma)];
            px[RI] = to_u8((c + r) >> 16);
            px[1] = to_u8((c + g) >> 16);
            px[BI] = to_u8((c + b) >> 16);
        };
        let chroma = |cu: u8, cv: u8| {
            let (cu, cv) = (usize::from(cu), usize::from(cv));
            (t.r_v[cv], t.g_u[cu] + t.g_v[cv], t.b_u[cu])
        };
        // SIMD hook: the leading whole groups of 16 pixels (an even count), if any.
        let done = match cpu {
            #[cfg(target_arch = "x86_64")]
            Some(cpu) => cpu.yuv_row_to_rgb::<RI, BI>(y_row, u_row, v_row, out_row),
            _ => 0,
        };
        // Two luma samples share one chroma pair: look its terms up once per pair.
        let pairs = out_row.chunks_exact_mut(6).zip(y_row.chunks_exact(2));
        for (((px2, y2), &cu), &cv) in pairs.zip(u_row).zip(v_row).skip(done / 2) {
            let terms = chroma(cu, cv);
            pixel(&mut px2[..3], y2[0], terms);
            pixel(&mut px2[3..], y2[1], terms);
        }
        if w % 2 == 1 {
            let terms = chroma(u_row[cw - 1], v_row[cw - 1]);
            pixel(&mut out_row[3 * (w - 1)..], y_row[w - 1], terms);
        }
    }
}

/// The products of the formula for every 8-bit value, built at compile time.
struct Tables {
    /// `76309 * (Y - 16) + 32768 + (CLAMP_OFFSET << 16)`
    luma: [i32; 256],
    r_v: [i32; 256],
    g_u: [i32; 256],
    g_v: [i32; 256],
    b_u: [i32; 256],
}

const TABLES: Tables = build_tables();

const fn build_tables() -> Tables {
    let mut t = Tables {
        luma: [0; 256],
        r_v: [0; 256],
        g_u: [0; 256],
        g_v: [0; 256],
        b_u: [0; 256],
    };
    let mut i = 0;
    while i < 256 {
        let (y, c) = (i as i32 - 16, i as i32 - 128);
        // The clamp table's offset rides along in the luma term (exact: a multiple of 2^16).
        t.luma[i] = LUMA * y + HALF + (CLAMP_OFFSET << 16);
        t.r_v[i] = R_FROM_V * c;
        t.g_u[i] = -G_FROM_U * c;
        t.g_v[i] = -G_FROM_V * c;
        t.b_u[i] = B_FROM_U * c;
        i += 1;
    }
    t
}

/// `clamp(v - CLAMP_OFFSET, 0, 255)` by table, for the shifted sums (which carry the offset
/// from the luma table): they lie in `0..1024` (see the test), and masking the index keeps the
/// lookup in bounds whatever happens.
#[inline]
fn to_u8(v: i32) -> u8 {
    CLAMP[v as usize & (CLAMP.len() - 1)]
}

const CLAMP_OFFSET: i32 = 384;
const CLAMP: [u8; 1024] = {
    let mut t = [0u8; 1024];
    let mut i = 0;
    while i < 1024 {
        let v = i as i32 - CLAMP_OFFSET;
        t[i] = if v < 0 {
            0
        } else if v > 255 {
            255
        } else {
            v as u8
        };
        i += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    fn plane(w: usize, h: usize, f: impl Fn(usize, usize) -> u8) -> Plane {
        let data = (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .map(|(x, y)| f(x, y));
        Plane {
            data: data.collect(),
            width: w,
            height: h,
        }
    }

    fn uniform(y: u8, u: u8, v: u8, bgr: bool) -> [u8; 3] {
        let out = yuv_to_rgb(
            &Plane::filled(2, 2, y),
            &Plane::filled(1, 1, u),
            &Plane::filled(1, 1, v),
            bgr,
        );
        assert!(out.chunks(3).all(|p| p == &out[..3]));
        [out[0], out[1], out[2]]
    }

    #[test]
    fn limited_range_black_white_and_grey() {
        assert_eq!(uniform(16, 128, 128, false), [0, 0, 0]);
        assert_eq!(uniform(235, 128, 128, false), [255, 255, 255]);
        assert_eq!(uniform(126, 128, 128, false), [128, 128, 128]); // 110 * 255/219 = 128.08
        assert_eq!(uniform(0, 128, 128, false), [0, 0, 0]); // below black clamps
        assert_eq!(uniform(255, 128, 128, false), [255, 255, 255]);
    }

    #[test]
    fn bt601_primaries_come_out_saturated() {
        // The 100% BT.601 limited-range colour-bar values of the primaries (8-bit rounded, so
        // the result may miss the corner by a level or two).
        let near = |got: [u8; 3], want: [u8; 3]| {
            got.iter()
                .zip(want)
                .all(|(&g, w)| (i32::from(g) - i32::from(w)).abs() <= 2)
        };
        assert!(near(uniform(81, 90, 240, false), [255, 0, 0]));
        assert!(near(uniform(145, 54, 34, false), [0, 255, 0]));
        assert!(near(uniform(41, 240, 110, false), [0, 0, 255]));
        assert!(near(uniform(81, 90, 240, true), [0, 0, 255]));
    }

    #[test]
    fn matches_the_float_formula_within_one() {
        for yv in (0..=255).step_by(5) {
            for uv in (0..=255).step_by(15) {
                for vv in (0..=255).step_by(15) {
                    let got = uniform(yv, uv, vv, false);
                    let (c, d, e) = (
                        f64::from(yv) - 16.0,
                        f64::from(uv) - 128.0,
                        f64::from(vv) - 128.0,
                    );
                    let ys = 255.0 / 219.0;
                    let cs = 255.0 / 224.0;
                    let want = [
                        ys * c + cs * 1.402 * e,
                        ys * c - cs * 1.772 * 0.114 / 0.587 * d - cs * 1.402 * 0.299 / 0.587 * e,
                        ys * c + cs * 1.772 * d,
                    ];
                    for (g, w) in got.iter().zip(want) {
                        assert!(
                            (f64::from(*g) - w.clamp(0.0, 255.0)).abs() <= 0.51,
                            "{yv} {uv} {vv}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn chroma_covers_its_two_by_two_block_including_odd_sizes() {
        let (w, h) = (5, 3);
        let y = Plane::filled(w, h, 120);
        let u = plane(3, 2, |x, y| (60 + 40 * x + 20 * y) as u8);
        let v = plane(3, 2, |x, y| (200 - 30 * x - 10 * y) as u8);
        let out = yuv_to_rgb(&y, &u, &v, false);
        assert_eq!(out.len(), w * h * 3);
        for py in 0..h {
            for px in 0..w {
                let want = uniform(120, u.at(px / 2, py / 2), v.at(px / 2, py / 2), false);
                assert_eq!(out[(py * w + px) * 3..][..3], want, "({px},{py})");
            }
        }
    }

    #[test]
    fn mismatched_planes_are_reported_and_give_black() {
        let y = Plane::filled(4, 4, 200);
        let u = Plane::filled(2, 2, 128);
        let bad = Plane::filled(3, 2, 128);
        assert!(check_420((&y).into(), (&u).into(), (&u).into()).is_ok());
        let err = check_420((&y).into(), (&u).into(), (&bad).into()).unwrap_err();
        assert!(err.contains("v plane is 2x3"), "{err}");
        assert!(yuv_to_rgb(&y, &u, &bad, false).iter().all(|&b| b == 0));
    }

    #[test]
    fn every_shifted_sum_is_inside_the_clamp_table() {
        let t = &TABLES;
        let (mut lo, mut hi) = (i32::MAX, i32::MIN);
        for &c in &t.luma {
            for chroma in [&t.r_v, &t.b_u] {
                for &x in chroma {
                    lo = lo.min((c + x) >> 16);
                    hi = hi.max((c + x) >> 16);
                }
            }
            for &gu in &t.g_u {
                for &gv in &t.g_v {
                    lo = lo.min((c + gu + gv) >> 16);
                    hi = hi.max((c + gu + gv) >> 16);
                }
            }
        }
        assert!(lo >= 0 && hi < CLAMP.len() as i32, "{lo} {hi}");
    }

    #[test]
    fn every_yuv_triple_follows_the_documented_formula() {
        // The split coefficients must give exactly the documented integers: check all 2^24.
        let formula = |y: i32, u: i32, v: i32| {
            let c = LUMA * (y - 16) + HALF;
            let (d, e) = (u - 128, v - 128);
            [
                ((c + R_FROM_V * e) >> 16).clamp(0, 255) as u8,
                ((c - G_FROM_U * d - G_FROM_V * e) >> 16).clamp(0, 255) as u8,
                ((c + B_FROM_U * d) >> 16).clamp(0, 255) as u8,
            ]
        };
        // 512 x 128 picture: chroma sample (i, j) has U = i, and its 2x2 luma block holds
        // 4j..4j+3, so every (Y, U) pair occurs once; then every V.
        let luma = |x: usize, row: usize| (4 * (row / 2) + 2 * (row % 2) + x % 2) as u8;
        let y = plane(512, 128, luma);
        let u = plane(256, 64, |i, _| i as u8);
        for vv in 0..=255u8 {
            let v = Plane::filled(256, 64, vv);
            let out = yuv_to_rgb(&y, &u, &v, false);
            for row in 0..128 {
                for x in 0..512 {
                    let (yl, ul) = (i32::from(luma(x, row)), (x / 2) as i32);
                    let at = 3 * (row * 512 + x);
                    assert_eq!(
                        out[at..at + 3],
                        formula(yl, ul, i32::from(vv)),
                        "y {yl} u {ul} v {vv}"
                    );
                }
            }
        }
    }

    #[test]
    fn frame_helper_equals_plane_call() {
        let f = YuvFrame::grey(7, 5);
        assert_eq!(frame_to_rgb(&f, true), yuv_to_rgb(&f.y, &f.u, &f.v, true));
    }

    /// Micro-benchmark (not a test): `cargo test --release --lib -- --ignored bench_ --nocapture`.
    #[test]
    #[ignore]
    fn bench_colour() {
        let (w, h) = (340, 256);
        let y = plane(w, h, |x, y| (x * 7 + y * 3) as u8);
        let u = plane(w / 2, h / 2, |x, y| (x * 5 + y) as u8);
        let v = plane(w / 2, h / 2, |x, y| (x + y * 9) as u8);
        let rounds = 300;
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(yuv_to_rgb(&y, &u, &v, true));
        }
        let us = start.elapsed().as_secs_f64() * 1e6 / rounds as f64;
        println!("colour 340x256: {us:.1} us/frame");
    }
}
