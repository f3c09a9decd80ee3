//! SIMD versions of the decoder's and the representations' hot kernels (IDCTs, block put/add
//! with clamping, half- and quarter-pel motion compensation, BT.601 colour conversion), chosen
//! at run time.
//!
//! The scalar functions beside each dispatch hook (`mpeg4::idct`, `mpeg4::mc`, `mpeg4::qpel`,
//! `repr::colour`) are the specification: every kernel here computes exactly the same bytes,
//! including wrap-around on absurd coefficients, and the tests beside the kernels compare the
//! two on random and extreme inputs. The hooks ask [`avx2`] for a token; holding one proves the
//! CPU has AVX2, which is what makes the token's safe methods sound.
//!
//! `PKDKIT_SIMD=scalar` (read once per process) forces the scalar code everywhere, e.g. to run
//! the FFmpeg frame-by-frame comparisons on both paths or to time them against each other.
//!
//! This is the only module with `unsafe` code: `#[target_feature]` functions (and, before Rust
//! 1.87, the intrinsics themselves) may only be called in unsafe code, and unaligned loads and
//! stores take raw pointers. Each pointer access is preceded by the slice-length check that
//! keeps it in bounds.
#![allow(unsafe_code)] // the one module that may: see above

use std::sync::OnceLock;

#[cfg(target_arch = "x86_64")]
mod colour_avx2;
#[cfg(target_arch = "x86_64")]
mod hpel_avx2;
#[cfg(target_arch = "x86_64")]
mod idct_avx2;
#[cfg(target_arch = "x86_64")]
mod qpel_avx2;

/// Proof that the CPU running this process has AVX2 (and SSE4.1 below it): only [`avx2`]
/// makes one, after run-time detection.
#[derive(Clone, Copy, Debug)]
pub struct Avx2 {
    _detected: (),
}

static DETECTED: OnceLock<Option<Avx2>> = OnceLock::new();

/// The AVX2 token if this CPU has AVX2 and `PKDKIT_SIMD` is not `scalar` (checked once).
#[inline]
pub fn avx2() -> Option<Avx2> {
    *DETECTED.get_or_init(detect)
}

/// Which path the dispatch hooks take in this process: `"avx2"` or `"scalar"`.
pub fn active_path() -> &'static str {
    if avx2().is_some() {
        "avx2"
    } else {
        "scalar"
    }
}

fn forced_scalar() -> bool {
    std::env::var("PKDKIT_SIMD").is_ok_and(|v| v.eq_ignore_ascii_case("scalar"))
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Option<Avx2> {
    (!forced_scalar() && is_x86_feature_detected!("avx2") && is_x86_feature_detected!("sse4.1"))
        .then_some(Avx2 { _detected: () })
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Option<Avx2> {
    let _ = forced_scalar();
    None
}

/// The token regardless of `PKDKIT_SIMD`, for tests that compare both paths in one process.
#[cfg(all(test, target_arch = "x86_64"))]
pub(crate) fn avx2_for_tests() -> Option<Avx2> {
    (is_x86_feature_detected!("avx2") && is_x86_feature_detected!("sse4.1"))
        .then_some(Avx2 { _detected: () })
}
