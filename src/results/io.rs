//! Writing and reading result files: atomic writes (temporary file, fsync,
//! rename) so a cancelled job never leaves half a file, and reads that refuse
//! a newer schema instead of misreading it.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{RunResult, SCHEMA_VERSION};

/// Why a result file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Not a result file, or a damaged one.
    #[error("{path}: not a msgperf result file: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// Written by a newer msgperf.
    #[error("{path}: result schema {found} is newer than this msgperf understands ({SCHEMA_VERSION}); upgrade msgperf")]
    NewerSchema {
        /// The file.
        path: PathBuf,
        /// Its schema.
        found: u32,
    },
}

/// The file name of scenario `id`'s result: `<id>.json`, or
/// `<id>.part2of3.json` for part 2 of 3 of a split run (part 0 is a merged one).
pub fn result_file_name(id: &str, part: Option<(u32, u32)>) -> String {
    match part {
        Some((part, parts)) if part > 0 => format!("{id}.part{part}of{parts}.json"),
        _ => format!("{id}.json"),
    }
}

impl RunResult {
    /// The file name of this run inside a results directory; parts of a
    /// split run carry their part (`<id>.part2of3.json`).
    pub fn file_name(&self) -> String {
        // Both sides of an A/B plan run the same scenario ids.
        let id = match self.side {
            Some(side) => format!("{}.{side}", self.scenario.id),
            None => self.scenario.id.clone(),
        };
        result_file_name(&id, self.split.as_ref().map(|s| (s.part, s.parts)))
    }

    /// The file name of this run's journal (`<id>.journal.jsonl`), see
    /// [`super::journal`].
    pub fn journal_name(&self) -> String {
        super::journal::journal_name(&self.file_name())
    }

    /// Writes `dir/<scenario-id>.json` atomically and returns its path.
    pub fn write_to_dir(&self, dir: &Path) -> Result<PathBuf, ResultsError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ResultsError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(self.file_name());
        let tmp = dir.join(format!(".{}.tmp", self.file_name()));
        let json = serde_json::to_vec_pretty(self).expect("result types always serialize");
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(&json).map_err(io(&tmp))?;
        f.write_all(b"\n").map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        Ok(path)
    }

    /// Reads one result file.
    pub fn read(path: &Path) -> Result<RunResult, ResultsError> {
        let text = std::fs::read(path).map_err(|source| ResultsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_slice(&text, path)
    }

    /// Decodes the bytes of a result file; `path` only names it in errors.
    pub fn from_slice(text: &[u8], path: &Path) -> Result<RunResult, ResultsError> {
        #[derive(Deserialize)]
        struct Probe {
            schema: u32,
        }
        let parse = |source| ResultsError::Parse {
            path: path.to_path_buf(),
            source,
        };
        let probe: Probe = serde_json::from_slice(text).map_err(parse)?;
        if probe.schema > SCHEMA_VERSION {
            return Err(ResultsError::NewerSchema {
                path: path.to_path_buf(),
                found: probe.schema,
            });
        }
        let mut run: RunResult = serde_json::from_slice(text).map_err(parse)?;
        if run.scenario.group.is_empty() {
            run.scenario.group = super::ScenarioInfo::group_from_id(&run.scenario.id);
        }
        Ok(run)
    }
}

/// Reads every `*.json` result file in `dir` (not recursive), sorted by scenario id.
/// Files that carry a `schema` but are not results (e.g. `report.json`) are skipped.
pub fn read_dir(dir: &Path) -> Result<Vec<RunResult>, ResultsError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ResultsError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ResultsError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !name.ends_with(".json") || name.starts_with('.') || name == "report.json" {
            continue;
        }
        out.push(RunResult::read(&path)?);
    }
    out.sort_by(|a, b| {
        a.scenario
            .id
            .cmp(&b.scenario.id)
            .then_with(|| a.part().cmp(&b.part()))
    });
    Ok(out)
}

/// What a results directory holds, read leniently (for `msgperf report`).
#[derive(Debug, Default)]
pub struct Scan {
    /// Readable result files and their paths, sorted by path.
    pub runs: Vec<(RunResult, PathBuf)>,
    /// `interrupted` runs recovered from a journal that has no readable
    /// result file beside it, and the journals' paths.
    pub recovered: Vec<(RunResult, PathBuf)>,
    /// Result files and journals that could not be read (half-written,
    /// damaged, not msgperf's, or of a newer schema).
    pub unreadable: Vec<ResultsError>,
}

/// Reads `dir` as [`read_dir`] does, but never fails on one file: an
/// unreadable file goes to [`Scan::unreadable`], and a journal whose result
/// file is missing or unreadable becomes an `interrupted` run
/// ([`super::journal::recover`]). Only listing the directory can fail.
pub fn scan_dir(dir: &Path) -> Result<Scan, ResultsError> {
    let io = |source| ResultsError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        paths.push(entry.map_err(io)?.path());
    }
    paths.sort();
    let mut scan = Scan::default();
    let mut journals = Vec::new();
    for path in paths {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.as_deref().unwrap_or_default();
        if super::journal::is_journal(&path) {
            journals.push(path);
        } else if name.ends_with(".json") && !name.starts_with('.') && name != "report.json" {
            match RunResult::read(&path) {
                Ok(run) => scan.runs.push((run, path)),
                Err(e) => scan.unreadable.push(e),
            }
        }
    }
    for journal in journals {
        let result = super::journal::result_path_of(&journal);
        if scan.runs.iter().any(|(_, p)| Some(p) == result.as_ref()) {
            continue;
        }
        match super::journal::recover(&journal) {
            Ok(run) => scan.recovered.push((run, journal)),
            Err(e) => scan.unreadable.push(e),
        }
    }
    Ok(scan)
}
