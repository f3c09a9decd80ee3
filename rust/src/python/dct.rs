//! Bindings of `dct`: a frame's DCT coefficients (no pixels decoded), batches of them, and the
//! motion-compensated prediction the coefficient tests compare with.

use std::path::PathBuf;
use std::sync::Arc;

use numpy::ndarray::{ArrayView, Dimension, Ix2, Ix3, Ix4};
use numpy::PyArray;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::errors::to_pyerr;
use super::to_numpy;
use super::video::PyVideo;
use crate::dct::{self as core_dct, BATCH_CHANNELS};
use crate::mpeg4::coefficients::{self, Coefficients, Recyclable};
use crate::repr::batch::BatchError;
use crate::video::Video;

/// Owner of one frame's six coefficient and level buffers behind their numpy arrays: when
/// Python drops the last of them, the buffers go back to [`coefficients::recycle`] for the next
/// frame instead of the allocator (fresh pages every frame cost more than the parsing).
#[pyclass(frozen, module = "pkdkit._core")]
struct CoefficientBuffers {
    set: Option<Recyclable>,
}

impl Drop for CoefficientBuffers {
    fn drop(&mut self) {
        if let Some(set) = self.set.take() {
            coefficients::recycle(set);
        }
    }
}

/// The six recyclable `i16` buffers of `set` as numpy arrays of `shapes` without a copy, all
/// six with one owner as their base.
fn recyclable_numpy<'py>(
    py: Python<'py>,
    shapes: [Ix4; 6],
    set: Recyclable,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    for (shape, buf) in shapes.iter().zip(set.planes()) {
        if shape.size() != buf.len() {
            return Err(PyValueError::new_err(format!(
                "dct: {} values for shape {:?}",
                buf.len(),
                shape.slice()
            )));
        }
    }
    let owner = Bound::new(py, CoefficientBuffers { set: Some(set) })?;
    let planes = owner.get().set.as_ref().map(Recyclable::planes);
    let planes = planes.ok_or_else(|| PyValueError::new_err("dct: buffers already recycled"))?;
    let mut arrays = Vec::with_capacity(6);
    for (shape, buf) in shapes.into_iter().zip(planes) {
        let view = ArrayView::from_shape(shape, buf)
            .map_err(|e| PyValueError::new_err(format!("dct: output shape: {e}")))?;
        // SAFETY: the array points into a buffer of `owner` and holds `owner` as its base, so
        // the buffer lives as long as the array. `owner` is frozen: Rust never touches the
        // buffers again until the owner is dropped, after the last array (and view) is gone.
        let array = unsafe { PyArray::borrow_from_array(&view, owner.clone().into_any()) };
        arrays.push(array.into_any());
    }
    Ok(arrays)
}

type DctTuple<'py> = (
    String,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
);

/// `dct(video, gop, position)`: `(frame_type, y, u, v, y_levels, u_levels, v_levels,
/// block_types, qscale, field_dct)`; coefficient and level arrays are `(rows, cols, 8, 8)` int16
/// (Y on the luma block grid, U/V on the chroma one), `block_types` `(mb_rows, mb_cols, 6)` uint8,
/// `qscale` `(mb_rows, mb_cols)` uint8, `field_dct` `(mb_rows, mb_cols)` bool (the luma blocks
/// are field blocks). `pkdkit.dct` wraps it in a `DctFrame`.
#[pyfunction]
fn dct<'py>(
    py: Python<'py>,
    video: &Bound<'py, PyVideo>,
    gop: i64,
    position: i64,
) -> PyResult<DctTuple<'py>> {
    let video = video.get();
    let c = py
        .detach(|| core_dct::coefficients(&video.inner, gop, position))
        .map_err(|e| to_pyerr(e, &video.path))?;
    frame_tuple(py, c)
}

/// `dct_gop(video, gop)`: the `dct` tuple of every frame of GOP `gop`, in display order, its
/// VOPs decoded once (see `crate::dct::gop_coefficients`).
#[pyfunction]
fn dct_gop<'py>(
    py: Python<'py>,
    video: &Bound<'py, PyVideo>,
    gop: i64,
) -> PyResult<Vec<DctTuple<'py>>> {
    let video = video.get();
    let frames = py
        .detach(|| core_dct::gop_coefficients(&video.inner, gop))
        .map_err(|e| to_pyerr(e, &video.path))?;
    frames.into_iter().map(|c| frame_tuple(py, c)).collect()
}

/// `dct_frames(video)`: an iterator over every frame's `dct` tuple in display order, the video
/// decoded once (see `crate::dct::CoefficientStream`), each frame with the GIL released.
#[pyclass(name = "DctStream", module = "pkdkit._core")]
struct PyDctStream {
    stream: core_dct::CoefficientStream<Arc<Video>>,
    path: String,
}

#[pymethods]
impl PyDctStream {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<DctTuple<'py>>> {
        let stream = &mut self.stream;
        match py.detach(|| stream.next()) {
            None => Ok(None),
            Some(item) => {
                let c = item.map_err(|e| to_pyerr(e, &self.path))?;
                frame_tuple(py, c).map(Some)
            }
        }
    }
}

#[pyfunction]
fn dct_frames(video: &Bound<'_, PyVideo>) -> PyResult<PyDctStream> {
    let video = video.get();
    let stream = core_dct::CoefficientStream::new(video.inner.clone())
        .map_err(|e| to_pyerr(e, &video.path))?;
    Ok(PyDctStream {
        stream,
        path: video.path.clone(),
    })
}

/// One frame's coefficients as the `dct` tuple, every array handed over without a copy.
fn frame_tuple(py: Python<'_>, mut c: Coefficients) -> PyResult<DctTuple<'_>> {
    let (mw, mh) = (c.mb_width, c.mb_height);
    let luma = Ix4(2 * mh, 2 * mw, 8, 8);
    let chroma = Ix4(mh, mw, 8, 8);
    let field_dct = c.field_dct.iter().map(|&f| f != 0).collect();
    let letter = c.frame_type.letter().to_string();
    let shapes = [luma, chroma, chroma, luma, chroma, chroma];
    let block_types = std::mem::take(&mut c.block_types);
    let qscale = std::mem::take(&mut c.qscale);
    let [y, u, v, y_levels, u_levels, v_levels]: [Bound<'_, PyAny>; 6] =
        recyclable_numpy(py, shapes, c.into_recyclable())?
            .try_into()
            .map_err(|_| PyValueError::new_err("dct: six planes expected"))?;
    Ok((
        letter,
        y,
        u,
        v,
        y_levels,
        u_levels,
        v_levels,
        to_numpy::<u8, Ix3>(py, (mh, mw, 6), block_types)?,
        to_numpy::<u8, Ix2>(py, (mh, mw), qscale)?,
        to_numpy::<bool, Ix2>(py, (mh, mw), field_dct)?,
    ))
}

/// `dct_batch(paths, gops, positions, threads=0)`: `(N, rows, cols, 192)` int16, per luma block
/// its Y coefficients then those of the Cb and Cr blocks covering it, decoded in parallel with
/// the GIL released (0 threads = all cores).
#[pyfunction]
#[pyo3(signature = (paths, gops, positions, threads = 0))]
fn dct_batch<'py>(
    py: Python<'py>,
    paths: Vec<PathBuf>,
    gops: Vec<i64>,
    positions: Vec<i64>,
    threads: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let batch = py
        .detach(|| core_dct::load_batch(&paths, &gops, &positions, threads))
        .map_err(|e| match e {
            BatchError::Video { path, error } => to_pyerr(error, &path.display().to_string()),
            BatchError::Arguments(message) => PyValueError::new_err(message),
        })?;
    let shape = (batch.len, batch.rows, batch.cols, BATCH_CHANNELS);
    to_numpy::<i16, Ix4>(py, shape, batch.data)
}

type Planes<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>);

/// `prediction(video, index)`: the Y, U, V planes of display frame `index` decoded without the
/// texture of its inter blocks (their motion-compensated prediction; intra blocks as decoded).
#[pyfunction]
fn prediction<'py>(
    py: Python<'py>,
    video: &Bound<'py, PyVideo>,
    index: usize,
) -> PyResult<Planes<'py>> {
    let video = video.get();
    let yuv = py
        .detach(|| core_dct::frame_prediction(&video.inner, index))
        .map_err(|e| to_pyerr(e, &video.path))?;
    let plane = |p: crate::decoded::Plane| to_numpy::<u8, Ix2>(py, (p.height, p.width), p.data);
    Ok((plane(yuv.y)?, plane(yuv.u)?, plane(yuv.v)?))
}

/// Add `dct`, `dct_gop`, `dct_frames`, `dct_batch` and `prediction` to `pkdkit._core`.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(dct, m)?)?;
    m.add_function(wrap_pyfunction!(dct_gop, m)?)?;
    m.add_function(wrap_pyfunction!(dct_frames, m)?)?;
    m.add_class::<PyDctStream>()?;
    m.add_function(wrap_pyfunction!(dct_batch, m)?)?;
    m.add_function(wrap_pyfunction!(prediction, m)?)?;
    Ok(())
}
