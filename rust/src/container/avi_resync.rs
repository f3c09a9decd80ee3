//! Reading a damaged AVI the way FFmpeg's AVI demuxer reads every interleaved file: a linear
//! walk from the start of `movi` that takes each plausible chunk header it meets and scans
//! forward byte by byte over anything else. List sizes are never trusted, `idx1` is not used
//! (FFmpeg reads interleaved files linearly, the index only serves seeking), and a chunk that
//! runs past the end of a truncated file is kept with the bytes that are there.
//!
//! Used only when the structured chunk walk of [`super::avi`] meets damage (a size that runs
//! past its list, a truncated file), so intact files keep the strict path. The acceptance
//! rules (facts about FFmpeg's behaviour, checked against it in `tests/test_container_damage.py`):
//! - a header's size must fit the file as its RIFF header declares it (a truncated file
//!   still counts as its declared length, so a cut chunk is taken, and read partially);
//! - `JUNK`, `idx1`, `indx` and `ix##` chunks are skipped whole, a `LIST` header is stepped into;
//! - a stream chunk is `NN` (a stream number below the stream count) and two ASCII letters: any
//!   letters while the stream has not yet shown the same type five times in a row or when the
//!   header sits exactly where the previous chunk ended, else only the stream's usual type;
//! - after a chunk, scanning resumes right after its data (padding is scanned over).
#![forbid(unsafe_code)]

use super::{le_u32, Packet};

/// Consecutive chunks of one type after which only that type is accepted mid-scan.
const SETTLED_AFTER: usize = 5;

/// Per-stream chunk type seen last and how often in a row.
#[derive(Clone, Copy, Default)]
struct Prefix {
    kind: [u8; 2],
    count: usize,
}

/// Two ASCII digits as a stream number, 100 for anything else.
fn stream_number(pair: &[u8]) -> usize {
    match pair {
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
            usize::from(a - b'0') * 10 + usize::from(b - b'0')
        }
        _ => 100,
    }
}

/// The video packets of stream `video` found by a linear scan of `data` from `start` (the first
/// byte after the `movi` fourcc). `declared_end` is the file length the RIFF header promises
/// (at least the real length); `streams` the number of streams in the header list.
pub(super) fn scan_movi(
    data: &[u8],
    start: usize,
    declared_end: usize,
    streams: usize,
    video: usize,
) -> Vec<Packet> {
    let mut packets = Vec::new();
    let mut prefixes = vec![Prefix::default(); streams.max(video + 1)];
    let mut at = start;
    // Where the current scan began (right after the previous chunk) and where the last stream
    // chunk's header was (the parity of a candidate against it breaks digit-run ambiguities).
    let mut scan_start = start;
    let mut last_chunk = start;
    while let Some(window) = data.get(at..at + 8) {
        let size = le_u32(window, 4).unwrap_or(u32::MAX) as usize;
        let fits = (at as u64 + 7 + size as u64) <= declared_end as u64;
        if !fits || window[0] > 127 {
            at += 1;
            continue;
        }
        let id = &window[..4];
        let after = at + 8;
        let skip_whole = id == b"JUNK"
            || id == b"idx1"
            || id == b"indx"
            || (&id[..2] == b"ix" && stream_number(&id[2..]) < streams);
        if skip_whole {
            at = after.saturating_add(size);
            scan_start = at;
            continue;
        }
        if id == b"LIST" {
            at = after + 4;
            scan_start = at;
            continue;
        }
        let number = stream_number(&id[..2]);
        if (at - last_chunk) % 2 == 1 && stream_number(&id[1..3]) < streams {
            at += 1;
            continue;
        }
        if number < streams && &id[2..] == b"ix" {
            at = after.saturating_add(size);
            scan_start = at;
            continue;
        }
        if number >= streams {
            at += 1;
            continue;
        }
        let kind = [id[2], id[3]];
        let prefix = &mut prefixes[number];
        let ascii = kind.iter().all(|&b| b < 128);
        let accepted =
            ((prefix.count < SETTLED_AFTER || at == scan_start) && ascii) || kind == prefix.kind;
        if !accepted {
            at += 1;
            continue;
        }
        if kind == prefix.kind {
            prefix.count += 1;
        } else {
            *prefix = Prefix { kind, count: 0 };
        }
        if number == video {
            let end = after.saturating_add(size).min(data.len());
            packets.push(Packet {
                offset: after.min(data.len()),
                len: end.saturating_sub(after),
            });
        }
        last_chunk = at;
        at = after.saturating_add(size);
        scan_start = at;
    }
    packets
}

#[cfg(test)]
mod tests {
    use super::super::avi::tests::chunk;
    use super::*;

    fn body(data: &[u8], p: &Packet) -> Vec<u8> {
        data[p.range()].to_vec()
    }

    #[test]
    fn takes_chunks_skips_junk_and_steps_into_lists() {
        let mut movi = chunk(b"00dc", b"abc");
        movi.extend(chunk(b"JUNK", b"00dc\x01\0\0\0x"));
        movi.extend(chunk(b"01wb", b"00dc"));
        movi.extend(chunk(
            b"LIST",
            &[b"rec ".as_slice(), &chunk(b"00db", b"xy")].concat(),
        ));
        let packets = scan_movi(&movi, 0, movi.len(), 2, 0);
        let bodies: Vec<_> = packets.iter().map(|p| body(&movi, p)).collect();
        assert_eq!(bodies, vec![b"abc".to_vec(), b"xy".to_vec()]);
    }

    #[test]
    fn a_size_past_the_file_is_scanned_over_and_a_cut_chunk_is_kept() {
        let mut movi = chunk(b"00dc", b"first");
        let lie = movi.len();
        movi.extend(chunk(b"00dc", b"second"));
        movi.extend(chunk(b"00dc", b"third"));
        movi[lie + 4..lie + 8].copy_from_slice(&0xFFFF_FF00u32.to_le_bytes());
        let packets = scan_movi(&movi, 0, movi.len(), 1, 0);
        let bodies: Vec<_> = packets.iter().map(|p| body(&movi, p)).collect();
        assert_eq!(bodies, vec![b"first".to_vec(), b"third".to_vec()]);
        // A file cut inside its last chunk, whose RIFF header promises more: the rest is kept.
        let cut = &movi[..movi.len() - 3];
        let packets = scan_movi(cut, 0, movi.len(), 1, 0);
        assert_eq!(body(cut, packets.last().unwrap()), b"thi".to_vec());
        // Every cut gives packets inside the data, never a panic.
        for n in 0..movi.len() {
            assert!(scan_movi(&movi[..n], 0, movi.len(), 1, 0)
                .iter()
                .all(|p| p.offset + p.len <= n));
        }
    }
}
