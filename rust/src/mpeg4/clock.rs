//! FFmpeg's VOP clock (`time_base`, `pp_time`, `pb_time` of mpeg4videodec.c), in ticks of
//! `vop_time_increment_resolution`. The indexer asks it which B-VOPs FFmpeg drops ("messed up
//! order": a B-VOP whose time is not strictly between its references); the decoder takes from it
//! the temporal distances TRB/TRD of direct mode. Both must feed it every VOP header in decode
//! order (coded or not) and every GOV time code, so that they agree.
#![forbid(unsafe_code)]

use crate::decoded::FrameType;
use crate::mpeg4::header::VopHeader;

/// Where a VOP falls on the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VopTime {
    /// An I-, P- or S-VOP (a reference; it moves the clock).
    Reference,
    /// A B-VOP between its references: TRB (past reference to it) and TRD (past to future
    /// reference), FFmpeg's `pb_time` and `pp_time`.
    Between { trb: i64, trd: i64 },
    /// A B-VOP FFmpeg drops: its time is not strictly between its references.
    Mistimed,
}

/// The clock state: whole seconds and the times of the last two references.
#[derive(Clone, Copy, Debug, Default)]
pub struct VopClock {
    /// Whole seconds of the current reference (set by GOV headers, advanced by
    /// `modulo_time_base`).
    time_base: i64,
    last_time_base: i64,
    last_non_b_time: i64,
    pp_time: i64,
}

impl VopClock {
    /// A group-of-VOP header sets the seconds counter to its time code.
    pub fn gov(&mut self, seconds: u32) {
        self.time_base = i64::from(seconds);
    }

    /// Advance for one VOP header (`resolution`: the VOL's `vop_time_increment_resolution`).
    pub fn vop(&mut self, header: &VopHeader, resolution: u32) -> VopTime {
        let res = i64::from(resolution.max(1));
        let incr = i64::from(header.modulo_time_base);
        let increment = i64::from(header.time_increment);
        if header.coding_type == FrameType::B {
            let time = (self.last_time_base + incr) * res + increment;
            let pb_time = self.pp_time - (self.last_non_b_time - time);
            if self.pp_time <= pb_time
                || self.pp_time <= self.pp_time - pb_time
                || self.pp_time <= 0
            {
                return VopTime::Mistimed;
            }
            VopTime::Between {
                trb: pb_time,
                trd: self.pp_time,
            }
        } else {
            self.last_time_base = self.time_base;
            self.time_base += incr;
            let time = self.time_base * res + increment;
            self.pp_time = time - self.last_non_b_time;
            self.last_non_b_time = time;
            VopTime::Reference
        }
    }

    /// Time of the last I/P-VOP and its distance to the one before (interlaced direct mode).
    pub fn reference_times(&self) -> (i64, i64) {
        (self.last_non_b_time, self.pp_time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vop(coding_type: FrameType, modulo_time_base: u32, time_increment: u32) -> VopHeader {
        VopHeader {
            coding_type,
            modulo_time_base,
            time_increment,
            vop_coded: true,
            rounding_type: false,
            intra_dc_vlc_thr: 0,
            top_field_first: false,
            alternate_vertical_scan: false,
            quant: 4,
            fcode_forward: 1,
            fcode_backward: 1,
            warping_points: Vec::new(),
            header_bits: 0,
        }
    }

    fn between(trb: i64, trd: i64) -> VopTime {
        VopTime::Between { trb, trd }
    }

    #[test]
    fn clock_gives_trb_and_trd_in_decode_order() {
        // Display I0 B1 B2 P3 B4 P5 at 25 ticks per second, decode order I0 P3 B1 B2 P5 B4.
        let mut clock = VopClock::default();
        let res = 25;
        assert_eq!(clock.vop(&vop(FrameType::I, 0, 0), res), VopTime::Reference);
        assert_eq!(clock.vop(&vop(FrameType::P, 0, 3), res), VopTime::Reference);
        assert_eq!(clock.vop(&vop(FrameType::B, 0, 1), res), between(1, 3));
        assert_eq!(clock.vop(&vop(FrameType::B, 0, 2), res), between(2, 3));
        assert_eq!(clock.vop(&vop(FrameType::P, 0, 5), res), VopTime::Reference);
        assert_eq!(clock.vop(&vop(FrameType::B, 0, 4), res), between(1, 2));
        // A B-VOP timed at or after its future reference is dropped (FFmpeg's check).
        assert_eq!(clock.vop(&vop(FrameType::B, 0, 5), res), VopTime::Mistimed);
        assert_eq!(clock.vop(&vop(FrameType::B, 0, 7), res), VopTime::Mistimed);
    }

    #[test]
    fn clock_crosses_seconds_and_gov_time_codes() {
        let mut clock = VopClock::default();
        let res = 25;
        clock.vop(&vop(FrameType::I, 0, 20), res);
        // P one second later (modulo_time_base 1, increment 2): 7 ticks after the I.
        clock.vop(&vop(FrameType::P, 1, 2), res);
        // The B in between belongs to the first second: its modulo_time_base counts from the
        // time base before the P.
        assert_eq!(clock.vop(&vop(FrameType::B, 0, 23), res), between(3, 7));
        assert_eq!(clock.vop(&vop(FrameType::B, 1, 0), res), between(5, 7));
        // A GOV restarts the seconds at its time code; an I-VOP there has modulo_time_base 0.
        clock.gov(3);
        clock.vop(&vop(FrameType::I, 0, 1), res);
        clock.vop(&vop(FrameType::P, 0, 4), res);
        assert_eq!(clock.vop(&vop(FrameType::B, 0, 2), res), between(1, 3));
    }
}
