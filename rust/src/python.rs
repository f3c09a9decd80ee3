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

#[pymodule(gil_used = false)]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
