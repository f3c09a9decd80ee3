//! Big-endian bit reading and start-code scanning for MPEG-4 Part 2 (ISO/IEC 14496-2, 5.2).
//!
//! The reader never fails on a read: bits past the end of the buffer read as zeros, and
//! [`BitReader::overrun`] tells the caller afterwards. Decoders check it at syntax boundaries
//! (macroblock, VOP), which keeps the per-bit hot path branch-light and still turns a truncated
//! stream into a clean error instead of an out-of-bounds read.
#![forbid(unsafe_code)]

/// A cursor over a byte slice that reads MSB-first bit fields of up to 32 bits.
#[derive(Clone, Debug)]
pub struct BitReader<'a> {
    data: &'a [u8],
    /// Position in bits from the start of `data`.
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        BitReader { data, pos: 0 }
    }

    /// The underlying bytes.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Position in bits from the start of the buffer.
    #[inline]
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Move to an absolute bit position (may be past the end; reads then give zeros).
    #[inline]
    pub fn seek(&mut self, bit_pos: usize) {
        self.pos = bit_pos;
    }

    /// Total bits in the buffer.
    #[inline]
    pub fn len_bits(&self) -> usize {
        self.data.len() * 8
    }

    /// Bits left before the end (0 once overrun).
    #[inline]
    pub fn bits_left(&self) -> usize {
        self.len_bits().saturating_sub(self.pos)
    }

    /// True once a read went past the end of the buffer.
    #[inline]
    pub fn overrun(&self) -> bool {
        self.pos > self.len_bits()
    }

    /// The next 64 bits from the current position, MSB-aligned, zeros past the end.
    #[inline]
    fn window(&self) -> u64 {
        let byte = self.pos >> 3;
        let shift = (self.pos & 7) as u32;
        let word = match self.data.get(byte..byte + 8) {
            Some(b) => u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
            None => {
                let mut buf = [0u8; 8];
                if byte < self.data.len() {
                    let tail = &self.data[byte..];
                    buf[..tail.len()].copy_from_slice(tail);
                }
                u64::from_be_bytes(buf)
            }
        };
        word << shift
    }

    /// Look at the next `n` bits (0..=32) without consuming them.
    #[inline]
    pub fn peek(&self, n: u32) -> u32 {
        debug_assert!(n <= 32);
        if n == 0 {
            return 0;
        }
        (self.window() >> (64 - n)) as u32
    }

    /// Consume `n` bits.
    #[inline]
    pub fn skip(&mut self, n: u32) {
        self.pos += n as usize;
    }

    /// Read `n` bits (0..=32) as an unsigned value.
    #[inline]
    pub fn read(&mut self, n: u32) -> u32 {
        let v = self.peek(n);
        self.pos += n as usize;
        v
    }

    /// Read one bit as a bool.
    #[inline]
    pub fn read_bit(&mut self) -> bool {
        self.read(1) != 0
    }

    /// Read `n` bits as a two's-complement signed value.
    #[inline]
    pub fn read_signed(&mut self, n: u32) -> i32 {
        if n == 0 {
            return 0;
        }
        let v = self.read(n);
        ((v << (32 - n)) as i32) >> (32 - n)
    }

    /// Skip to the next byte boundary (no-op when already aligned).
    #[inline]
    pub fn byte_align(&mut self) {
        self.pos = (self.pos + 7) & !7;
    }

    /// True when the position is on a byte boundary.
    #[inline]
    pub fn is_byte_aligned(&self) -> bool {
        self.pos & 7 == 0
    }

    /// Byte offset of the current position (rounded down).
    #[inline]
    pub fn byte_position(&self) -> usize {
        self.pos >> 3
    }
}

/// Byte offset of the next `00 00 01` prefix at or after `from`, if any.
pub fn next_start_code(data: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 3 <= data.len() {
        // Skip quickly: a start code needs a zero at i+2 unless data[i+2] == 1.
        let b2 = data[i + 2];
        if b2 > 1 {
            i += 3;
            continue;
        }
        if b2 == 1 && data[i] == 0 && data[i + 1] == 0 {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Iterate over `(offset, code)` of every start code in `data`, where `code` is the byte after
/// the `00 00 01` prefix. A prefix at the very end with no code byte is ignored.
pub fn start_codes(data: &[u8]) -> impl Iterator<Item = (usize, u8)> + '_ {
    let mut from = 0;
    std::iter::from_fn(move || {
        let at = next_start_code(data, from)?;
        let code = *data.get(at + 3)?;
        from = at + 3;
        Some((at, code))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_across_byte_boundaries() {
        let data = [0b1010_1100, 0b0101_0011, 0xFF, 0x00];
        let mut r = BitReader::new(&data);
        assert_eq!(r.read(1), 1);
        assert_eq!(r.read(3), 0b010);
        assert_eq!(r.read(6), 0b11_0001);
        assert_eq!(r.peek(6), 0b01_0011);
        assert_eq!(r.read(14), 0b01_0011_1111_1111);
        assert_eq!(r.position(), 24);
        assert!(!r.overrun());
    }

    #[test]
    fn reads_32_bits_at_odd_offsets() {
        let data = [0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC];
        let mut r = BitReader::new(&data);
        r.skip(4);
        assert_eq!(r.read(32), 0x2345_6789);
        assert_eq!(r.read(8), 0xAB);
    }

    #[test]
    fn reads_past_the_end_as_zeros_and_reports_overrun() {
        let data = [0xFF];
        let mut r = BitReader::new(&data);
        assert_eq!(r.read(12), 0xFF0);
        assert!(r.overrun());
        assert_eq!(r.bits_left(), 0);
    }

    #[test]
    fn signed_and_alignment() {
        let data = [0b1110_0000, 0b1000_0000];
        let mut r = BitReader::new(&data);
        assert_eq!(r.read_signed(3), -1);
        assert!(!r.is_byte_aligned());
        r.byte_align();
        assert_eq!(r.position(), 8);
        assert_eq!(r.read_signed(2), -2);
        assert_eq!(r.read_signed(0), 0);
    }

    #[test]
    fn finds_every_start_code() {
        let data = [0, 0, 1, 0xB0, 7, 0, 0, 0, 1, 0xB6, 0x10, 0, 0, 1];
        let codes: Vec<_> = start_codes(&data).collect();
        assert_eq!(codes, vec![(0, 0xB0), (6, 0xB6)]);
        assert_eq!(next_start_code(&data, 1), Some(6));
        assert_eq!(next_start_code(&data, 7), Some(11));
    }
}
