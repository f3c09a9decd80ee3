//! The per-pixel back-pointer map of CoViAR's accumulation.
//!
//! For every pixel of the current frame the map holds the pixel of a reference frame it was
//! traced back to. At the reference itself the map is the identity. Moving to a frame predicted
//! from the map's frame, every pixel a vector moves (see [`footprint`](super::footprint)) takes
//! the source of the pixel it came from, read from the map as it was *before* this frame
//! (`accu[p] = accu_prev[p - d]`); later vectors overwrite earlier ones where blocks overlap;
//! every other pixel keeps its source. Advancing the identity once gives the non-accumulated map
//! of a single frame. The motion-vector representation is `p - map[p]`.
#![forbid(unsafe_code)]

use std::cell::RefCell;

use super::footprint::{footprint, Footprint};
use crate::decoded::MotionVector;
use crate::{Error, Result};

/// Coordinates of a source pixel (frames are at most 65535 pixels on a side).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Source {
    pub x: u16,
    pub y: u16,
}

/// A back-pointer map of a `width x height` frame, row-major.
#[derive(Clone, Debug)]
pub struct SourceMap {
    width: usize,
    height: usize,
    sources: Vec<Source>,
    /// The map before the frame being applied (kept to avoid an allocation per frame; empty
    /// until the first `advance`).
    previous: Vec<Source>,
}

thread_local! {
    /// Buffers of this thread's dropped maps, for its next maps. A random-access sample makes a
    /// fresh map per call, and fresh pages cost a page fault and the kernel's zeroing each (about
    /// a tenth of a motion-vector sample's time); reused ones cost neither.
    static SPARE: RefCell<Vec<Vec<Source>>> = const { RefCell::new(Vec::new()) };
}

/// Buffers kept per thread (two per map: the map and its previous state).
const SPARE_BUFFERS: usize = 4;

/// An empty buffer, with the capacity of a dropped map's when one is spare.
fn spare_buffer() -> Vec<Source> {
    let mut v = SPARE
        .try_with(|s| s.borrow_mut().pop())
        .ok()
        .flatten()
        .unwrap_or_default();
    v.clear();
    v
}

/// Copy the rows of footprint `f`, `N` pixels wide, from `previous` into `sources` (row
/// length `w`). The footprint lies inside the frame on both sides, so the ranges are in bounds.
#[inline(always)]
fn copy_rows<const N: usize>(sources: &mut [Source], previous: &[Source], w: usize, f: &Footprint) {
    for row in 0..f.height {
        let dst = (f.dst_y + row) * w + f.dst_x;
        let src = (f.src_y + row) * w + f.src_x;
        sources[dst..dst + N].copy_from_slice(&previous[src..src + N]);
    }
}

impl Drop for SourceMap {
    fn drop(&mut self) {
        for v in [
            std::mem::take(&mut self.sources),
            std::mem::take(&mut self.previous),
        ] {
            if v.capacity() == 0 {
                continue;
            }
            // During thread teardown the pool may be gone: the buffer is simply freed.
            let _ = SPARE.try_with(|s| {
                let mut s = s.borrow_mut();
                if s.len() < SPARE_BUFFERS {
                    s.push(v);
                }
            });
        }
    }
}

impl SourceMap {
    /// The identity map: every pixel is its own source.
    pub fn identity(width: usize, height: usize) -> Result<SourceMap> {
        if width > usize::from(u16::MAX) || height > usize::from(u16::MAX) {
            return Err(Error::Limit(format!(
                "repr: frame {width}x{height} is larger than 65535 pixels on a side"
            )));
        }
        let mut sources = spare_buffer();
        sources.resize(width * height, Source::default());
        let mut map = SourceMap {
            width,
            height,
            // Filled by `advance`, the only reader.
            previous: spare_buffer(),
            sources,
        };
        map.reset();
        Ok(map)
    }

    /// The non-accumulated map of one frame: the identity moved by the frame's own vectors.
    pub fn of_frame(width: usize, height: usize, vectors: &[MotionVector]) -> Result<SourceMap> {
        let mut map = SourceMap::identity(width, height)?;
        map.advance(vectors);
        Ok(map)
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// The sources, row-major (`width * height` entries, all inside the frame).
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// Reset to the identity (a new reference frame) without reallocating.
    pub fn reset(&mut self) {
        // Row by row, so there is no division per pixel; both coordinates fit in u16 (checked
        // when the map was made).
        for (y, row) in self.sources.chunks_exact_mut(self.width.max(1)).enumerate() {
            for (x, s) in row.iter_mut().enumerate() {
                *s = Source {
                    x: x as u16,
                    y: y as u16,
                };
            }
        }
    }

    /// Trace the map through one more frame predicted from the current one, using `vectors`
    /// (the frame's vectors in the decoder's export order; the caller picks which ones).
    pub fn advance<'a>(&mut self, vectors: impl IntoIterator<Item = &'a MotionVector>) {
        self.previous.clear();
        self.previous.extend_from_slice(&self.sources);
        let w = self.width;
        for mv in vectors {
            let Some(f) = footprint(mv, self.width, self.height) else {
                continue;
            };
            // Whole 16- and 8-pixel rows (nearly all of them) as fixed-length copies, which
            // compile to a few vector moves instead of a `memcpy` call per row.
            match f.width {
                16 => copy_rows::<16>(&mut self.sources, &self.previous, w, &f),
                8 => copy_rows::<8>(&mut self.sources, &self.previous, w, &f),
                _ => {
                    for row in 0..f.height {
                        let dst = (f.dst_y + row) * w + f.dst_x;
                        let src = (f.src_y + row) * w + f.src_x;
                        self.sources[dst..dst + f.width]
                            .copy_from_slice(&self.previous[src..src + f.width]);
                    }
                }
            }
        }
    }

    /// Write `p - map[p]` as `(dx, dy)` pairs, row-major: `out.len() == 2 * width * height`.
    pub fn displacements_into(&self, out: &mut [i32]) {
        let w = self.width.max(1);
        let rows = self
            .sources
            .chunks_exact(w)
            .zip(out.chunks_exact_mut(2 * w));
        for (y, (sources, out)) in rows.enumerate() {
            // Coordinates fit in i32: both are at most u16::MAX.
            let y = y as i32;
            for (x, (s, d)) in sources.iter().zip(out.chunks_exact_mut(2)).enumerate() {
                d[0] = x as i32 - i32::from(s.x);
                d[1] = y - i32::from(s.y);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::footprint::tests::vector;
    use super::*;

    fn displacements(map: &SourceMap) -> Vec<i32> {
        let mut out = vec![0; 2 * map.width() * map.height()];
        map.displacements_into(&mut out);
        out
    }

    fn at(d: &[i32], w: usize, x: usize, y: usize) -> (i32, i32) {
        (d[2 * (y * w + x)], d[2 * (y * w + x) + 1])
    }

    #[test]
    fn identity_has_zero_displacement() {
        let map = SourceMap::identity(7, 5).unwrap();
        assert!(displacements(&map).iter().all(|&v| v == 0));
    }

    #[test]
    fn one_frame_writes_dst_minus_src_inside_the_block_only() {
        // 8x8 block centred on (12, 4), coming from 2 px right and 1 px down.
        let map = SourceMap::of_frame(16, 8, &[vector(8, 8, (12, 4), (14, 5))]).unwrap();
        let d = displacements(&map);
        assert_eq!(at(&d, 16, 8, 0), (-2, -1));
        // The last row's source would be y = 8 (outside): not moved.
        assert_eq!(at(&d, 16, 8, 7), (0, 0));
        assert_eq!(at(&d, 16, 15, 6), (0, 0), "source x = 17 is outside");
        assert_eq!(at(&d, 16, 13, 6), (-2, -1));
        assert_eq!(at(&d, 16, 7, 0), (0, 0), "outside the block");
    }

    #[test]
    fn accumulation_reads_the_previous_map_and_later_vectors_win() {
        let mut map = SourceMap::identity(32, 16).unwrap();
        // Frame 1: the left block comes from 3 px to its right.
        map.advance(&[vector(16, 16, (8, 8), (11, 8))]);
        // Frame 2: the right block comes from 4 px to its left, i.e. from pixels the first
        // frame already moved, then a second vector overwrites part of it.
        map.advance(&[
            vector(16, 16, (24, 8), (20, 8)),
            vector(2, 2, (17, 1), (18, 1)),
        ]);
        let d = displacements(&map);
        // (16, 2) came from (12, 2) in frame 1, which came from (15, 2) in the I-frame.
        assert_eq!(at(&d, 32, 16, 2), (1, 0));
        // (20, 0) came from (16, 0), which frame 1 did not move.
        assert_eq!(at(&d, 32, 20, 0), (4, 0));
        // (17, 1) was overwritten by the small vector: from (18, 1), unmoved before.
        assert_eq!(at(&d, 32, 17, 1), (-1, 0));
        // Reads come from the map before frame 2, not from pixels frame 2 already rewrote.
        assert_eq!(at(&d, 32, 4, 4), (-3, 0));
    }

    #[test]
    fn maps_made_from_reused_buffers_start_as_the_identity() {
        let fresh = SourceMap::identity(12, 7).unwrap().sources().to_vec();
        for (w, h) in [(40, 30), (12, 7), (3, 2), (12, 7)] {
            // Moved maps of other sizes are dropped, so their buffers go back to the pool.
            let mut moved = SourceMap::of_frame(w, h, &[vector(2, 2, (1, 1), (2, 1))]).unwrap();
            moved.advance(&[vector(2, 2, (1, 1), (2, 1))]);
            drop(moved);
            let map = SourceMap::identity(12, 7).unwrap();
            assert_eq!(map.sources(), &fresh[..]);
            // A map's first frame reads the identity, not a dropped map's state.
            let mut one = SourceMap::identity(12, 7).unwrap();
            one.advance(&[vector(2, 2, (1, 1), (2, 1))]);
            let own = SourceMap::of_frame(12, 7, &[vector(2, 2, (1, 1), (2, 1))]).unwrap();
            assert_eq!(one.sources(), own.sources());
        }
    }

    #[test]
    fn reset_restores_identity() {
        let mut map = SourceMap::of_frame(9, 9, &[vector(8, 8, (4, 4), (5, 5))]).unwrap();
        map.reset();
        assert_eq!(map.sources(), SourceMap::identity(9, 9).unwrap().sources());
    }

    #[test]
    fn huge_frames_are_refused() {
        assert!(matches!(
            SourceMap::identity(70000, 2),
            Err(Error::Limit(_))
        ));
    }
}
