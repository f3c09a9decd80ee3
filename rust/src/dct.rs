//! The DCT coefficients of a video's frames, decoded in
//! [`DecodeMode::Coefficients`]: no pixels, no motion compensation, no IDCT.
//!
//! Coefficients of an I- or P-VOP depend on nothing but its own bits (motion vector prediction
//! and DC/AC prediction stay inside the VOP), so a frame's coefficients come from decoding its
//! VOP alone. A B-VOP's direct mode needs the vectors of its future reference and the temporal
//! distances of the VOP clock: that reference is parsed too (in coefficient mode), and the VOPs
//! before it only move the clock, from the I-VOP where a full decode would start.
//!
//! [`load_batch`] stacks many samples as `(N, rows, cols, 192)`: per 8x8 luma block, its 64 Y
//! coefficients, then the 64 of the Cb block and the 64 of the Cr block covering it (each chroma
//! block repeated over the 2x2 luma blocks it covers).
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::ops::Deref;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::decoded::{FrameType, YuvFrame};
use crate::mpeg4::coefficients::Coefficients;
use crate::mpeg4::decoder::Decoder;
use crate::mpeg4::mode::DecodeMode;
use crate::repr::batch::{batch_size, distinct_paths, on_pool, thread_count, BatchError};
use crate::repr::native::gop_span;
use crate::video::Video;
use crate::{Error, Result};

/// Values per block position in a [`load_batch`] sample: Y, Cb and Cr coefficients.
pub const BATCH_CHANNELS: usize = 3 * 64;

/// The coefficients of display frame `index`.
pub fn frame_coefficients(video: &Video, index: usize) -> Result<Coefficients> {
    let Some(&k) = video.display.get(index) else {
        return Err(Error::OutOfRange {
            what: "frame",
            index: index as i64,
            len: video.num_frames(),
        });
    };
    let mut decoder = video.decoder(None)?;
    decoder.set_mode(DecodeMode::Coefficients);
    let is_b = video
        .vops
        .get(k)
        .is_some_and(|v| v.header.coding_type == FrameType::B);
    if is_b {
        prepare_b(video, &mut decoder, k, index)?;
        // The future reference's coefficients are not this frame's (a dropped B-VOP records none).
        if let Some(theirs) = decoder.take_coefficients() {
            theirs.recycle();
        }
    }
    video.decode_vop(&mut decoder, k)?;
    decoder.take_coefficients().ok_or_else(|| {
        let offset = video.vops.get(k).map_or(0, |v| v.offset as u64);
        Error::corrupt(
            offset,
            "mpeg4: the VOP of this frame produced no coefficients",
        )
        .at_frame(index)
    })
}

/// The coefficients of position `position` of GOP `gop`.
pub fn coefficients(video: &Video, gop: i64, position: i64) -> Result<Coefficients> {
    let (start, len) = gop_span(video, gop)?;
    let pos = usize::try_from(position)
        .ok()
        .filter(|&p| p < len)
        .ok_or(Error::OutOfRange {
            what: "position",
            index: position,
            len,
        })?;
    frame_coefficients(video, start + pos)
}

/// The coefficients of every frame of GOP `gop`, in display order. The VOPs are decoded once,
/// in decode order, from the GOP's I-VOP: each B-frame's future reference is parsed once for
/// all of its B-frames (what [`coefficients`] per position repeats), and one decoder serves the
/// whole GOP. Equal, frame for frame, to [`coefficients`] of each position.
pub fn gop_coefficients(video: &Video, gop: i64) -> Result<Vec<Coefficients>> {
    let (start, len) = gop_span(video, gop)?;
    let shown = start..start + len;
    let vops: Vec<usize> = shown
        .clone()
        .filter_map(|i| video.display.get(i).copied())
        .collect();
    let (Some(&first), Some(&last)) = (vops.iter().min(), vops.iter().max()) else {
        return Ok(Vec::new());
    };
    let mut decoder = video.decoder(None)?;
    decoder.set_mode(DecodeMode::Coefficients);
    let mut out: Vec<Option<Coefficients>> = (0..len).map(|_| None).collect();
    for k in start_vop(video, first, start)..=last {
        let Some(entry) = video.vops.get(k) else {
            break;
        };
        let mine = entry.display_index.filter(|d| shown.contains(d));
        if mine.is_none() && entry.header.coding_type == FrameType::B {
            // Another GOP's B-frame: nothing later depends on its bits.
            decoder.skip(&entry.header);
            continue;
        }
        video.decode_vop(&mut decoder, k)?;
        let record = decoder.take_coefficients();
        match mine.and_then(|d| out.get_mut(d - start)) {
            Some(slot) => *slot = record,
            None => record.map_or((), Coefficients::recycle),
        }
    }
    out.into_iter()
        .enumerate()
        .map(|(pos, c)| {
            c.ok_or_else(|| {
                let offset = vops.get(pos).and_then(|&k| video.vops.get(k));
                Error::corrupt(
                    offset.map_or(0, |v| v.offset as u64),
                    "mpeg4: the VOP of this frame produced no coefficients",
                )
                .at_frame(start + pos)
            })
        })
        .collect()
}

/// The coefficients of every frame of a video, in display order, as one decode: every VOP is
/// parsed once, in decode order, by one decoder (as [`crate::frame_iter::FrameIter`] decodes the
/// pixels), and a frame is handed out as soon as the frames before it are. At most the
/// reference decoded ahead of its B-frames waits, so the buffers of a consumer that drops each
/// frame are recycled while still in cache.
pub struct CoefficientStream<V: Deref<Target = Video>> {
    video: V,
    decoder: Option<Decoder>,
    next_vop: usize,
    next_frame: usize,
    waiting: BTreeMap<usize, Coefficients>,
}

impl<V: Deref<Target = Video>> CoefficientStream<V> {
    pub fn new(video: V) -> Result<Self> {
        let mut decoder = video.decoder(None)?;
        decoder.set_mode(DecodeMode::Coefficients);
        Ok(CoefficientStream {
            video,
            decoder: Some(decoder),
            next_vop: 0,
            next_frame: 0,
            waiting: BTreeMap::new(),
        })
    }
}

impl<V: Deref<Target = Video>> Iterator for CoefficientStream<V> {
    type Item = Result<Coefficients>;

    fn next(&mut self) -> Option<Self::Item> {
        let video = &*self.video;
        loop {
            if let Some(c) = self.waiting.remove(&self.next_frame) {
                self.next_frame += 1;
                return Some(Ok(c));
            }
            if self.next_frame >= video.num_frames() {
                return None;
            }
            let decoder = self.decoder.as_mut()?;
            let k = self.next_vop;
            let Some(entry) = video.vops.get(k) else {
                // Every VOP is decoded and this frame got nothing: say so, once.
                self.decoder = None;
                let error =
                    Error::corrupt(0, "mpeg4: the VOP of this frame produced no coefficients");
                return Some(Err(error.at_frame(self.next_frame)));
            };
            self.next_vop += 1;
            if let Err(e) = video.decode_vop(decoder, k) {
                self.decoder = None;
                return Some(Err(e));
            }
            let record = decoder.take_coefficients();
            match (entry.display_index, record) {
                (Some(d), Some(c)) if d >= self.next_frame => {
                    self.waiting.insert(d, c);
                }
                (_, record) => record.map_or((), Coefficients::recycle),
            }
        }
    }
}

/// The motion-compensated prediction of display frame `index` ([`DecodeMode::Prediction`]):
/// the frames before it decoded in full from their I-frame, then this one without the texture
/// of its inter blocks. For tests and methods that compare a frame with its prediction.
pub fn frame_prediction(video: &Video, index: usize) -> Result<YuvFrame> {
    let Some(&k) = video.display.get(index) else {
        return Err(Error::OutOfRange {
            what: "frame",
            index: index as i64,
            len: video.num_frames(),
        });
    };
    let mut decoder = video.decoder(None)?;
    for j in start_vop(video, k, index)..k {
        video.decode_vop(&mut decoder, j)?;
    }
    decoder.set_mode(DecodeMode::Prediction);
    let frame = video.decode_vop(&mut decoder, k)?.ok_or_else(|| {
        let offset = video.vops.get(k).map_or(0, |v| v.offset as u64);
        Error::corrupt(offset, "mpeg4: the VOP of this frame produced no picture").at_frame(index)
    })?;
    Ok(frame.frame.yuv)
}

/// The VOP a full decode of display frame `index` (VOP `k`) starts at: the last I-VOP at or
/// before `k` shown at or before the frame (as [`crate::frame_iter::FrameIter`] starts).
fn start_vop(video: &Video, k: usize, index: usize) -> usize {
    (0..=k)
        .rev()
        .find(|&j| {
            video.vops.get(j).is_some_and(|v| {
                v.header.coding_type == FrameType::I && v.display_index.is_some_and(|d| d <= index)
            })
        })
        .unwrap_or(0)
}

/// Bring `decoder` to where B-VOP `k` (display `index`) can be parsed: the VOP clock (and the
/// first B-VOP's distance, `t_frame`) fed from the I-VOP a full decode would start at, and the
/// future reference's motion parsed.
fn prepare_b(video: &Video, decoder: &mut Decoder, k: usize, index: usize) -> Result<()> {
    let is_ref = |j: usize| {
        video
            .vops
            .get(j)
            .is_some_and(|v| v.header.coding_type != FrameType::B && v.header.vop_coded)
    };
    let start = start_vop(video, k, index);
    let future = (start..k).rev().find(|&j| is_ref(j));
    for j in start..k {
        let Some(entry) = video.vops.get(j) else {
            break;
        };
        if Some(j) == future {
            video.decode_vop(decoder, j)?;
        } else {
            if entry.header.coding_type != FrameType::B {
                if let Some(seconds) = video.gov_before(entry.offset) {
                    decoder.gov(seconds);
                }
            }
            // B-VOPs too: the first one fixes the frame duration of interlaced direct mode.
            decoder.skip(&entry.header);
        }
    }
    Ok(())
}

/// The coefficients of `c` packed into `out` (`rows x cols x 192`, see the module docs).
pub fn pack_into(c: &Coefficients, out: &mut [i16]) {
    let cols = 2 * c.mb_width;
    for (k, cell) in out.chunks_exact_mut(BATCH_CHANNELS).enumerate() {
        let (row, col) = (k / cols, k % cols);
        let luma = k * 64;
        let chroma = ((row / 2) * c.mb_width + col / 2) * 64;
        for (dst, plane, at) in [(0, &c.y, luma), (64, &c.u, chroma), (128, &c.v, chroma)] {
            if let Some(src) = plane.get(at..at + 64) {
                cell[dst..dst + 64].copy_from_slice(src);
            }
        }
    }
}

/// Many samples' coefficients decoded in parallel, stacked as `(N, rows, cols, 192)`.
pub struct CoefficientBatch {
    pub len: usize,
    /// Block rows and columns of the macroblock-aligned picture.
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<i16>,
}

/// Sample `i` is position `positions[i]` of GOP `gops[i]` of `paths[i]`; `threads` as in
/// [`crate::repr::batch::load_batch`] (0 = all cores). Every file needs the same block grid.
pub fn load_batch(
    paths: &[PathBuf],
    gops: &[i64],
    positions: &[i64],
    threads: usize,
) -> std::result::Result<CoefficientBatch, BatchError> {
    let n = batch_size(paths, gops, positions)?;
    let video_error = |path: &Path| {
        let path = path.to_path_buf();
        move |error| BatchError::Video {
            path: path.clone(),
            error,
        }
    };
    let (distinct, slots) = distinct_paths(paths);
    on_pool(thread_count(threads), |parallel| {
        let open = |p: &&Path| Video::open(p).map_err(video_error(p));
        let videos: Vec<Video> = if parallel {
            distinct
                .par_iter()
                .map(open)
                .collect::<std::result::Result<_, _>>()?
        } else {
            distinct
                .iter()
                .map(open)
                .collect::<std::result::Result<_, _>>()?
        };
        let grid = |v: &Video| {
            (
                2 * (v.height() as usize).div_ceil(16),
                2 * (v.width() as usize).div_ceil(16),
            )
        };
        let (rows, cols) = grid(&videos[0]);
        for (video, path) in videos.iter().zip(&distinct) {
            if grid(video) != (rows, cols) {
                return Err(BatchError::Arguments(format!(
                    "{}: a {}x{} block grid differs from {}'s {rows}x{cols}; a batch needs one size",
                    path.display(),
                    grid(video).0,
                    grid(video).1,
                    distinct[0].display()
                )));
            }
            video.check_decodable().map_err(video_error(path))?;
        }
        // Check every index before decoding anything.
        for i in 0..n {
            let (_, len) = gop_span(&videos[slots[i]], gops[i]).map_err(video_error(&paths[i]))?;
            if !(0..len as i64).contains(&positions[i]) {
                let error = Error::OutOfRange {
                    what: "position",
                    index: positions[i],
                    len,
                };
                return Err(video_error(&paths[i])(error));
            }
        }
        let per_sample = rows * cols * BATCH_CHANNELS;
        let decode = |(i, out): (usize, &mut [i16])| {
            let c = coefficients(&videos[slots[i]], gops[i], positions[i])
                .map_err(video_error(&paths[i]))?;
            pack_into(&c, out);
            c.recycle();
            Ok(())
        };
        let mut data = vec![0i16; n * per_sample];
        if parallel {
            data.par_chunks_mut(per_sample)
                .enumerate()
                .try_for_each(decode)?;
        } else {
            data.chunks_mut(per_sample)
                .enumerate()
                .try_for_each(decode)?;
        }
        Ok(CoefficientBatch {
            len: n,
            rows,
            cols,
            data,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mpeg4::coefficients::block_type;
    use crate::mpeg4::texture::Dequantiser;

    fn tiny() -> Video {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tiny.m4v");
        Video::open(Path::new(path)).unwrap()
    }

    #[test]
    fn every_frame_has_coefficients_without_pixels() {
        let video = tiny();
        let (mbw, mbh) = (
            (video.width() as usize).div_ceil(16),
            (video.height() as usize).div_ceil(16),
        );
        let mut intra_frames = 0;
        for index in 0..video.num_frames() {
            let c = frame_coefficients(&video, index).unwrap();
            assert_eq!(c.y.len(), 4 * mbw * mbh * 64);
            assert_eq!(c.block_types.len(), 6 * mbw * mbh);
            assert!(c.qscale.iter().all(|&q| (1..=31).contains(&q)));
            let letter = video.frame_types.as_bytes()[index] as char;
            assert_eq!(c.frame_type.letter(), letter);
            if letter == 'I' {
                intra_frames += 1;
                assert!(c.block_types.iter().all(|&t| t == block_type::INTRA));
                // Every intra block has a DC: the mean of its samples times 8, in 0..=2040.
                assert!(c.y.chunks(64).all(|b| (0..=2040).contains(&b[0])));
            }
        }
        assert!(intra_frames > 0);
        let err = frame_coefficients(&video, video.num_frames()).unwrap_err();
        assert!(matches!(err, Error::OutOfRange { .. }), "{err}");
        assert!(matches!(
            coefficients(&video, 0, -1),
            Err(Error::OutOfRange { .. })
        ));
    }

    #[test]
    fn not_coded_blocks_are_zero_and_levels_dequantise_to_the_coefficients() {
        let video = tiny();
        let deq = Dequantiser::new(&video.vol, &video.vops[0].header);
        for index in 0..video.num_frames() {
            let c = frame_coefficients(&video, index).unwrap();
            let mbw = c.mb_width;
            for mb in 0..mbw * c.mb_height {
                let (mb_x, mb_y) = (mb % mbw, mb / mbw);
                for i in 0..6 {
                    let (plane, levels, at) = match i {
                        0..=3 => {
                            let (r, col) = (2 * mb_y + i / 2, 2 * mb_x + i % 2);
                            (&c.y, &c.y_levels, (r * 2 * mbw + col) * 64)
                        }
                        4 => (&c.u, &c.u_levels, mb * 64),
                        _ => (&c.v, &c.v_levels, mb * 64),
                    };
                    let block: &[i16; 64] = plane[at..at + 64].try_into().unwrap();
                    let lv: &[i16; 64] = levels[at..at + 64].try_into().unwrap();
                    let mut want = [0i16; 64];
                    match c.block_types[mb * 6 + i] {
                        block_type::INTRA => deq.intra(lv, i, c.qscale[mb], &mut want),
                        block_type::INTER => deq.inter(lv, c.qscale[mb], &mut want),
                        _ => assert!(lv.iter().all(|&v| v == 0)),
                    }
                    assert_eq!(block, &want, "frame {index} mb {mb} block {i}");
                }
            }
        }
    }

    #[test]
    fn coefficient_mode_matches_the_full_decode_through_the_idct() {
        // Intra blocks: the IDCT of the recorded coefficients is the decoded picture itself.
        let video = tiny();
        let full: Vec<_> = video.frames(None).map(|f| f.unwrap().frame).collect();
        let idct = video.auto_idct();
        for (index, frame) in full.iter().enumerate() {
            let c = frame_coefficients(&video, index).unwrap();
            let mbw = c.mb_width;
            let (w, h) = (frame.yuv.width(), frame.yuv.height());
            for mb in 0..mbw * c.mb_height {
                for i in 0..4 {
                    if c.block_types[mb * 6 + i] != block_type::INTRA {
                        continue;
                    }
                    let (r, col) = (2 * (mb / mbw) + i / 2, 2 * (mb % mbw) + i % 2);
                    let at = (r * 2 * mbw + col) * 64;
                    let mut block: [i16; 64] = c.y[at..at + 64].try_into().unwrap();
                    crate::mpeg4::idct::idct_in_place(idct, &mut block);
                    for (k, &v) in block.iter().enumerate() {
                        let (x, y) = (col * 8 + k % 8, r * 8 + k / 8);
                        if x < w && y < h {
                            assert_eq!(frame.yuv.y.at(x, y), v.clamp(0, 255) as u8);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn prediction_plus_the_inter_residual_is_the_decoded_frame() {
        // Where no sum clamps, decoded - prediction is the IDCT of an inter block's
        // coefficients, and not-coded blocks of inter MBs equal their prediction.
        let video = tiny();
        let full: Vec<_> = video.frames(None).map(|f| f.unwrap().frame).collect();
        let idct = video.auto_idct();
        let mut checked = 0;
        for (index, frame) in full.iter().enumerate() {
            let c = frame_coefficients(&video, index).unwrap();
            let pred = frame_prediction(&video, index).unwrap();
            let mbw = c.mb_width;
            let (w, h) = (frame.yuv.width(), frame.yuv.height());
            for mb in 0..mbw * c.mb_height {
                for i in 0..4 {
                    let t = c.block_types[mb * 6 + i];
                    let (r, col) = (2 * (mb / mbw) + i / 2, 2 * (mb % mbw) + i % 2);
                    let at = (r * 2 * mbw + col) * 64;
                    let mut block: [i16; 64] = c.y[at..at + 64].try_into().unwrap();
                    if t == block_type::INTER {
                        crate::mpeg4::idct::idct_in_place(idct, &mut block);
                    }
                    if t == block_type::INTRA {
                        continue;
                    }
                    for (k, &res) in block.iter().enumerate() {
                        let (x, y) = (col * 8 + k % 8, r * 8 + k / 8);
                        if x < w && y < h {
                            let p = i16::from(pred.y.at(x, y));
                            let want = (p + res).clamp(0, 255) as u8;
                            assert_eq!(frame.yuv.y.at(x, y), want, "frame {index} ({x}, {y})");
                            checked += usize::from(t == block_type::INTER);
                        }
                    }
                }
            }
        }
        assert!(checked > 0);
    }

    #[test]
    fn modes_other_than_full_leave_no_reference_behind() {
        let video = tiny();
        let mut decoder = video.decoder(None).unwrap();
        decoder.set_mode(DecodeMode::Coefficients);
        let total = (video.width() as usize).div_ceil(16) * (video.height() as usize).div_ceil(16);
        let mut p_vops = Vec::new();
        for k in 0..video.vops.len() {
            let frame = video.decode_vop(&mut decoder, k).unwrap().unwrap();
            // No pixels, no picture buffers, no exported vectors: the record is the output.
            assert_eq!(frame.frame.yuv.y.data.len(), 0);
            assert!(frame.frame.motion_vectors.is_empty());
            assert_eq!(decoder.pictures_held(), 0);
            let c = decoder.take_coefficients().unwrap();
            assert_eq!(c.frame_type, frame.frame.frame_type);
            if c.frame_type == FrameType::P {
                p_vops.push(k);
            }
            assert!(decoder.take_coefficients().is_none(), "taken once");
        }
        // Full decoding right after: a P-VOP has no reference and says so.
        decoder.set_mode(DecodeMode::Full);
        let k = *p_vops.last().unwrap();
        let frame = video.decode_vop(&mut decoder, k).unwrap().unwrap();
        assert_eq!(frame.damaged_mbs, total);
        assert!(decoder.take_coefficients().is_none());
        // Prediction mode keeps no reference either.
        let mut decoder = video.decoder(None).unwrap();
        video.decode_vop(&mut decoder, 0).unwrap();
        decoder.set_mode(DecodeMode::Prediction);
        video.decode_vop(&mut decoder, 1).unwrap();
        decoder.set_mode(DecodeMode::Full);
        assert_eq!(
            video
                .decode_vop(&mut decoder, 2)
                .unwrap()
                .unwrap()
                .damaged_mbs,
            total
        );
    }

    #[test]
    fn batches_pack_y_then_the_covering_chroma_blocks() {
        let video = tiny();
        let c = frame_coefficients(&video, 1).unwrap();
        let (rows, cols) = (2 * c.mb_height, 2 * c.mb_width);
        let mut out = vec![0i16; rows * cols * BATCH_CHANNELS];
        pack_into(&c, &mut out);
        let (r, col) = (rows - 1, cols - 1);
        let cell = &out[(r * cols + col) * BATCH_CHANNELS..][..BATCH_CHANNELS];
        assert_eq!(&cell[..64], &c.y[(r * cols + col) * 64..][..64]);
        let chroma = ((r / 2) * c.mb_width + col / 2) * 64;
        assert_eq!(&cell[64..128], &c.u[chroma..chroma + 64]);
        assert_eq!(&cell[128..], &c.v[chroma..chroma + 64]);

        let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tiny.m4v"));
        let batch = load_batch(&[path.clone(), path.clone()], &[0, 0], &[1, 0], 2).unwrap();
        assert_eq!((batch.len, batch.rows, batch.cols), (2, rows, cols));
        assert_eq!(&batch.data[..out.len()], &out[..]);
        assert!(matches!(
            load_batch(&[path], &[0], &[999], 1),
            Err(BatchError::Video {
                error: Error::OutOfRange { .. },
                ..
            })
        ));
    }
}

#[cfg(test)]
mod timing {
    use super::*;

    /// `DCT_CLIP=clip.mp4 cargo test --release --lib dct::timing -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn full_vs_coefficients() {
        let path = std::env::var("DCT_CLIP").unwrap();
        let video = Video::open(Path::new(&path)).unwrap();
        if std::env::var("DCT_PER_FRAME").is_ok() {
            for _ in 0..20 {
                for i in 0..video.num_frames() {
                    frame_coefficients(&video, i).unwrap();
                }
            }
            return;
        }
        for _ in 0..3 {
            let t = std::time::Instant::now();
            let n = video.frames(None).count();
            let full = t.elapsed();
            // The parse alone (vectors mode: every bit read, nothing stored): what no
            // coefficient path can beat.
            let t = std::time::Instant::now();
            assert_eq!(video.frames(None).vectors_only().count(), n);
            let parse = t.elapsed();
            let t = std::time::Instant::now();
            let mut decoder = video.decoder(None).unwrap();
            decoder.set_mode(DecodeMode::Coefficients);
            for k in 0..video.vops.len() {
                video.decode_vop(&mut decoder, k).unwrap();
                if let Some(c) = decoder.take_coefficients() {
                    c.recycle();
                }
            }
            let seq = t.elapsed();
            let t = std::time::Instant::now();
            for i in 0..n {
                frame_coefficients(&video, i).unwrap().recycle();
            }
            let random = t.elapsed();
            let ratio = |d: std::time::Duration| full.as_secs_f64() / d.as_secs_f64();
            println!(
                "{n} frames: full {full:?}, parse only {parse:?} ({:.2}x), coefficients sequential {seq:?} ({:.2}x), per frame {random:?} ({:.2}x)",
                ratio(parse), ratio(seq), ratio(random)
            );
        }
    }
}
