//! The one error type of the core. Messages are prefixed with the layer that raised them
//! ("avi: ...", "mpeg4: ...") so a user can tell a container problem from a bitstream one.
//! The Python layer adds the file name and maps each variant to an exception class
//! (`python/errors.rs`): `InvalidArgument` becomes `ValueError`, the others `pkdkit.VideoError`
//! subclasses or `OSError`.

use std::fmt;

/// Everything that can go wrong while reading a video.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The operating system failed to read the file.
    Io(std::io::Error),
    /// The bytes are not a video container or stream we recognise at all.
    NotVideo(String),
    /// A real video, but in a codec or with a feature pkdkit does not decode.
    Unsupported(String),
    /// The caller's mistake, not the video's: an unknown representation name, frames or an
    /// output buffer that do not fit together. Never a reason to try another decoder.
    InvalidArgument(String),
    /// The stream breaks its own syntax: `offset` is the byte offset in the file (or in the
    /// elementary stream when the container is raw), `frame` the frame index when known.
    Corrupt {
        offset: u64,
        frame: Option<usize>,
        what: String,
    },
    /// A declared size beyond what pkdkit accepts (refused before allocating).
    Limit(String),
    /// An index (GOP, position, frame) outside its valid range `0..len`.
    OutOfRange {
        what: &'static str,
        index: i64,
        len: usize,
    },
}

/// Result alias used throughout the core.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A `Corrupt` error with no frame index yet (the caller may add it with [`Error::at_frame`]).
    pub fn corrupt(offset: u64, what: impl Into<String>) -> Self {
        Error::Corrupt {
            offset,
            frame: None,
            what: what.into(),
        }
    }

    /// Attach a frame index to a `Corrupt` error that does not have one yet.
    pub fn at_frame(self, index: usize) -> Self {
        match self {
            Error::Corrupt {
                offset,
                frame: None,
                what,
            } => Error::Corrupt {
                offset,
                frame: Some(index),
                what,
            },
            other => other,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "cannot read file: {e}"),
            Error::NotVideo(what) => write!(f, "not a supported video: {what}"),
            Error::Unsupported(what) => write!(f, "unsupported: {what}"),
            Error::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            Error::Corrupt {
                offset,
                frame: Some(k),
                what,
            } => write!(f, "corrupt stream at byte {offset}, frame {k}: {what}"),
            Error::Corrupt {
                offset,
                frame: None,
                what,
            } => write!(f, "corrupt stream at byte {offset}: {what}"),
            Error::Limit(what) => write!(f, "refused: {what}"),
            Error::OutOfRange { what, index, len } => {
                if *len == 0 {
                    write!(f, "{what} {index} out of range: there are none")
                } else {
                    write!(
                        f,
                        "{what} {index} out of range: valid values are 0..={}",
                        len - 1
                    )
                }
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_offset_frame_and_range() {
        let e = Error::corrupt(1234, "mpeg4: bad marker bit").at_frame(7);
        assert_eq!(
            e.to_string(),
            "corrupt stream at byte 1234, frame 7: mpeg4: bad marker bit"
        );
        let e = Error::OutOfRange {
            what: "gop",
            index: 9,
            len: 3,
        };
        assert_eq!(e.to_string(), "gop 9 out of range: valid values are 0..=2");
    }

    #[test]
    fn at_frame_keeps_an_existing_frame() {
        let e = Error::Corrupt {
            offset: 1,
            frame: Some(2),
            what: "x".into(),
        }
        .at_frame(5);
        assert!(matches!(e, Error::Corrupt { frame: Some(2), .. }));
    }
}
