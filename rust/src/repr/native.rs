//! Random access to the GOPs of a video pkdkit decodes itself: a GOP is decoded from its own
//! I-frame through the video's VOP index (the file is read once, when the `Video` is opened).
#![forbid(unsafe_code)]

use super::gop::{
    represent_gop, represent_position, represent_position_many_into, GopArrays, ReprOptions,
    Representation, Single, Target,
};
use super::residual::ResidualSample;
use crate::decoded::DecodedFrame;
use crate::frame_iter::FrameIter;
use crate::video::Video;
use crate::{Error, Result};

fn out_of_range(what: &'static str, index: i64, len: usize) -> Error {
    Error::OutOfRange { what, index, len }
}

/// Frame size of the video, `(width, height)`.
pub fn frame_size(video: &Video) -> (usize, usize) {
    (video.width() as usize, video.height() as usize)
}

/// GOP `gop` as `(first display index, number of frames)`.
pub fn gop_span(video: &Video, gop: i64) -> Result<(usize, usize)> {
    let count = video.gop_starts.len();
    let g = usize::try_from(gop).map_err(|_| out_of_range("gop", gop, count))?;
    let start = *video
        .gop_starts
        .get(g)
        .ok_or_else(|| out_of_range("gop", gop, count))?;
    let end = video
        .gop_starts
        .get(g + 1)
        .copied()
        .unwrap_or_else(|| video.num_frames());
    Ok((start, end.saturating_sub(start)))
}

/// GOP `gop` and position `position` checked, as `(first display index, position)`.
/// The position is not checked for I-frames (CoViAR ignores it there).
pub fn locate(
    video: &Video,
    gop: i64,
    position: i64,
    rep: Representation,
) -> Result<(usize, usize)> {
    let (start, len) = gop_span(video, gop)?;
    if rep == Representation::IFrame {
        return Ok((start, 0));
    }
    let what = "position";
    let pos = usize::try_from(position).map_err(|_| out_of_range(what, position, len))?;
    if pos >= len {
        return Err(out_of_range(what, position, len));
    }
    Ok((start, pos))
}

/// Frames `start..start + count` in display order, decoded from the I-frame at `start`.
fn frames(
    video: &Video,
    start: usize,
    count: usize,
) -> impl Iterator<Item = Result<DecodedFrame>> + '_ {
    FrameIter::new(video, start, start + count, None).map(|r| r.map(|f| f.frame))
}

/// The frames [`frames`] gives, decoded for `rep` only: the motion-vector representation needs
/// the vectors and not the pictures, so its frames skip reconstruction.
fn frames_for(
    video: &Video,
    start: usize,
    count: usize,
    rep: Representation,
) -> impl Iterator<Item = Result<DecodedFrame>> + '_ {
    let iter = FrameIter::new(video, start, start + count, None);
    let iter = if rep == Representation::MotionVectors {
        iter.vectors_only()
    } else {
        iter
    };
    iter.map(|r| r.map(|f| f.frame))
}

/// Every position of GOP `gop`, decoding it once.
pub fn decode_gop<T: ResidualSample>(
    video: &Video,
    gop: i64,
    options: ReprOptions,
) -> Result<GopArrays<T>> {
    let (start, len) = gop_span(video, gop)?;
    represent_gop(frames(video, start, len), options, len)
}

/// One representation of one position, allocated here.
pub fn position<T: ResidualSample>(
    video: &Video,
    gop: i64,
    position: i64,
    rep: Representation,
    options: ReprOptions,
) -> Result<Single<T>> {
    let (start, pos) = locate(video, gop, position, rep)?;
    represent_position(
        frames_for(video, start, pos + 1, rep),
        pos,
        rep,
        options,
        frame_size(video),
    )
}

/// The representation whose checks and decode a request for all of `reps` needs: I-frames
/// alone read only the I-VOP, vectors alone take the vectors-only decode, anything else the
/// full decode up to the position.
pub fn governing(reps: impl IntoIterator<Item = Representation>) -> Representation {
    let reps: Vec<Representation> = reps.into_iter().collect();
    if reps.iter().all(|&r| r == Representation::IFrame) {
        Representation::IFrame
    } else if reps.iter().all(|&r| r == Representation::MotionVectors) {
        Representation::MotionVectors
    } else {
        *reps
            .iter()
            .find(|&&r| r != Representation::IFrame && r != Representation::MotionVectors)
            .unwrap_or(&Representation::Residual)
    }
}

/// One representation of one position written into `target` (a batch slot).
pub fn position_into<T: ResidualSample>(
    video: &Video,
    gop: i64,
    position: i64,
    options: ReprOptions,
    target: Target<'_, T>,
) -> Result<()> {
    position_many_into(video, gop, position, options, vec![target])
}

/// Several representations of one position written into their `targets` (one batch slot
/// each), from one decode of the GOP up to the position.
pub fn position_many_into<T: ResidualSample>(
    video: &Video,
    gop: i64,
    position: i64,
    options: ReprOptions,
    targets: Vec<Target<'_, T>>,
) -> Result<()> {
    let rep = governing(targets.iter().map(Target::representation));
    let (start, pos) = locate(video, gop, position, rep)?;
    represent_position_many_into(
        frames_for(video, start, pos + 1, rep),
        pos,
        options,
        targets,
    )
}
