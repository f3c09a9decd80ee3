//! Big-endian bit reading and start-code scanning for MPEG-4 Part 2 (ISO/IEC 14496-2, 5.2).
//!
//! The reader never fails on a read: bits past the end of the buffer read as zeros, and
//! [`BitReader::overrun`] tells the caller afterwards. Decoders check it at syntax boundaries
//! (macroblock, VOP), which keeps the per-bit hot path branch-light and still turns a truncated
//! stream into a clean error instead of an out-of-bounds read.
#![forbid(unsafe_code)]

/// A cursor over a byte slice that reads MSB-first bit fields of up to 32 bits.
///
/// The next bits live in a 64-bit register (`cache`) that always holds at least 32 of them, so a
/// peek of up to 32 bits is two shifts with no branch and no bounds check; a skip shifts the
/// register and reloads it from the slice (one 8-byte read) only when fewer than 32 bits would be
/// left. Skips and peeks are what the VLC decoders do per symbol: the hot path of the parser.
#[derive(Clone, Debug)]
pub struct BitReader<'a> {
    data: &'a [u8],
    /// Position in bits from the start of `data`.
    pos: usize,
    /// The bits from `pos` on, MSB-aligned, zeros past the end of `data`.
    cache: u64,
    /// How many of `cache`'s bits are loaded (32..=64); the bits below them are zero.
    avail: u32,
}

impl<'a> BitReader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        let mut r = BitReader {
            data,
            pos: 0,
            cache: 0,
            avail: 0,
        };
        r.refill();
        r
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
        self.refill();
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

    /// Load the 64 bits from `pos` on (at least 57 of them new), zeros past the end.
    #[inline(always)]
    fn refill(&mut self) {
        let byte = self.pos >> 3;
        let word = match self.data.get(byte..byte + 8) {
            Some(b) => u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
            None => self.tail_word(byte),
        };
        let shift = (self.pos & 7) as u32;
        self.cache = word << shift;
        self.avail = 64 - shift;
    }

    /// The last (fewer than 8) bytes from `byte` on, zero-padded: the end of the stream only.
    #[cold]
    fn tail_word(&self, byte: usize) -> u64 {
        let mut buf = [0u8; 8];
        for (d, s) in buf.iter_mut().zip(self.data.iter().skip(byte)) {
            *d = *s;
        }
        u64::from_be_bytes(buf)
    }

    /// Look at the next `n` bits (0..=32) without consuming them.
    #[inline(always)]
    pub fn peek(&self, n: u32) -> u32 {
        debug_assert!(n <= 32);
        // Two shifts so that n = 0 gives 0 without an out-of-range shift; `avail >= 32` always.
        ((self.cache >> 1) >> (63 - (n & 63))) as u32
    }

    /// The next 32 bits, MSB first (zeros past the end of the data).
    #[inline(always)]
    pub fn peek32(&self) -> u32 {
        (self.cache >> 32) as u32
    }

    /// Consume `n` bits (any number; past the end is allowed and shows in [`BitReader::overrun`]).
    #[inline(always)]
    pub fn skip(&mut self, n: u32) {
        self.pos += n as usize;
        // `avail - 32` is at most 32, so the shift stays in range whenever it is taken.
        if n <= self.avail - 32 {
            self.cache <<= n;
            self.avail -= n;
        } else {
            self.refill();
        }
    }

    /// Read `n` bits (0..=32) as an unsigned value.
    #[inline]
    pub fn read(&mut self, n: u32) -> u32 {
        let v = self.peek(n);
        self.skip(n);
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
        self.skip((8 - (self.pos & 7) as u32) & 7);
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

    /// Bit `i` of `data` MSB first, zero past the end: the definition the reader must follow.
    fn bit_at(data: &[u8], i: usize) -> u32 {
        data.get(i / 8)
            .map_or(0, |b| u32::from(b >> (7 - i % 8)) & 1)
    }

    #[test]
    fn random_peeks_skips_and_seeks_follow_the_bit_by_bit_definition() {
        let mut rng = crate::test_rng::Rng(0x5EED_B175);
        for len in [0usize, 1, 3, 7, 8, 9, 15, 16, 17, 40] {
            let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let mut r = BitReader::new(&data);
            let mut pos = 0usize;
            for _ in 0..400 {
                match rng.range(0, 9) {
                    0 => {
                        pos = rng.range(0, 8 * len as i64 + 70) as usize;
                        r.seek(pos);
                    }
                    1 => {
                        // Long skips, as over user data, may cross the end.
                        let n = rng.range(33, 300) as u32;
                        r.skip(n);
                        pos += n as usize;
                    }
                    2 => {
                        r.byte_align();
                        pos = (pos + 7) & !7;
                    }
                    _ => {
                        let n = rng.range(0, 32) as u32;
                        let bits =
                            |n: usize| (0..n).fold(0u32, |v, i| v << 1 | bit_at(&data, pos + i));
                        let want = bits(n as usize);
                        assert_eq!(r.peek(n), want, "peek({n}) at {pos} of {len} bytes");
                        assert_eq!(r.peek32(), bits(32));
                        assert_eq!(r.read(n), want);
                        pos += n as usize;
                    }
                }
                assert_eq!(r.position(), pos);
                assert_eq!(r.overrun(), pos > 8 * len);
                assert_eq!(r.bits_left(), (8 * len).saturating_sub(pos));
            }
        }
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
