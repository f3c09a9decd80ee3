//! Table-driven VLC decoding for the MPEG-4 Part 2 macroblock and texture syntax.
//!
//! Each code table of `tables.rs` becomes a two-level lookup table, built once on first use
//! (`OnceLock`): the next `root_bits` bits index a root table whose entries either hold the
//! symbol and its code length, or point at a small sub-table for the longer codes. One decode is
//! one 32-bit peek plus one or two array reads. The TCOEF tables fold the sign bit into their
//! code words and resolve a whole (last, run, level) event, escapes included, from one 32-bit
//! window. Invalid codes decode to `None` / `Err`; nothing here panics on stream data.
#![forbid(unsafe_code)]

use std::sync::OnceLock;

use crate::bits::BitReader;
use crate::mpeg4::tables::{self, Code};

pub use crate::mpeg4::tables::MbType;

/// One lookup-table slot. `len == 0 && sub == 0`: no code starts with these bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    /// The symbol, or (when `sub > 0`) the index of the sub-table.
    sym: u16,
    /// Total code length in bits.
    len: u8,
    /// Bits indexing the sub-table this root entry points at (0 for a leaf).
    sub: u8,
}

const INVALID: Entry = Entry {
    sym: 0,
    len: 0,
    sub: 0,
};

/// A two-level VLC lookup table.
#[derive(Debug)]
pub struct Vlc {
    root_bits: u32,
    entries: Vec<Entry>,
}

impl Vlc {
    /// Build the table for `codes` (code word, symbol). The codes must form a prefix code of at
    /// most 16 bits (checked by the unit tests of every table).
    fn build(root_bits: u32, codes: &[(Code, u16)]) -> Vlc {
        let mut entries = vec![INVALID; 1 << root_bits];
        let mut long: Vec<(u32, Code, u16)> = Vec::new();
        for &(code, sym) in codes {
            let len = u32::from(code.len);
            if len <= root_bits {
                let start = usize::from(code.bits) << (root_bits - len);
                let leaf = Entry {
                    sym,
                    len: code.len,
                    sub: 0,
                };
                for e in entries.iter_mut().skip(start).take(1 << (root_bits - len)) {
                    *e = leaf;
                }
            } else {
                long.push((u32::from(code.bits) >> (len - root_bits), code, sym));
            }
        }
        long.sort_by_key(|&(prefix, _, _)| prefix);
        for group in long.chunk_by(|a, b| a.0 == b.0) {
            let prefix = group[0].0 as usize;
            let sub_bits = group
                .iter()
                .map(|g| u32::from(g.1.len) - root_bits)
                .max()
                .unwrap_or(0);
            let offset = entries.len();
            entries.resize(offset + (1 << sub_bits), INVALID);
            if let Some(root) = entries.get_mut(prefix) {
                *root = Entry {
                    sym: offset as u16,
                    len: 0,
                    sub: sub_bits as u8,
                };
            }
            for &(_, code, sym) in group {
                let rest = u32::from(code.len) - root_bits;
                let low = usize::from(code.bits) & ((1 << rest) - 1);
                let start = offset + (low << (sub_bits - rest));
                let leaf = Entry {
                    sym,
                    len: code.len,
                    sub: 0,
                };
                for e in entries.iter_mut().skip(start).take(1 << (sub_bits - rest)) {
                    *e = leaf;
                }
            }
        }
        Vlc { root_bits, entries }
    }

    /// The entry for the code at the top of `window` (the next 32 bits, MSB first).
    #[inline(always)]
    fn lookup(&self, window: u32) -> Entry {
        let root = (window >> (32 - self.root_bits)) as usize;
        let e = match self.entries.get(root) {
            Some(e) => *e,
            None => return INVALID,
        };
        if e.sub == 0 {
            return e;
        }
        let idx =
            usize::from(e.sym) + ((window << self.root_bits) >> (32 - u32::from(e.sub))) as usize;
        self.entries.get(idx).copied().unwrap_or(INVALID)
    }

    /// Decode one symbol and consume its code; `None` (nothing consumed) for an invalid code.
    #[inline]
    pub fn decode(&self, r: &mut BitReader) -> Option<u16> {
        let e = self.lookup(r.peek(32));
        if e.len == 0 {
            return None;
        }
        r.skip(u32::from(e.len));
        Some(e.sym)
    }
}

/// MCBPC result: a macroblock type with its two chroma coded-block bits, or stuffing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mcbpc {
    Stuffing,
    Coded { mb_type: MbType, cbpc: u8 },
}

const STUFFING: u16 = 0xFF;

fn mb_type_index(t: MbType) -> u16 {
    match t {
        MbType::Inter => 0,
        MbType::InterQ => 1,
        MbType::Inter4V => 2,
        MbType::Intra => 3,
        MbType::IntraQ => 4,
    }
}

fn mcbpc_from_sym(sym: u16) -> Mcbpc {
    if sym == STUFFING {
        return Mcbpc::Stuffing;
    }
    let mb_type = match sym >> 2 {
        0 => MbType::Inter,
        1 => MbType::InterQ,
        2 => MbType::Inter4V,
        3 => MbType::Intra,
        _ => MbType::IntraQ,
    };
    Mcbpc::Coded {
        mb_type,
        cbpc: (sym & 3) as u8,
    }
}

fn mcbpc_vlc(table: &[(Code, MbType, u8)], stuffing: Code) -> Vlc {
    let mut codes: Vec<(Code, u16)> = table
        .iter()
        .map(|&(code, t, cbpc)| (code, mb_type_index(t) << 2 | u16::from(cbpc)))
        .collect();
    codes.push((stuffing, STUFFING));
    Vlc::build(9, &codes)
}

fn indexed(codes: &[Code]) -> Vec<(Code, u16)> {
    codes
        .iter()
        .enumerate()
        .map(|(i, &c)| (c, i as u16))
        .collect()
}

fn mcbpc_i_table() -> &'static Vlc {
    static T: OnceLock<Vlc> = OnceLock::new();
    T.get_or_init(|| mcbpc_vlc(&tables::MCBPC_I, tables::MCBPC_I_STUFFING))
}

fn mcbpc_p_table() -> &'static Vlc {
    static T: OnceLock<Vlc> = OnceLock::new();
    T.get_or_init(|| mcbpc_vlc(&tables::MCBPC_P, tables::MCBPC_P_STUFFING))
}

fn cbpy_table() -> &'static Vlc {
    static T: OnceLock<Vlc> = OnceLock::new();
    T.get_or_init(|| Vlc::build(6, &indexed(&tables::CBPY)))
}

fn mvd_table() -> &'static Vlc {
    static T: OnceLock<Vlc> = OnceLock::new();
    T.get_or_init(|| Vlc::build(8, &indexed(&tables::MVD)))
}

fn dc_size_table(luma: bool) -> &'static Vlc {
    static LUMA: OnceLock<Vlc> = OnceLock::new();
    static CHROMA: OnceLock<Vlc> = OnceLock::new();
    if luma {
        LUMA.get_or_init(|| Vlc::build(9, &indexed(&tables::DC_SIZE_LUMA)))
    } else {
        CHROMA.get_or_init(|| Vlc::build(9, &indexed(&tables::DC_SIZE_CHROMA)))
    }
}

/// `mcbpc` of an I-VOP macroblock (Table B-6). `None`: invalid code.
pub fn read_mcbpc_i(r: &mut BitReader) -> Option<Mcbpc> {
    mcbpc_i_table().decode(r).map(mcbpc_from_sym)
}

/// `mcbpc` of a coded P-VOP macroblock (Table B-7). `None`: invalid code.
pub fn read_mcbpc_p(r: &mut BitReader) -> Option<Mcbpc> {
    mcbpc_p_table().decode(r).map(mcbpc_from_sym)
}

/// `cbpy` (Table B-8) as the luma coded-block pattern (bit 3 = Y0 ... bit 0 = Y3), already
/// inverted for non-intra macroblocks.
pub fn read_cbpy(r: &mut BitReader, intra: bool) -> Option<u8> {
    let v = cbpy_table().decode(r)? as u8;
    Some(if intra { v } else { v ^ 0xF })
}

/// `motion_code` (Table B-12) with its sign bit: -32..=32.
pub fn read_mv_code(r: &mut BitReader) -> Option<i32> {
    let magnitude = i32::from(mvd_table().decode(r)?);
    if magnitude != 0 && r.read_bit() {
        return Some(-magnitude);
    }
    Some(magnitude)
}

/// `dquant` (2 bits, Table 6-27): -1, -2, +1, +2.
pub fn read_dquant(r: &mut BitReader) -> i32 {
    const DQUANT: [i32; 4] = [-1, -2, 1, 2];
    DQUANT[(r.read(2) & 3) as usize]
}

/// `dct_dc_size_luminance` / `_chrominance` (Tables B-13, B-14): 0..=12.
pub fn read_dc_size(r: &mut BitReader, luma: bool) -> Option<u8> {
    dc_size_table(luma).decode(r).map(|s| s as u8)
}

/// TCOEF lookup symbols pack a whole event: bits 0..=7 the SIGNED level (the sign bit that
/// follows each code is part of the table's code words), bits 8..=13 the run, bit 14 `last`;
/// bit 15 marks the escape code.
const ESCAPE: u16 = 0x8000;
const LAST: u16 = 0x4000;
/// Root size of the TCOEF tables: every code of up to 9 bits plus sign resolves in one read.
/// (12 bits, which also covers the longer codes frequent at low quantisers, measured no faster
/// on the q 1 CoViAR clip: the larger table costs what the second read saves.)
const TCOEF_ROOT: u32 = 10;

/// A TCOEF table (intra B-16 or inter B-17) with its escape limits (B-19..B-22), flattened
/// for the hot loop: a fixed-size root (no bounds check) of packed `u32` entries.
#[derive(Debug)]
pub struct TcoefTable {
    root: Box<[u32; 1 << TCOEF_ROOT]>,
    sub: Vec<u32>,
    lmax: &'static [[u8; 64]; 2],
    rmax: &'static [[u8; 32]; 2],
    /// A reversible table (B-23): one fixed-length escape instead of the three modes.
    reversible: bool,
}

/// A packed TCOEF event, the format of the table entries and of what [`TcoefTable::event`]
/// returns, chosen so the block loop keeps it in one register and spends the fewest operations
/// on the bit reader's dependency chain: the bits the event used (sign and escapes included) in
/// bits 0..=4 with bits 5..=7 zero (a shift count as it stands), the signed level in bits
/// 8..=19 (12-bit two's complement, wide enough for escape 3), the run in bits 20..=26 and
/// `last` in bit 27. Table entries add `VALID` (and `ESC` for the escape code); a root entry
/// with `SUB` instead points at `sub[bits 0..=15]`, indexed by the next `bits 16..=19` bits.
/// 0 is an invalid code.
const VALID: u32 = 1 << 31;
const SUB: u32 = 1 << 30;
const ESC: u32 = 1 << 29;
/// `entry & FAST == VALID`: a whole event from the root table alone, the common case.
const FAST: u32 = VALID | SUB | ESC;
const EV_LAST: u32 = 1 << 27;

/// Pack an event (level in -2048..=2047, run below 128, len at most 31).
#[inline(always)]
fn pack_event(last: bool, run: u32, level: i32, len: u32) -> u32 {
    u32::from(last) << 27 | (run & 127) << 20 | (level as u32 & 0xFFF) << 8 | (len & 31)
}

/// Bits an event used.
#[inline(always)]
pub fn event_len(ev: u32) -> u32 {
    // `& 63` rather than `& 31` (bit 5 is zero): x86 shifts mask their count to 6 bits, so the
    // reader's `cache << len` takes the event as it is.
    ev & 63
}

/// The (last, run, level) of an event.
#[inline(always)]
pub fn event_tcoef(ev: u32) -> Tcoef {
    Tcoef {
        last: ev & EV_LAST != 0,
        run: (ev >> 20) & 127,
        level: ((ev << 12) as i32) >> 20,
    }
}

impl TcoefTable {
    fn new(
        vlc: &Vlc,
        lmax: &'static [[u8; 64]; 2],
        rmax: &'static [[u8; 32]; 2],
        reversible: bool,
    ) -> Self {
        let pack = |e: &Entry| -> u32 {
            if e.sub != 0 {
                SUB | u32::from(e.sub) << 16 | (u32::from(e.sym) - (1 << TCOEF_ROOT))
            } else if e.len != 0 {
                let sym = e.sym;
                let esc = if sym & ESCAPE != 0 { ESC } else { 0 };
                let level = i32::from(sym as u8 as i8);
                VALID
                    | esc
                    | pack_event(
                        sym & LAST != 0,
                        u32::from(sym >> 8 & 63),
                        level,
                        u32::from(e.len),
                    )
            } else {
                0
            }
        };
        let mut root = Box::new([0u32; 1 << TCOEF_ROOT]);
        for (slot, e) in root.iter_mut().zip(vlc.entries.iter()) {
            *slot = pack(e);
        }
        let sub = vlc.entries.iter().skip(1 << TCOEF_ROOT).map(pack).collect();
        TcoefTable {
            root,
            sub,
            lmax,
            rmax,
            reversible,
        }
    }

    /// True for the reversible tables (B-23).
    pub fn is_reversible(&self) -> bool {
        self.reversible
    }

    /// The packed entry for the code at the top of `w`.
    #[inline(always)]
    fn entry(&self, w: u32) -> u32 {
        let e = self.root[(w >> (32 - TCOEF_ROOT)) as usize];
        if e & SUB == 0 {
            return e;
        }
        let bits = (e >> 16) & 15;
        let idx = (e & 0xFFFF) as usize + ((w << TCOEF_ROOT) >> (32 - bits)) as usize;
        self.sub.get(idx).copied().unwrap_or(0)
    }
}

/// One decoded (last, run, level) event; `level` is signed and not yet dequantised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tcoef {
    pub last: bool,
    pub run: u32,
    pub level: i32,
}

fn tcoef_vlc(last0: &[tables::TcoefRow], last1: &[tables::TcoefRow], escape: Code) -> Vlc {
    let mut codes = vec![(escape, ESCAPE)];
    for (last, rows) in [(false, last0), (true, last1)] {
        for (run, row) in rows.iter().enumerate() {
            for (i, &code) in row.iter().enumerate() {
                let head = if last { LAST } else { 0 } | ((run as u16) << 8);
                for negative in [false, true] {
                    let level = if negative {
                        -(i as i8 + 1)
                    } else {
                        i as i8 + 1
                    };
                    let signed = Code {
                        bits: code.bits << 1 | u16::from(negative),
                        len: code.len + 1,
                    };
                    codes.push((signed, head | u16::from(level as u8)));
                }
            }
        }
    }
    Vlc::build(TCOEF_ROOT, &codes)
}

/// The intra TCOEF table (B-16).
pub fn tcoef_intra() -> &'static TcoefTable {
    static T: OnceLock<TcoefTable> = OnceLock::new();
    T.get_or_init(|| {
        let vlc = tcoef_vlc(
            &tables::TCOEF_INTRA_LAST0,
            &tables::TCOEF_INTRA_LAST1,
            tables::TCOEF_ESCAPE,
        );
        TcoefTable::new(&vlc, &tables::LMAX_INTRA, &tables::RMAX_INTRA, false)
    })
}

/// The inter TCOEF table (B-17).
pub fn tcoef_inter() -> &'static TcoefTable {
    static T: OnceLock<TcoefTable> = OnceLock::new();
    T.get_or_init(|| {
        let vlc = tcoef_vlc(
            &tables::TCOEF_INTER_LAST0,
            &tables::TCOEF_INTER_LAST1,
            tables::TCOEF_ESCAPE,
        );
        TcoefTable::new(&vlc, &tables::LMAX_INTER, &tables::RMAX_INTER, false)
    })
}

/// The intra reversible TCOEF table (B-23), for data-partitioned VOLs with `reversible_vlc`.
pub fn rvlc_intra() -> &'static TcoefTable {
    static T: OnceLock<TcoefTable> = OnceLock::new();
    T.get_or_init(|| {
        let vlc = tcoef_vlc(
            &tables::RVLC_INTRA_LAST0,
            &tables::RVLC_LAST1,
            tables::RVLC_ESCAPE,
        );
        TcoefTable::new(&vlc, &tables::LMAX_INTRA, &tables::RMAX_INTRA, true)
    })
}

/// The inter reversible TCOEF table (B-23).
pub fn rvlc_inter() -> &'static TcoefTable {
    static T: OnceLock<TcoefTable> = OnceLock::new();
    T.get_or_init(|| {
        let vlc = tcoef_vlc(
            &tables::RVLC_INTER_LAST0,
            &tables::RVLC_LAST1,
            tables::RVLC_ESCAPE,
        );
        TcoefTable::new(&vlc, &tables::LMAX_INTER, &tables::RMAX_INTER, true)
    })
}

impl TcoefTable {
    /// A table code with its sign (not the escape) at the top of `w`: its event, or `None` for
    /// an invalid code or a second escape.
    #[inline(always)]
    fn plain(&self, w: u32) -> Option<u32> {
        let e = self.entry(w);
        (e & (VALID | ESC) == VALID).then_some(e)
    }

    /// Decode one TCOEF event and consume its bits (nothing on an error).
    #[inline(always)]
    pub fn read(&self, r: &mut BitReader) -> Result<Tcoef, &'static str> {
        let ev = self.event(r.peek32())?;
        r.skip(event_len(ev));
        Ok(event_tcoef(ev))
    }

    /// The packed event of the code at the top of `w` (the next 32 bits), resolving the three
    /// escape modes (7.4.1.3): mode 1 (`0`): level += LMAX(last, run); mode 2 (`10`): run +=
    /// RMAX(last, level) + 1; mode 3 (`11`): last(1), run(6), marker, level(12, two's
    /// complement), marker. Every form fits in 32 bits, so one peek serves the whole event; a
    /// pure function of `w`, so the caller's reader stays in registers.
    #[inline(always)]
    pub fn event(&self, w: u32) -> Result<u32, &'static str> {
        let e = self.root[(w >> (32 - TCOEF_ROOT)) as usize];
        if e & FAST == VALID {
            return Ok(e);
        }
        self.event_rest(w)
    }

    /// [`TcoefTable::event`] for everything the root table does not resolve alone: the longer
    /// codes, the escapes and the errors. Inlined: as a call (its `Result` returned through
    /// memory) it measured slower on the q 1 clip, where escapes are common.
    #[inline(always)]
    fn event_rest(&self, w: u32) -> Result<u32, &'static str> {
        const ESC_LEN: u32 = tables::TCOEF_ESCAPE.len as u32;
        let e = self.entry(w);
        if e & (VALID | ESC) == VALID {
            return Ok(e);
        }
        if e & VALID == 0 {
            return Err("invalid DCT coefficient code");
        }
        if self.reversible {
            return reversible_escape(w);
        }
        let rest = w << ESC_LEN;
        if rest & 0x8000_0000 == 0 {
            let ev = self
                .plain(rest << 1)
                .ok_or("invalid DCT coefficient code after escape")?;
            let t = event_tcoef(ev);
            let add = i32::from(self.lmax[usize::from(t.last)][(t.run & 63) as usize]);
            let level = t.level + if t.level < 0 { -add } else { add };
            Ok(pack_event(
                t.last,
                t.run,
                level,
                ESC_LEN + 1 + event_len(ev),
            ))
        } else if rest & 0x4000_0000 == 0 {
            let ev = self
                .plain(rest << 2)
                .ok_or("invalid DCT coefficient code after escape")?;
            let t = event_tcoef(ev);
            let rmax = self.rmax[usize::from(t.last)][(t.level.unsigned_abs() & 31) as usize];
            let run = t.run + u32::from(rmax) + 1;
            Ok(pack_event(
                t.last,
                run,
                t.level,
                ESC_LEN + 2 + event_len(ev),
            ))
        } else {
            // 7 escape + 2 mode + last(1) run(6) marker(1) level(12) marker(1) = 30 bits.
            let f = rest << 2;
            if f & (1 << 24) == 0 {
                return Err("missing first marker bit in escape-3 coefficient");
            }
            if f & (1 << 11) == 0 {
                return Err("missing second marker bit in escape-3 coefficient");
            }
            let level = ((f << 8) as i32) >> 20;
            Ok(pack_event(f & 0x8000_0000 != 0, (f >> 25) & 63, level, 30))
        }
    }
}

/// The escape of the reversible tables as FFmpeg reads it (forward only): `0000`, marker,
/// last(1), run(6), marker, |level|(11), marker + `0000` (the escape read backwards), sign.
/// 30 bits, all inside the 32-bit window `w` taken at the escape.
fn reversible_escape(w: u32) -> Result<u32, &'static str> {
    let f = w << tables::RVLC_ESCAPE.len;
    if f & 0x8000_0000 == 0 {
        return Err("missing first marker bit in reversible escape");
    }
    if f & (1 << 23) == 0 {
        return Err("missing second marker bit in reversible escape");
    }
    if (f >> 7) & 0x1F != 0x10 {
        return Err("missing reversed escape code");
    }
    let level = ((f >> 12) & 0x7FF) as i32;
    let level = if f & (1 << 6) != 0 { -level } else { level };
    Ok(pack_event(f & 0x4000_0000 != 0, (f >> 24) & 63, level, 30))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A bit writer for building test streams.
    #[derive(Default)]
    pub(crate) struct BitWriter {
        pub bytes: Vec<u8>,
        bit: usize,
    }

    impl BitWriter {
        pub fn put(&mut self, value: u32, len: u32) {
            for i in (0..len).rev() {
                if self.bit % 8 == 0 {
                    self.bytes.push(0);
                }
                if (value >> i) & 1 != 0 {
                    let last = self.bytes.len() - 1;
                    self.bytes[last] |= 0x80 >> (self.bit % 8);
                }
                self.bit += 1;
            }
        }
        pub fn code(&mut self, c: Code) {
            self.put(u32::from(c.bits), u32::from(c.len));
        }
    }

    /// Encode `code`, follow it with ones (so no stuffing/escape ambiguity), decode, and check
    /// the symbol and the number of bits consumed.
    fn roundtrip<T: PartialEq + std::fmt::Debug>(
        code: Code,
        trailer: (u32, u32),
        expect: T,
        decode: impl Fn(&mut BitReader) -> Option<T>,
    ) {
        let mut w = BitWriter::default();
        w.code(code);
        w.put(trailer.0, trailer.1);
        w.put(0xFFFF_FFFF, 32);
        let mut r = BitReader::new(&w.bytes);
        assert_eq!(decode(&mut r), Some(expect), "{code:?}");
        assert_eq!(
            r.position(),
            usize::from(code.len) + trailer.1 as usize,
            "{code:?}"
        );
    }

    #[test]
    fn every_mcbpc_code_decodes_to_its_entry() {
        for &(code, mb_type, cbpc) in &tables::MCBPC_I {
            roundtrip(code, (0, 0), Mcbpc::Coded { mb_type, cbpc }, read_mcbpc_i);
        }
        roundtrip(
            tables::MCBPC_I_STUFFING,
            (0, 0),
            Mcbpc::Stuffing,
            read_mcbpc_i,
        );
        for &(code, mb_type, cbpc) in &tables::MCBPC_P {
            roundtrip(code, (0, 0), Mcbpc::Coded { mb_type, cbpc }, read_mcbpc_p);
        }
        roundtrip(
            tables::MCBPC_P_STUFFING,
            (0, 0),
            Mcbpc::Stuffing,
            read_mcbpc_p,
        );
    }

    #[test]
    fn every_cbpy_mvd_and_dc_size_code_decodes_to_its_entry() {
        for (i, &code) in tables::CBPY.iter().enumerate() {
            roundtrip(code, (0, 0), i as u8, |r| read_cbpy(r, true));
            roundtrip(code, (0, 0), 15 - i as u8, |r| read_cbpy(r, false));
        }
        for (i, &code) in tables::MVD.iter().enumerate() {
            if i == 0 {
                roundtrip(code, (0, 0), 0, read_mv_code);
            } else {
                roundtrip(code, (0, 1), i as i32, read_mv_code);
                roundtrip(code, (1, 1), -(i as i32), read_mv_code);
            }
        }
        for (i, &code) in tables::DC_SIZE_LUMA.iter().enumerate() {
            roundtrip(code, (0, 0), i as u8, |r| read_dc_size(r, true));
        }
        for (i, &code) in tables::DC_SIZE_CHROMA.iter().enumerate() {
            roundtrip(code, (0, 0), i as u8, |r| read_dc_size(r, false));
        }
    }

    #[test]
    fn invalid_codes_decode_to_none_without_consuming() {
        // All-zero words are outside every table (MCBPC stuffing needs a final one).
        let zeros = [0u8; 8];
        for decode in [read_mcbpc_i, read_mcbpc_p] {
            let mut r = BitReader::new(&zeros);
            assert_eq!(decode(&mut r), None);
            assert_eq!(r.position(), 0);
        }
        let mut r = BitReader::new(&zeros);
        assert_eq!(read_cbpy(&mut r, true), None);
        assert_eq!(read_mv_code(&mut r), None);
        assert_eq!(read_dc_size(&mut r, true), None);
        assert_eq!(read_dc_size(&mut r, false), None);
        assert_eq!(r.position(), 0);
        assert!(tcoef_intra().read(&mut r).is_err());
        assert!(tcoef_inter().read(&mut r).is_err());
        // CBPY: 0000 01 and 0000 00 are unused.
        let mut r = BitReader::new(&[0b0000_0100, 0]);
        assert_eq!(read_cbpy(&mut r, false), None);
        // Past the end of the data everything reads as zeros: still None, never a panic.
        let mut r = BitReader::new(&[]);
        assert_eq!(read_mcbpc_p(&mut r), None);
    }

    #[test]
    fn dquant_maps_its_two_bits() {
        let mut r = BitReader::new(&[0b0001_1011]);
        let got: Vec<i32> = (0..4).map(|_| read_dquant(&mut r)).collect();
        assert_eq!(got, [-1, -2, 1, 2]);
    }

    fn tcoef_rows(intra: bool) -> [&'static [tables::TcoefRow]; 2] {
        if intra {
            [&tables::TCOEF_INTRA_LAST0, &tables::TCOEF_INTRA_LAST1]
        } else {
            [&tables::TCOEF_INTER_LAST0, &tables::TCOEF_INTER_LAST1]
        }
    }

    #[test]
    fn every_tcoef_code_decodes_to_its_run_level_last_with_sign() {
        for intra in [true, false] {
            let table = if intra { tcoef_intra() } else { tcoef_inter() };
            for (last, rows) in tcoef_rows(intra).into_iter().enumerate() {
                for (run, row) in rows.iter().enumerate() {
                    for (i, &code) in row.iter().enumerate() {
                        for sign in [0, 1] {
                            let mut w = BitWriter::default();
                            w.code(code);
                            w.put(sign, 1);
                            w.put(0xFFFF_FFFF, 32);
                            let mut r = BitReader::new(&w.bytes);
                            let level = (i as i32 + 1) * if sign == 1 { -1 } else { 1 };
                            let expect = Tcoef {
                                last: last == 1,
                                run: run as u32,
                                level,
                            };
                            assert_eq!(table.read(&mut r), Ok(expect));
                            assert_eq!(r.position(), usize::from(code.len) + 1);
                        }
                    }
                }
            }
        }
    }

    /// Write an escape of `mode` (1 or 2) followed by the table code of (last, run, level).
    fn escaped(
        intra: bool,
        mode: u32,
        last: usize,
        run: usize,
        level: usize,
        negative: bool,
    ) -> BitWriter {
        let mut w = BitWriter::default();
        w.code(tables::TCOEF_ESCAPE);
        if mode == 1 {
            w.put(0, 1);
        } else {
            w.put(0b10, 2);
        }
        w.code(tcoef_rows(intra)[last][run][level - 1]);
        w.put(u32::from(negative), 1);
        w.put(0xFFFF_FFFF, 32);
        w
    }

    #[test]
    fn escape_mode_1_adds_lmax_to_the_level() {
        // Intra, last=0, run=1, level 3 (+ LMAX 10) = 13.
        let w = escaped(true, 1, 0, 1, 3, false);
        let mut r = BitReader::new(&w.bytes);
        assert_eq!(
            tcoef_intra().read(&mut r),
            Ok(Tcoef {
                last: false,
                run: 1,
                level: 13
            })
        );
        assert_eq!(r.position(), 7 + 1 + 7 + 1);
        // Inter, last=1, run=0, level 2 (+ LMAX 3), negative: -5.
        let w = escaped(false, 1, 1, 0, 2, true);
        let mut r = BitReader::new(&w.bytes);
        assert_eq!(
            tcoef_inter().read(&mut r),
            Ok(Tcoef {
                last: true,
                run: 0,
                level: -5
            })
        );
    }

    #[test]
    fn escape_mode_2_adds_rmax_plus_one_to_the_run() {
        // Inter, last=0, run=2, level 1: RMAX(0, 1) = 26, so run = 2 + 27 = 29.
        let w = escaped(false, 2, 0, 2, 1, true);
        let mut r = BitReader::new(&w.bytes);
        assert_eq!(
            tcoef_inter().read(&mut r),
            Ok(Tcoef {
                last: false,
                run: 29,
                level: -1
            })
        );
        assert_eq!(r.position(), 7 + 2 + 4 + 1);
        // Intra, last=1, run=0, level 2: RMAX(1, 2) = 6, so run = 7.
        let w = escaped(true, 2, 1, 0, 2, false);
        let mut r = BitReader::new(&w.bytes);
        assert_eq!(
            tcoef_intra().read(&mut r),
            Ok(Tcoef {
                last: true,
                run: 7,
                level: 2
            })
        );
    }

    #[test]
    fn escape_mode_3_reads_fixed_length_fields_and_checks_markers() {
        for (last, run, level) in [
            (1u32, 63u32, -2048i32),
            (0, 5, 2047),
            (0, 0, -1),
            (1, 17, 300),
        ] {
            let mut w = BitWriter::default();
            w.code(tables::TCOEF_ESCAPE);
            w.put(0b11, 2);
            w.put(last, 1);
            w.put(run, 6);
            w.put(1, 1);
            w.put(level as u32 & 0xFFF, 12);
            w.put(1, 1);
            w.put(0, 8);
            for table in [tcoef_intra(), tcoef_inter()] {
                let mut r = BitReader::new(&w.bytes);
                let expect = Tcoef {
                    last: last == 1,
                    run,
                    level,
                };
                assert_eq!(table.read(&mut r), Ok(expect));
                assert_eq!(r.position(), 7 + 2 + 1 + 6 + 1 + 12 + 1);
            }
        }
        // A missing marker is an error.
        let mut w = BitWriter::default();
        w.code(tables::TCOEF_ESCAPE);
        w.put(0b11, 2);
        w.put(0, 1 + 6);
        w.put(0, 1);
        w.put(5, 12);
        w.put(1, 1);
        let mut r = BitReader::new(&w.bytes);
        assert!(tcoef_inter().read(&mut r).is_err());
    }

    #[test]
    fn every_reversible_code_decodes_to_its_run_level_last_with_sign() {
        for (table, last0) in [
            (rvlc_intra(), &tables::RVLC_INTRA_LAST0[..]),
            (rvlc_inter(), &tables::RVLC_INTER_LAST0[..]),
        ] {
            assert!(table.is_reversible());
            for (last, rows) in [last0, &tables::RVLC_LAST1[..]].into_iter().enumerate() {
                for (run, row) in rows.iter().enumerate() {
                    for (i, &code) in row.iter().enumerate() {
                        for sign in [0, 1] {
                            let mut w = BitWriter::default();
                            w.code(code);
                            w.put(sign, 1);
                            w.put(0xFFFF_FFFF, 32);
                            let mut r = BitReader::new(&w.bytes);
                            let level = (i as i32 + 1) * if sign == 1 { -1 } else { 1 };
                            let expect = Tcoef {
                                last: last == 1,
                                run: run as u32,
                                level,
                            };
                            assert_eq!(table.read(&mut r), Ok(expect), "{code:?}");
                            assert_eq!(r.position(), usize::from(code.len) + 1);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn reversible_escape_reads_its_fields_and_checks_the_markers() {
        let build = |marker2: u32, tail: u32| {
            let mut w = BitWriter::default();
            w.code(tables::RVLC_ESCAPE);
            w.put(1, 1); // marker
            w.put(1, 1); // last
            w.put(37, 6); // run
            w.put(marker2, 1);
            w.put(1234, 11); // |level|
            w.put(tail, 5); // marker + reversed escape 0000
            w.put(1, 1); // sign: negative
            w.put(0xFF, 8);
            w.bytes
        };
        let data = build(1, 0b10000);
        let mut r = BitReader::new(&data);
        let expect = Tcoef {
            last: true,
            run: 37,
            level: -1234,
        };
        assert_eq!(rvlc_inter().read(&mut r), Ok(expect));
        assert_eq!(r.position(), 30);
        assert!(rvlc_intra()
            .read(&mut BitReader::new(&build(0, 0b10000)))
            .is_err());
        assert!(rvlc_intra()
            .read(&mut BitReader::new(&build(1, 0b10001)))
            .is_err());
    }

    #[test]
    fn escape_followed_by_escape_is_rejected() {
        let mut w = BitWriter::default();
        w.code(tables::TCOEF_ESCAPE);
        w.put(0, 1);
        w.code(tables::TCOEF_ESCAPE);
        w.put(0xFFFF, 16);
        let mut r = BitReader::new(&w.bytes);
        assert!(tcoef_intra().read(&mut r).is_err());
    }
}
