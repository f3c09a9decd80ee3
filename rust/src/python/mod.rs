//! The PyO3 module `pkdkit._core`: converts arguments, runs the core with the GIL released,
//! maps errors to pkdkit's exception classes and hands buffers to numpy without copying.
//! No parsing or numerics live here. One file per core module it binds.

use numpy::ndarray::{Array, Dimension, IntoDimension};
use numpy::{Element, IntoPyArray};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

mod colour;
mod dct;
mod errors;
mod frame_iter;
mod representations;
mod video;

#[pymodule(gil_used = false)]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    video::register(m)?;
    colour::register(m)?;
    frame_iter::register(m)?;
    representations::register(m)?;
    dct::register(m)?;
    Ok(())
}

/// A Rust buffer as an n-d numpy array without a copy (its base owns the Rust `Vec`).
fn to_numpy<'py, T: Element, D: Dimension>(
    py: Python<'py>,
    shape: impl IntoDimension<Dim = D>,
    data: Vec<T>,
) -> PyResult<Bound<'py, PyAny>> {
    let array = Array::from_shape_vec(shape, data)
        .map_err(|e| PyValueError::new_err(format!("output shape: {e}")))?;
    Ok(array.into_pyarray(py).into_any())
}
