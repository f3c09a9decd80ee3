//! Data-partitioned video packets (ISO/IEC 14496-2, 6.2.6 `data_partitioned`, without reversible
//! VLCs): the packet carries first the macroblock types and motion vectors of all its MBs (I-VOPs:
//! types, `dquant` and intra DCs) up to a marker, then their CBPY / `ac_pred_flag` / `dquant`
//! (P-VOPs: and intra DCs), then all their texture.
//!
//! The order of operations follows FFmpeg's `mpeg4_decode_partition_a/_b` and
//! `mpeg4_decode_partitioned_mb` (the oracle), including which quantiser decides the intra DC
//! VLC in the texture part (the one left by the previous macroblock).
#![forbid(unsafe_code)]

use crate::bits::BitReader;
use crate::decoded::FrameType;
use crate::mpeg4::macroblock::{add_dquant, read_mv, Macroblock, MbKind, MbParams};
use crate::mpeg4::mv::{MvField, SliceState};
use crate::mpeg4::tables::MbType;
use crate::mpeg4::texture::TextureDecoder;
use crate::mpeg4::vlc::{read_cbpy, read_dquant, read_mcbpc_i, read_mcbpc_p, Mcbpc};

/// `dc_marker` closing the first partition of an I-VOP packet (19 bits).
const DC_MARKER: u32 = 0b110_1011_0000_0000_0001;
/// `motion_marker` closing the first partition of a P-VOP packet (17 bits).
const MOTION_MARKER: u32 = 0b1_1111_0000_0000_0001;

/// What the first two partitions say about one macroblock.
#[derive(Clone, Copy, Debug)]
pub struct PartitionedMb {
    kind: MbKind,
    /// Coded-block pattern (bit 5 = Y0 ... bit 0 = Cr).
    cbp: u8,
    dquant: bool,
    ac_pred: bool,
    qscale: u8,
}

/// Where a packet's MBs go and what they need.
pub struct PacketContext<'a> {
    pub params: &'a MbParams,
    pub mb_width: usize,
    pub total_mbs: usize,
    pub first_mb: usize,
    pub mvs: &'a mut MvField,
    pub texture: &'a mut TextureDecoder,
    /// Per-packet scratch, reused between packets.
    pub scratch: &'a mut Vec<PartitionedMb>,
}

/// Decode one data-partitioned packet starting at `ctx.first_mb`, calling `emit(index, mb)`
/// for every macroblock once its texture is decoded (in raster order). Returns the number of
/// MBs emitted; on error, the error and how many MBs were emitted before it.
pub fn decode_packet(
    r: &mut BitReader,
    ctx: PacketContext,
    qscale: &mut u8,
    mb: &mut Macroblock,
    mut emit: impl FnMut(usize, &mut Macroblock),
) -> Result<usize, (&'static str, usize)> {
    let PacketContext {
        params,
        mb_width,
        total_mbs,
        first_mb,
        mvs,
        texture,
        scratch,
    } = ctx;
    let intra_vop = params.coding_type == FrameType::I;
    scratch.clear();
    let start = SliceState::start(first_mb % mb_width, first_mb / mb_width);

    // Partition 1: macroblock types and vectors (I: types, dquant, DCs).
    let mut slice = start;
    let mut index = first_mb;
    'mbs: while index < total_mbs {
        let (mb_x, mb_y) = (index % mb_width, index / mb_width);
        slice.enter_mb(mb_x, mb_y);
        let entry = if intra_vop {
            let (mb_type, cbpc) = loop {
                if r.peek(19) == DC_MARKER {
                    break 'mbs;
                }
                match read_mcbpc_i(r) {
                    Some(Mcbpc::Stuffing) if !r.overrun() => continue,
                    Some(Mcbpc::Coded { mb_type, cbpc }) => break (mb_type, cbpc),
                    _ => return Err(("invalid intra MCBPC", 0)),
                }
            };
            if mb_type == MbType::IntraQ {
                *qscale = add_dquant(*qscale, read_dquant(r));
            }
            for block in 0..6 {
                texture
                    .decode_intra_dc(r, mb_x, mb_y, block, *qscale)
                    .map_err(|e| (e, 0))?;
            }
            PartitionedMb {
                kind: MbKind::Intra,
                cbp: cbpc & 3,
                dquant: false,
                ac_pred: false,
                qscale: *qscale,
            }
        } else {
            let (mb_type, cbpc) = loop {
                if r.peek(17) == MOTION_MARKER {
                    break 'mbs;
                }
                if r.read_bit() {
                    break (None, 0);
                }
                match read_mcbpc_p(r) {
                    Some(Mcbpc::Stuffing) if !r.overrun() => continue,
                    Some(Mcbpc::Coded { mb_type, cbpc }) => break (Some(mb_type), cbpc),
                    _ => return Err(("invalid inter MCBPC", 0)),
                }
            };
            let kind = match mb_type {
                None => {
                    mvs.set_mb(mb_x, mb_y, [0, 0]);
                    texture.mark_inter(mb_x, mb_y);
                    MbKind::Skipped
                }
                Some(MbType::Intra | MbType::IntraQ) => {
                    mvs.set_mb(mb_x, mb_y, [0, 0]);
                    MbKind::Intra
                }
                Some(MbType::Inter4V) => {
                    texture.mark_inter(mb_x, mb_y);
                    for block in 0..4 {
                        let pred = mvs.predict(mb_x, mb_y, block, &slice);
                        let mv = read_mv(r, pred, params.f_code).map_err(|e| (e, 0))?;
                        mvs.set(mb_x, mb_y, block, mv);
                    }
                    MbKind::Inter4V
                }
                Some(MbType::Inter | MbType::InterQ) => {
                    texture.mark_inter(mb_x, mb_y);
                    let pred = mvs.predict(mb_x, mb_y, 0, &slice);
                    let mv = read_mv(r, pred, params.f_code).map_err(|e| (e, 0))?;
                    mvs.set_mb(mb_x, mb_y, mv);
                    MbKind::Inter
                }
            };
            PartitionedMb {
                kind,
                cbp: cbpc & 3,
                dquant: matches!(mb_type, Some(MbType::InterQ | MbType::IntraQ)),
                ac_pred: false,
                qscale: *qscale,
            }
        };
        if r.overrun() {
            return Err(("first partition runs past the end of the VOP", 0));
        }
        scratch.push(entry);
        index += 1;
    }
    if scratch.is_empty() {
        return Err(("empty data partition", 0));
    }
    // Stuffing, then the marker that closes partition 1.
    let (stuffing_bits, marker, marker_bits) = if intra_vop {
        (9, DC_MARKER, 19)
    } else {
        (10, MOTION_MARKER, 17)
    };
    while r.peek(stuffing_bits) == 1 && !r.overrun() {
        r.skip(stuffing_bits);
    }
    if r.read(marker_bits) != marker {
        return Err(("missing marker after the first data partition", 0));
    }

    // Partition 2: CBPY and ac_pred (P: dquant and intra DCs).
    let mut slice = start;
    for (k, m) in scratch.iter_mut().enumerate() {
        let index = first_mb + k;
        let (mb_x, mb_y) = (index % mb_width, index / mb_width);
        slice.enter_mb(mb_x, mb_y);
        match m.kind {
            MbKind::Intra => {
                m.ac_pred = r.read_bit();
                let cbpy = read_cbpy(r, true).ok_or(("invalid CBPY", 0))?;
                if !intra_vop {
                    if m.dquant {
                        *qscale = add_dquant(*qscale, read_dquant(r));
                    }
                    m.qscale = *qscale;
                    for block in 0..6 {
                        texture
                            .decode_intra_dc(r, mb_x, mb_y, block, *qscale)
                            .map_err(|e| (e, 0))?;
                    }
                }
                m.cbp |= cbpy << 2;
            }
            MbKind::Skipped => {
                m.qscale = *qscale;
                m.cbp = 0;
            }
            _ => {
                let cbpy = read_cbpy(r, false).ok_or(("invalid CBPY", 0))?;
                if m.dquant {
                    *qscale = add_dquant(*qscale, read_dquant(r));
                }
                m.qscale = *qscale;
                m.cbp |= cbpy << 2;
            }
        }
        if r.overrun() {
            return Err(("second partition runs past the end of the VOP", 0));
        }
    }

    // Partition 3: texture, then reconstruction MB by MB.
    let mut running_q = *qscale;
    for (k, m) in scratch.iter().enumerate() {
        let index = first_mb + k;
        let (mb_x, mb_y) = (index % mb_width, index / mb_width);
        // FFmpeg decides the intra DC VLC with the quantiser left by the previous macroblock.
        let use_dc_vlc = running_q < params.intra_dc_threshold;
        running_q = m.qscale;
        mb.kind = m.kind;
        mb.cbp = m.cbp;
        mb.qscale = m.qscale;
        for block in 0..4 {
            mb.mv[block] = mvs.get(mb_x, mb_y, block);
        }
        match m.kind {
            MbKind::Intra => {
                for (i, block) in mb.blocks.iter_mut().enumerate() {
                    let coded = m.cbp & (32 >> i) != 0;
                    texture
                        .decode_intra_ac(
                            r, mb_x, mb_y, i, m.qscale, use_dc_vlc, m.ac_pred, coded, block,
                        )
                        .map_err(|e| (e, k))?;
                }
                mb.cbp = 63;
            }
            MbKind::Inter | MbKind::Inter4V => {
                for (i, (block, coefs)) in mb.blocks.iter_mut().zip(&mut mb.coefs).enumerate() {
                    if m.cbp & (32 >> i) != 0 {
                        texture
                            .decode_inter_block(r, m.qscale, block, coefs)
                            .map_err(|e| (e, k))?;
                    }
                }
            }
            MbKind::Skipped | MbKind::Concealed => {}
        }
        if r.overrun() {
            return Err(("texture partition runs past the end of the VOP", k));
        }
        emit(index, mb);
    }
    Ok(scratch.len())
}
