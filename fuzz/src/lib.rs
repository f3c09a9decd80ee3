//! The fuzzed operations, shared by the libFuzzer targets and the stable-toolchain smoke loop.
//! Each must return (an `Ok` or an `Err`) for every input: a panic, a hang or an abort is a bug.

use _core::video::Video;

/// Demux and parse headers, then decode every frame, stopping at the first error (as a user
/// iterating `frames()` would).
pub fn decode_any(data: &[u8]) {
    let Ok(video) = Video::from_bytes(data.to_vec()) else {
        return;
    };
    for frame in video.frames(None) {
        if frame.is_err() {
            break;
        }
    }
}

/// Container demux only (raw elementary stream, AVI, MP4).
pub fn demux(data: &[u8]) {
    let _ = _core::container::demux(data);
}
