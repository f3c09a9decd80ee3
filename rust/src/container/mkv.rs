//! Matroska (`.mkv`) demuxing: the first video track's frames, in file (decode) order, from
//! `SimpleBlock`s and `BlockGroup`s, with Xiph, EBML and fixed-size lacing; `CodecPrivate` is the
//! decoder configuration.
//!
//! Layout (EBML: each element is an ID, a size and a body, all variable-length):
//! `EBML {..} Segment { SeekHead, Info, Tracks { TrackEntry { TrackNumber, TrackType, CodecID,
//! CodecPrivate, DefaultDuration, Video {..} } }, Cluster { Timestamp, SimpleBlock,
//! BlockGroup { Block } }, Cues, ... }`. Segment and Cluster may have an unknown size (live
//! recordings): they run to the next element that cannot be their child.
//!
//! MPEG-4 Part 2 comes as `V_MPEG4/ISO/{SP,ASP,AP}` (`CodecPrivate` = VOS/VOL headers) or as
//! `V_MS/VFW/FOURCC` (`CodecPrivate` = a BITMAPINFOHEADER with an XVID/DIVX/FMP4... fourcc and
//! the headers after its 40 bytes). A file cut short keeps the frames that are whole.
//!
//! Own code rather than a crate: the Matroska crates on crates.io hand out copies of the frames,
//! while pkdkit's packets are byte ranges of the file (no copy, error offsets in file bytes).
#![forbid(unsafe_code)]

use super::{avi, printable, ContainerKind, Demuxed, Packet};
use crate::mpeg4::header::check_frame_size;
use crate::{Error, Result};

/// Element IDs (with their length marker bits, as written).
mod id {
    pub const EBML: u32 = 0x1A45_DFA3;
    pub const SEGMENT: u32 = 0x1853_8067;
    pub const SEEK_HEAD: u32 = 0x114D_9B74;
    pub const INFO: u32 = 0x1549_A966;
    pub const TRACKS: u32 = 0x1654_AE6B;
    pub const CLUSTER: u32 = 0x1F43_B675;
    pub const CUES: u32 = 0x1C53_BB6B;
    pub const TAGS: u32 = 0x1254_C367;
    pub const CHAPTERS: u32 = 0x1043_A770;
    pub const ATTACHMENTS: u32 = 0x1941_A469;
    pub const TRACK_ENTRY: u32 = 0xAE;
    pub const TRACK_NUMBER: u32 = 0xD7;
    pub const TRACK_TYPE: u32 = 0x83;
    pub const CODEC_ID: u32 = 0x86;
    pub const CODEC_PRIVATE: u32 = 0x63A2;
    pub const DEFAULT_DURATION: u32 = 0x23_E383;
    pub const CONTENT_ENCODINGS: u32 = 0x6D80;
    pub const VIDEO: u32 = 0xE0;
    pub const PIXEL_WIDTH: u32 = 0xB0;
    pub const PIXEL_HEIGHT: u32 = 0xBA;
    pub const SIMPLE_BLOCK: u32 = 0xA3;
    pub const BLOCK_GROUP: u32 = 0xA0;
    pub const BLOCK: u32 = 0xA1;
}

/// `TrackType` of a video track.
const VIDEO_TRACK: u64 = 1;

/// Matroska codec IDs of MPEG-4 Part 2 (Simple, Advanced Simple, Advanced profile names).
const MPEG4_CODEC_IDS: &[&str] = &["V_MPEG4/ISO/SP", "V_MPEG4/ISO/ASP", "V_MPEG4/ISO/AP"];

/// Video for Windows compatibility: `CodecPrivate` is a BITMAPINFOHEADER.
const VFW_CODEC_ID: &str = "V_MS/VFW/FOURCC";

/// Size of a BITMAPINFOHEADER.
const BIH: usize = 40;

fn corrupt(at: usize, what: impl Into<String>) -> Error {
    Error::corrupt(at as u64, format!("mkv: {}", what.into()))
}

/// One element: its ID, where its body starts and ends (clamped to its parent), and whether
/// its size was unknown or ran past the parent (a cut file).
#[derive(Clone, Copy, Debug)]
struct Element {
    id: u32,
    at: usize,
    body: usize,
    end: usize,
    /// Unknown size: the body runs until an element that cannot be a child.
    open_ended: bool,
    /// The declared size ran past the parent (the file is cut short).
    cut: bool,
}

/// An element ID at `at`: 1 to 4 bytes, the length marked by the first set bit.
fn read_id(data: &[u8], at: usize) -> Option<(u32, usize)> {
    let first = *data.get(at)?;
    let len = first.leading_zeros() as usize + 1;
    if len > 4 {
        return None;
    }
    let bytes = data.get(at..at + len)?;
    Some((
        bytes.iter().fold(0u32, |v, &b| (v << 8) | u32::from(b)),
        len,
    ))
}

/// A variable-length unsigned integer at `at` (1 to 8 bytes, marker removed), and its length;
/// `None` for the value when every value bit is set (unknown size).
fn read_vint(data: &[u8], at: usize) -> Option<(Option<u64>, usize)> {
    let first = *data.get(at)?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 {
        return None;
    }
    let bytes = data.get(at..at + len)?;
    let mask = if len == 8 { 0 } else { 0xFFu8 >> len };
    let value = bytes[1..]
        .iter()
        .fold(u64::from(first & mask), |v, &b| (v << 8) | u64::from(b));
    let all_ones = (1u64 << (7 * len)) - 1;
    Some(((value != all_ones).then_some(value), len))
}

/// The element at `at` inside a parent ending at `parent_end`.
fn element_at(data: &[u8], at: usize, parent_end: usize) -> Result<Element> {
    let (id, id_len) =
        read_id(data, at).ok_or_else(|| corrupt(at, "invalid or truncated element ID"))?;
    let (size, size_len) = read_vint(data, at + id_len)
        .ok_or_else(|| corrupt(at, format!("element 0x{id:X} has an invalid size")))?;
    let body = at + id_len + size_len;
    if body > parent_end {
        return Err(corrupt(at, format!("element 0x{id:X} is truncated")));
    }
    let declared_end = size.and_then(|s| usize::try_from(s).ok()?.checked_add(body));
    Ok(Element {
        id,
        at,
        body,
        end: declared_end.map_or(parent_end, |e| e.min(parent_end)),
        open_ended: size.is_none(),
        cut: declared_end.is_some_and(|e| e > parent_end),
    })
}

/// True when an element header at `at` cannot be read because the file ends inside it (an
/// ID and a size take at most 12 bytes).
fn cut_header(data: &[u8], at: usize) -> bool {
    data.len().saturating_sub(at) < 12
}

/// Unsigned integer element body (at most 8 bytes).
fn uint(data: &[u8], el: &Element) -> Option<u64> {
    let bytes = data.get(el.body..el.end)?;
    (bytes.len() <= 8).then(|| bytes.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b)))
}

/// Top-level (Segment child) IDs: an open-ended cluster ends where one of them starts.
fn is_segment_child(id: u32) -> bool {
    matches!(
        id,
        id::CLUSTER
            | id::CUES
            | id::TAGS
            | id::CHAPTERS
            | id::ATTACHMENTS
            | id::SEEK_HEAD
            | id::INFO
            | id::TRACKS
    )
}

/// The first video track's set-up.
#[derive(Debug)]
struct VideoTrack {
    number: u64,
    codec_id: String,
    private: (usize, usize),
    default_duration_ns: Option<u64>,
    width: u64,
    height: u64,
}

/// Parse one `TrackEntry`; `Some` for a video track.
fn parse_track(data: &[u8], entry: &Element) -> Result<Option<VideoTrack>> {
    let mut track = VideoTrack {
        number: 0,
        codec_id: String::new(),
        private: (0, 0),
        default_duration_ns: None,
        width: 0,
        height: 0,
    };
    let mut kind = 0;
    let mut encoded = false;
    let mut at = entry.body;
    while at < entry.end {
        let el = element_at(data, at, entry.end)?;
        match el.id {
            id::TRACK_NUMBER => track.number = uint(data, &el).unwrap_or(0),
            id::TRACK_TYPE => kind = uint(data, &el).unwrap_or(0),
            id::CODEC_ID => {
                let raw = &data[el.body..el.end];
                let text = raw.split(|&b| b == 0).next().unwrap_or(&[]);
                track.codec_id = String::from_utf8_lossy(text).into_owned();
            }
            id::CODEC_PRIVATE => track.private = (el.body, el.end),
            id::DEFAULT_DURATION => track.default_duration_ns = uint(data, &el),
            id::CONTENT_ENCODINGS => encoded = true,
            id::VIDEO => {
                let mut v = el.body;
                while v < el.end {
                    let child = element_at(data, v, el.end)?;
                    match child.id {
                        id::PIXEL_WIDTH => track.width = uint(data, &child).unwrap_or(0),
                        id::PIXEL_HEIGHT => track.height = uint(data, &child).unwrap_or(0),
                        _ => {}
                    }
                    v = child.end;
                }
            }
            _ => {}
        }
        at = el.end;
    }
    if kind != VIDEO_TRACK {
        return Ok(None);
    }
    if encoded {
        return Err(Error::Unsupported(format!(
            "mkv: video track {} is compressed or encrypted (ContentEncodings); remux it \
             without header compression (e.g. ffmpeg -i IN -c copy OUT.mkv)",
            track.number
        )));
    }
    Ok(Some(track))
}

/// The decoder configuration and codec tag of an MPEG-4 Part 2 track; `Unsupported` for
/// other codecs.
fn codec_config(data: &[u8], track: &VideoTrack) -> Result<(Vec<u8>, String)> {
    let private = &data[track.private.0..track.private.1];
    if MPEG4_CODEC_IDS.contains(&track.codec_id.as_str()) {
        if track.width > 0 && track.height > 0 {
            let side = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
            check_frame_size(
                side(track.width),
                side(track.height),
                "mkv: the video track",
            )?;
        }
        return Ok((private.to_vec(), track.codec_id.clone()));
    }
    if track.codec_id == VFW_CODEC_ID {
        if private.len() < BIH {
            return Err(corrupt(
                track.private.0,
                "V_MS/VFW/FOURCC track without a BITMAPINFOHEADER in CodecPrivate",
            ));
        }
        let mut fourcc = [0u8; 4];
        fourcc.copy_from_slice(&private[16..20]);
        avi::codec_check(&fourcc, "mkv")?;
        let width = i32::from_le_bytes([private[4], private[5], private[6], private[7]]);
        let height = i32::from_le_bytes([private[8], private[9], private[10], private[11]]);
        check_frame_size(
            width.unsigned_abs(),
            height.unsigned_abs(),
            "mkv: the BITMAPINFOHEADER",
        )?;
        return Ok((private[BIH..].to_vec(), printable(&fourcc)));
    }
    let name = match track.codec_id.as_str() {
        "V_MPEG4/ISO/AVC" => "H.264",
        "V_MPEGH/ISO/HEVC" => "HEVC",
        "V_MPEG1" | "V_MPEG2" => "MPEG-1/2 video",
        "V_VP8" => "VP8",
        "V_VP9" => "VP9",
        "V_AV1" => "AV1",
        "V_MS/VFW/FOURCC" => "VfW",
        _ => "",
    };
    let shown = printable(track.codec_id.as_bytes());
    Err(Error::Unsupported(if name.is_empty() {
        format!("mkv: video codec '{shown}' is not MPEG-4 Part 2")
    } else {
        format!("mkv: codec {name} ('{shown}') is not MPEG-4 Part 2")
    }))
}

/// The first video track in `Tracks`.
fn parse_tracks(data: &[u8], tracks: &Element) -> Result<Option<VideoTrack>> {
    let mut at = tracks.body;
    while at < tracks.end {
        let el = element_at(data, at, tracks.end)?;
        if el.id == id::TRACK_ENTRY {
            if let Some(track) = parse_track(data, &el)? {
                return Ok(Some(track));
            }
        }
        at = el.end;
    }
    Ok(None)
}

/// Split the frames of a (Simple)Block body `body..end` of track `track` into `out`.
fn block_frames(
    data: &[u8],
    body: usize,
    end: usize,
    track: u64,
    out: &mut Vec<Packet>,
) -> Result<()> {
    let (number, len) = read_vint(data, body)
        .filter(|(_, len)| body + len <= end)
        .ok_or_else(|| corrupt(body, "block track number is invalid"))?;
    if number != Some(track) {
        return Ok(());
    }
    // track number, 16-bit relative timestamp, flags
    let flags_at = body + len + 2;
    let flags = *data
        .get(flags_at)
        .filter(|_| flags_at < end)
        .ok_or_else(|| corrupt(body, "block header is truncated"))?;
    let mut at = flags_at + 1;
    let lacing = (flags >> 1) & 3;
    if lacing == 0 {
        out.push(Packet {
            offset: at,
            len: end - at,
        });
        return Ok(());
    }
    let bad_lace = || corrupt(body, "block lacing sizes do not fit the block");
    let count = usize::from(*data.get(at).filter(|_| at < end).ok_or_else(bad_lace)?) + 1;
    at += 1;
    let mut sizes = Vec::with_capacity(count);
    match lacing {
        1 => {
            // Xiph: each size as a run of 255s and a final byte below 255.
            for _ in 1..count {
                let mut size = 0usize;
                loop {
                    let b = *data.get(at).filter(|_| at < end).ok_or_else(bad_lace)?;
                    at += 1;
                    size += usize::from(b);
                    if b != 255 {
                        break;
                    }
                }
                sizes.push(size);
            }
        }
        3 => {
            // EBML: the first size, then signed differences to the previous one.
            let (first, n) = read_vint(data, at)
                .filter(|(v, n)| v.is_some() && at + n <= end)
                .ok_or_else(bad_lace)?;
            at += n;
            let mut size = first.unwrap_or(0) as i64;
            sizes.push(usize::try_from(size).map_err(|_| bad_lace())?);
            for _ in 2..count {
                let (raw, n) = read_vint(data, at)
                    .filter(|(_, n)| at + n <= end)
                    .ok_or_else(bad_lace)?;
                at += n;
                let bias = (1i64 << (7 * n - 1)) - 1;
                let delta = raw.map_or(bias, |v| v as i64) - bias;
                size = size.checked_add(delta).ok_or_else(bad_lace)?;
                sizes.push(usize::try_from(size).map_err(|_| bad_lace())?);
            }
        }
        _ => {
            // Fixed-size: equal frames fill the block.
            let total = end - at;
            if total % count != 0 {
                return Err(bad_lace());
            }
            sizes.extend(std::iter::repeat(total / count).take(count - 1));
        }
    }
    let listed: usize = sizes
        .iter()
        .try_fold(0usize, |a, &s| a.checked_add(s))
        .ok_or_else(bad_lace)?;
    let last = (end - at).checked_sub(listed).ok_or_else(bad_lace)?;
    sizes.push(last);
    for size in sizes {
        out.push(Packet {
            offset: at,
            len: size,
        });
        at += size;
    }
    Ok(())
}

/// Walk a cluster, appending the track's frames. Returns where the segment walk goes on (the
/// cluster's end, or for an open-ended cluster the first element that is not its child).
fn walk_cluster(
    data: &[u8],
    cluster: &Element,
    track: u64,
    out: &mut Vec<Packet>,
) -> Result<usize> {
    let mut at = cluster.body;
    while at < cluster.end {
        let el = match element_at(data, at, cluster.end) {
            Ok(el) => el,
            Err(_) if cut_header(data, at) => return Ok(cluster.end),
            Err(e) => return Err(e),
        };
        if cluster.open_ended && is_segment_child(el.id) {
            return Ok(at);
        }
        if el.cut {
            // A block cut by the end of the file: keep what came before it.
            return Ok(cluster.end);
        }
        match el.id {
            id::SIMPLE_BLOCK => block_frames(data, el.body, el.end, track, out)?,
            id::BLOCK_GROUP => {
                let mut g = el.body;
                while g < el.end {
                    let child = element_at(data, g, el.end)?;
                    if child.id == id::BLOCK && !child.cut {
                        block_frames(data, child.body, child.end, track, out)?;
                    }
                    g = child.end;
                }
            }
            _ => {}
        }
        at = el.end;
    }
    Ok(cluster.end)
}

/// Demux a Matroska file (`data` starts with the EBML magic).
pub fn demux(data: &[u8]) -> Result<Demuxed> {
    let header = element_at(data, 0, data.len())?;
    if header.id != id::EBML {
        return Err(Error::NotVideo("mkv: no EBML header".into()));
    }
    let mut at = header.end;
    let segment = loop {
        if at >= data.len() {
            return Err(corrupt(at, "no Segment (truncated?)"));
        }
        let el = element_at(data, at, data.len())?;
        if el.id == id::SEGMENT {
            break el;
        }
        at = el.end;
    };
    let mut track: Option<VideoTrack> = None;
    let mut packets = Vec::new();
    let mut at = segment.body;
    while at < segment.end {
        let el = match element_at(data, at, segment.end) {
            Ok(el) => el,
            Err(_) if cut_header(data, at) => break,
            Err(e) => return Err(e),
        };
        match el.id {
            id::TRACKS if track.is_none() => {
                track =
                    Some(parse_tracks(data, &el)?.ok_or_else(|| {
                        Error::NotVideo("mkv: the file has no video track".into())
                    })?);
                let t = track.as_ref().expect("just set");
                codec_config(data, t)?;
            }
            id::CLUSTER => {
                let t = track
                    .as_ref()
                    .ok_or_else(|| corrupt(el.at, "a Cluster comes before the track list"))?;
                at = walk_cluster(data, &el, t.number, &mut packets)?;
                continue;
            }
            _ => {}
        }
        at = el.end;
    }
    let track = track.ok_or_else(|| corrupt(segment.body, "no track list (Tracks, truncated?)"))?;
    let (config, fourcc) = codec_config(data, &track)?;
    let fps = track
        .default_duration_ns
        .filter(|&ns| ns > 0)
        .map(|ns| 1e9 / ns as f64);
    Ok(Demuxed {
        kind: ContainerKind::Mkv,
        packets,
        config,
        fps,
        fourcc: Some(fourcc),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An EBML element with a 1..8-byte size field.
    pub(crate) fn el(id: u32, body: &[u8]) -> Vec<u8> {
        let mut out: Vec<u8> = id
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|&b| b == 0)
            .collect();
        // 8-byte size: 0x01 then 7 bytes
        out.push(0x01);
        out.extend_from_slice(&(body.len() as u64).to_be_bytes()[1..]);
        out.extend_from_slice(body);
        out
    }

    fn uint_el(id: u32, v: u64) -> Vec<u8> {
        el(id, &v.to_be_bytes())
    }

    fn simple_block(track: u8, lacing: u8, payload: &[u8]) -> Vec<u8> {
        let mut body = vec![0x80 | track, 0, 0, 0x80 | (lacing << 1)];
        body.extend_from_slice(payload);
        el(id::SIMPLE_BLOCK, &body)
    }

    /// A Matroska file: an audio track 1, a video track 2 with `codec` and `private`, and one
    /// cluster per entry of `clusters` (each a list of already-built blocks).
    pub(crate) fn build_mkv(codec: &str, private: &[u8], clusters: &[Vec<Vec<u8>>]) -> Vec<u8> {
        let audio = el(
            id::TRACK_ENTRY,
            &[uint_el(id::TRACK_NUMBER, 1), uint_el(id::TRACK_TYPE, 2)].concat(),
        );
        let video = el(
            id::TRACK_ENTRY,
            &[
                uint_el(id::TRACK_NUMBER, 2),
                uint_el(id::TRACK_TYPE, 1),
                el(id::CODEC_ID, codec.as_bytes()),
                el(id::CODEC_PRIVATE, private),
                uint_el(id::DEFAULT_DURATION, 40_000_000),
                el(
                    id::VIDEO,
                    &[uint_el(id::PIXEL_WIDTH, 32), uint_el(id::PIXEL_HEIGHT, 32)].concat(),
                ),
            ]
            .concat(),
        );
        let mut segment = el(id::TRACKS, &[audio, video].concat());
        for blocks in clusters {
            segment.extend(el(
                id::CLUSTER,
                &[uint_el(0xE7, 0), blocks.concat()].concat(),
            ));
        }
        [
            el(id::EBML, &el(0x4282, b"matroska")),
            el(id::SEGMENT, &segment),
        ]
        .concat()
    }

    pub(crate) fn frames_as_blocks(frames: &[&[u8]]) -> Vec<Vec<u8>> {
        frames.iter().map(|f| simple_block(2, 0, f)).collect()
    }

    fn bodies<'a>(data: &'a [u8], d: &Demuxed) -> Vec<&'a [u8]> {
        d.packets.iter().map(|p| &data[p.range()]).collect()
    }

    #[test]
    fn reads_simple_blocks_block_groups_and_codec_private() {
        let group = el(
            id::BLOCK_GROUP,
            &el(id::BLOCK, &[0x82, 0, 5, 0, b'g', b'h']),
        );
        let clusters = vec![
            vec![simple_block(2, 0, b"abc"), simple_block(1, 0, b"audio")],
            vec![group, simple_block(2, 0, b"de")],
        ];
        let mkv = build_mkv("V_MPEG4/ISO/ASP", b"VOL", &clusters);
        let d = demux(&mkv).unwrap();
        assert_eq!(d.kind, ContainerKind::Mkv);
        assert_eq!(bodies(&mkv, &d), vec![&b"abc"[..], b"gh", b"de"]);
        assert_eq!(d.config, b"VOL");
        assert_eq!(d.fps, Some(25.0));
        assert_eq!(d.fourcc.as_deref(), Some("V_MPEG4/ISO/ASP"));
    }

    #[test]
    fn splits_xiph_ebml_and_fixed_lacing() {
        // Xiph: 3 frames of 300, 2 and the rest (4)
        let mut xiph = vec![2, 255, 45, 2];
        xiph.extend(vec![7u8; 300]);
        xiph.extend(b"xyzw!!");
        // EBML: 3 frames of 3, 5 (delta +2: 0x80 | (63 + 2)), rest 1
        let mut ebml = vec![2, 0x83, 0x80 | 65];
        ebml.extend(b"aaabbbbbc");
        let fixed = [2u8, b'p', b'q', b'r', b's', b't', b'u'];
        let clusters = vec![vec![
            simple_block(2, 1, &xiph),
            simple_block(2, 3, &ebml),
            simple_block(2, 2, &fixed),
        ]];
        let mkv = build_mkv("V_MPEG4/ISO/SP", b"", &clusters);
        let d = demux(&mkv).unwrap();
        let sizes: Vec<usize> = d.packets.iter().map(|p| p.len).collect();
        assert_eq!(sizes, vec![300, 2, 4, 3, 5, 1, 2, 2, 2]);
        let b = bodies(&mkv, &d);
        assert_eq!((b[1], b[2]), (&b"xy"[..], &b"zw!!"[..]));
        assert_eq!((b[3], b[4], b[5]), (&b"aaa"[..], &b"bbbbb"[..], &b"c"[..]));
        assert_eq!(b[8], b"tu");
        // lace sizes larger than the block are an error, not a panic
        let bad = build_mkv(
            "V_MPEG4/ISO/SP",
            b"",
            &[vec![simple_block(2, 1, &[1, 200, 1])]],
        );
        assert!(matches!(demux(&bad), Err(Error::Corrupt { .. })));
    }

    #[test]
    fn vfw_tracks_carry_a_bitmapinfoheader() {
        let mut bih = vec![0u8; 40];
        bih[0] = 40;
        bih[4] = 32;
        bih[8] = 32;
        bih[16..20].copy_from_slice(b"XVID");
        bih.extend(b"VOL");
        let mkv = build_mkv(VFW_CODEC_ID, &bih, &[frames_as_blocks(&[b"a"])]);
        let d = demux(&mkv).unwrap();
        assert_eq!(
            (d.config.as_slice(), d.fourcc.as_deref()),
            (&b"VOL"[..], Some("XVID"))
        );
        bih[16..20].copy_from_slice(b"DIV3");
        let mkv = build_mkv(VFW_CODEC_ID, &bih, &[frames_as_blocks(&[b"a"])]);
        match demux(&mkv) {
            Err(Error::Unsupported(m)) => assert!(m.contains("msmpeg4v3") && m.starts_with("mkv")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_other_codecs() {
        let mkv = build_mkv("V_MPEG4/ISO/AVC", b"", &[frames_as_blocks(&[b"a"])]);
        match demux(&mkv) {
            Err(Error::Unsupported(m)) => assert!(m.contains("H.264"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn open_ended_segments_and_clusters_are_read() {
        let mkv = build_mkv(
            "V_MPEG4/ISO/ASP",
            b"",
            &[
                frames_as_blocks(&[b"ab", b"cd"]),
                frames_as_blocks(&[b"ef"]),
            ],
        );
        let want = bodies(&mkv, &demux(&mkv).unwrap())
            .iter()
            .map(|b| b.to_vec())
            .collect::<Vec<_>>();
        // mark every Segment/Cluster size as unknown (0x01 FF FF FF FF FF FF FF)
        let mut live = mkv.clone();
        for magic in [id::SEGMENT.to_be_bytes(), id::CLUSTER.to_be_bytes()] {
            let mut from = 0;
            while let Some(p) = live[from..].windows(4).position(|w| w == magic) {
                let s = from + p + 4;
                live[s..s + 8].copy_from_slice(&[0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
                from = s + 8;
            }
        }
        let d = demux(&live).unwrap();
        let got: Vec<Vec<u8>> = bodies(&live, &d).iter().map(|b| b.to_vec()).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn truncation_keeps_whole_frames_and_never_panics() {
        let mkv = build_mkv(
            "V_MPEG4/ISO/ASP",
            b"VOL",
            &[
                frames_as_blocks(&[b"abc", b"defgh"]),
                frames_as_blocks(&[b"ij"]),
            ],
        );
        let full = demux(&mkv).unwrap().packets;
        for cut in 0..mkv.len() {
            if let Ok(d) = demux(&mkv[..cut]) {
                assert!(d.packets.iter().all(|p| p.offset + p.len <= cut));
                assert!(full.starts_with(&d.packets));
            }
        }
    }
}
