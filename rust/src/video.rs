//! An opened video: the file's bytes, its container, the VOL header, and an index of every VOP
//! in the order FFmpeg decodes them, with the frames FFmpeg would output in display order.
//!
//! The frame list follows FFmpeg's mpeg4 decoder (the oracle of the tests), not just the
//! standard, so `frame_types` has FFmpeg's count and letters:
//! - a VOP with `vop_coded = 0` outputs nothing where it is, but when it is the last thing in
//!   the stream FFmpeg repeats the last reference picture at the end;
//! - a B-VOP before two reference pictures have been decoded is dropped, and so is one whose
//!   time stamp does not fall between its references (FFmpeg's "messed up order" check; the
//!   clock also advances on not-coded VOPs and restarts at GOV time codes);
//! - reference pictures are shown when the next one arrives (unless `low_delay`), B-VOPs at once;
//! - in a packet holding two VOPs only the first is decoded, unless the stream is a DivX/XviD
//!   "packed bitstream" (user data `DivX...p`), where a trailing I- or B-VOP is kept and decoded
//!   in place of the next packet (the placeholder after it), with FFmpeg's exact rules
//!   (module [`packed`]).
#![forbid(unsafe_code)]

use std::path::Path;

mod packed;

use crate::bits::{start_codes, BitReader};
use crate::container::{self, ContainerKind, Packet};
use crate::decoded::FrameType;
use crate::mpeg4::clock::{VopClock, VopTime};
use crate::mpeg4::header::{
    self, parse_user_data, parse_vol, parse_vop, profile_name, start_code as sc, EncoderInfo,
    VolHeader, VopHeader,
};
use crate::{Error, Result};

/// Frame rate assumed when neither the container nor the VOL gives one (FFmpeg's default for
/// raw streams).
const DEFAULT_FPS: f64 = 25.0;

/// One VOP of the stream, in decode order.
#[derive(Clone, Debug)]
pub struct VopEntry {
    /// Byte offset of the VOP's `00 00 01 B6` start code in the file.
    pub offset: usize,
    /// Bytes from the start code to the end of the VOP (next start code or end of packet).
    pub len: usize,
    pub header: VopHeader,
    /// Display index of the frame this VOP produces; `None` when FFmpeg outputs no frame for it
    /// (not coded, a B-VOP without two references or out of time order). The decoder must
    /// skip such VOPs: FFmpeg never decodes them.
    pub display_index: Option<usize>,
}

/// A parsed video, ready for decoding: `vops` in decode order, `display` in display order.
#[derive(Debug)]
pub struct Video {
    data: Vec<u8>,
    pub container: ContainerKind,
    /// The container's codec tag (AVI fourcc, MP4 sample entry), if any.
    pub fourcc: Option<String>,
    pub vol: VolHeader,
    pub encoder: EncoderInfo,
    /// The VOPs FFmpeg decodes, in decode order.
    pub vops: Vec<VopEntry>,
    /// For each output frame in display order, the index in `vops` of the VOP that makes it
    /// (a VOP may appear twice: FFmpeg repeats the last picture after a final skipped VOP).
    pub display: Vec<usize>,
    /// One letter per output frame, display order ('I', 'P', 'B', 'S').
    pub frame_types: String,
    /// Display index of each I-frame.
    pub gop_starts: Vec<usize>,
    pub fps: f64,
}

/// Headers seen so far while walking the stream.
#[derive(Default)]
struct HeaderState {
    vol: Option<VolHeader>,
    profile_and_level: Option<u8>,
    encoder: EncoderInfo,
    clock: VopClock,
}

/// A start-code delimited unit: where its start code is and where it ends.
#[derive(Clone, Copy)]
struct Unit {
    at: usize,
    code: u8,
    end: usize,
}

/// The start-code units inside `bytes[range]`, with absolute offsets.
fn units(bytes: &[u8], packet: Packet) -> Vec<Unit> {
    let slice = bytes.get(packet.range()).unwrap_or(&[]);
    let codes: Vec<(usize, u8)> = start_codes(slice).collect();
    codes
        .iter()
        .enumerate()
        .map(|(k, &(at, code))| Unit {
            at: packet.offset + at,
            code,
            end: packet.offset + codes.get(k + 1).map_or(slice.len(), |c| c.0),
        })
        .collect()
}

impl HeaderState {
    /// Parse a non-VOP header unit of `bytes` (the file, or the container's configuration).
    fn header(&mut self, bytes: &[u8], unit: Unit) -> Result<()> {
        let body = bytes.get(unit.at + 4..unit.end).unwrap_or(&[]);
        let offset_err = |e: Error| shift_offset(e, unit.at as u64 + 4);
        match unit.code {
            sc::VISUAL_OBJECT_SEQUENCE => {
                let pl = header::parse_vos(&mut BitReader::new(body)).map_err(offset_err)?;
                self.profile_and_level.get_or_insert(pl);
            }
            sc::VOL_FIRST..=sc::VOL_LAST => {
                let mut vol = parse_vol(&mut BitReader::new(body)).map_err(offset_err)?;
                vol.profile_and_level = self.profile_and_level;
                match &self.vol {
                    // Repeated headers (before each GOP) must repeat the first in everything
                    // that shapes decoding: the decoder is set up once from it.
                    Some(old) if !same_coding(old, &vol) => {
                        let what = if (old.width, old.height) != (vol.width, vol.height) {
                            format!(
                                "the frame size changes from {}x{} to {}x{}",
                                old.width, old.height, vol.width, vol.height
                            )
                        } else {
                            "its coding parameters change".to_string()
                        };
                        return Err(Error::Unsupported(format!(
                            "mpeg4: a video object layer header at byte {} repeats the first \
                             but {what}",
                            unit.at
                        )));
                    }
                    Some(_) => {}
                    None => self.vol = Some(vol),
                }
            }
            sc::USER_DATA => {
                if let Some(info) = parse_user_data(body) {
                    self.encoder.merge(info);
                }
            }
            sc::GROUP_OF_VOP => {
                // FFmpeg restarts its clock at the GOV time code (and skips an all-zero GOV).
                if let Ok((seconds, _, _)) = header::parse_gov(&mut BitReader::new(body)) {
                    if BitReader::new(body).peek(23) != 0 {
                        self.clock.gov(seconds);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// True when two VOL headers describe the same coding (signalled delay and the enclosing
/// sequence's profile may differ).
fn same_coding(a: &VolHeader, b: &VolHeader) -> bool {
    let strip = |v: &VolHeader| VolHeader {
        low_delay: None,
        profile_and_level: None,
        ..v.clone()
    };
    strip(a) == strip(b)
}

/// Re-base a `Corrupt` offset that is relative to a header body onto the file.
fn shift_offset(err: Error, base: u64) -> Error {
    match err {
        Error::Corrupt {
            offset,
            frame,
            what,
        } => Error::Corrupt {
            offset: offset + base,
            frame,
            what,
        },
        other => other,
    }
}

/// FFmpeg's output bookkeeping (mpegvideo's last/next picture and `low_delay`).
struct Output {
    low_delay: bool,
    /// `low_delay` came from the VOL (`vol_control_parameters`), so B-VOPs cannot clear it.
    low_delay_signalled: bool,
    last_ref: Option<usize>,
    next_ref: Option<usize>,
    skipped_last: bool,
    display: Vec<usize>,
}

impl Output {
    fn new(vol: &VolHeader) -> Self {
        Output {
            // Without vol_control_parameters FFmpeg assumes low delay for Simple and Advanced
            // Simple object types.
            low_delay: vol.low_delay.unwrap_or(matches!(vol.vo_type, 1 | 17)),
            low_delay_signalled: vol.low_delay.is_some(),
            last_ref: None,
            next_ref: None,
            skipped_last: false,
            display: Vec::new(),
        }
    }

    /// One VOP FFmpeg parses, index `k` in `vops`; `in_time` is false for a B-VOP the clock
    /// rejects. The order of the checks is FFmpeg's. Returns whether FFmpeg decodes a picture
    /// (only then does it look for a packed VOP in the packet).
    fn vop(&mut self, k: usize, header: &VopHeader, in_time: bool) -> bool {
        let is_b = header.coding_type == FrameType::B;
        if is_b && self.low_delay && !self.low_delay_signalled {
            self.low_delay = false;
        }
        if !in_time {
            return false;
        }
        if !header.vop_coded {
            self.skipped_last = true;
            return false;
        }
        if is_b {
            if self.last_ref.is_none() {
                return false; // FFmpeg drops B-VOPs until it has two references
            }
            self.skipped_last = false;
            self.display.push(k);
            return true;
        }
        self.skipped_last = false;
        self.last_ref = self.next_ref.replace(k);
        if self.low_delay {
            self.display.push(k);
        } else if let Some(previous) = self.last_ref {
            self.display.push(previous);
        }
        true
    }

    fn finish(mut self) -> Vec<usize> {
        if !self.low_delay || self.skipped_last {
            if let Some(last) = self.next_ref {
                self.display.push(last);
            }
        }
        self.display
    }
}

/// Parse the VOP in `unit` with the current VOL and record it (decode index `vops.len()`).
/// Returns whether FFmpeg decodes a picture from it.
fn index_vop(
    data: &[u8],
    unit: Unit,
    state: &mut HeaderState,
    vops: &mut Vec<VopEntry>,
    output: &mut Option<Output>,
) -> Result<bool> {
    let vol = state.vol.as_ref().ok_or_else(|| {
        Error::corrupt(
            unit.at as u64,
            "mpeg4: a VOP comes before any video object layer header",
        )
    })?;
    let k = vops.len();
    let body = data.get(unit.at + 4..unit.end).unwrap_or(&[]);
    let header = parse_vop(&mut BitReader::new(body), vol)
        .map_err(|e| shift_offset(e, unit.at as u64 + 4).at_frame(k))?;
    let in_time = state.clock.vop(&header, vol.time_increment_resolution) != VopTime::Mistimed;
    let pictured = output
        .get_or_insert_with(|| Output::new(vol))
        .vop(k, &header, in_time);
    vops.push(VopEntry {
        offset: unit.at,
        len: unit.end - unit.at,
        header,
        display_index: None,
    });
    Ok(pictured)
}

/// Parse the headers of `source` up to its first VOP and index that VOP: FFmpeg reads nothing
/// of a packet after the VOP it decodes. Returns the VOP when FFmpeg decodes a picture from it.
fn index_source(
    data: &[u8],
    source: Packet,
    state: &mut HeaderState,
    vops: &mut Vec<VopEntry>,
    output: &mut Option<Output>,
) -> Result<Option<Unit>> {
    for unit in units(data, source) {
        if unit.code != sc::VOP {
            state.header(data, unit)?;
        } else {
            let pictured = match index_vop(data, unit, state, vops, output) {
                // A damaged VOP header (a cut file, a packet cut short by a lying container
                // size): FFmpeg drops that packet ("header damaged") and goes on, so the VOP
                // gives no picture and the others stand.
                Err(Error::Corrupt { .. }) => false,
                other => other?,
            };
            return Ok(pictured.then_some(unit));
        }
    }
    Ok(None)
}

/// Parse the container's decoder configuration into `state`. Returns the first damage found
/// (`Corrupt`, re-worded to say where it is); other errors (`Unsupported`...) are fatal.
fn read_config(config: &[u8], state: &mut HeaderState) -> Result<Option<Error>> {
    let whole = Packet {
        offset: 0,
        len: config.len(),
    };
    let mut damage = None;
    for unit in units(config, whole) {
        if unit.code == sc::VOP {
            continue;
        }
        match state.header(config, unit) {
            Ok(()) => {}
            Err(Error::Corrupt { what, .. }) => {
                damage.get_or_insert(Error::corrupt(
                    0,
                    format!("{what} (in the container's decoder configuration)"),
                ));
            }
            Err(other) => return Err(other),
        }
    }
    Ok(damage)
}

impl Video {
    /// Read and index the video at `path`.
    pub fn open(path: &Path) -> Result<Video> {
        Video::from_bytes(std::fs::read(path)?)
    }

    /// Index a video held in memory (any supported container).
    pub fn from_bytes(data: Vec<u8>) -> Result<Video> {
        let demuxed = container::demux(&data)?;
        let mut state = HeaderState::default();
        // Out-of-band headers (MP4 esds, AVI strf extra bytes, Matroska CodecPrivate) come
        // first. Like FFmpeg, damage there is not fatal when the stream repeats the headers;
        // it is reported when no header turns up in the stream either.
        let mut config_damage = read_config(&demuxed.config, &mut state)?;

        let mut vops: Vec<VopEntry> = Vec::new();
        let mut output: Option<Output> = None;
        // FFmpeg's packed-bitstream buffer: the rest of an earlier packet, decoded instead of
        // the next one (see `packed`).
        let mut kept: Option<Packet> = None;
        for &packet in &demuxed.packets {
            // FFmpeg's AVI demuxer drops empty (drop-frame) chunks: the decoder never sees them.
            if packet.len == 0 {
                continue;
            }
            let packed_now = state.encoder.packed_bitstream;
            let (source, from_kept) = packed::source_for(&data, packet, kept.take(), packed_now);
            let decoded =
                index_source(&data, source, &mut state, &mut vops, &mut output).map_err(|e| {
                    match state.vol {
                        None => config_damage.take().unwrap_or(e),
                        Some(_) => e,
                    }
                })?;
            if let (true, Some(vop)) = (state.encoder.packed_bitstream, decoded) {
                let stop = if from_kept {
                    packet.offset
                } else {
                    packed::stop_after_vop(&data, vop.at, vop.end)
                };
                kept = packed::kept_after(&data, packet, stop);
            }
        }

        if let (None, Some(damage)) = (&state.vol, config_damage) {
            return Err(damage);
        }
        let vol = state.vol.ok_or_else(|| match vops.first() {
            Some(v) => Error::corrupt(v.offset as u64, "mpeg4: no video object layer header"),
            None => Error::corrupt(0, "mpeg4: no video object layer header and no VOPs"),
        })?;
        let mut vol = vol;
        vol.profile_and_level = vol.profile_and_level.or(state.profile_and_level);
        let display = output.map(Output::finish).unwrap_or_default();
        if display.is_empty() {
            return Err(Error::corrupt(
                data.len() as u64,
                "mpeg4: the stream has no decodable frames",
            ));
        }
        let mut frame_types = String::with_capacity(display.len());
        let mut gop_starts = Vec::new();
        for (index, &k) in display.iter().enumerate() {
            // `display` only holds indices of pushed VOPs.
            let Some(vop) = vops.get_mut(k) else { continue };
            vop.display_index.get_or_insert(index);
            frame_types.push(vop.header.coding_type.letter());
            if vop.header.coding_type == FrameType::I {
                gop_starts.push(index);
            }
        }
        let fps = demuxed
            .fps
            .filter(|f| f.is_finite() && *f > 0.0)
            .or_else(|| {
                vol.fixed_vop_rate
                    .filter(|&inc| inc > 0)
                    .map(|inc| f64::from(vol.time_increment_resolution) / f64::from(inc))
            })
            .unwrap_or(DEFAULT_FPS);
        Ok(Video {
            data,
            container: demuxed.kind,
            fourcc: demuxed.fourcc,
            vol,
            encoder: state.encoder,
            vops,
            display,
            frame_types,
            gop_starts,
            fps,
        })
    }

    /// Whether pkdkit's decoder decodes this stream: `Unsupported` naming the coding tool it
    /// lacks (interlacing, sprite/GMC VOPs, ...), found from the headers indexed at open, so a
    /// caller can choose another decoder before decoding anything.
    pub fn check_decodable(&self) -> Result<()> {
        crate::mpeg4::decoder::check_vol(&self.vol)?;
        for vop in &self.vops {
            crate::mpeg4::decoder::check_vop(&self.vol, &vop.header)?;
        }
        Ok(())
    }

    /// The whole file.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The bytes of VOP `i` (decode order) from the byte after its `00 00 01 B6` start code:
    /// what [`parse_vop`] reads, with macroblock data from bit `header.header_bits`.
    pub fn vop_bytes(&self, i: usize) -> &[u8] {
        self.vops
            .get(i)
            .and_then(|v| self.data.get(v.offset + 4..v.offset + v.len))
            .unwrap_or(&[])
    }

    pub fn width(&self) -> u32 {
        self.vol.width
    }

    pub fn height(&self) -> u32 {
        self.vol.height
    }

    /// Number of frames FFmpeg outputs.
    pub fn num_frames(&self) -> usize {
        self.display.len()
    }

    /// FFmpeg's codec name.
    pub fn codec(&self) -> &'static str {
        "mpeg4"
    }

    /// e.g. "Simple Profile @ L1", from the sequence header or the VOL's object type.
    pub fn profile(&self) -> String {
        profile_name(self.vol.profile_and_level, self.vol.vo_type)
    }

    /// The VOL fields and encoder facts a user may want to see (name, value), for `probe`:
    /// flags are 0/1, `encoder` is 0 unknown, 1 Lavc, 2 XviD, 3 DivX.
    pub fn header_summary(&self) -> Vec<(&'static str, u32)> {
        let v = &self.vol;
        let encoder = match self.encoder.kind {
            header::Encoder::Unknown => 0,
            header::Encoder::Lavc => 1,
            header::Encoder::Xvid => 2,
            header::Encoder::Divx => 3,
        };
        vec![
            ("vo_type", u32::from(v.vo_type)),
            ("verid", u32::from(v.verid)),
            ("time_increment_resolution", v.time_increment_resolution),
            ("mpeg_quant", u32::from(v.mpeg_quant)),
            ("quarter_sample", u32::from(v.quarter_sample)),
            ("interlaced", u32::from(v.interlaced)),
            ("sprite_enable", u32::from(v.sprite_enable)),
            ("resync_marker_disable", u32::from(v.resync_marker_disable)),
            ("data_partitioned", u32::from(v.data_partitioned)),
            ("reversible_vlc", u32::from(v.reversible_vlc)),
            ("obmc_disable", u32::from(v.obmc_disable)),
            ("encoder", encoder),
            ("encoder_build", self.encoder.build.unwrap_or(0)),
            ("packed_bitstream", u32::from(self.encoder.packed_bitstream)),
            (
                "custom_intra_matrix",
                u32::from(v.intra_matrix != header::DEFAULT_INTRA_MATRIX),
            ),
            (
                "custom_inter_matrix",
                u32::from(v.inter_matrix != header::DEFAULT_INTER_MATRIX),
            ),
        ]
    }

    /// Frames in each GOP (an I-frame and everything until the next one), display order.
    /// Frames before the first I-frame form no GOP.
    pub fn gop_lengths(&self) -> Vec<usize> {
        let mut bounds = self.gop_starts.clone();
        bounds.push(self.num_frames());
        bounds.windows(2).map(|w| w[1] - w[0]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny raw stream: VOS, VO, a 32x32 VOL (res 25), then VOPs given as (type, coded).
    /// `low_delay`: `None` leaves out vol_control_parameters.
    fn stream_with(low_delay: Option<bool>, vops: &[(u32, bool)]) -> Vec<u8> {
        // VOL bits for 32x32, verid 1, vo_type 1, resolution 25, fixed rate.
        let mut out = vec![0, 0, 1, 0xB0, 0x01, 0, 0, 1, 0x00, 0, 0, 1, 0x20];
        let mut fields = vec![(1, 0), (8, 1), (1, 0), (4, 1)];
        match low_delay {
            None => fields.push((1, 0)),
            Some(ld) => fields.extend([(1, 1), (2, 1), (1, u32::from(ld)), (1, 0)]),
        }
        fields.extend([
            (2, 0),
            (1, 1),
            (16, 25),
            (1, 1),
            (1, 1),
            (5, 1),
            (1, 1),
            (13, 32),
            (1, 1),
            (13, 32),
            (1, 1),
            (1, 0),
            (1, 1),
            (1, 0),
            (1, 0),
            (1, 0),
            (1, 1),
            (1, 1),
            (1, 0),
            (1, 0),
        ]);
        out.extend(bits(&fields));
        // Display times: the B-VOPs after a reference are shown before it.
        let mut times = vec![0u32; vops.len()];
        let mut next_time = 0;
        for k in 0..vops.len() {
            if vops[k].0 != 2 {
                let bs = vops[k + 1..].iter().take_while(|v| v.0 == 2).count();
                times[k] = next_time + bs as u32;
                for (j, time) in times[k + 1..k + 1 + bs].iter_mut().enumerate() {
                    *time = next_time + j as u32;
                }
                next_time += bs as u32 + 1;
            }
        }
        for (k, &(t, coded)) in vops.iter().enumerate() {
            out.extend([0, 0, 1, 0xB6]);
            let mut f = vec![
                (2, t),
                (1, 0),
                (1, 1),
                (5, times[k] % 25),
                (1, 1),
                (1, u32::from(coded)),
            ];
            if coded {
                if t == 1 {
                    f.push((1, 0));
                }
                f.extend([(3, 0), (5, 4)]);
                if t != 0 {
                    f.push((3, 1));
                }
                if t == 2 {
                    f.push((3, 1));
                }
                f.extend([(8, 0x5A), (8, 0xA5)]); // stand-in macroblock data
            }
            out.extend(bits(&f));
        }
        out
    }

    fn stream(vops: &[(u32, bool)]) -> Vec<u8> {
        stream_with(None, vops)
    }

    fn bits(fields: &[(u32, u32)]) -> Vec<u8> {
        let mut flat: Vec<bool> = Vec::new();
        for &(len, value) in fields {
            flat.extend((0..len).rev().map(|i| (value >> i) & 1 == 1));
        }
        flat.push(false); // stuffing: a zero, then ones to the byte boundary
        while flat.len() % 8 != 0 {
            flat.push(true);
        }
        flat.chunks(8)
            .map(|byte| byte.iter().fold(0u8, |acc, &b| (acc << 1) | u8::from(b)))
            .collect()
    }

    #[test]
    fn indexes_a_raw_stream_with_ffmpeg_output_rules() {
        // I P B B P in decode order, shown as I B B P P.
        let ipbbp = [(0, true), (1, true), (2, true), (2, true), (1, true)];
        let v = Video::from_bytes(stream_with(Some(false), &ipbbp)).unwrap();
        assert_eq!(v.container, ContainerKind::Raw);
        assert_eq!((v.width(), v.height(), v.fps), (32, 32, 25.0));
        assert_eq!(v.profile(), "Simple Profile @ L1");
        assert_eq!(v.vops.len(), 5);
        assert_eq!(v.vops[0].header.quant, 4);
        assert_eq!(v.frame_types, "IBBPP");
        assert_eq!(v.display, vec![0, 2, 3, 1, 4]);
        assert_eq!(v.gop_starts, vec![0]);
        assert_eq!(v.vop_bytes(1)[0] >> 6, 1);
    }

    #[test]
    fn mistimed_b_vops_are_dropped_like_ffmpeg_does() {
        // I P B P with the B stamped after its future reference: FFmpeg skips it.
        let mut s = stream_with(Some(false), &[(0, true), (1, true), (2, true), (1, true)]);
        let third_vop = s
            .windows(4)
            .enumerate()
            .filter(|(_, w)| *w == [0, 0, 1, 0xB6])
            .nth(2)
            .unwrap()
            .0;
        // time increment bits sit right after "10" (B), "0" (mtb end), "1" (marker)
        s[third_vop + 4] = (s[third_vop + 4] & 0xF0) | 0b0000_1111; // time 30 % 32
        let v = Video::from_bytes(s).unwrap();
        assert_eq!(v.frame_types, "IPP");
        assert_eq!(v.vops[2].display_index, None);
    }

    #[test]
    fn skipped_vops_output_nothing_except_at_the_end() {
        let v = Video::from_bytes(stream(&[(0, true), (1, false), (1, true)])).unwrap();
        assert_eq!(v.frame_types, "IP");
        assert_eq!(v.vops[1].display_index, None);
        let v = Video::from_bytes(stream(&[(0, true), (1, true), (1, false)])).unwrap();
        assert_eq!(v.frame_types, "IPP");
        assert_eq!(v.display, vec![0, 1, 1]);
    }

    #[test]
    fn a_vop_with_a_damaged_header_is_dropped_and_the_others_stand() {
        let good = stream(&[(0, true), (1, true), (1, true)]);
        let vops: Vec<usize> = good
            .windows(4)
            .enumerate()
            .filter(|(_, w)| *w == [0, 0, 1, 0xB6])
            .map(|(at, _)| at)
            .collect();
        // The second VOP keeps one byte of its header (a packet cut short).
        let mut bad = good[..vops[1] + 5].to_vec();
        bad.extend_from_slice(&good[vops[2]..]);
        let v = Video::from_bytes(bad).unwrap();
        assert_eq!(v.frame_types, "IP");
        assert_eq!(v.vops.len(), 2);
    }

    #[test]
    fn damaged_container_headers_matter_only_without_in_band_ones() {
        let good = stream(&[(0, true), (1, true)]);
        let first_vop = good.windows(4).position(|w| w == [0, 0, 1, 0xB6]).unwrap();
        let second_vop = crate::bits::next_start_code(&good, first_vop + 4).unwrap();
        let headers = &good[..first_vop];
        let (i_vop, p_vop) = (&good[first_vop..second_vop], &good[second_vop..]);
        // a VOL cut after its first byte, in the MP4 configuration
        let broken = [&headers[..13], &[0x00][..]].concat();
        let in_band = [headers, i_vop].concat();
        let with_in_band =
            crate::container::mp4::tests::build_mp4(b"mp4v", 32, 32, &broken, &[&in_band, p_vop]);
        assert_eq!(Video::from_bytes(with_in_band).unwrap().frame_types, "IP");
        let without =
            crate::container::mp4::tests::build_mp4(b"mp4v", 32, 32, &broken, &[i_vop, p_vop]);
        match Video::from_bytes(without) {
            Err(Error::Corrupt { what, .. }) => {
                assert!(what.contains("decoder configuration"), "{what}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejects_streams_without_frames_or_vol() {
        let s = stream(&[(1, false)]);
        assert!(matches!(Video::from_bytes(s), Err(Error::Corrupt { .. })));
        let vop_only = vec![0, 0, 1, 0xB6, 0x10, 0x00, 0x00, 0x00];
        assert!(matches!(
            Video::from_bytes(vop_only),
            Err(Error::Corrupt { .. })
        ));
    }

    #[test]
    fn mutated_streams_never_panic() {
        let good = stream(&[(0, true), (1, true), (2, true), (1, true)]);
        // The same VOPs in an AVI (headers in the first chunk), an MP4 (headers in esds) and a
        // Matroska file (headers in CodecPrivate).
        let first_vop = good.windows(4).position(|w| w == [0, 0, 1, 0xB6]).unwrap();
        let mut vops: Vec<&[u8]> = Vec::new();
        let mut at = first_vop;
        while let Some(next) = crate::bits::next_start_code(&good, at + 4) {
            vops.push(&good[at..next]);
            at = next;
        }
        vops.push(&good[at..]);
        let mut avi_frames: Vec<&[u8]> = vec![&good[..first_vop + vops[0].len()]];
        avi_frames.extend(&vops[1..]);
        let avi = crate::container::avi::tests::build_avi(b"XVID", 32, 32, &avi_frames);
        let mp4 =
            crate::container::mp4::tests::build_mp4(b"mp4v", 32, 32, &good[..first_vop], &vops);
        let mkv = crate::container::mkv::tests::build_mkv(
            "V_MPEG4/ISO/ASP",
            &good[..first_vop],
            &[crate::container::mkv::tests::frames_as_blocks(&vops)],
        );
        for file in [&good, &avi, &mp4, &mkv] {
            // vo_type 1 without vol_control_parameters: low delay until the B-VOP clears it,
            // so FFmpeg shows the P-VOP before the B twice (checked against FFmpeg in
            // tests/test_probe.py).
            let v = Video::from_bytes(file.clone()).unwrap();
            assert_eq!(v.frame_types, "IPBPP", "{:?}", v.container);
            assert_eq!(v.display, vec![0, 1, 2, 1, 3]);
        }

        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        // DivX-style packed: the B-VOP shares the P-VOP's chunk, a not-coded P-VOP placeholder
        // (type 01, time 0, markers, vop_coded 0, stuffing) follows.
        let mut head = good[..first_vop].to_vec();
        head.extend_from_slice(b"\0\0\x01\xB2DivX503b1393p");
        head.extend_from_slice(vops[0]);
        let pair = [vops[1], vops[2]].concat();
        let placeholder = [0, 0, 1, 0xB6, 0b0101_0000, 0b0100_1111];
        let packed = crate::container::avi::tests::build_avi(
            b"XVID",
            32,
            32,
            &[&head, &pair, &placeholder, vops[3]],
        );
        let v = Video::from_bytes(packed.clone()).unwrap();
        assert!(v.encoder.packed_bitstream);
        assert_eq!(v.frame_types, "IPBPP");
        for good in [good.clone(), avi, mp4, mkv, packed] {
            for _ in 0..1500 {
                let mut bad = good.clone();
                match next() % 4 {
                    0 => {
                        let at = (next() as usize) % bad.len();
                        bad[at] ^= 1 << (next() % 8);
                    }
                    1 => bad.truncate((next() as usize) % bad.len()),
                    2 => {
                        let at = (next() as usize) % bad.len();
                        bad[at] = next() as u8;
                    }
                    _ => {
                        // a size field lie: four random bytes anywhere
                        let at = (next() as usize) % (bad.len() - 4);
                        bad[at..at + 4].copy_from_slice(&(next() as u32).to_le_bytes());
                    }
                }
                if let Ok(v) = Video::from_bytes(bad) {
                    assert_eq!(v.frame_types.len(), v.display.len());
                    assert!(v.display.iter().all(|&k| k < v.vops.len()));
                    assert!(v.vops.iter().all(|e| e.offset + e.len <= v.data().len()));
                }
            }
        }
    }
}
