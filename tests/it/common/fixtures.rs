//! The fixed fixture set of the report tests, generated deterministically by
//! [`super::builder`] and committed under `tests/fixtures/` (a test checks the
//! files still match; set `MSGPERF_WRITE_FIXTURES=1` to rewrite them).
//!
//! - `current/`: smi 100 ms ×3 (valid, ~4,210 msg/s), smi 1 s ×3 (two valid at
//!   ~3,400 msg/s, r3 generator-bound), smi 10 s ×1 (ended before saturating).
//! - `baseline/`: smi 100 ms ×3 (~4,290, so −1.7%: not significant), smi 1 s ×3
//!   (~3,910, so −13%: a regression), smi 500 ms ×2 (missing now).

use super::builder::{build, Spec};
use msgperf::results::RunResult;
use std::path::{Path, PathBuf};

/// `tests/fixtures/<name>` of this crate.
pub fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn reps(smi: f64, caps: &[f64]) -> Vec<RunResult> {
    caps.iter()
        .enumerate()
        .map(|(i, &c)| build(&Spec::new(smi, i as u32 + 1, c)))
        .collect()
}

/// The current runs.
pub fn current() -> Vec<RunResult> {
    let mut out = reps(100.0, &[4180.0, 4250.0, 4205.0]);
    out.extend(reps(1000.0, &[3400.0, 3380.0]));
    let mut bound = Spec::new(1000.0, 3, 3420.0);
    bound.generator_bound = true;
    out.push(build(&bound));
    let mut early = Spec::new(10_000.0, 1, 4000.0);
    early.max_s = 120;
    out.push(build(&early));
    out
}

/// The baseline runs.
pub fn baseline() -> Vec<RunResult> {
    let mut out = reps(100.0, &[4150.0, 4420.0, 4290.0]);
    out.extend(reps(1000.0, &[3900.0, 3950.0, 3880.0]));
    out.extend(reps(500.0, &[3600.0, 3650.0]));
    out
}

/// Writes both sets under `tests/fixtures/` (replacing what is there).
pub fn write_all() {
    for (name, runs) in [("current", current()), ("baseline", baseline())] {
        let d = dir(name);
        let _ = std::fs::remove_dir_all(&d);
        for r in runs {
            r.write_to_dir(&d).unwrap();
        }
    }
}
