//! A small deterministic generator (xorshift64*) for randomised unit tests, so they need no
//! extra crates. Test builds only.

pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }

    /// Mutant number `i` of `data`, leaving its first `keep` bytes (the headers) alone: in turn
    /// a few flipped bits, a 16-byte run of garbage, or a cut.
    pub(crate) fn mutant(&mut self, data: &[u8], i: usize, keep: i64) -> Vec<u8> {
        let mut bad = data.to_vec();
        let len = data.len() as i64;
        match i % 3 {
            0 => {
                for _ in 0..self.range(1, 6) {
                    let at = self.range(keep, len - 1) as usize;
                    bad[at] ^= 1 << self.range(0, 7);
                }
            }
            1 => {
                let at = self.range(keep, len - 17) as usize;
                for b in &mut bad[at..at + 16] {
                    *b = self.range(0, 255) as u8;
                }
            }
            _ => bad.truncate(self.range(keep, len - 1) as usize),
        }
        bad
    }
}
