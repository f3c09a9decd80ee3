//! Walks the frames of one GOP in display order and produces CoViAR's representations for any
//! position, from the frames and their exported block vectors.
//!
//! A GOP is an I-frame and every frame after it up to the next I-frame. Position 0 (the I-frame)
//! has all-zero motion vectors and residuals. For later positions:
//! - accumulated: motion vectors `p - accu[p]` and residual `frame - I[accu[p]]`, with `accu` the
//!   back-pointer map traced through every reference frame since the I-frame;
//! - non-accumulated: the frame's own vectors and the residual against the frame it predicts
//!   from, sampled through those vectors.
//!
//! Which frame a frame predicts from: the latest I-, P- or S-frame before it in display order
//! (its "anchor"). Without B-frames that is simply the previous frame, as in CoViAR. Only past
//! vectors (`source < 0`) are used: a B-frame's forward vectors point into its past anchor; its
//! backward vectors, and B-frames themselves, never feed later frames (nothing predicts from a
//! B-frame in MPEG-4 Part 2). For H.264/HEVC through FFmpeg this is an approximation: a past
//! vector may really point to an older reference, which FFmpeg's export does not say.
#![forbid(unsafe_code)]

use super::colour::{yuv_to_rgb, yuv_to_rgb_into};
use super::residual::{residual_into, ResidualSample};
use super::source_map::SourceMap;
use crate::decoded::{DecodedFrame, FrameType, MotionVector, YuvFrame};
use crate::{Error, Result};

/// How to compute the representations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReprOptions {
    /// Trace back to the I-frame (CoViAR's default) rather than to the previous reference.
    pub accumulate: bool,
    /// Channel order of I-frames and residuals: BGR (CoViAR) instead of RGB.
    pub bgr: bool,
}

/// The three representations CoViAR defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Representation {
    IFrame,
    MotionVectors,
    Residual,
    /// The decoded frame at the position itself (what CoViAR's loader returns for its
    /// representation 0; at position 0 it is the I-frame).
    Frame,
}

impl Representation {
    /// From the names the Python API uses: `"iframe"`, `"mv"` or `"residual"`.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "iframe" => Ok(Representation::IFrame),
            "mv" => Ok(Representation::MotionVectors),
            "residual" => Ok(Representation::Residual),
            "frame" => Ok(Representation::Frame),
            other => Err(Error::InvalidArgument(format!(
                "repr: unknown representation {other:?} (expected \"iframe\", \"mv\" or \"residual\")"
            ))),
        }
    }

    /// Values per pixel of the representation's arrays (3, 2, 3).
    pub fn channels(self) -> usize {
        match self {
            Representation::IFrame | Representation::Residual | Representation::Frame => 3,
            Representation::MotionVectors => 2,
        }
    }
}

/// A decoded picture and its colour conversion, made only when needed.
struct Picture {
    yuv: YuvFrame,
    rgb: Option<Vec<u8>>,
}

impl Picture {
    fn new(yuv: &YuvFrame) -> Self {
        Picture {
            yuv: yuv.clone(),
            rgb: None,
        }
    }

    fn rgb(&mut self, bgr: bool) -> &[u8] {
        let yuv = &self.yuv;
        self.rgb
            .get_or_insert_with(|| yuv_to_rgb(&yuv.y, &yuv.u, &yuv.v, bgr))
    }
}

/// Where [`GopWalker::push`] writes a position's outputs (`None`: not wanted).
pub struct Outputs<'o, T> {
    /// `2 * width * height` values, `(dx, dy)` per pixel, row-major.
    pub motion_vectors: Option<&'o mut [i32]>,
    /// `3 * width * height` values, per pixel and channel, row-major.
    pub residual: Option<&'o mut [T]>,
}

impl<T> Outputs<'_, T> {
    /// Nothing wanted at this position (the walker only updates its state).
    pub fn none() -> Self {
        Outputs {
            motion_vectors: None,
            residual: None,
        }
    }
}

/// The state carried from one frame of a GOP to the next.
pub struct GopWalker {
    options: ReprOptions,
    width: usize,
    height: usize,
    position: usize,
    iframe: Option<Picture>,
    /// Non-accumulated residuals: the latest reference frame (kept only when residuals are asked).
    anchor: Option<Picture>,
    keep_anchor: bool,
    /// Map of the latest reference frame back to the I-frame.
    accumulated: SourceMap,
    /// Map of the current frame when it differs from `accumulated` (made on first use).
    scratch: Option<SourceMap>,
    /// Whether the I-frame's picture is kept (not for motion vectors alone).
    keep_iframe: bool,
    /// The current frame's RGB, reused from frame to frame (no allocation per frame).
    current_rgb: Vec<u8>,
}

fn past(vectors: &[MotionVector]) -> impl Iterator<Item = &MotionVector> {
    vectors.iter().filter(|mv| mv.source < 0)
}

impl GopWalker {
    /// A walker for frames of `width x height`; `residuals`: whether any residual will be asked
    /// for (non-accumulated residuals need the previous reference frame kept).
    pub fn new(width: usize, height: usize, options: ReprOptions, residuals: bool) -> Result<Self> {
        Ok(GopWalker {
            options,
            width,
            height,
            position: 0,
            iframe: None,
            anchor: None,
            keep_anchor: residuals && !options.accumulate,
            accumulated: SourceMap::identity(width, height)?,
            scratch: None,
            keep_iframe: true,
            current_rgb: Vec::new(),
        })
    }

    /// Only motion vectors will be asked for: the I-frame's picture is not kept (so
    /// [`GopWalker::iframe_rgb`] gives `None` and residuals are not written).
    pub fn vectors_only(mut self) -> Self {
        self.keep_iframe = false;
        self
    }

    /// Number of frames pushed so far (the position of the next frame).
    pub fn position(&self) -> usize {
        self.position
    }

    /// The GOP's I-frame as packed RGB (or BGR) bytes, `3 * width * height`.
    pub fn iframe_rgb(&mut self) -> Option<Vec<u8>> {
        let bgr = self.options.bgr;
        self.iframe.as_mut().map(|p| p.rgb(bgr).to_vec())
    }

    /// Feed the next frame of the GOP (display order) and write the outputs asked for.
    pub fn push<T: ResidualSample>(
        &mut self,
        frame_type: FrameType,
        yuv: &YuvFrame,
        vectors: &[MotionVector],
        out: Outputs<'_, T>,
    ) -> Result<()> {
        if yuv.width() != self.width || yuv.height() != self.height {
            return Err(Error::InvalidArgument(format!(
                "repr: frame size changes inside a GOP ({}x{} after {}x{})",
                yuv.width(),
                yuv.height(),
                self.width,
                self.height
            )));
        }
        let reads_pixels = self.keep_iframe || self.keep_anchor || out.residual.is_some();
        if reads_pixels && !yuv.has_samples() {
            return Err(Error::InvalidArgument(
                "repr: a frame decoded for its vectors alone has no pixels to represent".into(),
            ));
        }
        let first = self.position == 0;
        if first != (frame_type == FrameType::I) {
            return Err(Error::InvalidArgument(format!(
                "repr: a GOP must start with its only I-frame; position {} is {}",
                self.position,
                frame_type.letter()
            )));
        }
        self.position += 1;
        if first {
            if self.keep_iframe {
                self.iframe = Some(Picture::new(yuv));
            }
            if self.keep_anchor {
                self.anchor = Some(Picture::new(yuv));
            }
            if let Some(mv) = out.motion_vectors {
                mv.fill(0);
            }
            if let Some(res) = out.residual {
                res.fill(T::default());
            }
            return Ok(());
        }

        let is_reference = frame_type != FrameType::B;
        let bgr = self.options.bgr;
        // The current frame's RGB, only when a residual is asked for at this position.
        let has_rgb = out.residual.is_some();
        if has_rgb {
            yuv_to_rgb_into(&yuv.y, &yuv.u, &yuv.v, bgr, &mut self.current_rgb);
        }

        let wanted = out.motion_vectors.is_some() || out.residual.is_some();
        let feeds_later_frames = self.options.accumulate && is_reference;
        if !(wanted || feeds_later_frames) {
            // Nothing later depends on this frame's own map: only the anchor may change.
            if is_reference && self.keep_anchor {
                self.anchor = Some(Picture::new(yuv));
            }
            return Ok(());
        }
        let map = if self.options.accumulate {
            if is_reference {
                self.accumulated.advance(past(vectors));
                &self.accumulated
            } else {
                let scratch = self.scratch.get_or_insert_with(|| self.accumulated.clone());
                scratch.clone_from(&self.accumulated);
                scratch.advance(past(vectors));
                scratch
            }
        } else {
            let scratch = self.scratch.get_or_insert_with(|| self.accumulated.clone());
            scratch.reset();
            scratch.advance(past(vectors));
            scratch
        };

        if let Some(mv) = out.motion_vectors {
            map.displacements_into(mv);
        }
        if let Some(res) = out.residual {
            let reference = if self.options.accumulate {
                self.iframe.as_mut()
            } else {
                self.anchor.as_mut()
            };
            if let Some(reference) = reference {
                residual_into(&self.current_rgb, reference.rgb(bgr), map, res);
            }
        }

        if is_reference && self.keep_anchor {
            // The anchor takes this frame's RGB; its old buffer becomes the next scratch.
            let rgb = has_rgb.then(|| std::mem::take(&mut self.current_rgb));
            let old = self.anchor.replace(Picture {
                yuv: yuv.clone(),
                rgb,
            });
            if let Some(buffer) = old.and_then(|p| p.rgb) {
                self.current_rgb = buffer;
            }
        }
        Ok(())
    }
}

/// All positions of one GOP: the I-frame and, for each of the `len` positions, the motion
/// vectors and residuals (position 0 all zeros), packed row-major.
#[derive(Debug)]
pub struct GopArrays<T> {
    pub width: usize,
    pub height: usize,
    pub len: usize,
    /// `(height, width, 3)` uint8.
    pub iframe: Vec<u8>,
    /// `(len, height, width, 2)`.
    pub motion_vectors: Vec<i32>,
    /// `(len, height, width, 3)`.
    pub residuals: Vec<T>,
}

/// Every position of a GOP from its frames (display order, the I-frame first), each frame
/// decoded once. `len_hint`: the expected number of frames, to allocate once.
pub fn represent_gop<T, I>(frames: I, options: ReprOptions, len_hint: usize) -> Result<GopArrays<T>>
where
    T: ResidualSample,
    I: IntoIterator<Item = Result<DecodedFrame>>,
{
    let mut walker: Option<GopWalker> = None;
    let mut motion_vectors: Vec<i32> = Vec::new();
    let mut residuals: Vec<T> = Vec::new();
    let mut position = 0;
    for frame in frames {
        let frame = frame?;
        let (w, h) = (frame.yuv.width(), frame.yuv.height());
        let walker = match &mut walker {
            Some(walker) => walker,
            None => {
                // Zeroed in one go (calloc: fresh pages need no memset); grown below only if
                // the GOP turns out longer than announced.
                motion_vectors = vec![0; len_hint * 2 * w * h];
                residuals = vec![T::default(); len_hint * 3 * w * h];
                walker.insert(GopWalker::new(w, h, options, true)?)
            }
        };
        let (mv_at, res_at) = (position * 2 * w * h, position * 3 * w * h);
        if motion_vectors.len() < mv_at + 2 * w * h {
            motion_vectors.resize(mv_at + 2 * w * h, 0);
            residuals.resize(res_at + 3 * w * h, T::default());
        }
        walker
            .push(
                frame.frame_type,
                &frame.yuv,
                &frame.motion_vectors,
                Outputs {
                    motion_vectors: Some(&mut motion_vectors[mv_at..mv_at + 2 * w * h]),
                    residual: Some(&mut residuals[res_at..res_at + 3 * w * h]),
                },
            )
            .map_err(|e| e.at_frame(frame.index))?;
        position += 1;
    }
    let Some(mut walker) = walker else {
        return Err(Error::InvalidArgument("repr: the GOP has no frames".into()));
    };
    let (w, h) = (walker.width, walker.height);
    motion_vectors.truncate(position * 2 * w * h);
    residuals.truncate(position * 3 * w * h);
    Ok(GopArrays {
        width: walker.width,
        height: walker.height,
        len: walker.position(),
        iframe: walker.iframe_rgb().unwrap_or_default(),
        motion_vectors,
        residuals,
    })
}

/// One representation at one position, as packed values with `channels()` per pixel
/// (`IFrame` holds the picture of [`Representation::IFrame`] and [`Representation::Frame`]).
pub enum Single<T> {
    IFrame(Vec<u8>),
    MotionVectors(Vec<i32>),
    Residual(Vec<T>),
}

/// Where one representation of one position goes: a buffer of `channels() * width * height`
/// values, e.g. one sample's slot in a batch.
pub enum Target<'o, T> {
    IFrame(&'o mut [u8]),
    MotionVectors(&'o mut [i32]),
    Residual(&'o mut [T]),
    Frame(&'o mut [u8]),
}

impl<T> Target<'_, T> {
    pub fn representation(&self) -> Representation {
        match self {
            Target::IFrame(_) => Representation::IFrame,
            Target::MotionVectors(_) => Representation::MotionVectors,
            Target::Residual(_) => Representation::Residual,
            Target::Frame(_) => Representation::Frame,
        }
    }

    fn len(&self) -> usize {
        match self {
            Target::IFrame(b) => b.len(),
            Target::MotionVectors(b) => b.len(),
            Target::Residual(b) => b.len(),
            Target::Frame(b) => b.len(),
        }
    }
}

/// Write one representation of one position of a GOP into `target`; see
/// [`represent_position_many_into`].
pub fn represent_position_into<T, I>(
    frames: I,
    position: usize,
    options: ReprOptions,
    target: Target<'_, T>,
) -> Result<()>
where
    T: ResidualSample,
    I: IntoIterator<Item = Result<DecodedFrame>>,
{
    represent_position_many_into(frames, position, options, vec![target])
}

/// Write several representations of one position of a GOP into their `targets`, walking the
/// GOP's frames (display order, I-frame first) once; reads no frame past `position` (only the
/// I-frame when every target is an I-frame). Each target must hold `channels() * width * height`
/// values of the frames' size; at most one target of each representation.
pub fn represent_position_many_into<T, I>(
    frames: I,
    position: usize,
    options: ReprOptions,
    targets: Vec<Target<'_, T>>,
) -> Result<()>
where
    T: ResidualSample,
    I: IntoIterator<Item = Result<DecodedFrame>>,
{
    let wants = |rep| targets.iter().any(|t| t.representation() == rep);
    let residuals = wants(Representation::Residual);
    let only_vectors = targets
        .iter()
        .all(|t| t.representation() == Representation::MotionVectors);
    // I-frames come from position 0 whatever the position asked.
    let last = if targets
        .iter()
        .all(|t| t.representation() == Representation::IFrame)
    {
        0
    } else {
        position
    };
    let (mut at_iframe, mut at_position) = (Vec::new(), Vec::new());
    for target in targets {
        if target.representation() == Representation::IFrame {
            at_iframe.push(target);
        } else {
            at_position.push(target);
        }
    }
    let mut walker: Option<GopWalker> = None;
    for frame in frames {
        let frame = frame?;
        let (w, h) = (frame.yuv.width(), frame.yuv.height());
        let walker = match &mut walker {
            Some(walker) => walker,
            None => {
                for target in at_iframe.iter().chain(&at_position) {
                    let needed = target.representation().channels() * w * h;
                    if target.len() != needed {
                        return Err(Error::InvalidArgument(format!(
                            "repr: frame {} is {w}x{h} ({needed} values) but the output holds {}",
                            frame.index,
                            target.len()
                        )));
                    }
                }
                let made = GopWalker::new(w, h, options, residuals)?;
                walker.insert(if only_vectors {
                    made.vectors_only()
                } else {
                    made
                })
            }
        };
        let here = walker.position();
        let mut outputs = Outputs::none();
        let mut pictures = Vec::new();
        if here == position && here <= last {
            for target in at_position.drain(..) {
                match target {
                    Target::MotionVectors(mv) => outputs.motion_vectors = Some(mv),
                    Target::Residual(res) => outputs.residual = Some(res),
                    Target::Frame(rgb) => pictures.push(rgb),
                    Target::IFrame(rgb) => pictures.push(rgb),
                }
            }
        }
        walker
            .push(frame.frame_type, &frame.yuv, &frame.motion_vectors, outputs)
            .map_err(|e| e.at_frame(frame.index))?;
        if here == 0 {
            for target in at_iframe.drain(..) {
                if let (Target::IFrame(rgb), Some(picture)) = (target, walker.iframe.as_mut()) {
                    rgb.copy_from_slice(picture.rgb(options.bgr));
                }
            }
        }
        if !pictures.is_empty() {
            let yuv = &frame.yuv;
            if !yuv.has_samples() {
                return Err(Error::InvalidArgument(format!(
                    "repr: frame {} was decoded for its vectors alone and has no pixels",
                    frame.index
                )));
            }
            let rgb = yuv_to_rgb(&yuv.y, &yuv.u, &yuv.v, options.bgr);
            for out in pictures {
                out.copy_from_slice(&rgb);
            }
        }
        if here == last {
            return Ok(());
        }
    }
    Err(Error::OutOfRange {
        what: "position",
        index: i64::try_from(last).unwrap_or(i64::MAX),
        len: walker.map_or(0, |w| w.position()),
    })
}

/// One representation of one position of a GOP, allocated here; see
/// [`represent_position_into`]. `(width, height)` are the frame size of the GOP.
pub fn represent_position<T: ResidualSample, I>(
    frames: I,
    position: usize,
    representation: Representation,
    options: ReprOptions,
    (width, height): (usize, usize),
) -> Result<Single<T>>
where
    I: IntoIterator<Item = Result<DecodedFrame>>,
{
    let n = representation.channels() * width * height;
    Ok(match representation {
        Representation::IFrame => {
            let mut rgb = vec![0u8; n];
            represent_position_into::<T, _>(frames, position, options, Target::IFrame(&mut rgb))?;
            Single::IFrame(rgb)
        }
        Representation::Frame => {
            let mut rgb = vec![0u8; n];
            represent_position_into::<T, _>(frames, position, options, Target::Frame(&mut rgb))?;
            Single::IFrame(rgb)
        }
        Representation::MotionVectors => {
            let mut mv = vec![0i32; n];
            represent_position_into::<T, _>(
                frames,
                position,
                options,
                Target::MotionVectors(&mut mv),
            )?;
            Single::MotionVectors(mv)
        }
        Representation::Residual => {
            let mut res = vec![T::default(); n];
            represent_position_into(frames, position, options, Target::Residual(&mut res))?;
            Single::Residual(res)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::footprint::tests::vector;
    use super::*;
    use crate::decoded::Plane;

    const W: usize = 32;
    const H: usize = 16;

    /// A frame whose luma encodes `seed` and the pixel position (so moved pixels are visible).
    fn frame(
        index: usize,
        frame_type: FrameType,
        seed: u8,
        vectors: Vec<MotionVector>,
    ) -> DecodedFrame {
        let mut yuv = YuvFrame::grey(W, H);
        for (i, v) in yuv.y.data.iter_mut().enumerate() {
            *v = (i as u8).wrapping_mul(7).wrapping_add(seed) % 200 + 20;
        }
        yuv.u = Plane::filled(W / 2, H / 2, 100 + seed % 50);
        DecodedFrame {
            index,
            frame_type,
            yuv,
            motion_vectors: vectors,
        }
    }

    fn rgb(f: &DecodedFrame) -> Vec<u8> {
        yuv_to_rgb(&f.yuv.y, &f.yuv.u, &f.yuv.v, false)
    }

    /// The residual the rules give, written pixel by pixel from a source map.
    fn expected_residual(cur: &[u8], reference: &[u8], map: &SourceMap) -> Vec<i16> {
        let mut out = Vec::new();
        for (p, s) in map.sources().iter().enumerate() {
            let q = usize::from(s.y) * W + usize::from(s.x);
            for c in 0..3 {
                out.push(i16::from(cur[3 * p + c]) - i16::from(reference[3 * q + c]));
            }
        }
        out
    }

    fn gop() -> Vec<DecodedFrame> {
        vec![
            frame(0, FrameType::I, 0, vec![]),
            frame(1, FrameType::P, 1, vec![vector(16, 16, (8, 8), (11, 9))]),
            frame(
                2,
                FrameType::B,
                2,
                vec![
                    vector(16, 16, (24, 8), (20, 8)),
                    // A backward vector: ignored.
                    MotionVector {
                        source: 1,
                        ..vector(16, 16, (8, 8), (2, 2))
                    },
                ],
            ),
            frame(3, FrameType::P, 3, vec![vector(16, 16, (24, 8), (22, 7))]),
        ]
    }

    fn options(accumulate: bool) -> ReprOptions {
        ReprOptions {
            accumulate,
            bgr: false,
        }
    }

    #[test]
    fn all_positions_follow_the_rules() {
        let frames = gop();
        for accumulate in [true, false] {
            let out: GopArrays<i16> =
                represent_gop(frames.clone().into_iter().map(Ok), options(accumulate), 4).unwrap();
            assert_eq!((out.len, out.width, out.height), (4, W, H));
            assert_eq!(out.iframe, rgb(&frames[0]));
            let (mv_n, res_n) = (2 * W * H, 3 * W * H);
            assert!(out.motion_vectors[..mv_n].iter().all(|&v| v == 0));
            assert!(out.residuals[..res_n].iter().all(|&v| v == 0));

            let p1 = SourceMap::of_frame(W, H, &frames[1].motion_vectors).unwrap();
            // The B-frame: forward vectors only, from its anchor (frame 1).
            let b_own = SourceMap::of_frame(W, H, &frames[2].motion_vectors[..1]).unwrap();
            let mut b_acc = p1.clone();
            b_acc.advance(&frames[2].motion_vectors[..1]);
            // Frame 3 predicts from frame 1 (the B-frame is skipped).
            let p3_own = SourceMap::of_frame(W, H, &frames[3].motion_vectors).unwrap();
            let mut p3_acc = p1.clone();
            p3_acc.advance(&frames[3].motion_vectors);

            let cases = if accumulate {
                [(1, &p1, 0), (2, &b_acc, 0), (3, &p3_acc, 0)]
            } else {
                [(1, &p1, 0), (2, &b_own, 1), (3, &p3_own, 1)]
            };
            for (pos, map, reference) in cases {
                let mut mv = vec![0; mv_n];
                map.displacements_into(&mut mv);
                assert_eq!(
                    &out.motion_vectors[pos * mv_n..(pos + 1) * mv_n],
                    &mv[..],
                    "mv at {pos}, accumulate {accumulate}"
                );
                let res = expected_residual(&rgb(&frames[pos]), &rgb(&frames[reference]), map);
                assert_eq!(
                    &out.residuals[pos * res_n..(pos + 1) * res_n],
                    &res[..],
                    "residual at {pos}, accumulate {accumulate}"
                );
                assert!(res.iter().any(|&v| v != 0));
            }
        }
    }

    #[test]
    fn a_wrong_length_hint_changes_nothing() {
        let frames = gop();
        let run = |hint| {
            let out: GopArrays<i16> =
                represent_gop(frames.clone().into_iter().map(Ok), options(true), hint).unwrap();
            (out.len, out.motion_vectors, out.residuals)
        };
        let exact = run(4);
        assert_eq!(exact.1.len(), 4 * 2 * W * H);
        assert_eq!(run(0), exact);
        assert_eq!(run(1), exact);
        assert_eq!(run(9), exact);
    }

    #[test]
    fn single_positions_equal_the_whole_gop() {
        let frames = gop();
        for accumulate in [true, false] {
            let all: GopArrays<i32> =
                represent_gop(frames.clone().into_iter().map(Ok), options(accumulate), 4).unwrap();
            for pos in 0..4 {
                let it = || frames.clone().into_iter().map(Ok);
                let Single::MotionVectors(mv) = represent_position::<i32, _>(
                    it(),
                    pos,
                    Representation::MotionVectors,
                    options(accumulate),
                    (W, H),
                )
                .unwrap() else {
                    panic!("not motion vectors")
                };
                assert_eq!(
                    mv,
                    all.motion_vectors[pos * 2 * W * H..(pos + 1) * 2 * W * H]
                );
                let Single::Residual(res) = represent_position::<i32, _>(
                    it(),
                    pos,
                    Representation::Residual,
                    options(accumulate),
                    (W, H),
                )
                .unwrap() else {
                    panic!("not a residual")
                };
                assert_eq!(res, all.residuals[pos * 3 * W * H..(pos + 1) * 3 * W * H]);
            }
        }
    }

    #[test]
    fn several_targets_at_once_equal_one_target_each() {
        let frames = gop();
        let n = W * H;
        for accumulate in [true, false] {
            for pos in 0..4 {
                let it = || frames.clone().into_iter().map(Ok);
                let (mut iframe, mut picture) = (vec![0u8; 3 * n], vec![0u8; 3 * n]);
                let (mut mv, mut res) = (vec![0i32; 2 * n], vec![0i16; 3 * n]);
                let targets = vec![
                    Target::Residual(&mut res[..]),
                    Target::IFrame(&mut iframe[..]),
                    Target::MotionVectors(&mut mv[..]),
                    Target::Frame(&mut picture[..]),
                ];
                represent_position_many_into(it(), pos, options(accumulate), targets).unwrap();
                let single = |rep| {
                    represent_position::<i16, _>(it(), pos, rep, options(accumulate), (W, H))
                        .unwrap()
                };
                let Single::IFrame(want) = single(Representation::IFrame) else {
                    panic!("not an I-frame")
                };
                assert_eq!(iframe, want);
                let Single::IFrame(want) = single(Representation::Frame) else {
                    panic!("not a picture")
                };
                assert_eq!(picture, want);
                let Single::MotionVectors(want) = single(Representation::MotionVectors) else {
                    panic!("not motion vectors")
                };
                assert_eq!(mv, want);
                let Single::Residual(want) = single(Representation::Residual) else {
                    panic!("not a residual")
                };
                assert_eq!(res, want);
            }
        }
    }

    #[test]
    fn iframes_alone_read_only_the_first_frame() {
        let mut frames = gop();
        // A broken later frame is never reached when only the I-frame is asked for.
        frames[1].frame_type = FrameType::I;
        let mut rgb = vec![0u8; 3 * W * H];
        let targets: Vec<Target<'_, i16>> = vec![Target::IFrame(&mut rgb[..])];
        represent_position_many_into(
            frames.clone().into_iter().map(Ok),
            3,
            options(true),
            targets,
        )
        .unwrap();
        assert_eq!(rgb, super::tests::rgb(&frames[0]));
        let mut mv = vec![0i32; 2 * W * H];
        let targets: Vec<Target<'_, i16>> = vec![
            Target::IFrame(&mut rgb[..]),
            Target::MotionVectors(&mut mv[..]),
        ];
        let err =
            represent_position_many_into(frames.into_iter().map(Ok), 3, options(true), targets)
                .unwrap_err();
        assert!(err.to_string().contains("position 1 is I"), "{err}");
    }

    #[test]
    fn frame_representation_is_the_picture_at_the_position() {
        let frames = gop();
        for pos in 0..4 {
            let it = frames.clone().into_iter().map(Ok);
            let Single::IFrame(rgb) =
                represent_position::<i16, _>(it, pos, Representation::Frame, options(true), (W, H))
                    .unwrap()
            else {
                panic!("not a picture")
            };
            assert_eq!(rgb, super::tests::rgb(&frames[pos]));
        }
    }

    #[test]
    fn bgr_swaps_channels_of_iframe_and_residual() {
        let frames = gop();
        let rgb_out: GopArrays<i16> =
            represent_gop(frames.clone().into_iter().map(Ok), options(true), 4).unwrap();
        let bgr_out: GopArrays<i16> = represent_gop(
            frames.into_iter().map(Ok),
            ReprOptions {
                accumulate: true,
                bgr: true,
            },
            4,
        )
        .unwrap();
        for (a, b) in rgb_out.residuals.chunks(3).zip(bgr_out.residuals.chunks(3)) {
            assert_eq!((a[0], a[1], a[2]), (b[2], b[1], b[0]));
        }
        for (a, b) in rgb_out.iframe.chunks(3).zip(bgr_out.iframe.chunks(3)) {
            assert_eq!((a[0], a[2]), (b[2], b[0]));
        }
    }

    #[test]
    fn positions_past_the_gop_and_misplaced_i_frames_are_errors() {
        let frames = gop();
        let err = represent_position::<i16, _>(
            frames.clone().into_iter().map(Ok),
            9,
            Representation::MotionVectors,
            options(true),
            (W, H),
        );
        assert!(matches!(
            err,
            Err(Error::OutOfRange {
                what: "position",
                index: 9,
                len: 4
            })
        ));
        let mut bad = frames;
        bad[2].frame_type = FrameType::I;
        let err = represent_gop::<i16, _>(bad.into_iter().map(Ok), options(true), 4).unwrap_err();
        assert!(err.to_string().contains("position 2 is I"), "{err}");
    }
}
