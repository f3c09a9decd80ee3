//! Decode a file start to end (optionally converting every frame to BGR), for profiling the
//! decoder with `valgrind --tool=callgrind` (instruction counts are repeatable on a busy machine):
//!
//!   cargo build --release --no-default-features --bin decode_profile
//!   valgrind --tool=callgrind target/release/decode_profile clip.m4v [--bgr]
//!
//! `--dump FILE` writes every frame's Y, U and V planes (display order) to FILE, for comparing
//! with FFmpeg's decode.

use _core::repr::colour::frame_to_rgb;
use _core::video::Video;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: decode_profile FILE [--bgr]");
        std::process::exit(2);
    };
    let bgr = args.iter().any(|a| a == "--bgr");
    let mut dump = args
        .iter()
        .position(|a| a == "--dump")
        .and_then(|i| args.get(i + 1))
        .map(|p| std::fs::File::create(p).map(std::io::BufWriter::new));
    if let Some(Err(e)) = &dump {
        eprintln!("cannot create the dump file: {e}");
        std::process::exit(1);
    }
    let video = match Video::open(std::path::Path::new(path)) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let (mut frames, mut bytes) = (0usize, 0usize);
    for frame in video.frames(None) {
        match frame {
            Ok(f) => {
                frames += 1;
                if bgr {
                    bytes += frame_to_rgb(&f.frame.yuv, true).len();
                }
                if let Some(Ok(out)) = dump.as_mut() {
                    let yuv = &f.frame.yuv;
                    for plane in [&yuv.y, &yuv.u, &yuv.v] {
                        if let Err(e) = std::io::Write::write_all(out, &plane.data) {
                            eprintln!("dump: {e}");
                            std::process::exit(1);
                        }
                    }
                }
            }
            Err(e) => {
                eprintln!("{path}: {e}");
                std::process::exit(1);
            }
        }
    }
    println!("{frames} frames ({bytes} BGR bytes)");
}
