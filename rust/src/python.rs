//! The PyO3 module `pkdkit._core`: converts arguments, runs the core with the GIL released,
//! maps errors to pkdkit's exception classes and hands buffers to numpy without copying.
//! No parsing or numerics live here.

use pyo3::prelude::*;

use crate::Error;

/// Map a core error to the matching `pkdkit.errors` class, naming the file.
pub(crate) fn to_pyerr(py: Python<'_>, err: Error, path: &str) -> PyErr {
    let class = match &err {
        Error::Io(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return pyo3::exceptions::PyFileNotFoundError::new_err(format!("{path}: {err}"));
        }
        Error::Io(_) => return pyo3::exceptions::PyOSError::new_err(format!("{path}: {err}")),
        Error::NotVideo(_) => "NotAVideoError",
        Error::Unsupported(_) => "UnsupportedCodecError",
        Error::Corrupt { .. } => "CorruptStreamError",
        Error::Limit(_) => "LimitExceededError",
        Error::OutOfRange { .. } => "VideoIndexError",
    };
    let message = format!("{path}: {err}");
    match py
        .import("pkdkit.errors")
        .and_then(|m| m.getattr(class))
        .and_then(|cls| cls.call1((message.clone(),)))
    {
        Ok(instance) => PyErr::from_value(instance),
        Err(_) => pyo3::exceptions::PyRuntimeError::new_err(message),
    }
}

// ---- R2c: the one YUV -> RGB conversion (repr::colour) ----

/// A borrowed, C-contiguous view of a 2-D uint8 numpy array (copied only if not contiguous).
fn plane_view<'a>(
    name: &str,
    a: &'a numpy::ndarray::CowArray<'a, u8, numpy::ndarray::Ix2>,
) -> PyResult<crate::repr::colour::PlaneView<'a>> {
    let (height, width) = a.dim();
    let data = a.as_slice().ok_or_else(|| {
        pyo3::exceptions::PyValueError::new_err(format!("{name}: plane is not contiguous"))
    })?;
    Ok(crate::repr::colour::PlaneView {
        data,
        width,
        height,
    })
}

/// `yuv_to_rgb(y, u, v, bgr=False)`: 4:2:0 uint8 planes -> (H, W, 3) uint8 RGB (or BGR).
#[pyfunction]
#[pyo3(signature = (y, u, v, bgr = false))]
fn yuv_to_rgb<'py>(
    py: Python<'py>,
    y: numpy::PyReadonlyArray2<'py, u8>,
    u: numpy::PyReadonlyArray2<'py, u8>,
    v: numpy::PyReadonlyArray2<'py, u8>,
    bgr: bool,
) -> PyResult<Bound<'py, numpy::PyArray3<u8>>> {
    use numpy::IntoPyArray;
    let (yv, uv, vv) = (y.as_array(), u.as_array(), v.as_array());
    let (ya, ua, va) = (
        yv.as_standard_layout(),
        uv.as_standard_layout(),
        vv.as_standard_layout(),
    );
    let (yp, up, vp) = (
        plane_view("y", &ya)?,
        plane_view("u", &ua)?,
        plane_view("v", &va)?,
    );
    crate::repr::colour::check_420(yp, up, vp).map_err(pyo3::exceptions::PyValueError::new_err)?;
    let rgb = py.detach(|| crate::repr::colour::yuv_view_to_rgb(yp, up, vp, bgr));
    let image = numpy::ndarray::Array3::from_shape_vec((yp.height, yp.width, 3), rgb)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    Ok(image.into_pyarray(py))
}

// ---- R3: CoViAR's representations (bindings in python/representations.rs) ----
mod representations;

// ---- R1: opened videos (video::Video) ----

/// A parsed video: container, VOL header and VOP index. `pkdkit.CompressedVideo` wraps it;
/// decoding bindings reach the core `Video` through `inner`.
#[pyclass(name = "Video", module = "pkdkit._core", frozen)]
pub(crate) struct PyVideo {
    pub(crate) inner: std::sync::Arc<crate::video::Video>,
    /// The path as the user gave it, for error messages.
    pub(crate) path: String,
}

#[pymethods]
impl PyVideo {
    #[getter]
    fn path(&self) -> &str {
        &self.path
    }
    #[getter]
    fn width(&self) -> u32 {
        self.inner.width()
    }
    #[getter]
    fn height(&self) -> u32 {
        self.inner.height()
    }
    #[getter]
    fn num_frames(&self) -> usize {
        self.inner.num_frames()
    }
    #[getter]
    fn frame_types(&self) -> &str {
        &self.inner.frame_types
    }
    #[getter]
    fn gop_starts(&self) -> Vec<usize> {
        self.inner.gop_starts.clone()
    }
    #[getter]
    fn gop_lengths(&self) -> Vec<usize> {
        self.inner.gop_lengths()
    }
    #[getter]
    fn fps(&self) -> f64 {
        self.inner.fps
    }
    #[getter]
    fn codec(&self) -> &'static str {
        self.inner.codec()
    }
    #[getter]
    fn profile(&self) -> String {
        self.inner.profile()
    }
    #[getter]
    fn container(&self) -> &'static str {
        self.inner.container.name()
    }
    #[getter]
    fn fourcc(&self) -> Option<String> {
        self.inner.fourcc.clone()
    }
    /// VOL fields and encoder facts as a dict of ints.
    #[getter]
    fn header(&self) -> std::collections::BTreeMap<&'static str, u32> {
        self.inner.header_summary().into_iter().collect()
    }
}

/// `open(path)`: read and index a video file (GIL released while reading and parsing).
#[pyfunction(name = "open")]
fn open_video(py: Python<'_>, path: std::path::PathBuf) -> PyResult<PyVideo> {
    let shown = path.display().to_string();
    let video = py
        .detach(|| crate::video::Video::open(&path))
        .map_err(|e| to_pyerr(py, e, &shown))?;
    Ok(PyVideo {
        inner: std::sync::Arc::new(video),
        path: shown,
    })
}

// ---- R2b: decoded frames (frames::FrameIter over mpeg4::decoder) ----

/// Bytes per motion vector in the numpy dtype `pkdkit.video.MOTION_VECTOR_DTYPE` (the C layout
/// of FFmpeg's AVMotionVector without `flags`: i4, u1, u1, 4 x i2, pad 2, i4, i4, u2, pad 2).
const MV_RECORD: usize = 28;

/// Pack vectors into the byte layout of `MOTION_VECTOR_DTYPE` (native endianness).
fn pack_motion_vectors(mvs: &[crate::frame::MotionVector]) -> Vec<u8> {
    let mut out = vec![0u8; mvs.len() * MV_RECORD];
    for (rec, m) in out.chunks_exact_mut(MV_RECORD).zip(mvs) {
        rec[0..4].copy_from_slice(&m.source.to_ne_bytes());
        rec[4] = m.w;
        rec[5] = m.h;
        rec[6..8].copy_from_slice(&m.src_x.to_ne_bytes());
        rec[8..10].copy_from_slice(&m.src_y.to_ne_bytes());
        rec[10..12].copy_from_slice(&m.dst_x.to_ne_bytes());
        rec[12..14].copy_from_slice(&m.dst_y.to_ne_bytes());
        rec[16..20].copy_from_slice(&m.motion_x.to_ne_bytes());
        rec[20..24].copy_from_slice(&m.motion_y.to_ne_bytes());
        rec[24..26].copy_from_slice(&m.motion_scale.to_ne_bytes());
    }
    out
}

/// Streaming decoder over a video's frames in display order; `__next__` decodes one frame with
/// the GIL released and returns `(index, frame_type, y, u, v, mv_bytes, damaged_mbs)`, every
/// array handed to numpy without a copy. `pkdkit.video` wraps the tuple in a `Frame`.
#[pyclass(name = "FrameStream", module = "pkdkit._core")]
struct PyFrameStream {
    iter: crate::frames::FrameIter<std::sync::Arc<crate::video::Video>>,
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

fn plane_to_numpy(
    py: Python<'_>,
    plane: crate::frame::Plane,
) -> PyResult<Bound<'_, numpy::PyArray2<u8>>> {
    use numpy::IntoPyArray;
    numpy::ndarray::Array2::from_shape_vec((plane.height, plane.width), plane.data)
        .map(|a| a.into_pyarray(py))
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
}

#[pymethods]
impl PyFrameStream {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<FrameTuple<'py>>> {
        use numpy::IntoPyArray;
        let iter = &mut self.iter;
        let Some(item) = py.detach(|| iter.next()) else {
            return Ok(None);
        };
        let out = item.map_err(|e| to_pyerr(py, e, &self.path))?;
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

    /// Pictures the decoder holds between frames (reference + recycled buffer; at most 2).
    #[getter]
    fn pictures_held(&self) -> usize {
        self.iter.pictures_held()
    }
}

/// `frames(video, start=0, end=None, idct=None)`: a `FrameStream` over frames `start..end`
/// (display order); `idct` is "simple", "xvid" or None (FFmpeg's automatic choice).
#[pyfunction]
#[pyo3(signature = (video, start = 0, end = None, idct = None))]
fn frames(
    video: &PyVideo,
    start: usize,
    end: Option<usize>,
    idct: Option<&str>,
) -> PyResult<PyFrameStream> {
    let idct = match idct {
        None => None,
        Some("simple") => Some(crate::mpeg4::idct::IdctKind::Simple),
        Some("xvid") => Some(crate::mpeg4::idct::IdctKind::Xvid),
        Some(other) => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "idct must be 'simple', 'xvid' or None (automatic), not {other:?}"
            )))
        }
    };
    let end = end.unwrap_or(usize::MAX);
    Ok(PyFrameStream {
        iter: crate::frames::FrameIter::new(video.inner.clone(), start, end, idct),
        path: video.path.clone(),
    })
}

#[pymodule(gil_used = false)]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<PyVideo>()?; // R1
    m.add_function(wrap_pyfunction!(open_video, m)?)?; // R1
    m.add_function(wrap_pyfunction!(yuv_to_rgb, m)?)?; // R2c
    representations::register(m)?; // R3
    m.add_class::<PyFrameStream>()?; // R2b
    m.add_function(wrap_pyfunction!(frames, m)?)?; // R2b
    Ok(())
}
