//! A stable-toolchain fuzz loop for when libFuzzer (nightly + cargo-fuzz) is not available:
//! mutates seed files (bit flips, byte overwrites, insertions, deletions, duplicated and spliced
//! ranges, truncation) and runs a target on each, catching panics and watching for hangs.
//!
//!   cargo run --release --no-default-features --bin fuzz_smoke -- TARGET SECONDS SEED_DIR...
//!
//! TARGET is `decode_any` or `demux`. A panicking input is saved to `artifacts/TARGET/crash-*`,
//! an input that runs longer than 60 s of wall-clock time (generous: the loop runs at low
//! priority on a busy machine) to `artifacts/TARGET/timeout-*`, and the process exits. Each new
//! slowest input above 2 s goes to `artifacts/TARGET/slow-*` for a second look.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Wall-clock seconds one input may run before it counts as a hang.
const WATCHDOG_SECS: u64 = 60;

/// xorshift64*: deterministic per seed, no dependencies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Mutations concentrate on the first bytes a few times out of ten (headers), elsewhere
/// uniformly (macroblock data).
fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut d = seed.to_vec();
    let rounds = 1 + rng.below(8);
    for _ in 0..rounds {
        let len = d.len().max(1);
        let pos = if rng.below(10) < 3 {
            rng.below(len.min(256))
        } else {
            rng.below(len)
        };
        match rng.below(9) {
            0 | 1 => {
                if let Some(b) = d.get_mut(pos) {
                    *b ^= 1 << rng.below(8);
                }
            }
            2 => {
                if let Some(b) = d.get_mut(pos) {
                    *b = [0x00, 0xFF, 0x01, 0xB6, 0x80, 0x7F][rng.below(6)];
                }
            }
            3 => {
                let n = 1 + rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                d.splice(pos.min(d.len())..pos.min(d.len()), bytes);
            }
            4 => {
                let end = (pos + 1 + rng.below(64)).min(d.len());
                if pos < end {
                    d.drain(pos..end);
                }
            }
            5 => {
                // Duplicate a range (repeated headers, packets).
                let end = (pos + 1 + rng.below(512)).min(d.len());
                if pos < end {
                    let copy = d[pos..end].to_vec();
                    let at = rng.below(d.len() + 1);
                    d.splice(at..at, copy);
                }
            }
            6 => {
                // Splice in a range of another seed.
                if !other.is_empty() {
                    let a = rng.below(other.len());
                    let b = (a + 1 + rng.below(1024)).min(other.len());
                    let at = pos.min(d.len());
                    d.splice(at..at, other[a..b].iter().copied());
                }
            }
            7 => {
                d.truncate(pos);
            }
            _ => {
                // A start code in a random place.
                let at = pos.min(d.len());
                let code = [0x00, 0x00, 0x01, [0xB6, 0xB3, 0x20, 0xB0][rng.below(4)]];
                d.splice(at..at, code);
            }
        }
    }
    d
}

fn save(dir: &Path, kind: &str, data: &[u8]) -> PathBuf {
    let hash = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let path = dir.join(format!("{kind}-{hash:016x}"));
    let _ = std::fs::create_dir_all(dir);
    let _ = std::fs::write(&path, data);
    path
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: fuzz_smoke decode_any|demux SECONDS SEED_DIR...");
        std::process::exit(2);
    }
    let target: fn(&[u8]) = match args[1].as_str() {
        "decode_any" => pkdkit_fuzz::decode_any,
        "demux" => pkdkit_fuzz::demux,
        other => {
            eprintln!("unknown target {other}");
            std::process::exit(2);
        }
    };
    let seconds: u64 = args[2].parse().unwrap_or(60);
    let mut seeds = Vec::new();
    for dir in &args[3..] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            eprintln!("cannot read {dir}");
            continue;
        };
        for e in entries.flatten() {
            if let Ok(data) = std::fs::read(e.path()) {
                if !data.is_empty() && data.len() < 4 << 20 {
                    seeds.push(data);
                }
            }
        }
    }
    if seeds.is_empty() {
        eprintln!("no seed files");
        std::process::exit(2);
    }
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("artifacts")
        .join(&args[1]);

    // Watchdog: the input being run and since when; a hang saves it and exits.
    let current: Arc<Mutex<(Instant, Vec<u8>)>> = Arc::new(Mutex::new((Instant::now(), vec![])));
    {
        let current = Arc::clone(&current);
        let artifacts = artifacts.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(500));
            let guard = match current.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            if guard.0.elapsed() > Duration::from_secs(WATCHDOG_SECS) {
                let path = save(&artifacts, "timeout", &guard.1);
                eprintln!(
                    "TIMEOUT (> {WATCHDOG_SECS} s wall clock) on {}",
                    path.display()
                );
                std::process::exit(1);
            }
        });
    }
    std::panic::set_hook(Box::new(|info| eprintln!("panic: {info}")));

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seconds);
    let start = Instant::now();
    let (mut runs, mut crashes, mut slowest) = (0u64, 0u64, Duration::ZERO);
    while start.elapsed() < Duration::from_secs(seconds) {
        let seed = &seeds[rng.below(seeds.len())];
        let other = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seed, other);
        if let Ok(mut g) = current.lock() {
            *g = (Instant::now(), input.clone());
        }
        let t = Instant::now();
        let result = std::panic::catch_unwind(|| target(&input));
        let took = t.elapsed();
        if took > slowest {
            slowest = took;
            if took > Duration::from_secs(2) {
                // Kept for a look: on a busy machine a slow input may only have been starved.
                let path = save(&artifacts, "slow", &input);
                eprintln!(
                    "slow input ({:.1} s wall) saved to {}",
                    took.as_secs_f64(),
                    path.display()
                );
            }
        }
        runs += 1;
        if result.is_err() {
            crashes += 1;
            let path = save(&artifacts, "crash", &input);
            eprintln!("CRASH saved to {}", path.display());
        }
        if let Ok(mut g) = current.lock() {
            g.0 = Instant::now();
        }
    }
    println!(
        "{}: {runs} inputs in {:.0} s from {} seeds, {crashes} crashes, slowest input {:.1} ms",
        args[1],
        start.elapsed().as_secs_f64(),
        seeds.len(),
        slowest.as_secs_f64() * 1e3
    );
    if crashes > 0 {
        std::process::exit(1);
    }
}
