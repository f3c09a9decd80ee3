//! Many samples (file, GOP, position) at once, decoded in parallel and written straight into one
//! stacked buffer: what data loaders call.
//!
//! Each call runs on its own rayon pool of the requested size (none at all for one thread), so
//! no thread survives into a forked process: DataLoader workers forked after a call start clean.
//! The one thing kept between calls is a small cache of opened (read and indexed) videos, so
//! that a loader asking batch after batch does not read the same files again.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use rayon::prelude::*;

use super::gop::{ReprOptions, Representation, Target};
use super::native::{self, frame_size, locate, position_many_into};
use super::residual::ResidualSample;
use crate::video::Video;
use crate::Error;

/// The stacked samples, `(len, height, width, channels)` row-major (`IFrame` also holds
/// [`Representation::Frame`] pictures).
pub enum BatchData<T> {
    IFrame(Vec<u8>),
    MotionVectors(Vec<i32>),
    Residual(Vec<T>),
}

pub struct Batch<T> {
    pub len: usize,
    pub width: usize,
    pub height: usize,
    pub data: BatchData<T>,
}

/// Why a batch failed: a file's own error (with the file), or files of different sizes.
#[derive(Debug)]
pub enum BatchError {
    Video { path: PathBuf, error: Error },
    Arguments(String),
}

fn video_error(path: &Path) -> impl Fn(Error) -> BatchError + '_ {
    move |error| BatchError::Video {
        path: path.to_path_buf(),
        error,
    }
}

/// How many opened videos [`open_cached`] keeps (the oldest goes first).
const CACHED_VIDEOS: usize = 64;

/// A file as it is on disk now: a changed size or modification time means a new file.
type FileKey = (PathBuf, u64, Option<SystemTime>);

static OPENED: Mutex<Vec<(FileKey, Arc<Video>)>> = Mutex::new(Vec::new());

/// `Video::open`, reusing a video opened by an earlier call when the file has not changed
/// since. The cache is only ever `try_lock`ed: a process forked while another thread held the
/// lock, or a poisoned lock, skips the cache instead of waiting.
fn open_cached(path: &Path) -> crate::Result<Arc<Video>> {
    let key = std::fs::metadata(path)
        .ok()
        .map(|m| (path.to_path_buf(), m.len(), m.modified().ok()));
    if let (Some(key), Ok(cache)) = (&key, OPENED.try_lock()) {
        if let Some((_, video)) = cache.iter().find(|(k, _)| k == key) {
            return Ok(Arc::clone(video));
        }
    }
    let video = Arc::new(Video::open(path)?);
    if let (Some(key), Ok(mut cache)) = (key, OPENED.try_lock()) {
        cache.retain(|(k, _)| k.0 != key.0);
        if cache.len() >= CACHED_VIDEOS {
            cache.remove(0);
        }
        cache.push((key, Arc::clone(&video)));
    }
    Ok(video)
}

/// Threads to use: `0` = all available cores.
pub(crate) fn thread_count(threads: usize) -> usize {
    if threads > 0 {
        threads
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

/// Run `job` on a fresh pool of `threads` threads, or on this thread when one is asked for (or a
/// pool cannot be made). `parallel` tells `job` whether it may use rayon's parallel iterators.
pub(crate) fn on_pool<R: Send>(threads: usize, job: impl FnOnce(bool) -> R + Send) -> R {
    if threads > 1 {
        if let Ok(pool) = rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
            return pool.install(|| job(true));
        }
    }
    job(false)
}

/// Decode sample `i` (`paths[i]`, `gops[i]`, `positions[i]`) of every index into one buffer.
pub fn load_batch<T: ResidualSample>(
    paths: &[PathBuf],
    gops: &[i64],
    positions: &[i64],
    rep: Representation,
    options: ReprOptions,
    threads: usize,
) -> Result<Batch<T>, BatchError> {
    let mut batches = load_batches(paths, gops, positions, &[rep], options, threads)?;
    Ok(batches.remove(0))
}

/// A zeroed buffer for `rep` of `len` values.
fn zeroed<T: ResidualSample>(rep: Representation, len: usize) -> BatchData<T> {
    match rep {
        Representation::IFrame | Representation::Frame => BatchData::IFrame(vec![0; len]),
        Representation::MotionVectors => BatchData::MotionVectors(vec![0; len]),
        Representation::Residual => BatchData::Residual(vec![T::default(); len]),
    }
}

/// `data` cut into one target per sample of `per_sample` values each.
fn slots<T>(rep: Representation, data: &mut BatchData<T>, per_sample: usize) -> Vec<Target<'_, T>> {
    match (rep, data) {
        (Representation::Frame, BatchData::IFrame(d)) => {
            d.chunks_mut(per_sample).map(Target::Frame).collect()
        }
        (_, BatchData::IFrame(d)) => d.chunks_mut(per_sample).map(Target::IFrame).collect(),
        (_, BatchData::MotionVectors(d)) => d
            .chunks_mut(per_sample)
            .map(Target::MotionVectors)
            .collect(),
        (_, BatchData::Residual(d)) => d.chunks_mut(per_sample).map(Target::Residual).collect(),
    }
}

/// Several representations of every sample, one stacked buffer each (in the order of `reps`),
/// each (file, GOP, position) decoded once for all of them.
pub fn load_batches<T: ResidualSample>(
    paths: &[PathBuf],
    gops: &[i64],
    positions: &[i64],
    reps: &[Representation],
    options: ReprOptions,
    threads: usize,
) -> Result<Vec<Batch<T>>, BatchError> {
    let n = batch_size(paths, gops, positions)?;
    if reps.is_empty() {
        return Err(BatchError::Arguments(
            "at least one representation is needed".into(),
        ));
    }
    for (k, rep) in reps.iter().enumerate() {
        if reps[..k].contains(rep) {
            return Err(BatchError::Arguments(format!(
                "representation {rep:?} is asked for twice"
            )));
        }
    }
    let governing = native::governing(reps.iter().copied());
    // Each distinct file is read and indexed once.
    let (distinct, file_of) = distinct_paths(paths);

    on_pool(thread_count(threads), |parallel| {
        let open = |p: &&Path| open_cached(p).map_err(video_error(p));
        let videos: Vec<Arc<Video>> = if parallel {
            distinct.par_iter().map(open).collect::<Result<_, _>>()?
        } else {
            distinct.iter().map(open).collect::<Result<_, _>>()?
        };
        let (width, height) = frame_size(&videos[0]);
        for (video, path) in videos.iter().zip(&distinct) {
            if frame_size(video) != (width, height) {
                let (w, h) = frame_size(video);
                return Err(BatchError::Arguments(format!(
                    "{}: frame size {w}x{h} differs from {}'s {width}x{height}; a batch needs one size",
                    path.display(),
                    distinct[0].display()
                )));
            }
        }
        // Check every index before decoding anything.
        for i in 0..n {
            locate(&videos[file_of[i]], gops[i], positions[i], governing)
                .map_err(video_error(&paths[i]))?;
        }
        if width * height == 0 {
            return Err(video_error(distinct[0])(Error::Unsupported(
                "repr: the frames have no pixels".into(),
            )));
        }
        let mut data: Vec<BatchData<T>> = reps
            .iter()
            .map(|&rep| zeroed(rep, n * rep.channels() * width * height))
            .collect();
        // Per sample, its slot in every buffer.
        let mut per_sample: Vec<Vec<Target<'_, T>>> = (0..n).map(|_| Vec::new()).collect();
        for (&rep, buffer) in reps.iter().zip(data.iter_mut()) {
            let cut = slots(rep, buffer, rep.channels() * width * height);
            for (sample, target) in per_sample.iter_mut().zip(cut) {
                sample.push(target);
            }
        }
        let decode = |(i, targets): (usize, Vec<Target<'_, T>>)| {
            position_many_into(&videos[file_of[i]], gops[i], positions[i], options, targets)
                .map_err(video_error(&paths[i]))
        };
        if parallel {
            per_sample
                .into_par_iter()
                .enumerate()
                .try_for_each(decode)?;
        } else {
            per_sample.into_iter().enumerate().try_for_each(decode)?;
        }
        Ok(data
            .into_iter()
            .map(|data| Batch {
                len: n,
                width,
                height,
                data,
            })
            .collect())
    })
}

/// The number of samples of a batch given as three parallel lists: an argument error when they
/// differ in length or are empty.
pub(crate) fn batch_size(
    paths: &[PathBuf],
    gops: &[i64],
    positions: &[i64],
) -> Result<usize, BatchError> {
    let n = paths.len();
    if gops.len() != n || positions.len() != n {
        return Err(BatchError::Arguments(format!(
            "paths, gops and positions must have the same length, got {n}, {}, {}",
            gops.len(),
            positions.len()
        )));
    }
    if n == 0 {
        return Err(BatchError::Arguments("the batch is empty".into()));
    }
    Ok(n)
}

/// The distinct files of a batch, in first-seen order, and each sample's index into them: every
/// file is read and indexed once, however many samples it has.
pub(crate) fn distinct_paths(paths: &[PathBuf]) -> (Vec<&Path>, Vec<usize>) {
    let mut slot_of: HashMap<&Path, usize> = HashMap::new();
    let mut distinct: Vec<&Path> = Vec::new();
    let slots = paths
        .iter()
        .map(|p| {
            *slot_of.entry(p.as_path()).or_insert_with(|| {
                distinct.push(p.as_path());
                distinct.len() - 1
            })
        })
        .collect();
    (distinct, slots)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: ReprOptions = ReprOptions {
        accumulate: true,
        bgr: false,
    };

    fn run(paths: &[&str], gops: &[i64], positions: &[i64]) -> Result<Batch<i16>, BatchError> {
        let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
        let rep = Representation::MotionVectors;
        load_batch(&paths, gops, positions, rep, OPTIONS, 2)
    }

    #[test]
    fn mismatched_or_empty_batches_are_argument_errors() {
        assert!(
            matches!(run(&["a"], &[0, 1], &[0]), Err(BatchError::Arguments(m)) if m.contains("same length"))
        );
        assert!(matches!(run(&[], &[], &[]), Err(BatchError::Arguments(m)) if m.contains("empty")));
    }

    #[test]
    fn empty_or_repeated_representations_are_argument_errors() {
        let paths = [PathBuf::from("/nonexistent/clip.m4v")];
        let run = |reps: &[Representation]| {
            load_batches::<i16>(&paths, &[0], &[0], reps, OPTIONS, 1).map(|_| ())
        };
        assert!(matches!(run(&[]), Err(BatchError::Arguments(m)) if m.contains("at least one")));
        let twice = [
            Representation::MotionVectors,
            Representation::Residual,
            Representation::MotionVectors,
        ];
        assert!(matches!(run(&twice), Err(BatchError::Arguments(m)) if m.contains("twice")));
    }

    #[test]
    fn a_missing_file_is_named() {
        match run(&["/nonexistent/clip.m4v"], &[0], &[0]) {
            Err(BatchError::Video {
                path,
                error: Error::Io(_),
            }) => {
                assert_eq!(path, PathBuf::from("/nonexistent/clip.m4v"))
            }
            Err(other) => panic!("unexpected error {other:?}"),
            Ok(_) => panic!("a missing file loaded"),
        }
    }

    #[test]
    fn thread_count_zero_means_all_cores() {
        assert!(thread_count(0) >= 1);
        assert_eq!(thread_count(3), 3);
        assert!(!on_pool(1, |parallel| parallel));
        assert!(on_pool(2, |parallel| parallel && rayon::current_num_threads() == 2));
    }
}
