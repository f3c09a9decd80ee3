//! Bindings of `repr::colour`: the one YUV -> RGB conversion.

use numpy::IntoPyArray;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::repr::colour::{check_420, yuv_view_to_rgb, PlaneView};

/// A borrowed, C-contiguous view of a 2-D uint8 numpy array (copied only if not contiguous).
fn plane_view<'a>(
    name: &str,
    a: &'a numpy::ndarray::CowArray<'a, u8, numpy::ndarray::Ix2>,
) -> PyResult<PlaneView<'a>> {
    let (height, width) = a.dim();
    let data = a
        .as_slice()
        .ok_or_else(|| PyValueError::new_err(format!("{name}: plane is not contiguous")))?;
    Ok(PlaneView {
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
    check_420(yp, up, vp).map_err(PyValueError::new_err)?;
    let rgb = py.detach(|| yuv_view_to_rgb(yp, up, vp, bgr));
    let image = numpy::ndarray::Array3::from_shape_vec((yp.height, yp.width, 3), rgb)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(image.into_pyarray(py))
}

/// Add the colour functions to `pkdkit._core`.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(yuv_to_rgb, m)?)
}
