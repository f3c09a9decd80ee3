//! What FFmpeg adapts to the encoder that wrote a stream, detected from the encoder's user data
//! and the container's tag: the IDCT it picks and the encoder bugs it works around (as its
//! `ff_mpeg4_workaround_bugs` and automatic IDCT choice do).
#![forbid(unsafe_code)]

use crate::mpeg4::header::{Encoder, EncoderInfo};
use crate::mpeg4::idct::IdctKind;
use crate::mpeg4::qpel::QpelChroma;

/// The container tags FFmpeg takes for XviD's when the user data names no encoder.
const XVID_FOURCCS: [&str; 5] = ["XVID", "XVIX", "RMP4", "ZMP4", "SIPP"];

/// Whether a container tag marks the stream as XviD's (for streams without encoder user data).
pub fn xvid_fourcc(fourcc: Option<&str>) -> bool {
    fourcc.is_some_and(|tag| XVID_FOURCCS.contains(&tag))
}

/// The IDCT FFmpeg picks automatically: the XviD one for streams XviD wrote, its own simple
/// IDCT otherwise. Like FFmpeg, a stream whose user data names no encoder at all counts as
/// XviD's when the container tags it `XVID`, `XVIX`, `RMP4`, `ZMP4` or `SIPP`.
pub fn auto_idct(encoder: &EncoderInfo, fourcc: Option<&str>) -> IdctKind {
    match encoder.kind {
        Encoder::Xvid => IdctKind::Xvid,
        Encoder::Unknown if xvid_fourcc(fourcc) => IdctKind::Xvid,
        _ => IdctKind::Simple,
    }
}

/// Encoder bugs FFmpeg works around in ASP streams, detected from the encoder's user data
/// (and container tag) exactly as FFmpeg's `ff_mpeg4_workaround_bugs` does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quirks {
    /// Chroma vector derivation of 16x16 quarter-sample MBs.
    pub qpel_chroma: QpelChroma,
}

impl Quirks {
    /// The workarounds for a stream written by `encoder` (in a container tagged `fourcc`).
    /// A DivX string next to another encoder's keeps only its version, so an unknown DivX
    /// build counts as an old one (< 1814).
    pub fn detect(encoder: &EncoderInfo, fourcc: Option<&str>) -> Quirks {
        let xvid_build = match encoder.kind {
            Encoder::Xvid => encoder.build,
            Encoder::Unknown if xvid_fourcc(fourcc) => Some(0),
            _ => None,
        };
        let divx = match (encoder.kind, encoder.version) {
            (Encoder::Xvid, _) => None,
            (Encoder::Divx, Some(v)) => Some((v, encoder.build.unwrap_or(0))),
            (_, Some(v)) => Some((v, 0)),
            _ => None,
        };
        let old_divx = |min: u32| divx.is_some_and(|(v, b)| v >= min && b < 1814);
        let qpel_chroma = if old_divx(503) {
            QpelChroma::Bug2
        } else if old_divx(500) || xvid_build.is_some_and(|b| b <= 1) {
            QpelChroma::Bug
        } else {
            QpelChroma::Standard
        };
        // FFmpeg also flags FF_BUG_DIRECT_BLOCKSIZE for DivX, but its direct-mode code reads
        // the user's `avctx->workaround_bugs`, not the detected ones, so it never takes effect.
        Quirks { qpel_chroma }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xvid_tags_stand_for_xvid_only_without_encoder_user_data() {
        let unknown = EncoderInfo::default();
        assert_eq!(auto_idct(&unknown, Some("XVID")), IdctKind::Xvid);
        assert_eq!(auto_idct(&unknown, Some("SIPP")), IdctKind::Xvid);
        assert_eq!(auto_idct(&unknown, Some("DIVX")), IdctKind::Simple);
        assert_eq!(auto_idct(&unknown, None), IdctKind::Simple);
        // An XviD tag counts as XviD build 0, which has the quarter-sample chroma bug.
        let tagged = Quirks::detect(&unknown, Some("XVIX"));
        assert_eq!(tagged.qpel_chroma, QpelChroma::Bug);
        assert_eq!(Quirks::detect(&unknown, Some("FMP4")), Quirks::default());
    }
}
