//! Constant tables of MPEG-4 Part 2 Simple Profile texture and macroblock syntax, transcribed
//! from ISO/IEC 14496-2 Annex B (VLC tables) and clause 7.4 (scans, quantiser matrices, DC
//! scalers). Codes are given MSB-first as `(bits, length)`; sign bits that follow a code in the
//! bitstream are NOT part of it. `vlc.rs` turns these into lookup tables; the unit tests check
//! every table is a prefix code and that the escape limits agree with the TCOEF tables.
#![forbid(unsafe_code)]
// Binary codes are grouped in fours from the FIRST bit, as the standard prints them.
#![allow(clippy::unusual_byte_groupings)]

/// A variable-length code word: the `len` low bits of `bits`, sent MSB first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code {
    pub bits: u16,
    pub len: u8,
}

const fn c(bits: u16, len: u8) -> Code {
    Code { bits, len }
}

/// Macroblock type of an I- or P-VOP macroblock (Tables 6-25, B-6, B-7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MbType {
    Inter,
    InterQ,
    Inter4V,
    Intra,
    IntraQ,
}

/// Table B-6, `mcbpc` of I-VOPs: (code, macroblock type, cbpc). Stuffing is [`MCBPC_I_STUFFING`].
pub const MCBPC_I: [(Code, MbType, u8); 8] = [
    (c(0b1, 1), MbType::Intra, 0),
    (c(0b001, 3), MbType::Intra, 1),
    (c(0b010, 3), MbType::Intra, 2),
    (c(0b011, 3), MbType::Intra, 3),
    (c(0b0001, 4), MbType::IntraQ, 0),
    (c(0b000001, 6), MbType::IntraQ, 1),
    (c(0b000010, 6), MbType::IntraQ, 2),
    (c(0b000011, 6), MbType::IntraQ, 3),
];
pub const MCBPC_I_STUFFING: Code = c(0b0000_0000_1, 9);

/// Table B-7, `mcbpc` of P-VOPs: (code, macroblock type, cbpc). Stuffing is [`MCBPC_P_STUFFING`].
pub const MCBPC_P: [(Code, MbType, u8); 20] = [
    (c(0b1, 1), MbType::Inter, 0),
    (c(0b0011, 4), MbType::Inter, 1),
    (c(0b0010, 4), MbType::Inter, 2),
    (c(0b000101, 6), MbType::Inter, 3),
    (c(0b011, 3), MbType::InterQ, 0),
    (c(0b0000111, 7), MbType::InterQ, 1),
    (c(0b0000110, 7), MbType::InterQ, 2),
    (c(0b0000_0010_1, 9), MbType::InterQ, 3),
    (c(0b010, 3), MbType::Inter4V, 0),
    (c(0b0000101, 7), MbType::Inter4V, 1),
    (c(0b0000100, 7), MbType::Inter4V, 2),
    (c(0b0000_0101, 8), MbType::Inter4V, 3),
    (c(0b00011, 5), MbType::Intra, 0),
    (c(0b0000_0100, 8), MbType::Intra, 1),
    (c(0b0000_0011, 8), MbType::Intra, 2),
    (c(0b0000011, 7), MbType::Intra, 3),
    (c(0b000100, 6), MbType::IntraQ, 0),
    (c(0b0000_0010_0, 9), MbType::IntraQ, 1),
    (c(0b0000_0001_1, 9), MbType::IntraQ, 2),
    (c(0b0000_0001_0, 9), MbType::IntraQ, 3),
];
pub const MCBPC_P_STUFFING: Code = c(0b0000_0000_1, 9);

/// Table B-8, `cbpy` indexed by the coded-block pattern of an INTRA macroblock (bit 3 = Y0 ...
/// bit 0 = Y3). Inter macroblocks use the same codes for the inverted pattern (`15 - cbpy`).
pub const CBPY: [Code; 16] = [
    c(0b0011, 4),
    c(0b00101, 5),
    c(0b00100, 5),
    c(0b1001, 4),
    c(0b00011, 5),
    c(0b0111, 4),
    c(0b000010, 6),
    c(0b1011, 4),
    c(0b00010, 5),
    c(0b000011, 6),
    c(0b0101, 4),
    c(0b1010, 4),
    c(0b0100, 4),
    c(0b1000, 4),
    c(0b0110, 4),
    c(0b11, 2),
];

/// Table B-12, `motion_code` magnitudes 0..=32 (a sign bit follows every non-zero code).
pub const MVD: [Code; 33] = [
    c(0b1, 1),
    c(0b01, 2),
    c(0b001, 3),
    c(0b0001, 4),
    c(0b000011, 6),
    c(0b0000101, 7),
    c(0b0000100, 7),
    c(0b0000011, 7),
    c(0b0000_0101_1, 9),
    c(0b0000_0101_0, 9),
    c(0b0000_0100_1, 9),
    c(0b0000_0100_01, 10),
    c(0b0000_0100_00, 10),
    c(0b0000_0011_11, 10),
    c(0b0000_0011_10, 10),
    c(0b0000_0011_01, 10),
    c(0b0000_0011_00, 10),
    c(0b0000_0010_11, 10),
    c(0b0000_0010_10, 10),
    c(0b0000_0010_01, 10),
    c(0b0000_0010_00, 10),
    c(0b0000_0001_11, 10),
    c(0b0000_0001_10, 10),
    c(0b0000_0001_01, 10),
    c(0b0000_0001_00, 10),
    c(0b0000_0000_111, 11),
    c(0b0000_0000_110, 11),
    c(0b0000_0000_101, 11),
    c(0b0000_0000_100, 11),
    c(0b0000_0000_011, 11),
    c(0b0000_0000_010, 11),
    c(0b0000_0000_0011, 12),
    c(0b0000_0000_0010, 12),
];

/// Table B-13, `dct_dc_size_luminance` 0..=12.
pub const DC_SIZE_LUMA: [Code; 13] = [
    c(0b011, 3),
    c(0b11, 2),
    c(0b10, 2),
    c(0b010, 3),
    c(0b001, 3),
    c(0b0001, 4),
    c(0b0000_1, 5),
    c(0b0000_01, 6),
    c(0b0000_001, 7),
    c(0b0000_0001, 8),
    c(0b0000_0000_1, 9),
    c(0b0000_0000_01, 10),
    c(0b0000_0000_001, 11),
];

/// Table B-14, `dct_dc_size_chrominance` 0..=12.
pub const DC_SIZE_CHROMA: [Code; 13] = [
    c(0b11, 2),
    c(0b10, 2),
    c(0b01, 2),
    c(0b001, 3),
    c(0b0001, 4),
    c(0b0000_1, 5),
    c(0b0000_01, 6),
    c(0b0000_001, 7),
    c(0b0000_0001, 8),
    c(0b0000_0000_1, 9),
    c(0b0000_0000_01, 10),
    c(0b0000_0000_001, 11),
    c(0b0000_0000_0001, 12),
];

/// The TCOEF escape code (both tables), `0000 011`.
pub const TCOEF_ESCAPE: Code = c(0b0000011, 7);

/// One (last, run) row of a TCOEF table: the codes of levels 1, 2, ... in order.
pub type TcoefRow = &'static [Code];

/// Table B-16, intra TCOEF codes, `last = 0`, indexed by run (0..=14), then level - 1.
pub const TCOEF_INTRA_LAST0: [TcoefRow; 15] = [
    &[
        c(0x02, 2),
        c(0x06, 3),
        c(0x0f, 4),
        c(0x0d, 5),
        c(0x0c, 5),
        c(0x15, 6),
        c(0x13, 6),
        c(0x12, 6),
        c(0x17, 7),
        c(0x1f, 8),
        c(0x1e, 8),
        c(0x1d, 8),
        c(0x25, 9),
        c(0x24, 9),
        c(0x23, 9),
        c(0x21, 9),
        c(0x21, 10),
        c(0x20, 10),
        c(0x0f, 10),
        c(0x0e, 10),
        c(0x07, 11),
        c(0x06, 11),
        c(0x20, 11),
        c(0x21, 11),
        c(0x50, 12),
        c(0x51, 12),
        c(0x52, 12),
    ],
    &[
        c(0x0e, 4),
        c(0x14, 6),
        c(0x16, 7),
        c(0x1c, 8),
        c(0x20, 9),
        c(0x1f, 9),
        c(0x0d, 10),
        c(0x22, 11),
        c(0x53, 12),
        c(0x55, 12),
    ],
    &[c(0x0b, 5), c(0x15, 7), c(0x1e, 9), c(0x0c, 10), c(0x56, 12)],
    &[c(0x11, 6), c(0x1b, 8), c(0x1d, 9), c(0x0b, 10)],
    &[c(0x10, 6), c(0x22, 9), c(0x0a, 10)],
    &[c(0x0d, 6), c(0x1c, 9), c(0x08, 10)],
    &[c(0x12, 7), c(0x1b, 9), c(0x54, 12)],
    &[c(0x14, 7), c(0x1a, 9), c(0x57, 12)],
    &[c(0x19, 8), c(0x09, 10)],
    &[c(0x18, 8), c(0x23, 11)],
    &[c(0x17, 8)],
    &[c(0x19, 9)],
    &[c(0x18, 9)],
    &[c(0x07, 10)],
    &[c(0x58, 12)],
];

/// Table B-16, intra TCOEF codes, `last = 1`, indexed by run (0..=20), then level - 1.
pub const TCOEF_INTRA_LAST1: [TcoefRow; 21] = [
    &[
        c(0x07, 4),
        c(0x0c, 6),
        c(0x16, 8),
        c(0x17, 9),
        c(0x06, 10),
        c(0x05, 11),
        c(0x04, 11),
        c(0x59, 12),
    ],
    &[c(0x0f, 6), c(0x16, 9), c(0x05, 10)],
    &[c(0x0e, 6), c(0x04, 10)],
    &[c(0x11, 7), c(0x24, 11)],
    &[c(0x10, 7), c(0x25, 11)],
    &[c(0x13, 7), c(0x5a, 12)],
    &[c(0x15, 8), c(0x5b, 12)],
    &[c(0x14, 8)],
    &[c(0x13, 8)],
    &[c(0x1a, 8)],
    &[c(0x15, 9)],
    &[c(0x14, 9)],
    &[c(0x13, 9)],
    &[c(0x12, 9)],
    &[c(0x11, 9)],
    &[c(0x26, 11)],
    &[c(0x27, 11)],
    &[c(0x5c, 12)],
    &[c(0x5d, 12)],
    &[c(0x5e, 12)],
    &[c(0x5f, 12)],
];

/// Table B-17, inter TCOEF codes, `last = 0`, indexed by run (0..=26), then level - 1.
pub const TCOEF_INTER_LAST0: [TcoefRow; 27] = [
    &[
        c(0x02, 2),
        c(0x0f, 4),
        c(0x15, 6),
        c(0x17, 7),
        c(0x1f, 8),
        c(0x25, 9),
        c(0x24, 9),
        c(0x21, 10),
        c(0x20, 10),
        c(0x07, 11),
        c(0x06, 11),
        c(0x20, 11),
    ],
    &[
        c(0x06, 3),
        c(0x14, 6),
        c(0x1e, 8),
        c(0x0f, 10),
        c(0x21, 11),
        c(0x50, 12),
    ],
    &[c(0x0e, 4), c(0x1d, 8), c(0x0e, 10), c(0x51, 12)],
    &[c(0x0d, 5), c(0x23, 9), c(0x0d, 10)],
    &[c(0x0c, 5), c(0x22, 9), c(0x52, 12)],
    &[c(0x0b, 5), c(0x0c, 10), c(0x53, 12)],
    &[c(0x13, 6), c(0x0b, 10), c(0x54, 12)],
    &[c(0x12, 6), c(0x0a, 10)],
    &[c(0x11, 6), c(0x09, 10)],
    &[c(0x10, 6), c(0x08, 10)],
    &[c(0x16, 7), c(0x55, 12)],
    &[c(0x15, 7)],
    &[c(0x14, 7)],
    &[c(0x1c, 8)],
    &[c(0x1b, 8)],
    &[c(0x21, 9)],
    &[c(0x20, 9)],
    &[c(0x1f, 9)],
    &[c(0x1e, 9)],
    &[c(0x1d, 9)],
    &[c(0x1c, 9)],
    &[c(0x1b, 9)],
    &[c(0x1a, 9)],
    &[c(0x22, 11)],
    &[c(0x23, 11)],
    &[c(0x56, 12)],
    &[c(0x57, 12)],
];

/// Table B-17, inter TCOEF codes, `last = 1`, indexed by run (0..=40), then level - 1.
pub const TCOEF_INTER_LAST1: [TcoefRow; 41] = [
    &[c(0x07, 4), c(0x19, 9), c(0x05, 11)],
    &[c(0x0f, 6), c(0x04, 11)],
    &[c(0x0e, 6)],
    &[c(0x0d, 6)],
    &[c(0x0c, 6)],
    &[c(0x13, 7)],
    &[c(0x12, 7)],
    &[c(0x11, 7)],
    &[c(0x10, 7)],
    &[c(0x1a, 8)],
    &[c(0x19, 8)],
    &[c(0x18, 8)],
    &[c(0x17, 8)],
    &[c(0x16, 8)],
    &[c(0x15, 8)],
    &[c(0x14, 8)],
    &[c(0x13, 8)],
    &[c(0x18, 9)],
    &[c(0x17, 9)],
    &[c(0x16, 9)],
    &[c(0x15, 9)],
    &[c(0x14, 9)],
    &[c(0x13, 9)],
    &[c(0x12, 9)],
    &[c(0x11, 9)],
    &[c(0x07, 10)],
    &[c(0x06, 10)],
    &[c(0x05, 10)],
    &[c(0x04, 10)],
    &[c(0x24, 11)],
    &[c(0x25, 11)],
    &[c(0x26, 11)],
    &[c(0x27, 11)],
    &[c(0x58, 12)],
    &[c(0x59, 12)],
    &[c(0x5a, 12)],
    &[c(0x5b, 12)],
    &[c(0x5c, 12)],
    &[c(0x5d, 12)],
    &[c(0x5e, 12)],
    &[c(0x5f, 12)],
];

/// Table B-23 escape of the reversible TCOEF tables, `0000`; a marker bit follows.
pub const RVLC_ESCAPE: Code = c(0b0000, 4);

/// Table B-23, intra reversible TCOEF codes, `last = 0`, by run (0..=19), then level - 1.
pub const RVLC_INTRA_LAST0: [TcoefRow; 20] = [
    &[
        c(0x0006, 3),
        c(0x0007, 3),
        c(0x000a, 4),
        c(0x0009, 5),
        c(0x0014, 6),
        c(0x0015, 6),
        c(0x0034, 7),
        c(0x0074, 8),
        c(0x0075, 8),
        c(0x00dd, 9),
        c(0x00ec, 9),
        c(0x01ec, 10),
        c(0x01ed, 10),
        c(0x01f4, 10),
        c(0x03ec, 11),
        c(0x03ed, 11),
        c(0x03f4, 11),
        c(0x077d, 12),
        c(0x07bc, 12),
        c(0x0fbd, 13),
        c(0x0fdc, 13),
        c(0x07bd, 12),
        c(0x0fdd, 13),
        c(0x1fbd, 14),
        c(0x1fdc, 14),
        c(0x1fdd, 14),
        c(0x1ffc, 15),
    ],
    &[
        c(0x0001, 4),
        c(0x0008, 5),
        c(0x002d, 7),
        c(0x006c, 8),
        c(0x006d, 8),
        c(0x00dc, 9),
        c(0x01dd, 10),
        c(0x03dc, 11),
        c(0x03dd, 11),
        c(0x077c, 12),
        c(0x0fbc, 13),
        c(0x1f7d, 14),
        c(0x1fbc, 14),
    ],
    &[
        c(0x0004, 5),
        c(0x002c, 7),
        c(0x00bc, 9),
        c(0x01dc, 10),
        c(0x03bc, 11),
        c(0x03bd, 11),
        c(0x0efd, 13),
        c(0x0f7c, 13),
        c(0x0f7d, 13),
        c(0x1efd, 14),
        c(0x1f7c, 14),
    ],
    &[
        c(0x0005, 5),
        c(0x005c, 8),
        c(0x00bd, 9),
        c(0x037d, 11),
        c(0x06fc, 12),
        c(0x0efc, 13),
        c(0x1dfd, 14),
        c(0x1efc, 14),
        c(0x1ffd, 15),
    ],
    &[
        c(0x000c, 6),
        c(0x005d, 8),
        c(0x01bd, 10),
        c(0x03fd, 12),
        c(0x06fd, 12),
        c(0x1bfd, 14),
    ],
    &[
        c(0x000d, 6),
        c(0x007d, 9),
        c(0x02fc, 11),
        c(0x05fc, 12),
        c(0x1bfc, 14),
        c(0x1dfc, 14),
    ],
    &[
        c(0x001c, 7),
        c(0x017c, 10),
        c(0x02fd, 11),
        c(0x05fd, 12),
        c(0x2ffc, 15),
    ],
    &[
        c(0x001d, 7),
        c(0x017d, 10),
        c(0x037c, 11),
        c(0x0dfd, 13),
        c(0x2ffd, 15),
    ],
    &[c(0x003c, 8), c(0x01bc, 10), c(0x0bfd, 13), c(0x17fd, 14)],
    &[c(0x003d, 8), c(0x01fd, 11), c(0x0dfc, 13), c(0x37fc, 15)],
    &[c(0x007c, 9), c(0x03fc, 12)],
    &[c(0x00fc, 10), c(0x0bfc, 13)],
    &[c(0x00fd, 10), c(0x37fd, 15)],
    &[c(0x01fc, 11)],
    &[c(0x07fc, 13)],
    &[c(0x07fd, 13)],
    &[c(0x0ffc, 14)],
    &[c(0x0ffd, 14)],
    &[c(0x17fc, 14)],
    &[c(0x3bfc, 15)],
];

/// Table B-23, reversible codes, `last = 1` (shared by intra and inter), by run (0..=44), then level - 1.
pub const RVLC_LAST1: [TcoefRow; 45] = [
    &[
        c(0x000b, 4),
        c(0x0078, 8),
        c(0x03f5, 11),
        c(0x0fec, 13),
        c(0x1fec, 14),
    ],
    &[
        c(0x0012, 5),
        c(0x00ed, 9),
        c(0x07dc, 12),
        c(0x1fed, 14),
        c(0x3bfd, 15),
    ],
    &[c(0x0013, 5), c(0x03f8, 11), c(0x3dfc, 15)],
    &[c(0x0018, 6), c(0x07dd, 12)],
    &[c(0x0019, 6), c(0x07ec, 12)],
    &[c(0x0022, 6), c(0x0fed, 13)],
    &[c(0x0023, 6), c(0x0ff4, 13)],
    &[c(0x0035, 7), c(0x0ff5, 13)],
    &[c(0x0038, 7), c(0x0ff8, 13)],
    &[c(0x0039, 7), c(0x0ff9, 13)],
    &[c(0x0042, 7), c(0x1ff4, 14)],
    &[c(0x0043, 7), c(0x1ff5, 14)],
    &[c(0x0079, 8), c(0x1ff8, 14)],
    &[c(0x0082, 8), c(0x3dfd, 15)],
    &[c(0x0083, 8)],
    &[c(0x00f4, 9)],
    &[c(0x00f5, 9)],
    &[c(0x00f8, 9)],
    &[c(0x00f9, 9)],
    &[c(0x0102, 9)],
    &[c(0x0103, 9)],
    &[c(0x01f5, 10)],
    &[c(0x01f8, 10)],
    &[c(0x01f9, 10)],
    &[c(0x0202, 10)],
    &[c(0x0203, 10)],
    &[c(0x03f9, 11)],
    &[c(0x0402, 11)],
    &[c(0x0403, 11)],
    &[c(0x07ed, 12)],
    &[c(0x07f4, 12)],
    &[c(0x07f5, 12)],
    &[c(0x07f8, 12)],
    &[c(0x07f9, 12)],
    &[c(0x0802, 12)],
    &[c(0x0803, 12)],
    &[c(0x1002, 13)],
    &[c(0x1003, 13)],
    &[c(0x1ff9, 14)],
    &[c(0x2002, 14)],
    &[c(0x2003, 14)],
    &[c(0x3efc, 15)],
    &[c(0x3efd, 15)],
    &[c(0x3f7c, 15)],
    &[c(0x3f7d, 15)],
];

/// Table B-23, inter reversible TCOEF codes, `last = 0`, by run (0..=38), then level - 1.
pub const RVLC_INTER_LAST0: [TcoefRow; 39] = [
    &[
        c(0x0006, 3),
        c(0x0001, 4),
        c(0x0004, 5),
        c(0x001c, 7),
        c(0x003c, 8),
        c(0x003d, 8),
        c(0x007c, 9),
        c(0x00fc, 10),
        c(0x00fd, 10),
        c(0x01fc, 11),
        c(0x01fd, 11),
        c(0x03fc, 12),
        c(0x07fc, 13),
        c(0x07fd, 13),
        c(0x0bfc, 13),
        c(0x0bfd, 13),
        c(0x0ffc, 14),
        c(0x0ffd, 14),
        c(0x1ffc, 15),
    ],
    &[
        c(0x0007, 3),
        c(0x000c, 6),
        c(0x005c, 8),
        c(0x007d, 9),
        c(0x017c, 10),
        c(0x02fc, 11),
        c(0x03fd, 12),
        c(0x0dfc, 13),
        c(0x17fc, 14),
        c(0x17fd, 14),
    ],
    &[
        c(0x000a, 4),
        c(0x001d, 7),
        c(0x00bc, 9),
        c(0x02fd, 11),
        c(0x05fc, 12),
        c(0x1bfc, 14),
        c(0x1bfd, 14),
    ],
    &[
        c(0x0005, 5),
        c(0x005d, 8),
        c(0x017d, 10),
        c(0x05fd, 12),
        c(0x0dfd, 13),
        c(0x1dfc, 14),
        c(0x1ffd, 15),
    ],
    &[
        c(0x0008, 5),
        c(0x006c, 8),
        c(0x037c, 11),
        c(0x0efc, 13),
        c(0x2ffc, 15),
    ],
    &[c(0x0009, 5), c(0x00bd, 9), c(0x037d, 11), c(0x0efd, 13)],
    &[c(0x000d, 6), c(0x01bc, 10), c(0x06fc, 12), c(0x1dfd, 14)],
    &[c(0x0014, 6), c(0x01bd, 10), c(0x06fd, 12), c(0x2ffd, 15)],
    &[c(0x0015, 6), c(0x01dc, 10), c(0x0f7c, 13)],
    &[c(0x002c, 7), c(0x01dd, 10), c(0x1efc, 14)],
    &[c(0x002d, 7), c(0x03bc, 11)],
    &[c(0x0034, 7), c(0x077c, 12)],
    &[c(0x006d, 8), c(0x0f7d, 13)],
    &[c(0x0074, 8), c(0x1efd, 14)],
    &[c(0x0075, 8), c(0x1f7c, 14)],
    &[c(0x00dc, 9), c(0x1f7d, 14)],
    &[c(0x00dd, 9), c(0x1fbc, 14)],
    &[c(0x00ec, 9), c(0x37fc, 15)],
    &[c(0x01ec, 10)],
    &[c(0x01ed, 10)],
    &[c(0x01f4, 10)],
    &[c(0x03bd, 11)],
    &[c(0x03dc, 11)],
    &[c(0x03dd, 11)],
    &[c(0x03ec, 11)],
    &[c(0x03ed, 11)],
    &[c(0x03f4, 11)],
    &[c(0x077d, 12)],
    &[c(0x07bc, 12)],
    &[c(0x07bd, 12)],
    &[c(0x0fbc, 13)],
    &[c(0x0fbd, 13)],
    &[c(0x0fdc, 13)],
    &[c(0x0fdd, 13)],
    &[c(0x1fbd, 14)],
    &[c(0x1fdc, 14)],
    &[c(0x1fdd, 14)],
    &[c(0x37fd, 15)],
    &[c(0x3bfc, 15)],
];

/// Tables B-19 / B-20: LMAX, the largest level a TCOEF code carries for (last, run); escape
/// mode 1 adds it to the decoded level. Indexed `[last][run]`, 0 where no code exists.
pub const LMAX_INTRA: [[u8; 64]; 2] = lmax_from_runs(&[
    (0, 0, 27),
    (0, 1, 10),
    (0, 2, 5),
    (0, 3, 4),
    (0, 4, 3),
    (0, 5, 3),
    (0, 6, 3),
    (0, 7, 3),
    (0, 8, 2),
    (0, 9, 2),
    (0, 10, 1),
    (0, 11, 1),
    (0, 12, 1),
    (0, 13, 1),
    (0, 14, 1),
    (1, 0, 8),
    (1, 1, 3),
    (1, 2, 2),
    (1, 3, 2),
    (1, 4, 2),
    (1, 5, 2),
    (1, 6, 2),
    (1, 7, 1),
    (1, 8, 1),
    (1, 9, 1),
    (1, 10, 1),
    (1, 11, 1),
    (1, 12, 1),
    (1, 13, 1),
    (1, 14, 1),
    (1, 15, 1),
    (1, 16, 1),
    (1, 17, 1),
    (1, 18, 1),
    (1, 19, 1),
    (1, 20, 1),
]);

/// Table B-20 (inter LMAX), `[last][run]`; inter `last = 1` runs 2..=40 all have level 1.
pub const LMAX_INTER: [[u8; 64]; 2] = {
    let mut t = lmax_from_runs(&[
        (0, 0, 12),
        (0, 1, 6),
        (0, 2, 4),
        (0, 3, 3),
        (0, 4, 3),
        (0, 5, 3),
        (0, 6, 3),
        (0, 7, 2),
        (0, 8, 2),
        (0, 9, 2),
        (0, 10, 2),
        (1, 0, 3),
        (1, 1, 2),
    ]);
    let mut run = 11;
    while run <= 26 {
        t[0][run] = 1;
        run += 1;
    }
    let mut run = 2;
    while run <= 40 {
        t[1][run] = 1;
        run += 1;
    }
    t
};

/// Tables B-21 / B-22: RMAX, the longest run a TCOEF code carries for (last, level); escape
/// mode 2 adds `RMAX + 1` to the decoded run. Indexed `[last][level]` (level 0 unused).
pub const RMAX_INTRA: [[u8; 32]; 2] = rmax_from_levels(&[
    (0, 1, 14),
    (0, 2, 9),
    (0, 3, 7),
    (0, 4, 3),
    (0, 5, 2),
    (0, 6, 1),
    (0, 7, 1),
    (0, 8, 1),
    (0, 9, 1),
    (0, 10, 1),
    (1, 1, 20),
    (1, 2, 6),
    (1, 3, 1),
]);

/// Table B-22 (inter RMAX), `[last][level]`.
pub const RMAX_INTER: [[u8; 32]; 2] = rmax_from_levels(&[
    (0, 1, 26),
    (0, 2, 10),
    (0, 3, 6),
    (0, 4, 2),
    (0, 5, 1),
    (0, 6, 1),
    (1, 1, 40),
    (1, 2, 1),
]);

const fn lmax_from_runs(entries: &[(usize, usize, u8)]) -> [[u8; 64]; 2] {
    let mut t = [[0u8; 64]; 2];
    let mut i = 0;
    while i < entries.len() {
        let (last, run, level) = entries[i];
        t[last][run] = level;
        i += 1;
    }
    t
}

const fn rmax_from_levels(entries: &[(usize, usize, u8)]) -> [[u8; 32]; 2] {
    let mut t = [[0u8; 32]; 2];
    let mut i = 0;
    while i < entries.len() {
        let (last, level, run) = entries[i];
        t[last][level] = run;
        i += 1;
    }
    t
}

/// Zigzag scan (Figure 7-2): scan position -> raster index.
#[rustfmt::skip]
pub const ZIGZAG: [u8; 64] = [
     0,  1,  8, 16,  9,  2,  3, 10,
    17, 24, 32, 25, 18, 11,  4,  5,
    12, 19, 26, 33, 40, 48, 41, 34,
    27, 20, 13,  6,  7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36,
    29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46,
    53, 60, 61, 54, 47, 55, 62, 63,
];

/// Alternate-horizontal scan (Figure 7-3), used with AC prediction from the block above.
#[rustfmt::skip]
pub const ALTERNATE_HORIZONTAL: [u8; 64] = [
     0,  1,  2,  3,  8,  9, 16, 17,
    10, 11,  4,  5,  6,  7, 15, 14,
    13, 12, 19, 18, 24, 25, 32, 33,
    26, 27, 20, 21, 22, 23, 28, 29,
    30, 31, 34, 35, 40, 41, 48, 49,
    42, 43, 36, 37, 38, 39, 44, 45,
    46, 47, 50, 51, 56, 57, 58, 59,
    52, 53, 54, 55, 60, 61, 62, 63,
];

/// Alternate-vertical scan (Figure 7-3), used with AC prediction from the block on the left.
#[rustfmt::skip]
pub const ALTERNATE_VERTICAL: [u8; 64] = [
     0,  8, 16, 24,  1,  9,  2, 10,
    17, 25, 32, 40, 48, 56, 57, 49,
    41, 33, 26, 18,  3, 11,  4, 12,
    19, 27, 34, 42, 50, 58, 35, 43,
    51, 59, 20, 28,  5, 13,  6, 14,
    21, 29, 36, 44, 52, 60, 37, 45,
    53, 61, 22, 30,  7, 15, 23, 31,
    38, 46, 54, 62, 39, 47, 55, 63,
];

/// Default intra quantiser matrix (6.3.3), natural raster order.
#[rustfmt::skip]
pub const DEFAULT_INTRA_MATRIX: [u8; 64] = [
     8, 17, 18, 19, 21, 23, 25, 27,
    17, 18, 19, 21, 23, 25, 27, 28,
    20, 21, 22, 23, 24, 26, 28, 30,
    21, 22, 23, 24, 26, 28, 30, 32,
    22, 23, 24, 26, 28, 30, 32, 35,
    23, 24, 26, 28, 30, 32, 35, 38,
    25, 26, 28, 30, 32, 35, 38, 41,
    27, 28, 30, 32, 35, 38, 41, 45,
];

/// Default non-intra quantiser matrix (6.3.3), natural raster order.
#[rustfmt::skip]
pub const DEFAULT_INTER_MATRIX: [u8; 64] = [
    16, 17, 18, 19, 20, 21, 22, 23,
    17, 18, 19, 20, 21, 22, 23, 24,
    18, 19, 20, 21, 22, 23, 24, 25,
    19, 20, 21, 22, 23, 24, 26, 27,
    20, 21, 22, 23, 25, 26, 27, 28,
    21, 22, 23, 24, 26, 27, 28, 30,
    22, 23, 24, 26, 27, 28, 30, 31,
    23, 24, 25, 27, 28, 30, 31, 33,
];

/// Luminance DC scaler for a quantiser (Table 7-1): 8 for 1..=4, 2q for 5..=8, q+8 for
/// 9..=24, 2q-16 for 25..=31. Values outside 1..=31 are clamped into it.
pub const fn luma_dc_scaler(qscale: u8) -> u8 {
    match qscale {
        0..=4 => 8,
        5..=8 => 2 * qscale,
        9..=24 => qscale + 8,
        25..=31 => 2 * qscale - 16,
        _ => 46,
    }
}

/// Chrominance DC scaler (Table 7-1): 8 for 1..=4, (q+13)/2 for 5..=24, q-6 for 25..=31.
pub const fn chroma_dc_scaler(qscale: u8) -> u8 {
    match qscale {
        0..=4 => 8,
        5..=24 => (qscale + 13) / 2,
        25..=31 => qscale - 6,
        _ => 25,
    }
}

/// `intra_dc_vlc_thr` (Table 6-21): intra DC uses its own VLC while the quantiser is below this.
pub const INTRA_DC_THRESHOLD: [u8; 8] = [99, 13, 15, 17, 19, 21, 23, 0];

#[cfg(test)]
mod tests {
    use super::*;

    /// Kraft sum of a code set in units of 2^-16, after checking it is prefix-free.
    fn assert_prefix_free(codes: &[Code]) -> u64 {
        for (i, a) in codes.iter().enumerate() {
            assert!(
                a.len >= 1 && a.len <= 16 && u32::from(a.bits) < (1 << a.len),
                "{a:?}"
            );
            for b in &codes[i + 1..] {
                let n = a.len.min(b.len);
                let pa = a.bits >> (a.len - n);
                let pb = b.bits >> (b.len - n);
                assert_ne!(pa, pb, "{a:?} and {b:?} share a prefix");
            }
        }
        codes.iter().map(|c| 1u64 << (16 - c.len)).sum()
    }

    fn tcoef_codes(last0: &[TcoefRow], last1: &[TcoefRow]) -> Vec<Code> {
        let mut v: Vec<Code> = last0
            .iter()
            .chain(last1)
            .flat_map(|r| r.iter().copied())
            .collect();
        v.push(TCOEF_ESCAPE);
        v
    }

    #[test]
    fn every_table_is_a_prefix_code() {
        let mut i: Vec<Code> = MCBPC_I.iter().map(|e| e.0).collect();
        i.push(MCBPC_I_STUFFING);
        assert_prefix_free(&i);
        let mut p: Vec<Code> = MCBPC_P.iter().map(|e| e.0).collect();
        p.push(MCBPC_P_STUFFING);
        // Table B-7 (with stuffing) leaves only the all-zero 9-bit word unused.
        assert_eq!(assert_prefix_free(&p), (1 << 16) - (1 << 7));
        assert_prefix_free(&CBPY);
        assert_prefix_free(&MVD);
        assert_prefix_free(&DC_SIZE_LUMA);
        assert_prefix_free(&DC_SIZE_CHROMA);
    }

    #[test]
    fn tcoef_tables_have_102_codes_plus_escape_and_fill_the_code_space() {
        for (l0, l1) in [
            (&TCOEF_INTRA_LAST0[..], &TCOEF_INTRA_LAST1[..]),
            (&TCOEF_INTER_LAST0[..], &TCOEF_INTER_LAST1[..]),
        ] {
            let codes = tcoef_codes(l0, l1);
            assert_eq!(codes.len(), 103);
            // A prefix code that leaves only the words starting with nine zeros unused (Kraft
            // sum 1 - 2^-9): a transcription error would leave a hole or an overlap.
            let kraft = assert_prefix_free(&codes);
            assert_eq!(kraft, (1 << 16) - (1 << 7), "code space not filled");
        }
    }

    fn check_limits(
        last0: &[TcoefRow],
        last1: &[TcoefRow],
        lmax: &[[u8; 64]; 2],
        rmax: &[[u8; 32]; 2],
    ) {
        for (last, rows) in [last0, last1].into_iter().enumerate() {
            for (run, &limit) in lmax[last].iter().enumerate() {
                let n = rows.get(run).map_or(0, |r| r.len());
                assert_eq!(usize::from(limit), n, "LMAX last={last} run={run}");
            }
            for (level, &limit) in rmax[last].iter().enumerate().skip(1) {
                let longest = rows.iter().rposition(|r| r.len() >= level);
                let expect = longest.unwrap_or(0);
                assert_eq!(usize::from(limit), expect, "RMAX last={last} level={level}");
            }
        }
    }

    #[test]
    fn reversible_tables_are_prefix_and_suffix_free_with_169_codes() {
        let reverse = |c: &Code| Code {
            bits: c.bits.reverse_bits() >> (16 - c.len),
            len: c.len,
        };
        for last0 in [&RVLC_INTRA_LAST0[..], &RVLC_INTER_LAST0[..]] {
            let mut codes: Vec<Code> = last0
                .iter()
                .chain(RVLC_LAST1.iter())
                .flat_map(|r| r.iter().copied())
                .collect();
            codes.push(RVLC_ESCAPE);
            assert_eq!(codes.len(), 170);
            let kraft = assert_prefix_free(&codes);
            // Read backwards the codes must decode too: suffix-free.
            let reversed: Vec<Code> = codes.iter().map(reverse).collect();
            assert_eq!(assert_prefix_free(&reversed), kraft);
            assert_eq!(kraft, 65452); // 1 - 84 / 65536: words no encoder can send
        }
        // The intra and inter tables are the same code words, assigned differently.
        let mut a: Vec<(u16, u8)> = RVLC_INTRA_LAST0
            .iter()
            .flat_map(|r| r.iter().map(|c| (c.bits, c.len)))
            .collect();
        let mut b: Vec<(u16, u8)> = RVLC_INTER_LAST0
            .iter()
            .flat_map(|r| r.iter().map(|c| (c.bits, c.len)))
            .collect();
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b);
    }

    #[test]
    fn escape_limits_agree_with_the_tcoef_tables() {
        check_limits(
            &TCOEF_INTRA_LAST0,
            &TCOEF_INTRA_LAST1,
            &LMAX_INTRA,
            &RMAX_INTRA,
        );
        check_limits(
            &TCOEF_INTER_LAST0,
            &TCOEF_INTER_LAST1,
            &LMAX_INTER,
            &RMAX_INTER,
        );
    }

    #[test]
    fn scans_are_permutations_and_alternates_are_transposes() {
        for scan in [&ZIGZAG, &ALTERNATE_HORIZONTAL, &ALTERNATE_VERTICAL] {
            let mut seen = [false; 64];
            for &p in scan.iter() {
                assert!(!seen[usize::from(p)]);
                seen[usize::from(p)] = true;
            }
        }
        let transpose = |p: u8| (p % 8) * 8 + p / 8;
        for i in 0..64 {
            assert_eq!(ALTERNATE_HORIZONTAL[i], transpose(ALTERNATE_VERTICAL[i]));
        }
        // Zigzag walks anti-diagonals in order.
        let diag: Vec<u8> = ZIGZAG.iter().map(|&p| p / 8 + p % 8).collect();
        assert!(diag.windows(2).all(|w| w[1] >= w[0]));
    }

    #[test]
    fn dc_scalers_match_table_7_1() {
        let luma: Vec<u8> = (1..=31).map(luma_dc_scaler).collect();
        let chroma: Vec<u8> = (1..=31).map(chroma_dc_scaler).collect();
        assert_eq!(
            luma,
            [
                8, 8, 8, 8, 10, 12, 14, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
                31, 32, 34, 36, 38, 40, 42, 44, 46
            ]
        );
        assert_eq!(
            chroma,
            [
                8, 8, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15, 16, 16, 17, 17,
                18, 18, 19, 20, 21, 22, 23, 24, 25
            ]
        );
    }

    #[test]
    fn default_matrices_are_symmetric_where_the_standard_is() {
        // The inter default matrix is symmetric; the intra one is not (row 2 vs column 2).
        for r in 0..8 {
            for col in 0..8 {
                assert_eq!(
                    DEFAULT_INTER_MATRIX[r * 8 + col],
                    DEFAULT_INTER_MATRIX[col * 8 + r]
                );
            }
        }
        assert_eq!(DEFAULT_INTRA_MATRIX[0], 8);
        assert_eq!(DEFAULT_INTRA_MATRIX[63], 45);
        assert_eq!(DEFAULT_INTER_MATRIX[63], 33);
    }
}
