//! DivX/XviD "packed bitstream" (packed B-frames): the rules FFmpeg's mpeg4 decoder follows
//! to pick the bytes it decodes for each container packet.
//!
//! A packed AVI stores a reference VOP and the B-VOP after it in one chunk, then a tiny
//! placeholder chunk (a not-coded VOP, typed I, P or B by the encoder) to keep the frame
//! count. FFmpeg's rules, which decide the frame count and order:
//! - after a picture is decoded from a packet of a packed stream, the rest of that packet,
//!   from the byte where decoding stopped, is kept when it is longer than 7 bytes and its
//!   first VOP is an I- or B-VOP; when the picture came from a kept remainder, the scan covers
//!   the whole current packet instead;
//! - a kept remainder is decoded instead of the next packet (which is then never read), unless
//!   that packet opens with a visual object sequence header (a new sequence discards it);
//! - without the packed flag a kept remainder replaces only packets of at most
//!   [`MAX_NVOP_SIZE`] bytes.
//!
//! So a placeholder of any VOP type is never decoded after a packed pair, and it is never kept
//! itself: it is shorter than 8 bytes.
#![forbid(unsafe_code)]

use crate::bits::next_start_code;
use crate::container::Packet;
use crate::mpeg4::header::start_code as sc;

/// Largest packet a kept remainder replaces when the stream is not flagged as packed.
pub const MAX_NVOP_SIZE: usize = 19;

/// A remainder is kept only when more than this many bytes follow the decoded VOP.
const MIN_KEPT_EXCLUSIVE: usize = 7;

/// The bytes FFmpeg decodes for `packet` given the remainder `kept` from an earlier packet:
/// `(source, from_kept)`.
pub fn source_for(
    data: &[u8],
    packet: Packet,
    kept: Option<Packet>,
    packed: bool,
) -> (Packet, bool) {
    let Some(kept) = kept else {
        return (packet, false);
    };
    if packed && opens_a_sequence(data, packet) {
        return (packet, false);
    }
    if packed || packet.len <= MAX_NVOP_SIZE {
        (kept, true)
    } else {
        (packet, false)
    }
}

/// True when the first start code in `packet` is a visual object sequence header.
fn opens_a_sequence(data: &[u8], packet: Packet) -> bool {
    let bytes = data.get(packet.range()).unwrap_or(&[]);
    next_start_code(bytes, 0)
        .and_then(|at| bytes.get(at + 3))
        .is_some_and(|&code| code == sc::VISUAL_OBJECT_SEQUENCE)
}

/// Where FFmpeg's bit reader stands after decoding the VOP that ends at byte `vop_end` (the
/// next start code or the end of the packet): on the VOP's last byte, its stuffing. Zero
/// bytes before a start code are not part of the VOP.
pub fn stop_after_vop(data: &[u8], vop_start: usize, vop_end: usize) -> usize {
    let mut last = vop_end.saturating_sub(1);
    while last > vop_start && data.get(last) == Some(&0) {
        last -= 1;
    }
    last
}

/// The remainder of `packet` FFmpeg keeps after decoding a picture of a packed stream:
/// from `stop` (where decoding stopped, or the packet start when the picture came from a kept
/// remainder) to the end, when it is long enough and its first VOP is an I- or B-VOP.
pub fn kept_after(data: &[u8], packet: Packet, stop: usize) -> Option<Packet> {
    let end = packet.offset + packet.len;
    let from = stop.max(packet.offset);
    if end.saturating_sub(from) <= MIN_KEPT_EXCLUSIVE {
        return None;
    }
    // FFmpeg looks at the first VOP start code with a byte after it.
    let bytes = data.get(from..end)?;
    let mut at = 0;
    let coding_byte = loop {
        let sc_at = next_start_code(bytes, at)?;
        if sc_at + 4 >= bytes.len() {
            return None;
        }
        if bytes[sc_at + 3] == sc::VOP {
            break bytes[sc_at + 4];
        }
        at = sc_at + 3;
    };
    // Coding type in the top two bits: 00 I, 01 P, 10 B, 11 S; I and B are kept.
    (coding_byte & 0x40 == 0).then_some(Packet {
        offset: from,
        len: end - from,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VOP_I: [u8; 5] = [0, 0, 1, 0xB6, 0x10];
    const VOP_P: [u8; 5] = [0, 0, 1, 0xB6, 0x50];
    const VOP_B: [u8; 5] = [0, 0, 1, 0xB6, 0x90];

    fn whole(data: &[u8]) -> Packet {
        Packet {
            offset: 0,
            len: data.len(),
        }
    }

    #[test]
    fn keeps_a_trailing_i_or_b_vop_but_not_p_or_short_ones() {
        for (vop, kept) in [(VOP_I, true), (VOP_B, true), (VOP_P, false)] {
            let mut data = VOP_P.to_vec();
            data.extend([0x11, 0x22, 0x7F]);
            let stop = stop_after_vop(&data, 0, data.len());
            data.extend(vop);
            data.extend([0x33; 4]);
            let got = kept_after(&data, whole(&data), stop);
            assert_eq!(got.is_some(), kept, "{vop:?}");
            if let Some(k) = got {
                assert_eq!((k.offset, k.len), (stop, data.len() - stop));
            }
        }
        // a 6-byte placeholder is never kept, whatever its type
        for vop in [VOP_I, VOP_B] {
            let mut data = vop.to_vec();
            data.push(0x4F);
            assert_eq!(kept_after(&data, whole(&data), 0), None);
        }
    }

    #[test]
    fn a_kept_remainder_replaces_the_next_packet_unless_a_sequence_starts() {
        let data = [VOP_P.as_slice(), &[0, 0, 1, 0xB0, 1], &VOP_I].concat();
        let rest = Packet { offset: 0, len: 5 };
        let kept = Some(rest);
        let vop = Packet { offset: 0, len: 5 };
        let vos = Packet { offset: 5, len: 10 };
        assert_eq!(source_for(&data, vop, kept, true), (rest, true));
        assert_eq!(source_for(&data, vos, kept, true), (vos, false));
        assert_eq!(source_for(&data, vop, None, true), (vop, false));
        // unflagged streams: only small packets are replaced
        assert_eq!(source_for(&data, vos, kept, false), (rest, true));
        let big = Packet { offset: 0, len: 20 };
        assert_eq!(source_for(&[0; 20], big, kept, false), (big, false));
    }

    #[test]
    fn the_stop_skips_zero_bytes_before_the_next_start_code() {
        let data = [0, 0, 1, 0xB6, 0x12, 0x7F, 0, 0, 0, 1, 0xB6];
        assert_eq!(stop_after_vop(&data, 0, 7), 5);
        assert_eq!(stop_after_vop(&data, 0, 0), 0);
    }
}
