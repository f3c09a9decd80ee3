//! The PyO3 module `pkdkit._core`: converts arguments, runs the core with the GIL released,
//! maps errors to pkdkit's exception classes and hands buffers to numpy without copying.
//! No parsing or numerics live here. One file per core module it binds.

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
