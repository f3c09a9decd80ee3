//! CoViAR's rule for the pixels one block vector moves.
//!
//! A vector with a non-zero displacement `dst - src` covers the `w x h` pixels of its block,
//! centred on `dst`: column offsets `-(w / 2) .. w / 2` and row offsets `-(h / 2) .. h / 2`
//! around the centre, with C's truncating division (Rust's `/` on `i32` truncates the same way).
//! A pixel takes part only when both its destination (`dst + offset`) and its source
//! (`src + offset`) are inside the frame. Both conditions are linear in the offset, so the
//! pixels that take part always form one rectangle, which is what [`footprint`] returns.
#![forbid(unsafe_code)]

use crate::decoded::MotionVector;

/// The in-frame rectangle a vector moves: `width x height` pixels whose top-left destination is
/// `(dst_x, dst_y)` and whose top-left source is `(src_x, src_y)` (same frame size).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footprint {
    pub dst_x: usize,
    pub dst_y: usize,
    pub src_x: usize,
    pub src_y: usize,
    pub width: usize,
    pub height: usize,
}

/// The integer displacement `(dst_x - src_x, dst_y - src_y)` CoViAR writes for a vector.
#[inline]
pub fn displacement(mv: &MotionVector) -> (i32, i32) {
    (
        i32::from(mv.dst_x) - i32::from(mv.src_x),
        i32::from(mv.dst_y) - i32::from(mv.src_y),
    )
}

/// Offsets `lo..hi` along one axis for which `dst + o` and `src + o` lie in `0..size`, within the
/// block's own offsets `-(len / 2) .. len / 2`.
fn axis_range(dst: i32, src: i32, len: i32, size: i32) -> Option<(i32, i32)> {
    let lo = (-len / 2).max(-dst).max(-src);
    let hi = (len / 2).min(size - dst).min(size - src);
    (lo < hi).then_some((lo, hi))
}

/// The pixels `mv` moves in a `frame_width x frame_height` frame, or `None` when it moves none
/// (zero displacement, or a block entirely outside the frame on either side).
pub fn footprint(mv: &MotionVector, frame_width: usize, frame_height: usize) -> Option<Footprint> {
    if displacement(mv) == (0, 0) {
        return None;
    }
    let fw = i32::try_from(frame_width).ok()?;
    let fh = i32::try_from(frame_height).ok()?;
    let (dst_x, dst_y) = (i32::from(mv.dst_x), i32::from(mv.dst_y));
    let (src_x, src_y) = (i32::from(mv.src_x), i32::from(mv.src_y));
    let (x0, x1) = axis_range(dst_x, src_x, i32::from(mv.w), fw)?;
    let (y0, y1) = axis_range(dst_y, src_y, i32::from(mv.h), fh)?;
    // All four corners are in the frame by construction, so the conversions cannot fail.
    Some(Footprint {
        dst_x: usize::try_from(dst_x + x0).ok()?,
        dst_y: usize::try_from(dst_y + y0).ok()?,
        src_x: usize::try_from(src_x + x0).ok()?,
        src_y: usize::try_from(src_y + y0).ok()?,
        width: usize::try_from(x1 - x0).ok()?,
        height: usize::try_from(y1 - y0).ok()?,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A past-reference vector of a `w x h` block centred on `dst`, coming from `src`.
    pub(crate) fn vector(w: u8, h: u8, dst: (i16, i16), src: (i16, i16)) -> MotionVector {
        MotionVector {
            source: -1,
            w,
            h,
            src_x: src.0,
            src_y: src.1,
            dst_x: dst.0,
            dst_y: dst.1,
            motion_x: 2 * i32::from(src.0 - dst.0),
            motion_y: 2 * i32::from(src.1 - dst.1),
            motion_scale: 2,
        }
    }

    /// The pixels CoViAR's loops visit, written the slow way: every offset, both checks.
    fn brute_force(mv: &MotionVector, fw: i32, fh: i32) -> Vec<(i32, i32, i32, i32)> {
        let mut out = Vec::new();
        if displacement(mv) == (0, 0) {
            return out;
        }
        let (w, h) = (i32::from(mv.w), i32::from(mv.h));
        for yo in -h / 2..h / 2 {
            for xo in -w / 2..w / 2 {
                let (dx, dy) = (i32::from(mv.dst_x) + xo, i32::from(mv.dst_y) + yo);
                let (sx, sy) = (i32::from(mv.src_x) + xo, i32::from(mv.src_y) + yo);
                if (0..fw).contains(&dx)
                    && (0..fh).contains(&dy)
                    && (0..fw).contains(&sx)
                    && (0..fh).contains(&sy)
                {
                    out.push((dx, dy, sx, sy));
                }
            }
        }
        out
    }

    fn expand(f: Option<Footprint>) -> Vec<(i32, i32, i32, i32)> {
        let mut out = Vec::new();
        if let Some(f) = f {
            for r in 0..f.height as i32 {
                for c in 0..f.width as i32 {
                    out.push((
                        f.dst_x as i32 + c,
                        f.dst_y as i32 + r,
                        f.src_x as i32 + c,
                        f.src_y as i32 + r,
                    ));
                }
            }
        }
        out
    }

    #[test]
    fn macroblock_covers_its_16x16_pixels() {
        let f = footprint(&vector(16, 16, (24, 40), (26, 39)), 64, 64).unwrap();
        assert_eq!(
            f,
            Footprint {
                dst_x: 16,
                dst_y: 32,
                src_x: 18,
                src_y: 31,
                width: 16,
                height: 16
            }
        );
    }

    #[test]
    fn zero_displacement_moves_nothing() {
        assert_eq!(footprint(&vector(16, 16, (8, 8), (8, 8)), 64, 64), None);
    }

    #[test]
    fn rectangle_equals_coviar_loops_everywhere() {
        // Blocks near and beyond every edge, odd sizes (C's truncating division on -w / 2),
        // vectors pointing outside the frame, frames that are not multiples of 16.
        let (fw, fh) = (37, 29);
        for &(w, h) in &[(16u8, 16u8), (8, 8), (16, 8), (5, 3), (1, 1), (0, 4)] {
            for dst_x in (-10..50).step_by(3) {
                for dst_y in (-10..40).step_by(4) {
                    for &(mx, my) in &[(3, 0), (-7, 2), (0, -1), (20, 20), (-40, 5), (0, 0)] {
                        let mv = vector(w, h, (dst_x, dst_y), (dst_x + mx, dst_y + my));
                        assert_eq!(
                            expand(footprint(&mv, fw as usize, fh as usize)),
                            brute_force(&mv, fw, fh),
                            "{mv:?}"
                        );
                    }
                }
            }
        }
    }
}
