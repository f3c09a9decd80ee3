//! Raw MPEG-4 Part 2 elementary streams: the headers and VOPs back to back, each behind a
//! `00 00 01 xx` start code. Packets are cut after each VOP, the way FFmpeg's m4v parser
//! hands them to the decoder (headers travel with the VOP after them).
#![forbid(unsafe_code)]

use super::{ContainerKind, Demuxed, Packet};
use crate::bits::start_codes;
use crate::mpeg4::header::start_code as sc;
use crate::{Error, Result};

/// How far into the file the sniffer looks for the codes that identify the codec.
const SNIFF_WINDOW: usize = 1 << 18;

/// True when the data begins (after optional zero bytes) with a start-code prefix.
pub fn starts_with_start_code(data: &[u8]) -> bool {
    let zeros = data.iter().take(64).take_while(|&&b| b == 0).count();
    zeros >= 2 && data.get(zeros) == Some(&1)
}

/// Which codec a start-code stream is: MPEG-4 Part 2 has VOPs (0xB6) or a visual object
/// sequence (0xB0); MPEG-1/2 have sequence headers (0xB3) but never 0xB6;
/// H.264 and HEVC NAL headers have their own parameter-set types.
fn identify(data: &[u8]) -> Result<()> {
    let window = &data[..data.len().min(SNIFF_WINDOW)];
    let codes: Vec<u8> = start_codes(window).map(|(_, c)| c).collect();
    let has = |f: &dyn Fn(u8) -> bool| codes.iter().any(|&c| f(c));
    if has(&|c| c == sc::VOP || c == sc::VISUAL_OBJECT_SEQUENCE) {
        return Ok(());
    }
    // 0xB3 is an MPEG-1/2 sequence header (an MPEG-4 GOV only comes with VOPs, checked
    // above; in H.264 a byte >= 0x80 after a start code is an invalid NAL header).
    if has(&|c| c == 0xB3) {
        return Err(Error::Unsupported(
            "raw stream: codec MPEG-1/2 video is not MPEG-4 Part 2".into(),
        ));
    }
    let h264_sps = has(&|c| c < 0x80 && c & 0x1F == 7);
    let h264_pps = has(&|c| c < 0x80 && c & 0x1F == 8);
    if h264_sps && h264_pps {
        return Err(Error::Unsupported(
            "raw stream: codec H.264 (Annex B) is not MPEG-4 Part 2".into(),
        ));
    }
    if has(&|c| c == 0x40) && has(&|c| c == 0x42) {
        return Err(Error::Unsupported(
            "raw stream: codec HEVC (Annex B) is not MPEG-4 Part 2".into(),
        ));
    }
    // A stream cut off before its first VOP still counts when it opens with VO/VOL headers.
    match codes.as_slice() {
        [vo, vol, ..]
            if *vo <= sc::VIDEO_OBJECT_LAST && (sc::VOL_FIRST..=sc::VOL_LAST).contains(vol) =>
        {
            Ok(())
        }
        [vol] if (sc::VOL_FIRST..=sc::VOL_LAST).contains(vol) => Ok(()),
        _ => Err(Error::NotVideo(
            "start codes found, but no MPEG-4 Part 2 headers or VOPs".into(),
        )),
    }
}

/// Split a raw elementary stream into one packet per VOP the way FFmpeg's m4v parser does: a
/// packet ends at the first start code after its VOP (headers travel with the VOP after
/// them), except video packet (`B7`) and extension (`B8`) codes; the last one runs to the end.
pub fn demux(data: &[u8]) -> Result<Demuxed> {
    identify(data)?;
    let mut packets = Vec::new();
    let mut start = 0usize;
    let mut in_vop = false;
    for (at, code) in start_codes(data) {
        if in_vop && !matches!(code, 0xB7 | 0xB8) {
            packets.push(Packet {
                offset: start,
                len: at - start,
            });
            start = at;
            in_vop = false;
        }
        in_vop |= code == sc::VOP;
    }
    packets.push(Packet {
        offset: start,
        len: data.len() - start,
    });
    Ok(Demuxed {
        kind: ContainerKind::Raw,
        packets,
        config: Vec::new(),
        fps: None,
        fourcc: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_packets_after_vops_keeping_headers_with_the_next_vop() {
        let data = [
            0, 0, 1, 0xB0, 1, 0, 0, 1, 0x20, 9, 0, 0, 1, 0xB6, 0x10, 0, 0, 1, 0xB3, 7, 0, 0, 1,
            0xB6, 0x50, 0x51,
        ];
        let d = demux(&data).unwrap();
        assert_eq!(d.kind, ContainerKind::Raw);
        assert_eq!(
            d.packets,
            vec![
                Packet { offset: 0, len: 15 },
                Packet {
                    offset: 15,
                    len: 11
                }
            ]
        );
    }

    #[test]
    fn names_other_codecs() {
        // sequence header, GOP, picture, and slices 0x07/0x08 that look like H.264 SPS/PPS
        let mpeg2 = [
            0, 0, 1, 0xB3, 0x16, 0, 0, 1, 0xB8, 0, 0, 0, 1, 0, 0, 0, 0, 1, 7, 9, 0, 0, 1, 8, 9,
        ];
        assert!(matches!(demux(&mpeg2), Err(Error::Unsupported(m)) if m.contains("MPEG-1/2")));
        assert!(matches!(
            demux(&[0, 0, 1, 0xC4, 1]),
            Err(Error::NotVideo(_))
        ));
    }
}
