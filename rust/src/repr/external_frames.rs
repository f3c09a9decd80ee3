//! Frames handed in from outside pkdkit's decoder (FFmpeg through PyAV, for codecs pkdkit does
//! not decode itself), checked and turned into [`DecodedFrame`]s for the same kernels.
#![forbid(unsafe_code)]

use crate::decoded::{DecodedFrame, FrameType, MotionVector, Plane, YuvFrame};
use crate::{Error, Result};

/// Values per vector row: FFmpeg's `AVMotionVector` fields without `flags`, in this order:
/// `source, w, h, src_x, src_y, dst_x, dst_y, motion_x, motion_y, motion_scale`.
pub const VECTOR_COLUMNS: usize = 10;

/// The picture type for FFmpeg's letter ('I', 'P', 'B', 'S'; H.264's SI/SP count as I/P).
pub fn frame_type(letter: char) -> Result<FrameType> {
    match letter {
        'I' | 'i' => Ok(FrameType::I),
        'P' | 'p' => Ok(FrameType::P),
        'B' | 'b' => Ok(FrameType::B),
        'S' => Ok(FrameType::S),
        other => Err(Error::InvalidArgument(format!(
            "repr: unknown picture type {other:?} (expected I, P, B or S)"
        ))),
    }
}

fn field<T: TryFrom<i32>>(value: i32, name: &str, row: usize) -> Result<T> {
    T::try_from(value).map_err(|_| {
        Error::InvalidArgument(format!(
            "repr: motion vector {row}: {name} = {value} is out of range"
        ))
    })
}

/// Vectors from rows of [`VECTOR_COLUMNS`] values (`values.len()` a multiple of it).
pub fn vectors_from_rows(values: &[i32]) -> Result<Vec<MotionVector>> {
    if values.len() % VECTOR_COLUMNS != 0 {
        return Err(Error::InvalidArgument(format!(
            "repr: motion vectors need {VECTOR_COLUMNS} values per row, got {} values",
            values.len()
        )));
    }
    values
        .chunks_exact(VECTOR_COLUMNS)
        .enumerate()
        .map(|(i, r)| {
            Ok(MotionVector {
                source: r[0],
                w: field(r[1], "w", i)?,
                h: field(r[2], "h", i)?,
                src_x: field(r[3], "src_x", i)?,
                src_y: field(r[4], "src_y", i)?,
                dst_x: field(r[5], "dst_x", i)?,
                dst_y: field(r[6], "dst_y", i)?,
                motion_x: r[7],
                motion_y: r[8],
                motion_scale: field(r[9], "motion_scale", i)?,
            })
        })
        .collect()
}

/// A 4:2:0 picture from its planes: `y` is `height x width`, `u` and `v` are
/// `ceil(height / 2) x ceil(width / 2)`, all row-major without padding.
pub fn yuv_from_planes(
    width: usize,
    height: usize,
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
) -> Result<YuvFrame> {
    let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
    for (name, plane, w, h) in [
        ("Y", &y, width, height),
        ("U", &u, cw, ch),
        ("V", &v, cw, ch),
    ] {
        if plane.len() != w * h {
            return Err(Error::InvalidArgument(format!(
                "repr: {name} plane has {} samples, a {width}x{height} 4:2:0 frame needs {w}x{h}",
                plane.len()
            )));
        }
    }
    let plane = |data, width, height| Plane {
        data,
        width,
        height,
    };
    Ok(YuvFrame {
        y: plane(y, width, height),
        u: plane(u, cw, ch),
        v: plane(v, cw, ch),
    })
}

/// A decoded frame from the parts an outside decoder gives.
pub fn decoded_frame(
    index: usize,
    letter: char,
    yuv: YuvFrame,
    vector_rows: &[i32],
) -> Result<DecodedFrame> {
    Ok(DecodedFrame {
        index,
        frame_type: frame_type(letter)?,
        yuv,
        motion_vectors: vectors_from_rows(vector_rows)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_vectors_in_ffmpeg_field_order() {
        let v = vectors_from_rows(&[-1, 16, 8, 9, 10, 8, 12, 2, -4, 2]).unwrap();
        assert_eq!(
            v,
            vec![MotionVector {
                source: -1,
                w: 16,
                h: 8,
                src_x: 9,
                src_y: 10,
                dst_x: 8,
                dst_y: 12,
                motion_x: 2,
                motion_y: -4,
                motion_scale: 2
            }]
        );
    }

    #[test]
    fn bad_rows_are_refused() {
        assert!(vectors_from_rows(&[1, 2, 3]).is_err());
        assert!(vectors_from_rows(&[-1, 300, 8, 0, 0, 0, 0, 0, 0, 2]).is_err());
        assert!(frame_type('X').is_err());
    }

    #[test]
    fn plane_sizes_follow_420_with_odd_sizes() {
        assert!(yuv_from_planes(3, 3, vec![0; 9], vec![0; 4], vec![0; 4]).is_ok());
        assert!(yuv_from_planes(3, 3, vec![0; 9], vec![0; 2], vec![0; 4]).is_err());
    }
}
