//! AVI (RIFF) demuxing: the first video stream's chunks (`NNdc` / `NNdb`) from every `movi`
//! list, including OpenDML `AVIX` extensions and `LIST rec` groups. The chunk walk is primary;
//! when it meets damage (a truncated file, a chunk size that lies) the packets come from
//! [`super::avi_resync`]'s linear scan instead, which reads what FFmpeg reads.
//!
//! Layout: `RIFF 'AVI ' { LIST 'hdrl' { avih, LIST 'strl' { strh, strf, ... }, ... },
//! LIST 'movi' { 00dc, 01wb, LIST 'rec ' {...}, JUNK, ... }, idx1 }`; chunks are padded to
//! even sizes. Zero-size video chunks are dropped frames and stay in the packet list.
#![forbid(unsafe_code)]

use super::{avi_resync, le_u32, printable, ContainerKind, Demuxed, Packet};
use crate::mpeg4::header::check_frame_size;
use crate::{Error, Result};

/// Fourccs of MPEG-4 Part 2 video (compared upper-cased), from the AVI codec registry.
const MPEG4_FOURCCS: &[&[u8; 4]] = &[
    b"FMP4", b"DIVX", b"DX50", b"XVID", b"MP4S", b"M4S2", b"MP4V", b"ZMP4", b"DIV1", b"BLZ0",
    b"UMP4", b"WV1F", b"SEDG", b"RMP4", b"3IV2", b"WAWV", b"FFDS", b"FVFW", b"DCOD", b"MVXM",
    b"PM4V", b"SMP4", b"DXGM", b"VIDM", b"M4T3", b"GEOX", b"HDX4", b"DM4V", b"DMK2", b"DIGI",
    b"INMC", b"EPHV", b"EM4A", b"M4CC", b"SN40", b"VSPX", b"ULDX", b"GEOV", b"SIPP", b"SM4V",
    b"XVIX", b"DREX", b"QMP4", b"PLV1", b"GLV4", b"GMP4", b"MNM4", b"GTM4",
];

/// Well-known fourccs of other codecs, for a message that names the codec.
const OTHER_CODECS: &[(&[u8; 4], &str)] = &[
    (b"DIV3", "msmpeg4v3"),
    (b"MP43", "msmpeg4v3"),
    (b"DIV4", "msmpeg4v3"),
    (b"DIV5", "msmpeg4v3"),
    (b"DIV6", "msmpeg4v3"),
    (b"AP41", "msmpeg4v3"),
    (b"COL1", "msmpeg4v3"),
    (b"MPG3", "msmpeg4v3"),
    (b"MP42", "msmpeg4v2"),
    (b"DIV2", "msmpeg4v2"),
    (b"MPG4", "msmpeg4v1"),
    (b"MP41", "msmpeg4v1"),
    (b"H264", "h264"),
    (b"X264", "h264"),
    (b"AVC1", "h264"),
    (b"DAVC", "h264"),
    (b"HEVC", "hevc"),
    (b"H265", "hevc"),
    (b"HVC1", "hevc"),
    (b"MJPG", "mjpeg"),
    (b"AVRN", "mjpeg"),
    (b"WMV1", "wmv1"),
    (b"WMV2", "wmv2"),
    (b"WMV3", "wmv3"),
    (b"WVC1", "vc1"),
    (b"MPG1", "mpeg1video"),
    (b"MPG2", "mpeg2video"),
    (b"H263", "h263"),
    (b"U263", "h263"),
    (b"VP80", "vp8"),
    (b"VP90", "vp9"),
    (b"AV01", "av1"),
    (b"FFV1", "ffv1"),
    (b"CVID", "cinepak"),
    (b"IV50", "indeo5"),
    (b"IV41", "indeo4"),
    (b"IV32", "indeo3"),
    (b"DVSD", "dvvideo"),
    (b"HFYU", "huffyuv"),
    (b"FFVH", "huffyuv"),
];

/// Upper bound on chunks listed, per byte of file: a chunk needs an 8-byte header.
const CHUNK_HEADER: usize = 8;

fn truncated(at: usize, what: &str) -> Error {
    Error::corrupt(at as u64, format!("avi: {what} is truncated"))
}

/// The header of the chunk at `at`: its id, its data range (checked to lie inside `end`), and
/// where the next chunk starts (after word-alignment padding).
fn chunk_at(data: &[u8], at: usize, end: usize) -> Result<([u8; 4], usize, usize, usize)> {
    let id = data
        .get(at..at + 4)
        .filter(|_| at + CHUNK_HEADER <= end)
        .ok_or_else(|| truncated(at, "chunk header"))?;
    let id = [id[0], id[1], id[2], id[3]];
    let size = le_u32(data, at + 4).ok_or_else(|| truncated(at, "chunk header"))? as usize;
    let start = at + CHUNK_HEADER;
    let stop = start
        .checked_add(size)
        .filter(|&s| s <= end)
        .ok_or_else(|| {
            Error::corrupt(
                at as u64,
                format!(
                    "avi: chunk '{}' of {size} bytes runs past the end of its list or the file \
                     (truncated?)",
                    printable(&id)
                ),
            )
        })?;
    let next = stop + (size & 1);
    Ok((id, start, stop, next.min(end)))
}

/// What the header list tells about the first video stream.
struct VideoStream {
    number: usize,
    fourcc: [u8; 4],
    fps: Option<f64>,
    extradata: Vec<u8>,
}

/// Whether `fourcc` tags MPEG-4 Part 2; `Unsupported` naming the codec otherwise (messages
/// start with `container`, e.g. "avi").
pub(super) fn codec_check(fourcc: &[u8; 4], container: &str) -> Result<()> {
    let upper: [u8; 4] = fourcc.map(|b| b.to_ascii_uppercase());
    if MPEG4_FOURCCS.iter().any(|f| **f == upper) {
        return Ok(());
    }
    let tag = printable(fourcc);
    if let Some((_, name)) = OTHER_CODECS.iter().find(|(f, _)| **f == upper) {
        return Err(Error::Unsupported(format!(
            "{container}: codec {name} (fourcc {tag}) is not MPEG-4 Part 2"
        )));
    }
    if *fourcc == [0; 4] {
        return Err(Error::Unsupported(format!(
            "{container}: uncompressed video (BI_RGB) is not MPEG-4 Part 2"
        )));
    }
    Err(Error::Unsupported(format!(
        "{container}: unknown video codec fourcc '{tag}' (not an MPEG-4 Part 2 tag)"
    )))
}

/// Parse `LIST hdrl`: `avih` for the frame period, then each `LIST strl` until a video one.
fn parse_hdrl(data: &[u8], start: usize, end: usize) -> Result<VideoStream> {
    let mut at = start;
    let mut stream_index = 0usize;
    let mut micro_sec_per_frame = None;
    while at + CHUNK_HEADER <= end {
        let (id, s, e, next) = chunk_at(data, at, end)?;
        if &id == b"avih" {
            micro_sec_per_frame = le_u32(data, s).filter(|_| e - s >= 4);
        } else if &id == b"LIST" && data.get(s..s + 4) == Some(b"strl") {
            if let Some(mut stream) = parse_strl(data, s + 4, e, stream_index)? {
                if stream.fps.is_none() {
                    stream.fps = micro_sec_per_frame
                        .filter(|&us| us > 0)
                        .map(|us| 1e6 / f64::from(us));
                }
                return Ok(stream);
            }
            stream_index += 1;
        }
        at = next;
    }
    Err(Error::NotVideo("avi: the file has no video stream".into()))
}

/// Parse one `LIST strl`; `Some` when it describes a video stream.
fn parse_strl(data: &[u8], start: usize, end: usize, number: usize) -> Result<Option<VideoStream>> {
    let mut at = start;
    let mut is_video = false;
    let mut fps = None;
    let mut bih = None;
    while at + CHUNK_HEADER <= end {
        let (id, s, e, next) = chunk_at(data, at, end)?;
        match &id {
            b"strh" => {
                if e - s < 28 {
                    return Err(truncated(at, "stream header (strh)"));
                }
                is_video = data.get(s..s + 4) == Some(b"vids");
                let scale = le_u32(data, s + 20).unwrap_or(0);
                let rate = le_u32(data, s + 24).unwrap_or(0);
                if scale > 0 && rate > 0 {
                    fps = Some(f64::from(rate) / f64::from(scale));
                }
            }
            b"strf" => bih = Some((s, e)),
            _ => {}
        }
        at = next;
    }
    if !is_video {
        return Ok(None);
    }
    let (s, e) = bih.ok_or_else(|| truncated(start, "video stream format (strf)"))?;
    if e - s < 40 {
        return Err(truncated(s, "BITMAPINFOHEADER"));
    }
    // BITMAPINFOHEADER: biSize, biWidth (i32), biHeight (i32, negative = top-down), planes,
    // bit count, biCompression (the codec fourcc), ...; extra codec bytes follow biSize.
    let width = le_u32(data, s + 4).unwrap_or(0) as i32;
    let height = le_u32(data, s + 8).unwrap_or(0) as i32;
    check_frame_size(
        width.unsigned_abs(),
        height.unsigned_abs(),
        "avi: the stream format (BITMAPINFOHEADER)",
    )?;
    let mut fourcc = [0u8; 4];
    fourcc.copy_from_slice(&data[s + 16..s + 20]);
    codec_check(&fourcc, "avi")?;
    Ok(Some(VideoStream {
        number,
        fourcc,
        fps,
        extradata: strf_extradata(data, s, e).to_vec(),
    }))
}

/// The codec's extra bytes in `strf` (VOS/VOL headers for MPEG-4): everything after the
/// 40-byte BITMAPINFOHEADER, as FFmpeg reads it. `biSize` counts them too in files written by
/// FFmpeg (e.g. 88 = 40 + 48), so it does not mark where they start; only an odd `biSize`
/// one short of the chunk (a padded chunk) marks where they end.
fn strf_extradata(data: &[u8], start: usize, end: usize) -> &[u8] {
    const BIH: usize = 40;
    let bi_size = le_u32(data, start).unwrap_or(0) as usize;
    let stop = if bi_size % 2 == 1 && bi_size + 1 == end - start {
        start + bi_size
    } else {
        end
    };
    data.get(start + BIH..stop).unwrap_or(&[])
}

/// The number of `LIST strl` (streams) in the header list `hdrl` (a byte range of `data`); the
/// damage scan needs it to tell stream chunks from noise.
fn count_streams(data: &[u8], (start, end): (usize, usize)) -> usize {
    let mut at = start;
    let mut count = 0;
    while let Ok((id, s, _, next)) = chunk_at(data, at, end) {
        count += usize::from(&id == b"LIST" && data.get(s..s + 4) == Some(b"strl"));
        if next <= at {
            break;
        }
        at = next;
    }
    count.max(1)
}

/// True for a chunk id `NNdc` / `NNdb` of stream `number`.
fn is_video_chunk(id: &[u8; 4], number: usize) -> bool {
    let digits = [b'0' + (number / 10 % 10) as u8, b'0' + (number % 10) as u8];
    id[..2] == digits && (&id[2..] == b"dc" || &id[2..] == b"db")
}

/// Walk a `movi` list (and nested `LIST rec`), appending the video chunks.
fn walk_movi(
    data: &[u8],
    start: usize,
    end: usize,
    number: usize,
    out: &mut Vec<Packet>,
) -> Result<()> {
    let mut at = start;
    while at + CHUNK_HEADER <= end {
        let (id, s, e, next) = chunk_at(data, at, end)?;
        if &id == b"LIST" {
            if e - s >= 4 {
                walk_movi(data, s + 4, e, number, out)?;
            }
        } else if is_video_chunk(&id, number) {
            out.push(Packet {
                offset: s,
                len: e - s,
            });
        }
        at = next;
    }
    Ok(())
}

/// Demux an AVI file (`data` starts with `RIFF....AVI `).
pub fn demux(data: &[u8]) -> Result<Demuxed> {
    let mut stream = None;
    let mut packets = Vec::new();
    let mut movi_damage: Option<Error> = None;
    let mut first_movi = None;
    let mut hdrl = None;
    let mut declared_end = data.len();
    let mut riff = 0usize;
    // Top level: RIFF 'AVI ' then optional RIFF 'AVIX' (OpenDML). A RIFF size beyond the file
    // (an unfinished recording) is clamped to the file.
    while riff + 12 <= data.len() && data.get(riff..riff + 4) == Some(b"RIFF") {
        // A size of 0 (never patched by the writer) means "to the end of the file".
        let declared = match le_u32(data, riff + 4).unwrap_or(0) as usize {
            0 => data.len(),
            n => n,
        };
        if riff == 0 {
            // FFmpeg trusts the first RIFF size over a shorter (truncated) file.
            declared_end = declared_end.max(declared.saturating_add(8));
        }
        let end = (riff + 8).saturating_add(declared).min(data.len());
        let mut at = riff + 12;
        while at + CHUNK_HEADER <= end {
            let (id, s, e, next) = match chunk_at(data, at, end) {
                Ok(c) => c,
                // A list running past the end of a truncated file: read what is there.
                Err(_) if data.get(at..at + 4) == Some(b"LIST") => {
                    (*b"LIST", at + CHUNK_HEADER, end, end)
                }
                // Damage after the first 'movi' (a cut index, a lying size): the scan below
                // reads what is there.
                Err(err) if first_movi.is_some() => {
                    movi_damage.get_or_insert(err);
                    break;
                }
                Err(err) => return Err(err),
            };
            let list_type = data.get(s..s + 4);
            // An unfinished recording leaves the movi size at 0: its chunks run to the end.
            let (e, next) = if &id == b"LIST" && e == s && list_type == Some(b"movi") {
                (end, end)
            } else {
                (e, next)
            };
            if &id == b"LIST" && list_type == Some(b"hdrl") {
                hdrl = Some((s + 4, e));
                stream = Some(parse_hdrl(data, s + 4, e)?);
            } else if &id == b"LIST" && list_type == Some(b"movi") {
                let number = stream
                    .as_ref()
                    .ok_or_else(|| Error::corrupt(at as u64, "avi: 'movi' before 'hdrl'"))?
                    .number;
                first_movi.get_or_insert(s);
                if let Err(err) = walk_movi(data, s + 4, e, number, &mut packets) {
                    movi_damage.get_or_insert(err);
                }
            }
            at = next;
        }
        riff = end + (end & 1);
    }
    let stream = stream
        .ok_or_else(|| Error::corrupt(12, "avi: no header list (hdrl); not a complete AVI"))?;
    if first_movi.is_none() {
        return Err(Error::corrupt(
            data.len() as u64,
            "avi: no 'movi' list (truncated?)",
        ));
    }
    if movi_damage.is_some() {
        // Damage inside 'movi' (a cut file, a size that lies): read it as FFmpeg does.
        if let Some(movi) = first_movi {
            let streams = count_streams(data, hdrl.unwrap_or((0, 0)));
            packets = avi_resync::scan_movi(data, movi + 4, declared_end, streams, stream.number);
        }
    }
    Ok(Demuxed {
        kind: ContainerKind::Avi,
        packets,
        config: stream.extradata,
        fps: stream.fps,
        fourcc: Some(printable(&stream.fourcc)),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn chunk(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = id.to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(body);
        if body.len() % 2 == 1 {
            out.push(0);
        }
        out
    }

    pub(crate) fn list(kind: &[u8; 4], items: &[Vec<u8>]) -> Vec<u8> {
        let mut body = kind.to_vec();
        for i in items {
            body.extend_from_slice(i);
        }
        chunk(b"LIST", &body)
    }

    /// A minimal AVI with one video stream of the given fourcc and size, and `frames` chunks.
    pub(crate) fn build_avi(fourcc: &[u8; 4], w: i32, h: i32, frames: &[&[u8]]) -> Vec<u8> {
        build_avi_with_extradata(fourcc, w, h, &[], frames)
    }

    /// [`build_avi`] with `extra` codec bytes after the BITMAPINFOHEADER (counted in biSize,
    /// as FFmpeg writes it).
    pub(crate) fn build_avi_with_extradata(
        fourcc: &[u8; 4],
        w: i32,
        h: i32,
        extra: &[u8],
        frames: &[&[u8]],
    ) -> Vec<u8> {
        let mut strh = b"vids".to_vec();
        strh.extend_from_slice(fourcc);
        strh.extend_from_slice(&[0; 12]);
        strh.extend_from_slice(&1u32.to_le_bytes()); // scale
        strh.extend_from_slice(&25u32.to_le_bytes()); // rate
        strh.extend_from_slice(&[0; 28]);
        let mut bih = (40 + extra.len() as u32).to_le_bytes().to_vec();
        bih.extend_from_slice(&w.to_le_bytes());
        bih.extend_from_slice(&h.to_le_bytes());
        bih.extend_from_slice(&[1, 0, 24, 0]);
        bih.extend_from_slice(fourcc);
        bih.extend_from_slice(&[0; 20]);
        bih.extend_from_slice(extra);
        let hdrl = list(
            b"hdrl",
            &[
                chunk(b"avih", &[0; 56]),
                list(b"strl", &[chunk(b"strh", &strh), chunk(b"strf", &bih)]),
            ],
        );
        let mut movi_items: Vec<Vec<u8>> = vec![chunk(b"JUNK", &[0; 3])];
        for f in frames {
            movi_items.push(chunk(b"00dc", f));
        }
        movi_items.push(list(
            b"rec ",
            &[chunk(b"01wb", &[1, 2]), chunk(b"00db", b"xy")],
        ));
        let movi = list(b"movi", &movi_items);
        let mut body = b"AVI ".to_vec();
        body.extend_from_slice(&hdrl);
        body.extend_from_slice(&movi);
        chunk(b"RIFF", &body)
    }

    #[test]
    fn lists_video_chunks_including_empty_and_nested_ones() {
        let avi = build_avi(b"XVID", 176, 144, &[b"abc", b"", b"defg"]);
        let d = demux(&avi).unwrap();
        let bodies: Vec<&[u8]> = d.packets.iter().map(|p| &avi[p.range()]).collect();
        assert_eq!(bodies, vec![&b"abc"[..], b"", b"defg", b"xy"]);
        assert_eq!(d.fps, Some(25.0));
        assert_eq!(d.fourcc.as_deref(), Some("XVID"));
    }

    #[test]
    fn extradata_is_everything_after_the_bitmapinfoheader() {
        let avi = build_avi_with_extradata(b"FMP4", 176, 144, b"\0\0\x01\xB0VOL", &[b"abc"]);
        assert_eq!(demux(&avi).unwrap().config, b"\0\0\x01\xB0VOL");
        // biSize left at 40 by some writers: the bytes after the header still count
        let mut short = avi.clone();
        let strf = avi.windows(4).position(|w| w == b"strf").unwrap();
        short[strf + 8..strf + 12].copy_from_slice(&40u32.to_le_bytes());
        assert_eq!(demux(&short).unwrap().config, b"\0\0\x01\xB0VOL");
        // an odd biSize one short of the chunk: the padding byte is not extradata
        let avi = build_avi_with_extradata(b"XVID", 176, 144, b"abcde\0", &[b"abc"]);
        let mut odd = avi.clone();
        odd[strf + 8..strf + 12].copy_from_slice(&45u32.to_le_bytes());
        assert_eq!(demux(&odd).unwrap().config, b"abcde");
        assert_eq!(
            demux(&build_avi(b"XVID", 8, 8, &[b"a"])).unwrap().config,
            b""
        );
    }

    #[test]
    fn names_other_codecs_and_refuses_huge_frames() {
        let avi = build_avi(b"DIV3", 176, 144, &[b"abc"]);
        match demux(&avi) {
            Err(Error::Unsupported(m)) => assert!(m.contains("msmpeg4v3") && m.contains("DIV3")),
            other => panic!("{other:?}"),
        }
        let avi = build_avi(b"FMP4", 100_000, -100_000, &[b"abc"]);
        assert!(matches!(demux(&avi), Err(Error::Limit(_))));
    }

    #[test]
    fn a_lying_chunk_size_loses_that_chunk_only_like_ffmpeg() {
        let avi = build_avi(b"XVID", 176, 144, &[b"abc", b"defg", b"hi"]);
        let walked = demux(&avi).unwrap().packets;
        let second = walked[1].offset - 4;
        let mut bad = avi.clone();
        bad[second..second + 4].copy_from_slice(&0xFFFF_FF00u32.to_le_bytes());
        let bodies: Vec<&[u8]> = demux(&bad)
            .unwrap()
            .packets
            .iter()
            .map(|p| &bad[p.range()])
            .collect();
        assert_eq!(bodies, vec![&b"abc"[..], b"hi", b"xy"]);
    }

    #[test]
    fn a_cut_file_keeps_every_chunk_and_the_cut_ones_bytes() {
        let avi = build_avi(b"XVID", 176, 144, &[b"abc", b"defg", b"hijkl"]);
        let third = demux(&avi).unwrap().packets[2];
        let cut = &avi[..third.offset + 2];
        let bodies: Vec<&[u8]> = demux(cut)
            .unwrap()
            .packets
            .iter()
            .map(|p| &cut[p.range()])
            .collect();
        assert_eq!(bodies, vec![&b"abc"[..], b"defg", b"hi"]);
    }

    #[test]
    fn unfinished_recordings_with_zero_sizes_are_read_to_the_end() {
        let avi = build_avi(b"XVID", 176, 144, &[b"abc", b"defg"]);
        let mut unfinished = avi.clone();
        unfinished[4..8].copy_from_slice(&[0; 4]); // RIFF size
        let movi = avi.windows(4).position(|w| w == b"movi").unwrap();
        unfinished[movi - 4..movi].copy_from_slice(&[0; 4]); // LIST movi size
        assert_eq!(
            demux(&unfinished).unwrap().packets,
            demux(&avi).unwrap().packets
        );
    }

    #[test]
    fn truncation_is_an_error_or_fewer_packets_never_a_panic() {
        let avi = build_avi(b"FMP4", 176, 144, &[b"abc", b"defgh", b"ij"]);
        for cut in 0..avi.len() {
            if let Ok(d) = demux(&avi[..cut]) {
                assert!(d.packets.iter().all(|p| p.offset + p.len <= cut));
            }
        }
    }
}
