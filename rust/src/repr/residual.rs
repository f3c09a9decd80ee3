//! CoViAR's residual: a decoded frame minus a reference frame sampled through a back-pointer
//! map, per channel, in pixel space (`res[p, c] = cur[p, c] - ref[map[p], c]`, signed, in
//! -255..=255). With the accumulated map the reference is the GOP's I-frame; with a single
//! frame's map it is the frame that one predicts from. It is not the codec's DCT residual.
#![forbid(unsafe_code)]

use super::source_map::SourceMap;

/// An output sample type that holds -255..=255 exactly (`i16` for pkdkit, `i32` for CoViAR).
pub trait ResidualSample: Copy + Default + Send + From<i16> {}
impl ResidualSample for i16 {}
impl ResidualSample for i32 {}

/// Write the residual of `current` against `reference` (both packed 3-channel images of the
/// map's size) into `out` (same length). Lengths that do not match leave `out` untouched past
/// the shortest of them; the caller allocates all three from the same frame size.
pub fn residual_into<T: ResidualSample>(
    current: &[u8],
    reference: &[u8],
    map: &SourceMap,
    out: &mut [T],
) {
    let w = map.width();
    let sources = map.sources();
    let n = sources.len().min(current.len() / 3).min(out.len() / 3);
    let (current, out) = (&current[..3 * n], &mut out[..3 * n]);
    // Map sources are inside the frame by construction, so with a reference of the map's
    // size the per-pixel check below never fails; it keeps a bad length from panicking.
    let pixels = sources[..n]
        .iter()
        .zip(current.chunks_exact(3))
        .zip(out.chunks_exact_mut(3));
    for ((s, cur), out) in pixels {
        let at = 3 * (usize::from(s.y) * w + usize::from(s.x));
        let Some(r) = reference.get(at..at + 3) else {
            continue;
        };
        for c in 0..3 {
            out[c] = T::from(i16::from(cur[c]) - i16::from(r[c]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::footprint::tests::vector;
    use super::*;

    #[test]
    fn identity_map_gives_the_plain_difference() {
        let cur = [10u8, 200, 0, 255, 0, 7];
        let reference = [20u8, 100, 255, 0, 255, 7];
        let map = SourceMap::identity(2, 1).unwrap();
        let mut out = [0i16; 6];
        residual_into(&cur, &reference, &map, &mut out);
        assert_eq!(out, [-10, 100, -255, 255, -255, 0]);
    }

    #[test]
    fn moved_pixels_read_the_reference_at_their_source() {
        // 4x2 frame; the 2x2 block centred on (1, 1) comes from one pixel to the right.
        let map = SourceMap::of_frame(4, 2, &[vector(2, 2, (1, 1), (2, 1))]).unwrap();
        let reference: Vec<u8> = (0..24).collect();
        let cur = vec![100u8; 24];
        let mut out = vec![0i32; 24];
        residual_into(&cur, &reference, &map, &mut out);
        // Pixel (0, 0) reads reference pixel (1, 0) = bytes 3..6.
        assert_eq!(&out[0..3], &[97, 96, 95]);
        // Pixel (2, 0) is outside the block: its own reference pixel, bytes 6..9.
        assert_eq!(&out[6..9], &[94, 93, 92]);
        // Pixel (1, 1) reads (2, 1) = bytes 18..21.
        assert_eq!(&out[15..18], &[82, 81, 80]);
    }
}
