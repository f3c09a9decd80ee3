//! MP4 / QuickTime (ISO/IEC 14496-12, ISO BMFF) demuxing: the first video track's samples.
//!
//! Path: `moov/trak/mdia/{hdlr, mdhd, minf/stbl/{stsd, stts, stsz|stz2, stsc, stco|co64}}`.
//! The `mp4v` sample entry's `esds` box carries the VOS/VOL headers in its
//! DecoderSpecificInfo (ISO/IEC 14496-1, 7.2.6); they are returned as the decoder config.
#![forbid(unsafe_code)]

use super::{be_u16, be_u32, be_u64, mp4_fragments, printable, ContainerKind, Demuxed, Packet};
use crate::mpeg4::header::check_frame_size;
use crate::{Error, Result};

/// One box: its type, where its body starts and where it ends.
#[derive(Clone, Copy, Debug)]
pub(super) struct Bx {
    pub kind: [u8; 4],
    pub at: usize,
    pub body: usize,
    pub end: usize,
}

/// Top-level box types that mark a file as ISO BMFF / QuickTime.
const TOP_LEVEL: &[&[u8; 4]] = &[
    b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"styp",
];

/// True when the data opens with a plausible ISO BMFF box.
pub fn looks_like_mp4(data: &[u8]) -> bool {
    let size_ok = be_u32(data, 0).is_some_and(|s| s == 0 || s == 1 || s >= 8);
    size_ok
        && data
            .get(4..8)
            .is_some_and(|t| TOP_LEVEL.iter().any(|k| &k[..] == t))
}

pub(super) fn corrupt(at: usize, what: impl Into<String>) -> Error {
    Error::corrupt(at as u64, format!("mp4: {}", what.into()))
}

/// The boxes in `data[start..end]`. With `lenient_tail`, a last box that runs past `end`
/// (a truncated `mdat`) is clamped instead of failing.
pub(super) fn children(
    data: &[u8],
    start: usize,
    end: usize,
    lenient_tail: bool,
) -> Result<Vec<Bx>> {
    let mut out = Vec::new();
    let mut at = start;
    while at + 8 <= end {
        let size32 = be_u32(data, at).ok_or_else(|| corrupt(at, "box header is truncated"))?;
        let mut kind = [0u8; 4];
        kind.copy_from_slice(data.get(at + 4..at + 8).unwrap_or(&[0; 4]));
        let (body, size) = match size32 {
            0 => (at + 8, end - at),
            1 => {
                let large = be_u64(data, at + 8)
                    .ok_or_else(|| corrupt(at, "64-bit box size is truncated"))?;
                (at + 16, usize::try_from(large).unwrap_or(usize::MAX))
            }
            s => (at + 8, s as usize),
        };
        if size < body - at {
            return Err(corrupt(
                at,
                format!(
                    "box '{}' declares {size} bytes, less than its header",
                    printable(&kind)
                ),
            ));
        }
        let box_end = match at.checked_add(size) {
            Some(e) if e <= end => e,
            _ if lenient_tail => end,
            _ => {
                return Err(corrupt(
                    at,
                    format!(
                        "box '{}' of {size} bytes runs past the end of its parent or the file \
                         (truncated?)",
                        printable(&kind)
                    ),
                ))
            }
        };
        out.push(Bx {
            kind,
            at,
            body,
            end: box_end.max(body),
        });
        at = box_end.max(body);
    }
    Ok(out)
}

pub(super) fn find<'a>(boxes: &'a [Bx], kind: &[u8; 4]) -> Option<&'a Bx> {
    boxes.iter().find(|b| &b.kind == kind)
}

fn require<'a>(boxes: &'a [Bx], kind: &[u8; 4], parent: &Bx) -> Result<&'a Bx> {
    find(boxes, kind).ok_or_else(|| {
        corrupt(
            parent.at,
            format!(
                "'{}' box has no '{}' box",
                printable(&parent.kind),
                printable(kind)
            ),
        )
    })
}

/// Read a big-endian u32 inside a box, failing with `Corrupt` when the box is too short.
pub(super) fn u32_in(data: &[u8], b: &Bx, at: usize) -> Result<u32> {
    if at + 4 > b.end {
        return Err(corrupt(
            b.at,
            format!("'{}' box is truncated", printable(&b.kind)),
        ));
    }
    be_u32(data, at).ok_or_else(|| corrupt(b.at, "box is truncated"))
}

/// Demux an MP4/QuickTime file.
pub fn demux(data: &[u8]) -> Result<Demuxed> {
    let top = children(data, 0, data.len(), true)?;
    let moov = find(&top, b"moov").ok_or_else(|| {
        corrupt(
            data.len(),
            "no 'moov' box (the file is truncated or not finalised)",
        )
    })?;
    let moov_children = children(data, moov.body, moov.end, false)?;
    let mut saw_track = false;
    for trak in moov_children.iter().filter(|b| &b.kind == b"trak") {
        saw_track = true;
        let trak_children = children(data, trak.body, trak.end, false)?;
        let Some(mdia) = find(&trak_children, b"mdia") else {
            continue;
        };
        let mdia_children = children(data, mdia.body, mdia.end, false)?;
        let Some(hdlr) = find(&mdia_children, b"hdlr") else {
            continue;
        };
        if data.get(hdlr.body + 8..hdlr.body + 12) != Some(b"vide") || hdlr.body + 12 > hdlr.end {
            continue;
        }
        let mut demuxed = video_track(data, mdia, &mdia_children)?;
        if top.iter().any(|b| &b.kind == b"moof") {
            // Fragmented: more samples in moof boxes, with defaults from mvex/trex.
            let tkhd = require(&trak_children, b"tkhd", trak)?;
            let version = data.get(tkhd.body).copied().unwrap_or(0);
            let track_id = u32_in(data, tkhd, tkhd.body + if version == 1 { 20 } else { 12 })?;
            let defaults = mp4_fragments::trex_defaults(data, &moov_children, track_id)?;
            let duration = mp4_fragments::fragment_samples(
                data,
                &top,
                track_id,
                defaults,
                &mut demuxed.packets,
            )?;
            if demuxed.fps.is_none() {
                demuxed.fps = duration
                    .filter(|&d| d > 0 && demuxed.timescale > 0)
                    .map(|d| f64::from(demuxed.timescale) / f64::from(d));
            }
        }
        return Ok(demuxed.into_demuxed());
    }
    if saw_track {
        Err(Error::NotVideo("mp4: the file has no video track".into()))
    } else {
        Err(corrupt(moov.at, "'moov' box has no tracks"))
    }
}

/// What a video track's `mdia` gives: the sample-table packets and the media timescale.
struct Track {
    packets: Vec<Packet>,
    config: Vec<u8>,
    fps: Option<f64>,
    fourcc: [u8; 4],
    timescale: u32,
}

impl Track {
    fn into_demuxed(self) -> Demuxed {
        Demuxed {
            kind: ContainerKind::Mp4,
            packets: self.packets,
            config: self.config,
            fps: self.fps,
            fourcc: Some(printable(&self.fourcc)),
        }
    }
}

fn video_track(data: &[u8], mdia: &Bx, mdia_children: &[Bx]) -> Result<Track> {
    let mdhd = require(mdia_children, b"mdhd", mdia)?;
    let version = data.get(mdhd.body).copied().unwrap_or(0);
    let timescale = u32_in(data, mdhd, mdhd.body + if version == 1 { 20 } else { 12 })?;
    let minf = require(mdia_children, b"minf", mdia)?;
    let minf_children = children(data, minf.body, minf.end, false)?;
    let stbl = require(&minf_children, b"stbl", minf)?;
    let stbl_children = children(data, stbl.body, stbl.end, false)?;

    let stsd = require(&stbl_children, b"stsd", stbl)?;
    let (fourcc, config) = sample_entry(data, stsd)?;
    let sizes = sample_sizes(data, &stbl_children, stbl)?;
    let chunk_offsets = chunk_offsets(data, &stbl_children, stbl)?;
    let stsc = require(&stbl_children, b"stsc", stbl)?;
    let packets = place_samples(data, stsc, &sizes, &chunk_offsets)?;
    let fps = find(&stbl_children, b"stts").and_then(|stts| frame_rate(data, stts, timescale));
    Ok(Track {
        packets,
        config,
        fps,
        fourcc,
        timescale,
    })
}

/// Check the first sample entry of `stsd` is MPEG-4 Part 2 video and return its type and the
/// decoder config from `esds`.
fn sample_entry(data: &[u8], stsd: &Bx) -> Result<([u8; 4], Vec<u8>)> {
    let count = u32_in(data, stsd, stsd.body + 4)?;
    if count == 0 {
        return Err(corrupt(stsd.at, "'stsd' box lists no sample entries"));
    }
    let entries = children(data, stsd.body + 8, stsd.end, false)?;
    let entry = entries
        .first()
        .ok_or_else(|| corrupt(stsd.at, "'stsd' sample entry is truncated"))?;
    let kind = entry.kind;
    let name = match &kind {
        b"mp4v" => None,
        b"avc1" | b"avc2" | b"avc3" | b"avc4" => Some("H.264"),
        b"hvc1" | b"hev1" => Some("HEVC"),
        b"av01" => Some("AV1"),
        b"vp08" => Some("VP8"),
        b"vp09" => Some("VP9"),
        b"s263" | b"h263" => Some("H.263"),
        b"mjpa" | b"mjpb" | b"jpeg" => Some("Motion JPEG"),
        b"apcn" | b"apch" | b"apcs" | b"apco" | b"ap4h" => Some("ProRes"),
        b"encv" => Some("encrypted video"),
        _ => Some("unknown"),
    };
    if let Some(name) = name {
        return Err(Error::Unsupported(format!(
            "mp4: codec {name} (sample entry '{}') is not MPEG-4 Part 2",
            printable(&kind)
        )));
    }
    // VisualSampleEntry: 8 reserved/data-ref bytes, 16 pre-defined, width, height at +24/+26.
    let width = be_u16(data, entry.body + 24).filter(|_| entry.body + 78 <= entry.end);
    let height = be_u16(data, entry.body + 26).filter(|_| entry.body + 78 <= entry.end);
    let (Some(width), Some(height)) = (width, height) else {
        return Err(corrupt(entry.at, "'mp4v' sample entry is truncated"));
    };
    check_frame_size(
        u32::from(width),
        u32::from(height),
        "mp4: the 'mp4v' sample entry",
    )?;
    let inner = children(data, entry.body + 78, entry.end, false)?;
    let config = match find(&inner, b"esds") {
        Some(esds) => decoder_specific_info(data, esds)?,
        None => Vec::new(),
    };
    Ok((kind, config))
}

/// One MPEG-4 descriptor header (14496-1, 8.3.3): tag and a 1-4 byte length of 7-bit groups.
fn descriptor(data: &[u8], at: usize, end: usize) -> Result<(u8, usize, usize)> {
    let tag = *data
        .get(at)
        .filter(|_| at < end)
        .ok_or_else(|| corrupt(at, "esds descriptor is truncated"))?;
    let mut len = 0usize;
    let mut pos = at + 1;
    for _ in 0..4 {
        let b = *data
            .get(pos)
            .filter(|_| pos < end)
            .ok_or_else(|| corrupt(at, "esds descriptor length is truncated"))?;
        pos += 1;
        len = (len << 7) | usize::from(b & 0x7F);
        if b & 0x80 == 0 {
            break;
        }
    }
    let stop = pos
        .checked_add(len)
        .filter(|&s| s <= end)
        .ok_or_else(|| corrupt(at, "esds descriptor runs past its box"))?;
    Ok((tag, pos, stop))
}

/// The DecoderSpecificInfo bytes inside `esds` (ES_Descriptor > DecoderConfigDescriptor > 0x05),
/// after checking the object type is MPEG-4 Visual (0x20).
fn decoder_specific_info(data: &[u8], esds: &Bx) -> Result<Vec<u8>> {
    let (tag, mut at, end) = descriptor(data, esds.body + 4, esds.end)?;
    if tag != 0x03 {
        return Err(corrupt(
            esds.at,
            format!("esds starts with descriptor tag {tag}, not 3"),
        ));
    }
    let flags = *data
        .get(at + 2)
        .filter(|_| at + 3 <= end)
        .ok_or_else(|| corrupt(at, "ES descriptor is truncated"))?;
    at += 3;
    if flags & 0x80 != 0 {
        at += 2; // dependsOn_ES_ID
    }
    if flags & 0x40 != 0 {
        at += 1 + usize::from(data.get(at).copied().unwrap_or(0)); // URL
    }
    if flags & 0x20 != 0 {
        at += 2; // OCR_ES_Id
    }
    while at < end {
        let (tag, body, stop) = descriptor(data, at, end)?;
        if tag == 0x04 {
            let oti = *data
                .get(body)
                .filter(|_| body + 13 <= stop)
                .ok_or_else(|| corrupt(body, "decoder config descriptor is truncated"))?;
            let codec = match oti {
                0x20 => None,
                0x21 => Some("H.264"),
                0x60..=0x65 => Some("MPEG-2 video"),
                0x6A => Some("MPEG-1 video"),
                0x6C => Some("JPEG"),
                _ => Some("unknown"),
            };
            if let Some(codec) = codec {
                return Err(Error::Unsupported(format!(
                    "mp4: codec {codec} (esds object type 0x{oti:02x}) is not MPEG-4 Part 2"
                )));
            }
            let mut inner = body + 13;
            while inner < stop {
                let (tag, b, s) = descriptor(data, inner, stop)?;
                if tag == 0x05 {
                    return Ok(data[b..s].to_vec());
                }
                inner = s;
            }
            return Ok(Vec::new());
        }
        at = stop;
    }
    Ok(Vec::new())
}

/// Sample sizes from `stsz` (or compact `stz2`), bounded by the box length.
fn sample_sizes(data: &[u8], stbl_children: &[Bx], stbl: &Bx) -> Result<Vec<u32>> {
    if let Some(stsz) = find(stbl_children, b"stsz") {
        let fixed = u32_in(data, stsz, stsz.body + 4)?;
        let count = u32_in(data, stsz, stsz.body + 8)? as usize;
        if fixed != 0 {
            // Every sample must fit in the file, which bounds the count before allocating.
            if count.saturating_mul(fixed as usize) > data.len() {
                return Err(corrupt(
                    stsz.at,
                    format!("{count} samples of {fixed} bytes do not fit in the file"),
                ));
            }
            return Ok(vec![fixed; count]);
        }
        if count > (stsz.end.saturating_sub(stsz.body + 12)) / 4 {
            return Err(corrupt(
                stsz.at,
                format!("'stsz' lists {count} samples but is truncated"),
            ));
        }
        return (0..count)
            .map(|k| u32_in(data, stsz, stsz.body + 12 + 4 * k))
            .collect();
    }
    if let Some(stz2) = find(stbl_children, b"stz2") {
        let field = u32_in(data, stz2, stz2.body + 4)? & 0xFF;
        let count = u32_in(data, stz2, stz2.body + 8)? as usize;
        let bits = match field {
            4 | 8 | 16 => field as usize,
            _ => return Err(corrupt(stz2.at, format!("'stz2' field size {field}"))),
        };
        let table = stz2.body + 12;
        if count.saturating_mul(bits).div_ceil(8) > stz2.end.saturating_sub(table) {
            return Err(corrupt(stz2.at, "'stz2' is truncated"));
        }
        return Ok((0..count)
            .map(|k| match bits {
                4 => {
                    let b = data.get(table + k / 2).copied().unwrap_or(0);
                    u32::from(if k % 2 == 0 { b >> 4 } else { b & 0xF })
                }
                8 => u32::from(data.get(table + k).copied().unwrap_or(0)),
                _ => u32::from(be_u16(data, table + 2 * k).unwrap_or(0)),
            })
            .collect());
    }
    Err(corrupt(stbl.at, "'stbl' box has no sample size table"))
}

/// Chunk offsets from `stco` (32-bit) or `co64` (64-bit), bounded by the box length.
fn chunk_offsets(data: &[u8], stbl_children: &[Bx], stbl: &Bx) -> Result<Vec<u64>> {
    let (b, wide) = match (find(stbl_children, b"stco"), find(stbl_children, b"co64")) {
        (Some(b), _) => (b, false),
        (None, Some(b)) => (b, true),
        _ => return Err(corrupt(stbl.at, "'stbl' box has no chunk offset table")),
    };
    // A count larger than the table (a damaged count) keeps the entries that are there: the
    // sample-to-chunk runs decide whether the missing ones were needed.
    let entry = if wide { 8 } else { 4 };
    let count =
        (u32_in(data, b, b.body + 4)? as usize).min(b.end.saturating_sub(b.body + 8) / entry);
    Ok((0..count)
        .map(|k| {
            let at = b.body + 8 + entry * k;
            if wide {
                be_u64(data, at).unwrap_or(u64::MAX)
            } else {
                u64::from(be_u32(data, at).unwrap_or(u32::MAX))
            }
        })
        .collect())
}

/// Lay samples into chunks following `stsc` runs. Damage ends the list where FFmpeg's reading
/// ends: a sample that starts past the end of a cut file stops it, one cut by the end keeps the
/// bytes that are there, and a run that names a chunk the offset table lacks keeps the samples
/// placed before it.
fn place_samples(data: &[u8], stsc: &Bx, sizes: &[u32], chunks: &[u64]) -> Result<Vec<Packet>> {
    let entries = u32_in(data, stsc, stsc.body + 4)? as usize;
    if entries > stsc.end.saturating_sub(stsc.body + 8) / 12 {
        return Err(corrupt(
            stsc.at,
            format!("'stsc' lists {entries} runs but is truncated"),
        ));
    }
    let run = |k: usize| -> Result<(u32, u32)> {
        let at = stsc.body + 8 + 12 * k;
        Ok((u32_in(data, stsc, at)?, u32_in(data, stsc, at + 4)?))
    };
    let mut packets = Vec::with_capacity(sizes.len());
    let mut sample = 0usize;
    for k in 0..entries {
        let (first_chunk, per_chunk) = run(k)?;
        let next_first = if k + 1 < entries {
            run(k + 1)?.0
        } else {
            u32::try_from(chunks.len())
                .unwrap_or(u32::MAX)
                .saturating_add(1)
        };
        if first_chunk == 0 || next_first < first_chunk {
            return keep_placed(packets, corrupt(stsc.at, "'stsc' runs are out of order"));
        }
        for chunk in first_chunk..next_first {
            let Some(&chunk_offset) = chunks.get(chunk as usize - 1) else {
                let err = corrupt(
                    stsc.at,
                    format!("'stsc' refers to chunk {chunk} of {}", chunks.len()),
                );
                return keep_placed(packets, err);
            };
            let mut offset = chunk_offset;
            for _ in 0..per_chunk {
                let Some(&size) = sizes.get(sample) else {
                    return Ok(packets);
                };
                // FFmpeg reads a sample into a buffer of `int` size: a larger one ends reading.
                if offset >= data.len() as u64 || size > i32::MAX as u32 {
                    let err = corrupt(
                        usize::try_from(offset).unwrap_or(usize::MAX),
                        format!("sample {sample} at byte {offset} lies past the end of the file (truncated?)"),
                    );
                    return keep_placed(packets, err);
                }
                let end = offset.saturating_add(u64::from(size));
                let start = offset as usize;
                packets.push(Packet {
                    offset: start,
                    len: (end.min(data.len() as u64) as usize) - start,
                });
                offset = end;
                sample += 1;
            }
        }
    }
    Ok(packets)
}

/// The samples placed before damage in the sample tables, or the damage itself when none are.
fn keep_placed(packets: Vec<Packet>, damage: Error) -> Result<Vec<Packet>> {
    if packets.is_empty() {
        Err(damage)
    } else {
        Ok(packets)
    }
}

/// Frames per second from the media timescale and the most common `stts` sample duration.
fn frame_rate(data: &[u8], stts: &Bx, timescale: u32) -> Option<f64> {
    let entries = be_u32(data, stts.body + 4)? as usize;
    let entries = entries.min(stts.end.saturating_sub(stts.body + 8) / 8);
    let mut best = (0u32, 0u32); // (count, delta)
    for k in 0..entries {
        let at = stts.body + 8 + 8 * k;
        let (count, delta) = (be_u32(data, at)?, be_u32(data, at + 4)?);
        if count > best.0 && delta > 0 {
            best = (count, delta);
        }
    }
    (best.1 > 0 && timescale > 0).then(|| f64::from(timescale) / f64::from(best.1))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }

    fn full(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; 4];
        b.extend_from_slice(body);
        bx(kind, &b)
    }

    fn u32s(values: &[u32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_be_bytes()).collect()
    }

    /// A minimal MP4 with one video track of sample entry `entry` holding `samples`.
    pub(crate) fn build_mp4(
        entry: &[u8; 4],
        w: u16,
        h: u16,
        config: &[u8],
        samples: &[&[u8]],
    ) -> Vec<u8> {
        let ftyp = bx(b"ftyp", b"isom\0\0\0\x01isom");
        let mut mdat_body = Vec::new();
        let mut sizes = Vec::new();
        for s in samples {
            sizes.push(s.len() as u32);
            mdat_body.extend_from_slice(s);
        }
        let mdat = bx(b"mdat", &mdat_body);
        let data_start = (ftyp.len() + 8) as u32;
        let mut visual = vec![0u8; 6];
        visual.extend_from_slice(&1u16.to_be_bytes());
        visual.extend_from_slice(&[0; 16]);
        visual.extend_from_slice(&w.to_be_bytes());
        visual.extend_from_slice(&h.to_be_bytes());
        visual.extend_from_slice(&[0; 50]);
        // esds: ES_Descriptor(3) { ES_ID, flags, DecoderConfig(4) { 0x20, ..., DSI(5) } }
        let mut dsi = vec![0x05, config.len() as u8];
        dsi.extend_from_slice(config);
        let mut dcd = vec![0x04, (13 + dsi.len()) as u8, 0x20, 0x11];
        dcd.extend_from_slice(&[0; 11]);
        dcd.extend_from_slice(&dsi);
        let mut es = vec![0x03, (3 + dcd.len()) as u8, 0, 1, 0];
        es.extend_from_slice(&dcd);
        visual.extend_from_slice(&full(b"esds", &es));
        let stsd = full(b"stsd", &[u32s(&[1]), bx(entry, &visual)].concat());
        let stts = full(b"stts", &u32s(&[1, samples.len() as u32, 512]));
        let stsz = full(
            b"stsz",
            &[u32s(&[0, samples.len() as u32]), u32s(&sizes)].concat(),
        );
        let stsc = full(b"stsc", &u32s(&[1, 1, samples.len() as u32, 1]));
        let stco = full(b"stco", &u32s(&[1, data_start]));
        let stbl = bx(b"stbl", &[stsd, stts, stsz, stsc, stco].concat());
        let minf = bx(b"minf", &stbl);
        let hdlr = full(b"hdlr", b"\0\0\0\0vide\0\0\0\0\0\0\0\0\0\0\0\0\0");
        let mdhd = full(b"mdhd", &u32s(&[0, 0, 12800, 0, 0]));
        let mdia = bx(b"mdia", &[mdhd, hdlr, minf].concat());
        let moov = bx(b"moov", &bx(b"trak", &mdia));
        [ftyp, mdat, moov].concat()
    }

    #[test]
    fn reads_samples_config_and_rate() {
        let mp4 = build_mp4(b"mp4v", 176, 144, b"VOLBYTES", &[b"one", b"three"]);
        let d = demux(&mp4).unwrap();
        assert_eq!(d.config, b"VOLBYTES");
        assert_eq!(d.fps, Some(25.0));
        let bodies: Vec<&[u8]> = d.packets.iter().map(|p| &mp4[p.range()]).collect();
        assert_eq!(bodies, vec![&b"one"[..], b"three"]);
    }

    #[test]
    fn names_other_codecs_and_refuses_huge_frames() {
        let mp4 = build_mp4(b"avc1", 176, 144, b"", &[b"x"]);
        assert!(matches!(demux(&mp4), Err(Error::Unsupported(m)) if m.contains("H.264")));
        let mp4 = build_mp4(b"mp4v", 65535, 65535, b"", &[b"x"]);
        assert!(matches!(demux(&mp4), Err(Error::Limit(_))));
    }

    #[test]
    fn damaged_sample_tables_keep_the_samples_they_can_place() {
        let mp4 = build_mp4(b"mp4v", 176, 144, b"VOL", &[b"one", b"three", b"fives"]);
        let stsz = mp4.windows(4).position(|w| w == b"stsz").unwrap();
        let entry = |k: usize| stsz + 16 + 4 * k;
        // A size too large for FFmpeg's packet buffer ends the samples there.
        let mut huge = mp4.clone();
        huge[entry(1)..entry(1) + 4].copy_from_slice(&0x9000_0000u32.to_be_bytes());
        assert_eq!(demux(&huge).unwrap().packets.len(), 1);
        // A chunk offset count larger than its table keeps the entries present.
        let stco = mp4.windows(4).position(|w| w == b"stco").unwrap();
        let mut count = mp4.clone();
        count[stco + 8..stco + 12].copy_from_slice(&40u32.to_be_bytes());
        assert_eq!(demux(&count).unwrap().packets, demux(&mp4).unwrap().packets);
    }

    #[test]
    fn truncation_and_size_lies_never_panic() {
        let mp4 = build_mp4(b"mp4v", 176, 144, b"VOL", &[b"one", b"three"]);
        for cut in 0..mp4.len() {
            if let Ok(d) = demux(&mp4[..cut]) {
                assert!(d.packets.iter().all(|p| p.offset + p.len <= cut));
            }
        }
        for at in 0..mp4.len() {
            let mut bad = mp4.clone();
            bad[at] ^= 0xFF;
            let _ = demux(&bad);
        }
    }
}
