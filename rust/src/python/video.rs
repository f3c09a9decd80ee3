//! Bindings of `video::Video`: opening and indexing a file.

use std::sync::Arc;

use pyo3::prelude::*;

use super::errors::to_pyerr;
use crate::video::Video;

/// A parsed video: container, VOL header and VOP index. `pkdkit.CompressedVideo` wraps it;
/// decoding bindings reach the core `Video` through `inner`.
#[pyclass(name = "Video", module = "pkdkit._core", frozen)]
pub(crate) struct PyVideo {
    pub(crate) inner: Arc<Video>,
    /// The path as the user gave it, for error messages.
    pub(crate) path: String,
    /// Why pkdkit's decoder cannot decode this stream (`None`: it can), found at indexing.
    unsupported: Option<String>,
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
    /// `None` when pkdkit decodes this stream, else the reason it cannot (with the file name),
    /// e.g. "clip.m4v: unsupported: mpeg4: interlaced video (Advanced Simple Profile)".
    #[getter]
    fn unsupported(&self) -> Option<&str> {
        self.unsupported.as_deref()
    }
}

/// `open(path)`: read and index a video file (GIL released while reading and parsing).
#[pyfunction(name = "open")]
fn open_video(py: Python<'_>, path: std::path::PathBuf) -> PyResult<PyVideo> {
    let shown = path.display().to_string();
    let video = py
        .detach(|| Video::open(&path))
        .map_err(|e| to_pyerr(e, &shown))?;
    let unsupported = video
        .check_decodable()
        .err()
        .map(|e| format!("{shown}: {e}"));
    Ok(PyVideo {
        inner: Arc::new(video),
        path: shown,
        unsupported,
    })
}

/// Add `Video` and `open` to `pkdkit._core`.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyVideo>()?;
    m.add_function(wrap_pyfunction!(open_video, m)?)
}
