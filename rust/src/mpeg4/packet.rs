//! Video packets (ISO/IEC 14496-2 6.2.5, `video_packet_header`): a VOP with resync markers is
//! split into packets, each starting with a marker, its first macroblock's number and a
//! quantiser. This module finds where a packet ends and the next begins (FFmpeg's
//! `mpeg4_is_resync` and `ff_mpeg4_decode_video_packet_header`), and runs the packet loop of
//! every VOP type, I, P, S and B alike: decode a packet; at the next packet header, go on from
//! there; on damage, conceal the macroblocks up to the next packet header that can be found (a
//! resync marker with a valid header, searched byte by byte from where the damaged packet
//! started), or up to the end of the VOP.
#![forbid(unsafe_code)]

use crate::bits::BitReader;
use crate::decoded::FrameType;
use crate::mpeg4::header::{VolHeader, VopHeader};

/// Where a packet starts: the reader at its first macroblock, and what decoding it needs.
pub struct PacketStart<'p, 'v> {
    pub r: &'p mut BitReader<'v>,
    pub syntax: &'p PacketSyntax,
    /// Index of its first macroblock (raster order).
    pub first: usize,
    /// The quantiser, which the macroblocks update.
    pub qscale: &'p mut u8,
}

/// How the macroblocks of one VOP are decoded and concealed, packet by packet.
pub trait PacketDecoder {
    /// Decode the packet at `start`. Returns the index after the last macroblock decoded and
    /// whether the packet stopped on damage.
    fn packet(&mut self, start: PacketStart) -> (usize, bool);

    /// Macroblock `index` was lost to damage: conceal it.
    fn conceal(&mut self, index: usize);
}

/// Decode the macroblocks of a VOP packet by packet: `vop` holds the bytes after its start
/// code, macroblock data from bit `start_bits`; `quant` is the VOP's quantiser. Returns the
/// number of macroblocks concealed.
pub fn decode_packets<D: PacketDecoder>(
    vop: &[u8],
    start_bits: usize,
    syntax: &PacketSyntax,
    quant: u8,
    decoder: &mut D,
) -> usize {
    let total = syntax.total_mbs;
    let mut r = BitReader::new(vop);
    r.seek(start_bits);
    let mut qscale = quant.clamp(1, 31);
    let mut mb_index = 0usize;
    let mut concealed = 0usize;
    while mb_index < total {
        let packet_first = mb_index;
        let packet_start_bits = r.position();
        let failed;
        (mb_index, failed) = decoder.packet(PacketStart {
            r: &mut r,
            syntax,
            first: mb_index,
            qscale: &mut qscale,
        });
        if mb_index >= total && !failed {
            break;
        }
        // The expected place of the next packet header: right after this packet's stuffing.
        let mut next_packet = None;
        if !failed {
            let mut at = r.clone();
            at.skip(1);
            at.byte_align();
            if at.peek(16) == 0 {
                next_packet = syntax
                    .read_header(&mut at)
                    .filter(|h| h.mb_index > packet_first)
                    .map(|h| (h, at));
            }
        }
        if next_packet.is_none() {
            next_packet = syntax.search(vop, packet_start_bits, packet_first);
        }
        let end = next_packet.as_ref().map_or(total, |(h, _)| h.mb_index);
        if end > mb_index {
            concealed += end - mb_index;
            for k in mb_index..end {
                decoder.conceal(k);
            }
        }
        let Some((h, at)) = next_packet else {
            break;
        };
        mb_index = h.mb_index;
        if let Some(q) = h.qscale {
            qscale = q.clamp(1, 31);
        }
        r = at;
    }
    concealed
}

/// The body of a packet whose macroblocks come one after the other (every VOP but a
/// data-partitioned one): `decode_mb(r, index, qscale)` parses and hands over macroblock
/// `index` (false on damage). After each macroblock the packet ends where the next packet's
/// header is found, unless `runs_on(index)` says that macroblock `index`, before the next
/// packet's first, still belongs to this one (a B-VOP macroblock skipped in the future
/// reference takes no bits, FFmpeg's rule). Returns what [`PacketDecoder::packet`] returns.
pub fn mb_by_mb(
    start: PacketStart,
    mut decode_mb: impl FnMut(&mut BitReader, usize, &mut u8) -> bool,
    runs_on: impl Fn(usize) -> bool,
) -> (usize, bool) {
    let PacketStart {
        r,
        syntax,
        first,
        qscale,
    } = start;
    let mut mb_index = first;
    while mb_index < syntax.total_mbs {
        if !decode_mb(r, mb_index, qscale) {
            return (mb_index, true);
        }
        mb_index += 1;
        if let Some(next) = syntax.packet_end(r) {
            if mb_index >= next || !runs_on(mb_index) {
                break;
            }
        }
    }
    (mb_index, false)
}

/// A parsed video packet header.
pub struct PacketHeader {
    /// Its first macroblock (raster order).
    pub mb_index: usize,
    /// Its `quant_scale` (`None` for 0, which FFmpeg ignores).
    pub qscale: Option<u8>,
}

/// What the video-packet syntax of one VOP depends on.
pub struct PacketSyntax {
    coding_type: FrameType,
    f_code: u8,
    b_code: u8,
    total_mbs: usize,
    mb_num_bits: u32,
    quant_precision: u32,
    time_increment_bits: u32,
}

impl PacketSyntax {
    /// The syntax of the VOP with `header` in a layer with `vol`, `total_mbs` macroblocks.
    pub fn new(vol: &VolHeader, header: &VopHeader, total_mbs: usize) -> Self {
        PacketSyntax {
            coding_type: header.coding_type,
            f_code: header.fcode_forward.max(1),
            b_code: header.fcode_backward.max(1),
            total_mbs,
            mb_num_bits: usize::BITS - total_mbs.saturating_sub(1).leading_zeros(),
            quant_precision: u32::from(vol.quant_precision),
            time_increment_bits: vol.time_increment_bits,
        }
    }

    /// Number of zeros before the 1 of a resync marker: 16 in I-VOPs, 15 + f_code in P- and
    /// S-VOPs, 15 + max(f_code, b_code, 2) in B-VOPs.
    fn prefix_zeros(&self) -> usize {
        match self.coding_type {
            FrameType::I => 16,
            FrameType::B => 15 + usize::from(self.f_code.max(self.b_code).max(2)),
            _ => 15 + usize::from(self.f_code),
        }
    }

    /// After a macroblock: skip MCBPC stuffing that precedes a resync marker, then tell whether
    /// the packet ends here. `Some(n)`: a packet whose first MB is `n` follows (`Some(0)` for an
    /// unreadable one, `Some(total)` at the end of the VOP). As FFmpeg's `mpeg4_is_resync`.
    pub fn packet_end(&self, r: &mut BitReader) -> Option<usize> {
        // FFmpeg skips 8 + pict_type bits (S-VOPs: 12, which no real stuffing matches; B-VOPs
        // have no MCBPC stuffing).
        let stuffing_bits = match self.coding_type {
            FrameType::I => 9,
            FrameType::S => 12,
            FrameType::B => 0,
            FrameType::P => 10,
        };
        let mut v = r.peek(16);
        while stuffing_bits != 0 && v <= 0xFF && v >> (16 - stuffing_bits) == 1 {
            r.skip(stuffing_bits);
            v = r.peek(16);
        }
        let pos = r.position();
        if pos + 8 >= r.len_bits() {
            let rest = (v >> 8) | (0x7F >> (7 - (pos & 7)));
            return (rest == 0x7F).then_some(self.total_mbs);
        }
        const PREFIX: [u32; 8] = [
            0x7F00, 0x7E00, 0x7C00, 0x7800, 0x7000, 0x6000, 0x4000, 0x0000,
        ];
        if v != PREFIX[pos & 7] {
            return None;
        }
        let mut t = r.clone();
        t.skip(1);
        t.byte_align();
        let zeros = count_zeros(&mut t);
        let mb_num = t.read(self.mb_num_bits) as usize;
        let valid = mb_num != 0 && mb_num <= self.total_mbs && t.position() + 6 <= t.len_bits();
        (zeros >= self.prefix_zeros()).then_some(if valid { mb_num } else { 0 })
    }

    /// Read a video packet header (resync marker, `macroblock_number`, `quant_scale`, HEC)
    /// at `r`; `None` if it is not a valid one.
    pub fn read_header(&self, r: &mut BitReader) -> Option<PacketHeader> {
        if r.position() + 20 > r.len_bits() {
            return None;
        }
        if count_zeros(r) != self.prefix_zeros() {
            return None;
        }
        let mb_index = r.read(self.mb_num_bits) as usize;
        if mb_index == 0 || mb_index >= self.total_mbs {
            return None;
        }
        let q = r.read(self.quant_precision) as u8;
        if r.read_bit() {
            // header_extension_code: a copy of VOP header fields, which FFmpeg ignores.
            let mut seconds = 0;
            while r.read_bit() && seconds < 64 {
                seconds += 1;
            }
            // marker, time increment, marker, coding type, intra_dc_vlc_thr, then the f_codes
            r.skip(1 + self.time_increment_bits + 1 + 2 + 3);
            if self.coding_type != FrameType::I {
                r.skip(3);
            }
            if self.coding_type == FrameType::B {
                r.skip(3);
            }
        }
        if r.overrun() {
            return None;
        }
        Some(PacketHeader {
            mb_index,
            qscale: (q != 0).then_some(q),
        })
    }

    /// Search byte by byte from `from_bits` for the next valid packet header starting after MB
    /// `after`; returns it with the reader positioned at its first macroblock.
    pub fn search<'a>(
        &self,
        vop: &'a [u8],
        from_bits: usize,
        after: usize,
    ) -> Option<(PacketHeader, BitReader<'a>)> {
        let mut r = BitReader::new(vop);
        r.seek(from_bits);
        r.byte_align();
        while r.bits_left() > 16 + 1 + 5 + 5 {
            if r.peek(16) == 0 {
                let mut t = r.clone();
                if let Some(h) = self.read_header(&mut t) {
                    if h.mb_index > after {
                        return Some((h, t));
                    }
                }
            }
            r.skip(8);
        }
        None
    }
}

/// Count zero bits up to the next 1 (consumed), at most 32 as FFmpeg does.
fn count_zeros(r: &mut BitReader) -> usize {
    let mut zeros = 0;
    while zeros < 32 && !r.read_bit() {
        zeros += 1;
    }
    zeros
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syntax(coding_type: FrameType, total: usize) -> PacketSyntax {
        PacketSyntax {
            coding_type,
            f_code: 1,
            b_code: 1,
            total_mbs: total,
            mb_num_bits: usize::BITS - (total - 1).leading_zeros(),
            quant_precision: 5,
            time_increment_bits: 5,
        }
    }

    #[test]
    fn vop_end_is_recognised_from_the_stuffing() {
        let s = syntax(FrameType::I, 99);
        // 3 bits into the last byte: remaining "01111" is stuffing.
        let data = [0b101_01111];
        let mut r = BitReader::new(&data);
        r.skip(3);
        assert_eq!(s.packet_end(&mut r), Some(99));
        let data = [0b101_00111];
        let mut r = BitReader::new(&data);
        r.skip(3);
        assert_eq!(s.packet_end(&mut r), None);
    }

    #[test]
    fn resync_marker_after_stuffing_gives_the_next_mb() {
        let s = syntax(FrameType::I, 99);
        // stuffing "0111" at bit 4, then 16 zeros + 1, mb_num (7 bits) = 42, quant 5 bits, hec 0
        let mut bits =
            String::from("1010") + "0111" + &"0".repeat(16) + "1" + &format!("{:07b}", 42);
        bits += &format!("{:05b}", 9);
        bits += "0";
        while bits.len() % 8 != 0 || bits.len() < 64 {
            bits += "1";
        }
        let data: Vec<u8> = bits
            .as_bytes()
            .chunks(8)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 2).unwrap())
            .collect();
        let mut r = BitReader::new(&data);
        r.skip(4);
        assert_eq!(s.packet_end(&mut r), Some(42));
        r.skip(1);
        r.byte_align();
        let h = s.read_header(&mut r).unwrap();
        assert_eq!((h.mb_index, h.qscale), (42, Some(9)));
        assert_eq!(s.search(&data, 0, 0).unwrap().0.mb_index, 42);
        assert!(s.search(&data, 0, 42).is_none());
    }

    #[test]
    fn p_vop_markers_are_longer_with_f_code() {
        let mut s = syntax(FrameType::P, 99);
        s.f_code = 3;
        assert_eq!(s.prefix_zeros(), 18);
        assert_eq!(syntax(FrameType::I, 99).prefix_zeros(), 16);
    }
}
