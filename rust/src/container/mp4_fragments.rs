//! Fragmented MP4 (ISO/IEC 14496-12, 8.8): after a `moov` whose sample table is usually
//! empty, the samples come in `moof` boxes, each with one `traf` per track: `tfhd` (track and
//! defaults) and `trun` runs (per-sample durations/sizes and where the data starts).
#![forbid(unsafe_code)]

use super::mp4::{children, corrupt, find, u32_in, Bx};
use super::{be_u32, be_u64, Packet};
use crate::Result;

/// `tfhd` / `trun` flag bits (14496-12, 8.8.7 and 8.8.8).
const BASE_DATA_OFFSET: u32 = 0x1;
const SAMPLE_DESCRIPTION_INDEX: u32 = 0x2;
const DEFAULT_DURATION: u32 = 0x8;
const DEFAULT_SIZE: u32 = 0x10;
const DATA_OFFSET: u32 = 0x1;
const FIRST_SAMPLE_FLAGS: u32 = 0x4;
const SAMPLE_DURATION: u32 = 0x100;
const SAMPLE_SIZE: u32 = 0x200;
const PER_SAMPLE_FIELDS: u32 = 0xF00;

/// Per-sample defaults of one track.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Defaults {
    pub duration: u32,
    pub size: u32,
}

/// The track's defaults from `moov/mvex/trex`, if present.
pub(super) fn trex_defaults(data: &[u8], moov_children: &[Bx], track_id: u32) -> Result<Defaults> {
    let Some(mvex) = find(moov_children, b"mvex") else {
        return Ok(Defaults::default());
    };
    for trex in children(data, mvex.body, mvex.end, false)?
        .iter()
        .filter(|b| &b.kind == b"trex")
    {
        if u32_in(data, trex, trex.body + 4)? == track_id {
            return Ok(Defaults {
                duration: u32_in(data, trex, trex.body + 12)?,
                size: u32_in(data, trex, trex.body + 16)?,
            });
        }
    }
    Ok(Defaults::default())
}

/// Append the samples of track `track_id` from every top-level `moof`, in file order.
/// Returns the most common sample duration (for the frame rate; the first sample's duration
/// is often odd in muxed files).
pub(super) fn fragment_samples(
    data: &[u8],
    top: &[Bx],
    track_id: u32,
    defaults: Defaults,
    out: &mut Vec<Packet>,
) -> Result<Option<u32>> {
    let mut durations = std::collections::BTreeMap::<u32, usize>::new();
    for moof in top.iter().filter(|b| &b.kind == b"moof") {
        match moof_samples(data, moof, track_id, defaults, out, &mut durations) {
            Ok(true) => {}
            // The data ends inside this fragment, or a later fragment is damaged: keep what
            // came before, as FFmpeg stops reading there.
            Ok(false) => break,
            Err(_) if !out.is_empty() => break,
            Err(err) => return Err(err),
        }
    }
    Ok(durations
        .iter()
        .max_by_key(|&(_, &count)| count)
        .map(|(&duration, _)| duration))
}

/// The samples of track `track_id` in one `moof`; false when a sample lies past the end of the
/// data (a cut file), after which nothing more is read.
fn moof_samples(
    data: &[u8],
    moof: &Bx,
    track_id: u32,
    defaults: Defaults,
    out: &mut Vec<Packet>,
    durations: &mut std::collections::BTreeMap<u32, usize>,
) -> Result<bool> {
    for traf in children(data, moof.body, moof.end, false)?
        .iter()
        .filter(|b| &b.kind == b"traf")
    {
        let boxes = children(data, traf.body, traf.end, false)?;
        let Some(tfhd) = find(&boxes, b"tfhd") else {
            return Err(corrupt(traf.at, "'traf' box has no 'tfhd' box"));
        };
        let flags = u32_in(data, tfhd, tfhd.body)? & 0x00FF_FFFF;
        if u32_in(data, tfhd, tfhd.body + 4)? != track_id {
            continue;
        }
        let mut at = tfhd.body + 8;
        let mut base = moof.at as u64;
        let mut track = defaults;
        if flags & BASE_DATA_OFFSET != 0 {
            base = be_u64(data, at)
                .filter(|_| at + 8 <= tfhd.end)
                .ok_or_else(|| corrupt(tfhd.at, "'tfhd' box is truncated"))?;
            at += 8;
        }
        if flags & SAMPLE_DESCRIPTION_INDEX != 0 {
            at += 4;
        }
        if flags & DEFAULT_DURATION != 0 {
            track.duration = u32_in(data, tfhd, at)?;
            at += 4;
        }
        if flags & DEFAULT_SIZE != 0 {
            track.size = u32_in(data, tfhd, at)?;
        }
        // default_sample_flags (DEFAULT_FLAGS) follow; pkdkit does not need them.
        let mut next = base;
        for trun in boxes.iter().filter(|b| &b.kind == b"trun") {
            match run(data, trun, base, next, track, out, durations)? {
                Some(end) => next = end,
                None => return Ok(false),
            }
        }
    }
    Ok(true)
}

/// One `trun`: append its samples and count their durations; returns where its data ends, or
/// `None` when a sample starts past the end of the data (one cut by the end keeps its bytes).
fn run(
    data: &[u8],
    trun: &Bx,
    base: u64,
    continue_at: u64,
    track: Defaults,
    out: &mut Vec<Packet>,
    durations: &mut std::collections::BTreeMap<u32, usize>,
) -> Result<Option<u64>> {
    let flags = u32_in(data, trun, trun.body)? & 0x00FF_FFFF;
    let count = u32_in(data, trun, trun.body + 4)? as usize;
    let mut at = trun.body + 8;
    let mut offset = continue_at;
    if flags & DATA_OFFSET != 0 {
        let rel = u32_in(data, trun, at)? as i32;
        offset = base
            .checked_add_signed(i64::from(rel))
            .ok_or_else(|| corrupt(trun.at, "'trun' data offset points before the file"))?;
        at += 4;
    }
    if flags & FIRST_SAMPLE_FLAGS != 0 {
        at += 4;
    }
    let entry = 4 * (flags & PER_SAMPLE_FIELDS).count_ones() as usize;
    if entry > 0 && count > trun.end.saturating_sub(at) / entry {
        return Err(corrupt(
            trun.at,
            format!("'trun' lists {count} samples but is truncated"),
        ));
    }
    if entry == 0 && (track.size == 0 || count.saturating_mul(track.size as usize) > data.len()) {
        return Err(corrupt(
            trun.at,
            format!("'trun' of {count} samples of {} bytes", track.size),
        ));
    }
    for k in 0..count {
        let mut field = at + k * entry;
        let mut duration = track.duration;
        if flags & SAMPLE_DURATION != 0 {
            duration = be_u32(data, field).unwrap_or(0);
            field += 4;
        }
        let size = if flags & SAMPLE_SIZE != 0 {
            be_u32(data, field).unwrap_or(0)
        } else {
            track.size
        };
        if duration > 0 {
            *durations.entry(duration).or_default() += 1;
        }
        if offset >= data.len() as u64 || size > i32::MAX as u32 {
            return Ok(None);
        }
        let end = offset.saturating_add(u64::from(size));
        out.push(Packet {
            offset: offset as usize,
            len: (end.min(data.len() as u64) - offset) as usize,
        });
        offset = end;
    }
    Ok(Some(offset))
}
