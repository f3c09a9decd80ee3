//! pkdkit's exception classes, defined once here and re-exported by `pkdkit.errors`, and the one
//! mapping from the core's [`Error`] to them.
//!
//! `VideoError` and its subclasses are about a video's content; `InvalidArgument` (the caller's
//! mistake) is a `ValueError`, and I/O failures stay `OSError`/`FileNotFoundError`, so code
//! that skips damaged videos never skips a bug or a missing file by accident.

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyFileNotFoundError, PyIndexError, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

use crate::Error;

// The classes report `pkdkit.errors` as their module, where users import (and pickle finds) them.
create_exception!(
    pkdkit.errors,
    VideoError,
    PyException,
    "Base class of every error about a video's content."
);
create_exception!(
    pkdkit.errors,
    NotAVideoError,
    VideoError,
    "The file is not a container or stream that pkdkit recognises."
);
create_exception!(
    pkdkit.errors,
    UnsupportedCodecError,
    VideoError,
    "A real video whose codec or coding tool pkdkit does not decode."
);
create_exception!(
    pkdkit.errors,
    CorruptStreamError,
    VideoError,
    "The stream is damaged or truncated; the message gives the byte offset and frame."
);
create_exception!(
    pkdkit.errors,
    LimitExceededError,
    VideoError,
    "A declared size (frame dimensions, chunk length) beyond what pkdkit accepts."
);

/// `VideoIndexError(VideoError, IndexError)`: two bases, which `create_exception!` cannot
/// express, so the class is made once with `type()`.
fn video_index_error(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    static CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    CLASS
        .get_or_try_init(py, || {
            let bases = PyTuple::new(
                py,
                [py.get_type::<VideoError>(), py.get_type::<PyIndexError>()],
            )?;
            let namespace = PyDict::new(py);
            namespace.set_item("__module__", "pkdkit.errors")?;
            namespace.set_item(
                "__doc__",
                "A GOP, position or frame index outside the valid range (also an ``IndexError``).",
            )?;
            let class = py
                .get_type::<PyType>()
                .call1(("VideoIndexError", bases, namespace))?;
            Ok(class.cast_into::<PyType>()?.unbind())
        })
        .map(|class| class.bind(py))
}

/// The exception for `err` with `message` (the one mapping from [`Error`] variants to classes).
fn exception(err: &Error, message: String) -> PyErr {
    match err {
        Error::Io(e) if e.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(message)
        }
        Error::Io(_) => PyOSError::new_err(message),
        Error::InvalidArgument(_) => PyValueError::new_err(message),
        Error::NotVideo(_) => NotAVideoError::new_err(message),
        Error::Unsupported(_) => UnsupportedCodecError::new_err(message),
        Error::Corrupt { .. } => CorruptStreamError::new_err(message),
        Error::Limit(_) => LimitExceededError::new_err(message),
        Error::OutOfRange { .. } => Python::attach(|py| match video_index_error(py) {
            Ok(class) => PyErr::from_type(class.clone(), message),
            Err(e) => e,
        }),
    }
}

impl From<Error> for PyErr {
    fn from(err: Error) -> PyErr {
        let message = err.to_string();
        exception(&err, message)
    }
}

/// The exception for `err` raised while reading `path`: the message starts with the file name.
pub(crate) fn to_pyerr(err: Error, path: &str) -> PyErr {
    let message = format!("{path}: {err}");
    exception(&err, message)
}

/// Add the classes to `pkdkit._core`.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("VideoError", py.get_type::<VideoError>())?;
    m.add("NotAVideoError", py.get_type::<NotAVideoError>())?;
    m.add(
        "UnsupportedCodecError",
        py.get_type::<UnsupportedCodecError>(),
    )?;
    m.add("CorruptStreamError", py.get_type::<CorruptStreamError>())?;
    m.add("LimitExceededError", py.get_type::<LimitExceededError>())?;
    m.add("VideoIndexError", video_index_error(py)?)?;
    Ok(())
}
