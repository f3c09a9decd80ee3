//! Containers: find the MPEG-4 Part 2 video packets inside a raw elementary stream, an AVI
//! (RIFF) file, an MP4 (ISO BMFF) file or a Matroska file. The container is sniffed from the
//! content, never from the file name (CoViAR's raw streams are named `.mp4`).
//!
//! Every size read from a file is untrusted: ranges are checked against the file length before
//! use, and nothing is allocated from a declared count without bounding it by the bytes present.
#![forbid(unsafe_code)]

pub mod avi;
mod avi_resync;
pub mod mkv;
pub mod mp4;
mod mp4_fragments;
pub mod raw;

use crate::{Error, Result};

/// Which container a video came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerKind {
    /// A raw MPEG-4 Part 2 elementary stream (`.m4v`, CoViAR's `.mp4`).
    Raw,
    Avi,
    Mp4,
    /// Matroska (`.mkv`).
    Mkv,
}

impl ContainerKind {
    /// Short lowercase name ("m4v", "avi", "mp4", "mkv").
    pub fn name(self) -> &'static str {
        match self {
            ContainerKind::Raw => "m4v",
            ContainerKind::Avi => "avi",
            ContainerKind::Mp4 => "mp4",
            ContainerKind::Mkv => "mkv",
        }
    }
}

/// One compressed packet (AVI chunk, MP4 sample, or one VOP of a raw stream): a byte range of
/// the file. `len` may be 0 (an AVI drop-frame chunk).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet {
    pub offset: usize,
    pub len: usize,
}

impl Packet {
    /// The byte range of the packet in the file.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.len
    }
}

/// What a container holds: the video packets in decode order and the codec set-up.
#[derive(Clone, Debug, PartialEq)]
pub struct Demuxed {
    pub kind: ContainerKind,
    /// Packets in decode (file) order; every range lies inside the file.
    pub packets: Vec<Packet>,
    /// Out-of-band decoder configuration (MP4 `esds` DecoderSpecificInfo, AVI `strf` extra
    /// bytes, Matroska `CodecPrivate`): VOS/VO/VOL headers. Empty for raw streams.
    pub config: Vec<u8>,
    /// Frame rate declared by the container, if any.
    pub fps: Option<f64>,
    /// The container's codec tag (AVI fourcc, MP4 sample entry type), if any.
    pub fourcc: Option<String>,
}

/// Sniff the container and list the MPEG-4 Part 2 video packets.
///
/// Errors: `NotVideo` for data that is no video at all, `Unsupported` naming the container or
/// codec for real videos pkdkit does not read, `Corrupt` for damaged structure, `Limit` for
/// absurd declared frame sizes.
pub fn demux(data: &[u8]) -> Result<Demuxed> {
    if data.is_empty() {
        return Err(Error::NotVideo("the file is empty".into()));
    }
    if data.starts_with(b"RIFF") {
        return match data.get(8..12) {
            Some(b"AVI ") => avi::demux(data),
            Some(form) => Err(Error::NotVideo(format!(
                "a RIFF file of type '{}', not AVI",
                printable(form)
            ))),
            None => Err(Error::corrupt(0, "avi: RIFF header is truncated")),
        };
    }
    if data.starts_with(&MATROSKA_MAGIC) {
        return mkv::demux(data);
    }
    if mp4::looks_like_mp4(data) {
        return mp4::demux(data);
    }
    if let Some(other) = other_container(data) {
        return Err(Error::Unsupported(format!(
            "{other} files are not read by pkdkit (MPEG-4 Part 2 in raw streams, AVI, MP4 and \
             Matroska only)"
        )));
    }
    if raw::starts_with_start_code(data) {
        return raw::demux(data);
    }
    Err(Error::NotVideo(format!(
        "unrecognised content (first bytes {})",
        hex_prefix(data, 8)
    )))
}

/// The EBML header ID that opens every Matroska/WebM file.
const MATROSKA_MAGIC: [u8; 4] = [0x1A, 0x45, 0xDF, 0xA3];

/// Names a few well-known containers pkdkit does not read, from their magic bytes.
fn other_container(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(b"FLV\x01") {
        Some("FLV")
    } else if data.starts_with(b"OggS") {
        Some("Ogg")
    } else if data.starts_with(&[0, 0, 1, 0xBA]) {
        Some("MPEG program stream")
    } else if data.starts_with(&[0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11]) {
        Some("ASF/WMV")
    } else if data.len() >= 377 && data[0] == 0x47 && data[188] == 0x47 && data[376] == 0x47 {
        Some("MPEG transport stream")
    } else {
        None
    }
}

/// Four-character code as text, with non-printable bytes as `?`.
pub(crate) fn printable(code: &[u8]) -> String {
    code.iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '?'
            }
        })
        .collect()
}

fn hex_prefix(data: &[u8], n: usize) -> String {
    data.iter()
        .take(n)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Little-endian u32 at `at`, `None` past the end.
pub(crate) fn le_u32(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Big-endian u16 at `at`, `None` past the end.
pub(crate) fn be_u16(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// Big-endian u32 at `at`, `None` past the end.
pub(crate) fn be_u32(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Big-endian u64 at `at`, `None` past the end.
pub(crate) fn be_u64(data: &[u8], at: usize) -> Option<u64> {
    let b = data.get(at..at.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_be_bytes(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content() {
        assert!(matches!(demux(b""), Err(Error::NotVideo(_))));
        assert!(matches!(
            demux(b"hello world, not a video"),
            Err(Error::NotVideo(_))
        ));
        assert!(matches!(
            demux(b"RIFF\x04\0\0\0WAVEfmt "),
            Err(Error::NotVideo(_))
        ));
        assert!(matches!(
            demux(&[0x1A, 0x45, 0xDF, 0xA3, 0, 0, 0, 0]),
            Err(Error::Corrupt { .. })
        ));
        // H.264 Annex B: SPS, PPS, IDR
        let h264 = [
            0, 0, 0, 1, 0x67, 0x42, 0, 0, 0, 1, 0x68, 0xCE, 0, 0, 1, 0x65, 0x88,
        ];
        match demux(&h264) {
            Err(Error::Unsupported(m)) => assert!(m.contains("H.264"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn byte_readers_stop_at_the_end() {
        let d = [1, 2, 3, 4, 5];
        assert_eq!(le_u32(&d, 1), Some(0x0504_0302));
        assert_eq!(be_u32(&d, 2), None);
        assert_eq!(be_u16(&d, usize::MAX), None);
        assert_eq!(be_u64(&d, 0), None);
    }
}
