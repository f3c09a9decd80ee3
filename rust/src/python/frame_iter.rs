//! Bindings of `frame_iter::FrameIter`: decoded frames in display order, with their motion vectors
//! packed as numpy records.

use std::sync::Arc;

use numpy::IntoPyArray;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::errors::to_pyerr;
use super::video::PyVideo;
use crate::decoded::{MotionVector, Plane};
use crate::frame_iter::FrameIter;
use crate::mpeg4::bvop::BMotion;
use crate::mpeg4::idct::IdctKind;
use crate::video::Video;

/// The record layout of one motion vector: FFmpeg's `AVMotionVector` without `flags`, as
/// (field, numpy format, byte offset). `pkdkit.MOTION_VECTOR_DTYPE` is built from this table
/// (exported as `MOTION_VECTOR_FIELDS`), and [`pack_motion_vectors`] writes by it.
const MV_FIELDS: [(&str, &str, usize); 10] = [
    ("source", "<i4", 0),
    ("w", "u1", 4),
    ("h", "u1", 5),
    ("src_x", "<i2", 6),
    ("src_y", "<i2", 8),
    ("dst_x", "<i2", 10),
    ("dst_y", "<i2", 12),
    ("motion_x", "<i4", 16),
    ("motion_y", "<i4", 20),
    ("motion_scale", "<u2", 24),
];

/// Bytes per record: the C struct's size, padding after `dst_y` and `motion_scale` included.
const MV_RECORD: usize = 28;

/// The values of `m` in the order of [`MV_FIELDS`].
fn field_values(m: &MotionVector) -> [i64; 10] {
    [
        i64::from(m.source),
        i64::from(m.w),
        i64::from(m.h),
        i64::from(m.src_x),
        i64::from(m.src_y),
        i64::from(m.dst_x),
        i64::from(m.dst_y),
        i64::from(m.motion_x),
        i64::from(m.motion_y),
        i64::from(m.motion_scale),
    ]
}

/// Pack vectors into records of [`MV_FIELDS`] (little-endian, as the formats say). Each value
/// fits its field: the fields have the types of `MotionVector`'s.
fn pack_motion_vectors(mvs: &[MotionVector]) -> Vec<u8> {
    let mut out = vec![0u8; mvs.len() * MV_RECORD];
    for (rec, m) in out.chunks_exact_mut(MV_RECORD).zip(mvs) {
        for ((_, format, offset), value) in MV_FIELDS.iter().zip(field_values(m)) {
            let size = match format.as_bytes().last() {
                Some(b'1') => 1,
                Some(b'2') => 2,
                _ => 4,
            };
            rec[*offset..offset + size].copy_from_slice(&value.to_le_bytes()[..size]);
        }
    }
    out
}

/// Streaming decoder over a video's frames in display order; `__next__` decodes one frame with
/// the GIL released and returns `(index, frame_type, y, u, v, mv_bytes, damaged_mbs)`, every
/// array handed to numpy without a copy. `pkdkit.video` wraps the tuple in a `Frame`.
#[pyclass(name = "FrameStream", module = "pkdkit._core")]
struct PyFrameStream {
    iter: FrameIter<Arc<Video>>,
    path: String,
}

type FrameTuple<'py> = (
    usize,
    String,
    Bound<'py, numpy::PyArray2<u8>>,
    Bound<'py, numpy::PyArray2<u8>>,
    Bound<'py, numpy::PyArray2<u8>>,
    Bound<'py, numpy::PyArray1<u8>>,
    usize,
);

fn plane_to_numpy(py: Python<'_>, plane: Plane) -> PyResult<Bound<'_, numpy::PyArray2<u8>>> {
    numpy::ndarray::Array2::from_shape_vec((plane.height, plane.width), plane.data)
        .map(|a| a.into_pyarray(py))
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

#[pymethods]
impl PyFrameStream {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<FrameTuple<'py>>> {
        let iter = &mut self.iter;
        let Some(item) = py.detach(|| iter.next()) else {
            return Ok(None);
        };
        let out = item.map_err(|e| to_pyerr(e, &self.path))?;
        let frame = out.frame;
        let mvs = pack_motion_vectors(&frame.motion_vectors).into_pyarray(py);
        Ok(Some((
            frame.index,
            frame.frame_type.letter().to_string(),
            plane_to_numpy(py, frame.yuv.y)?,
            plane_to_numpy(py, frame.yuv.u)?,
            plane_to_numpy(py, frame.yuv.v)?,
            mvs,
            out.damaged_mbs,
        )))
    }

    /// Pictures the decoder holds between frames: the two references B-VOPs need and a
    /// recycled buffer, at most 3.
    #[getter]
    fn pictures_held(&self) -> usize {
        self.iter.pictures_held()
    }
}

/// `frames(video, start=0, end=None, idct=None, *, b_motion="ffmpeg")`: a `FrameStream` over
/// frames `start..end` (display order); `idct` is "simple", "xvid" or None (FFmpeg's automatic
/// choice); `b_motion` is "ffmpeg" (B-frame vectors exported as FFmpeg does, with motion 0) or
/// "real" (the vectors B-frames are predicted with).
#[pyfunction]
#[pyo3(signature = (video, start = 0, end = None, idct = None, *, b_motion = "ffmpeg"))]
fn frames(
    video: &PyVideo,
    start: usize,
    end: Option<usize>,
    idct: Option<&str>,
    b_motion: &str,
) -> PyResult<PyFrameStream> {
    let b_motion = match b_motion {
        "ffmpeg" => BMotion::Ffmpeg,
        "real" => BMotion::Real,
        other => {
            return Err(PyValueError::new_err(format!(
                "b_motion must be 'ffmpeg' or 'real', not {other:?}"
            )))
        }
    };
    let idct = match idct {
        None => None,
        Some("simple") => Some(IdctKind::Simple),
        Some("xvid") => Some(IdctKind::Xvid),
        Some(other) => {
            return Err(PyValueError::new_err(format!(
                "idct must be 'simple', 'xvid' or None (automatic), not {other:?}"
            )))
        }
    };
    let end = end.unwrap_or(usize::MAX);
    Ok(PyFrameStream {
        iter: FrameIter::new(video.inner.clone(), start, end, idct).with_b_motion(b_motion),
        path: video.path.clone(),
    })
}

/// Add the frame stream, `frames` and the motion-vector layout to `pkdkit._core`.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyFrameStream>()?;
    m.add_function(wrap_pyfunction!(frames, m)?)?;
    m.add("MOTION_VECTOR_FIELDS", MV_FIELDS.to_vec())?;
    m.add("MOTION_VECTOR_RECORD_SIZE", MV_RECORD)
}
