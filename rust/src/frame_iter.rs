//! Decoding a [`Video`] into pictures: a streaming iterator in display order (holding only the
//! decoder's reference pictures between frames, so memory does not grow with the video), and
//! decoding of one range of frames (a GOP) for the representations.
#![forbid(unsafe_code)]

use std::ops::Deref;

use crate::bits::BitReader;
use crate::decoded::{DecodedFrame, FrameType};
use crate::mpeg4::bvop::BMotion;
use crate::mpeg4::decoder::Decoder;
use crate::mpeg4::header::parse_gov;
use crate::mpeg4::idct::IdctKind;
use crate::mpeg4::mode::DecodeMode;
use crate::mpeg4::quirks::auto_idct;
use crate::video::Video;
use crate::{Error, Result};

/// One output frame with its damage report.
#[derive(Clone, Debug)]
pub struct StreamFrame {
    /// The picture; `frame.index` is its display index in the video.
    pub frame: DecodedFrame,
    /// Macroblocks concealed because of bitstream errors (0 for an intact frame).
    pub damaged_mbs: usize,
}

/// Streaming decoder over the frames `[start, end)` (display order) of a video, borrowed
/// (`&Video`) or shared (`Arc<Video>`).
pub struct FrameIter<V: Deref<Target = Video>> {
    video: V,
    decoder: Option<Decoder>,
    /// Why no decoder could be made (reported by the first `next`).
    init_error: Option<Error>,
    /// Next display index to output.
    next: usize,
    end: usize,
    /// Next VOP (decode order) to decode.
    next_vop: usize,
    /// The last frame output with the VOP it came from, kept only when FFmpeg shows that VOP
    /// again (a repeated final picture).
    repeat: Option<(usize, StreamFrame)>,
    /// A frame decoded before its display position (an I/P-VOP decoded before the B-VOPs
    /// shown ahead of it), with its VOP index.
    pending: Option<(usize, StreamFrame)>,
    failed: bool,
}

impl<V: Deref<Target = Video>> FrameIter<V> {
    /// Frames `start..end` (display order, clamped to the video) of `video`: decoding starts
    /// at the I-VOP at or before the first one.
    pub fn new(video: V, start: usize, end: usize, idct: Option<IdctKind>) -> Self {
        let end = end.min(video.num_frames());
        let first_vop = video.display.get(start).copied().unwrap_or(0);
        // The last I-VOP at or before the first frame's VOP that is also shown at or before it
        // (B-VOPs shown before an I-VOP predict from the reference before that I-VOP).
        let next_vop = (0..=first_vop)
            .rev()
            .find(|&k| {
                video.vops.get(k).is_some_and(|v| {
                    v.header.coding_type == FrameType::I
                        && v.display_index.is_some_and(|d| d <= start)
                })
            })
            .unwrap_or(0);
        let (decoder, init_error) = match video.decoder(idct) {
            Ok(d) => (Some(d), None),
            Err(e) => (None, Some(e)),
        };
        FrameIter {
            video,
            decoder,
            init_error,
            next: start,
            end,
            next_vop,
            repeat: None,
            pending: None,
            failed: false,
        }
    }

    /// Export the vectors B-frames are really predicted with instead of FFmpeg's zero motion
    /// ([`BMotion::Real`]; the default is [`BMotion::Ffmpeg`]).
    pub fn with_b_motion(mut self, b_motion: BMotion) -> Self {
        if let Some(decoder) = self.decoder.as_mut() {
            decoder.set_b_motion(b_motion);
        }
        self
    }
}

impl<V: Deref<Target = Video>> FrameIter<V> {
    /// Decode only what the motion vectors need: the frames' vectors are those of a full
    /// decode, their pictures sized but without samples (see [`DecodeMode::Vectors`]).
    pub fn vectors_only(mut self) -> Self {
        if let Some(decoder) = self.decoder.as_mut() {
            decoder.set_mode(DecodeMode::Vectors);
        }
        self
    }
}

impl Video {
    /// Every frame in display order, decoded one at a time. `idct` overrides FFmpeg's
    /// automatic choice.
    pub fn frames(&self, idct: Option<IdctKind>) -> FrameIter<&Video> {
        FrameIter::new(self, 0, self.num_frames(), idct)
    }

    /// Frames `start..end` (display order, clamped to the video): decoding starts at the
    /// I-VOP at or before the first one.
    pub fn frames_range(
        &self,
        start: usize,
        end: usize,
        idct: Option<IdctKind>,
    ) -> FrameIter<&Video> {
        FrameIter::new(self, start, end, idct)
    }

    /// Decode VOPs `first_vop..=last_vop` (decode order; `first_vop` should be an I-VOP) and
    /// return the frames they output, with display indices.
    pub fn decode_range(
        &self,
        first_vop: usize,
        last_vop: usize,
        idct: Option<IdctKind>,
    ) -> Result<Vec<StreamFrame>> {
        let mut decoder = self.decoder(idct)?;
        let mut out = Vec::new();
        let last = last_vop.min(self.vops.len().saturating_sub(1));
        for k in first_vop..=last {
            if let Some(frame) = self.decode_vop(&mut decoder, k)? {
                out.push(frame);
            }
        }
        Ok(out)
    }

    /// Whether FFmpeg outputs every picture as soon as it is decoded (`low_delay`): as
    /// signalled by the VOL, else assumed for Simple/Advanced Simple object types until a
    /// B-VOP shows up.
    fn low_delay(&self) -> bool {
        self.vol.low_delay.unwrap_or_else(|| {
            matches!(self.vol.vo_type, 1 | 17)
                && !self
                    .vops
                    .iter()
                    .any(|v| v.header.coding_type == FrameType::B)
        })
    }

    /// A decoder for this video with FFmpeg's automatic choices (IDCT unless `idct` is given,
    /// encoder workarounds) from its user data and container tag.
    pub(crate) fn decoder(&self, idct: Option<IdctKind>) -> Result<Decoder> {
        let mut decoder = Decoder::new(&self.vol, &self.encoder, idct.or(Some(self.auto_idct())))?;
        decoder.set_fourcc(&self.encoder, self.fourcc.as_deref());
        Ok(decoder)
    }

    /// The IDCT FFmpeg would choose for this video (by encoder, else by container tag).
    pub fn auto_idct(&self) -> IdctKind {
        auto_idct(&self.encoder, self.fourcc.as_deref())
    }

    /// The time code of a group-of-VOP header right before the VOP at byte `offset`, if any
    /// (FFmpeg's encoder writes VOS/VOL/GOV headers directly before the VOP; an all-zero GOV
    /// is ignored like FFmpeg does).
    pub(crate) fn gov_before(&self, offset: usize) -> Option<u32> {
        let data = self.data();
        let window = data.get(offset.saturating_sub(16)..offset)?;
        let at = window.windows(4).rposition(|w| w == [0, 0, 1, 0xB3])?;
        let body = window.get(at + 4..)?;
        if BitReader::new(body).peek(23) == 0 {
            return None;
        }
        parse_gov(&mut BitReader::new(body)).ok().map(|(s, _, _)| s)
    }

    /// Decode VOP `k` with `decoder`; `None` when FFmpeg outputs no frame for it.
    pub(crate) fn decode_vop(
        &self,
        decoder: &mut Decoder,
        k: usize,
    ) -> Result<Option<StreamFrame>> {
        let Some(entry) = self.vops.get(k) else {
            return Ok(None);
        };
        if entry.header.coding_type == FrameType::B && entry.display_index.is_none() {
            // A B-VOP FFmpeg drops (bad time order): nothing to decode, no state to update.
            return Ok(None);
        }
        if let Some(seconds) = self.gov_before(entry.offset) {
            decoder.gov(seconds);
        }
        let frame = decoder
            .decode(self.vop_bytes(k), &entry.header)
            .map_err(|e| e.at_frame(entry.display_index.unwrap_or(k)))?;
        Ok(frame.and_then(|mut frame| {
            frame.index = entry.display_index?;
            Some(StreamFrame {
                frame,
                damaged_mbs: decoder.damaged_mbs(),
            })
        }))
    }
}

impl<V: Deref<Target = Video>> FrameIter<V> {
    /// Pictures the decoder holds right now (at most 3: the two references B-VOPs need and a
    /// recycled buffer).
    pub fn pictures_held(&self) -> usize {
        self.decoder.as_ref().map_or(0, Decoder::pictures_held)
    }

    fn next_frame(&mut self) -> Result<Option<StreamFrame>> {
        if self.next >= self.end {
            return Ok(None);
        }
        if let Some(e) = self.init_error.take() {
            return Err(e);
        }
        let video = &*self.video;
        let index = self.next;
        let Some(&vop) = video.display.get(index) else {
            return Ok(None);
        };
        let Some(decoder) = self.decoder.as_mut() else {
            return Ok(None);
        };
        let mut found = match self.pending.take() {
            Some((k, frame)) if k == vop => Some(frame),
            other => {
                self.pending = other;
                None
            }
        };
        if found.is_none() {
            found = match self.repeat.take() {
                // FFmpeg's repeat of the last picture (after a final not-coded VOP) carries no
                // exported vectors.
                Some((k, mut frame)) if k == vop => {
                    frame.frame.motion_vectors.clear();
                    Some(frame)
                }
                _ => None,
            };
        }
        while found.is_none() && self.next_vop <= vop {
            let k = self.next_vop;
            self.next_vop += 1;
            let frame = video.decode_vop(decoder, k)?;
            if k == vop {
                found = frame;
            } else if let Some(frame) = frame.filter(|f| f.frame.index > index) {
                self.pending = Some((k, frame));
            }
        }
        let Some(mut frame) = found else {
            return Err(Error::corrupt(
                video.vops.get(vop).map_or(0, |v| v.offset as u64),
                "mpeg4: the VOP of this frame produced no picture",
            )
            .at_frame(index));
        };
        frame.frame.index = index;
        if index + 1 == video.num_frames() && !video.low_delay() {
            // FFmpeg outputs the last reference of a delayed (B-frame) stream when it is
            // flushed, without exported vectors.
            frame.frame.motion_vectors.clear();
        }
        self.next += 1;
        if video.display.get(index + 1) == Some(&vop) {
            self.repeat = Some((vop, frame.clone()));
        }
        Ok(Some(frame))
    }
}

impl<V: Deref<Target = Video>> Iterator for FrameIter<V> {
    type Item = Result<StreamFrame>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_frame() {
            Ok(frame) => frame.map(Ok),
            Err(e) => {
                // One error ends the stream: the decoder state is no longer meaningful.
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}
