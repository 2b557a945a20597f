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

impl RunResult {
    /// The file name of this run inside a results directory; parts of a
    /// split run carry their part (`<id>.part2of3.json`).
    pub fn file_name(&self) -> String {
        match &self.split {
            Some(s) if s.part > 0 => {
                format!("{}.part{}of{}.json", self.scenario.id, s.part, s.parts)
            }
            _ => format!("{}.json", self.scenario.id),
        }
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
        serde_json::from_slice(text).map_err(parse)
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
