//! Bindings of `repr`: CoViAR's representations (I-frames, motion vectors, residuals).
//! Converts arguments, runs the core with the GIL released, hands the Rust buffers to numpy.

use numpy::ndarray::{Ix3, Ix4};
use numpy::{Element, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use std::path::PathBuf;

use super::errors::to_pyerr;
use super::to_numpy;
use super::video::PyVideo;
use crate::decoded::DecodedFrame;
use crate::repr::batch::{self, BatchData, BatchError};
use crate::repr::external_frames::{decoded_frame, yuv_from_planes, VECTOR_COLUMNS};
use crate::repr::gop::{self, ReprOptions, Representation, Single};
use crate::repr::native;
use crate::Error;

type Planes<'py> = (
    PyReadonlyArray2<'py, u8>,
    PyReadonlyArray2<'py, u8>,
    PyReadonlyArray2<'py, u8>,
);

fn plane_vec(plane: &PyReadonlyArray2<'_, u8>) -> Vec<u8> {
    // as_array() also accepts non-contiguous views; iter() walks them in logical order.
    plane.as_array().iter().copied().collect()
}

/// Frames given by an outside decoder, copied out of numpy (GIL held; the work runs detached).
fn frames_from_numpy(
    types: &str,
    planes: &[Planes<'_>],
    vectors: &[PyReadonlyArray2<'_, i32>],
    first_index: usize,
) -> Result<Vec<DecodedFrame>, Error> {
    let letters: Vec<char> = types.chars().collect();
    if letters.len() != planes.len() || planes.len() != vectors.len() {
        return Err(Error::InvalidArgument(format!(
            "repr: {} picture types, {} plane triples and {} vector arrays",
            letters.len(),
            planes.len(),
            vectors.len()
        )));
    }
    let mut frames = Vec::with_capacity(planes.len());
    for (k, ((letter, (y, u, v)), rows)) in letters.iter().zip(planes).zip(vectors).enumerate() {
        let (height, width) = y.as_array().dim();
        let yuv = yuv_from_planes(width, height, plane_vec(y), plane_vec(u), plane_vec(v))?;
        let rows = rows.as_array();
        if rows.ncols() != VECTOR_COLUMNS && rows.nrows() != 0 {
            return Err(Error::InvalidArgument(format!(
                "repr: frame {k}: motion vectors must be (N, {VECTOR_COLUMNS}), got {:?}",
                rows.shape()
            )));
        }
        let values: Vec<i32> = rows.iter().copied().collect();
        frames.push(decoded_frame(first_index + k, *letter, yuv, &values)?);
    }
    Ok(frames)
}

fn representation(name: &str) -> PyResult<Representation> {
    Ok(Representation::from_name(name)?)
}

/// Every position of one GOP from an outside decoder's frames (display order, I-frame first).
/// Returns `{"iframe": (H,W,3) u8, "motion_vectors": (L,H,W,2) i32, "residuals": (L,H,W,3) i16}`.
#[pyfunction]
#[pyo3(signature = (path, types, planes, vectors, accumulate=true, bgr=false, first_index=0))]
#[allow(clippy::too_many_arguments)] // the Python signature: each keyword is an argument
fn gop_from_frames<'py>(
    py: Python<'py>,
    path: &str,
    types: &str,
    planes: Vec<Planes<'py>>,
    vectors: Vec<PyReadonlyArray2<'py, i32>>,
    accumulate: bool,
    bgr: bool,
    first_index: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let frames =
        frames_from_numpy(types, &planes, &vectors, first_index).map_err(|e| to_pyerr(e, path))?;
    let options = ReprOptions { accumulate, bgr };
    let len = frames.len();
    let gop = py
        .detach(|| gop::represent_gop::<i16, _>(frames.into_iter().map(Ok), options, len))
        .map_err(|e| to_pyerr(e, path))?;
    gop_dict(py, gop)
}

pub(super) fn gop_dict<'py>(
    py: Python<'py>,
    gop: gop::GopArrays<i16>,
) -> PyResult<Bound<'py, PyDict>> {
    let (h, w, l) = (gop.height, gop.width, gop.len);
    let dict = PyDict::new(py);
    dict.set_item("iframe", to_numpy::<u8, Ix3>(py, (h, w, 3), gop.iframe)?)?;
    dict.set_item(
        "motion_vectors",
        to_numpy::<i32, Ix4>(py, (l, h, w, 2), gop.motion_vectors)?,
    )?;
    dict.set_item(
        "residuals",
        to_numpy::<i16, Ix4>(py, (l, h, w, 3), gop.residuals)?,
    )?;
    Ok(dict)
}

/// One representation at `position` of a GOP from an outside decoder's frames (frames
/// `0..=position` at least). `wide`: residuals as int32 (CoViAR) instead of int16.
#[pyfunction]
#[pyo3(signature = (path, types, planes, vectors, position, representation_name, accumulate=true, bgr=false, wide=false, first_index=0))]
#[allow(clippy::too_many_arguments)] // the Python signature: each keyword is an argument
fn position_from_frames<'py>(
    py: Python<'py>,
    path: &str,
    types: &str,
    planes: Vec<Planes<'py>>,
    vectors: Vec<PyReadonlyArray2<'py, i32>>,
    position: usize,
    representation_name: &str,
    accumulate: bool,
    bgr: bool,
    wide: bool,
    first_index: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let rep = representation(representation_name)?;
    let frames =
        frames_from_numpy(types, &planes, &vectors, first_index).map_err(|e| to_pyerr(e, path))?;
    let size = frames
        .first()
        .map_or((0, 0), |f| (f.yuv.width(), f.yuv.height()));
    let options = ReprOptions { accumulate, bgr };
    let frames = frames.into_iter().map(Ok);
    if wide {
        let out =
            py.detach(|| gop::represent_position::<i32, _>(frames, position, rep, options, size));
        single_to_numpy(py, size, out.map_err(|e| to_pyerr(e, path))?)
    } else {
        let out =
            py.detach(|| gop::represent_position::<i16, _>(frames, position, rep, options, size));
        single_to_numpy(py, size, out.map_err(|e| to_pyerr(e, path))?)
    }
}

pub(super) fn single_to_numpy<'py, T: Element>(
    py: Python<'py>,
    (w, h): (usize, usize),
    single: Single<T>,
) -> PyResult<Bound<'py, PyAny>> {
    match single {
        Single::IFrame(rgb) => to_numpy::<u8, Ix3>(py, (h, w, 3), rgb),
        Single::MotionVectors(mv) => to_numpy::<i32, Ix3>(py, (h, w, 2), mv),
        Single::Residual(res) => to_numpy::<T, Ix3>(py, (h, w, 3), res),
    }
}

/// One representation at one position of one GOP of a video pkdkit decodes itself.
/// `wide`: residuals as int32 (CoViAR) instead of int16.
#[pyfunction]
#[pyo3(signature = (video, gop, position, representation_name, accumulate=true, bgr=false, wide=false))]
#[allow(clippy::too_many_arguments)] // the Python signature: each keyword is an argument
fn represent<'py>(
    py: Python<'py>,
    video: &Bound<'py, PyVideo>,
    gop: i64,
    position: i64,
    representation_name: &str,
    accumulate: bool,
    bgr: bool,
    wide: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let rep = representation(representation_name)?;
    let video = video.get();
    let (inner, path) = (&video.inner, video.path.as_str());
    let options = ReprOptions { accumulate, bgr };
    let size = native::frame_size(inner);
    if wide {
        let out = py.detach(|| native::position::<i32>(inner, gop, position, rep, options));
        single_to_numpy(py, size, out.map_err(|e| to_pyerr(e, path))?)
    } else {
        let out = py.detach(|| native::position::<i16>(inner, gop, position, rep, options));
        single_to_numpy(py, size, out.map_err(|e| to_pyerr(e, path))?)
    }
}

/// Every position of one GOP of a video pkdkit decodes itself, decoding the GOP once.
#[pyfunction]
#[pyo3(signature = (video, gop, accumulate=true, bgr=false))]
fn represent_gop<'py>(
    py: Python<'py>,
    video: &Bound<'py, PyVideo>,
    gop: i64,
    accumulate: bool,
    bgr: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let video = video.get();
    let options = ReprOptions { accumulate, bgr };
    let gop = py
        .detach(|| native::decode_gop::<i16>(&video.inner, gop, options))
        .map_err(|e| to_pyerr(e, &video.path))?;
    gop_dict(py, gop)
}

/// Many samples decoded in parallel on `threads` threads (0 = all cores) with the GIL
/// released, stacked into one `(N, H, W, C)` array.
#[pyfunction]
#[pyo3(signature = (paths, gops, positions, representation_name, accumulate=true, bgr=false, threads=0))]
#[allow(clippy::too_many_arguments)] // the Python signature: each keyword is an argument
fn load_batch<'py>(
    py: Python<'py>,
    paths: Vec<PathBuf>,
    gops: Vec<i64>,
    positions: Vec<i64>,
    representation_name: &str,
    accumulate: bool,
    bgr: bool,
    threads: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let rep = representation(representation_name)?;
    let options = ReprOptions { accumulate, bgr };
    let batch = py
        .detach(|| batch::load_batch::<i16>(&paths, &gops, &positions, rep, options, threads))
        .map_err(batch_error)?;
    batch_to_numpy(py, batch)
}

/// Several representations of the same samples, each (file, GOP, position) decoded once for
/// all of them; one `(N, H, W, C)` array per name, in the order of `representation_names`.
#[pyfunction]
#[pyo3(signature = (paths, gops, positions, representation_names, accumulate=true, bgr=false, threads=0))]
#[allow(clippy::too_many_arguments)] // the Python signature: each keyword is an argument
fn load_batches<'py>(
    py: Python<'py>,
    paths: Vec<PathBuf>,
    gops: Vec<i64>,
    positions: Vec<i64>,
    representation_names: Vec<String>,
    accumulate: bool,
    bgr: bool,
    threads: usize,
) -> PyResult<Bound<'py, PyTuple>> {
    let reps = representation_names
        .iter()
        .map(|name| representation(name))
        .collect::<PyResult<Vec<_>>>()?;
    let options = ReprOptions { accumulate, bgr };
    let batches = py
        .detach(|| batch::load_batches::<i16>(&paths, &gops, &positions, &reps, options, threads))
        .map_err(batch_error)?;
    let arrays = batches
        .into_iter()
        .map(|b| batch_to_numpy(py, b))
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, arrays)
}

fn batch_error(error: BatchError) -> PyErr {
    match error {
        BatchError::Video { path, error } => to_pyerr(error, &path.display().to_string()),
        BatchError::Arguments(message) => PyValueError::new_err(message),
    }
}

fn batch_to_numpy(py: Python<'_>, batch: batch::Batch<i16>) -> PyResult<Bound<'_, PyAny>> {
    let (n, h, w) = (batch.len, batch.height, batch.width);
    match batch.data {
        BatchData::IFrame(d) => to_numpy::<u8, Ix4>(py, (n, h, w, 3), d),
        BatchData::MotionVectors(d) => to_numpy::<i32, Ix4>(py, (n, h, w, 2), d),
        BatchData::Residual(d) => to_numpy::<i16, Ix4>(py, (n, h, w, 3), d),
    }
}

/// Add the representation functions to `pkdkit._core`.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(gop_from_frames, m)?)?;
    m.add_function(wrap_pyfunction!(position_from_frames, m)?)?;
    m.add_function(wrap_pyfunction!(represent, m)?)?;
    m.add_function(wrap_pyfunction!(represent_gop, m)?)?;
    m.add_function(wrap_pyfunction!(load_batch, m)?)?;
    m.add_function(wrap_pyfunction!(load_batches, m)?)?;
    Ok(())
}
