//! Decoded pictures and motion vectors: the hand-off types between the decoder (`mpeg4`), the
//! representations (`repr`) and the Python layer. Planes are tightly packed (stride == width) at
//! the visible size so they can become numpy arrays without a copy.
#![forbid(unsafe_code)]

/// One 8-bit sample plane, row-major, `data.len() == width * height` (or empty: a plane
/// without samples, see [`YuvFrame::sized`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plane {
    pub data: Vec<u8>,
    pub width: usize,
    pub height: usize,
}

impl Plane {
    /// A plane filled with `value`.
    pub fn filled(width: usize, height: usize, value: u8) -> Self {
        Plane {
            data: vec![value; width * height],
            width,
            height,
        }
    }

    /// Sample at (x, y); the caller guarantees the coordinates are inside.
    #[inline]
    pub fn at(&self, x: usize, y: usize) -> u8 {
        self.data[y * self.width + x]
    }
}

/// A 4:2:0 picture: luma at the visible size, chroma at `(w + 1) / 2 x (h + 1) / 2`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct YuvFrame {
    pub y: Plane,
    pub u: Plane,
    pub v: Plane,
}

impl YuvFrame {
    /// Mid-grey picture of the given visible size (what concealment starts from).
    pub fn grey(width: usize, height: usize) -> Self {
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        YuvFrame {
            y: Plane::filled(width, height, 128),
            u: Plane::filled(cw, ch, 128),
            v: Plane::filled(cw, ch, 128),
        }
    }

    /// A picture of the given visible size without samples (empty planes): what frames decoded
    /// for their motion vectors alone carry, where nothing reads the pixels.
    pub fn sized(width: usize, height: usize) -> Self {
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        let plane = |width, height| Plane {
            data: Vec::new(),
            width,
            height,
        };
        YuvFrame {
            y: plane(width, height),
            u: plane(cw, ch),
            v: plane(cw, ch),
        }
    }

    /// Whether the planes hold their samples (false for [`YuvFrame::sized`] pictures).
    pub fn has_samples(&self) -> bool {
        self.y.data.len() == self.y.width * self.y.height
            && self.u.data.len() == self.u.width * self.u.height
            && self.v.data.len() == self.v.width * self.v.height
    }

    pub fn width(&self) -> usize {
        self.y.width
    }

    pub fn height(&self) -> usize {
        self.y.height
    }
}

/// Picture coding type of a VOP (ISO/IEC 14496-2 6.3.5, `vop_coding_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameType {
    I,
    P,
    B,
    /// Sprite (GMC) VOP.
    S,
}

impl FrameType {
    /// The letter FFmpeg uses for the picture type ('S' for sprite VOPs).
    pub fn letter(self) -> char {
        match self {
            FrameType::I => 'I',
            FrameType::P => 'P',
            FrameType::B => 'B',
            FrameType::S => 'S',
        }
    }
}

/// One block's motion vector with exactly the fields and meaning of FFmpeg's `AVMotionVector`
/// (as exported with `flags2=+export_mvs`): `source` is -1 for a past reference and +1 for a
/// future one; `dst` is the block centre in the current frame; `src = dst + motion / motion_scale`
/// with C integer division (truncation toward zero); `motion_scale` is 2 for half-pel and 4 for
/// quarter-pel vectors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MotionVector {
    pub source: i32,
    pub w: u8,
    pub h: u8,
    pub src_x: i16,
    pub src_y: i16,
    pub dst_x: i16,
    pub dst_y: i16,
    pub motion_x: i32,
    pub motion_y: i32,
    pub motion_scale: u16,
}

/// A decoded frame in display order.
#[derive(Clone, Debug)]
pub struct DecodedFrame {
    /// Display index of the frame in the video.
    pub index: usize,
    pub frame_type: FrameType,
    pub yuv: YuvFrame,
    /// Block vectors in FFmpeg's export order (empty for I-frames).
    pub motion_vectors: Vec<MotionVector>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_frame_has_420_chroma_rounded_up() {
        let f = YuvFrame::grey(339, 251);
        assert_eq!((f.u.width, f.u.height), (170, 126));
        assert_eq!(f.y.data.len(), 339 * 251);
        assert_eq!(f.y.at(338, 250), 128);
        assert!(f.has_samples());
        let s = YuvFrame::sized(339, 251);
        assert_eq!((s.width(), s.height()), (339, 251));
        assert_eq!((s.u.width, s.u.height), (170, 126));
        assert!(!s.has_samples());
    }
}
