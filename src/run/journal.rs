//! Writing a run's journal while it runs ([`crate::results::journal`] has the
//! format): the header when the run starts, then each completed second from
//! the progress snapshots, fsynced once a second, so a SIGKILL loses at most
//! the last second. The result file supersedes it: [`remove`] once that is
//! written.
//!
//! A journal that cannot be written costs the run nothing but its insurance:
//! a warning, and the run goes on.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use tokio::sync::watch;

use crate::load::Progress;
use crate::results::journal::{journal_name, JournalHeader};
use crate::results::Second;

/// An open journal.
pub struct Journal {
    path: PathBuf,
    file: std::fs::File,
    /// The last second written.
    last: Option<u32>,
}

impl Journal {
    /// Creates `dir/<result stem>.journal.jsonl` with its header, synced.
    pub fn create(dir: &Path, header: &JournalHeader) -> std::io::Result<Journal> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(journal_name(&header.result_file));
        let mut file = std::fs::File::create(&path)?;
        let mut line = serde_json::to_vec(header).expect("journal headers serialize");
        line.push(b'\n');
        file.write_all(&line)?;
        file.sync_data()?;
        // The new name must survive a crash too.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(Journal {
            path,
            file,
            last: None,
        })
    }

    /// Appends the seconds not written yet and syncs them to disk.
    pub fn append(&mut self, seconds: &[Second]) -> std::io::Result<()> {
        let mut buf = Vec::new();
        let after = self.last;
        for s in seconds.iter().filter(|s| after.is_none_or(|l| s.t > l)) {
            serde_json::to_writer(&mut buf, s).expect("seconds serialize");
            buf.push(b'\n');
            self.last = Some(s.t);
        }
        if buf.is_empty() {
            return Ok(());
        }
        self.file.write_all(&buf)?;
        self.file.sync_data()
    }
}

/// Appends every completed second of the run's progress to `journal` until
/// the run ends (its progress sender is dropped). The fsync runs on a
/// blocking thread so the load's runtime never waits for the disk.
pub async fn follow(journal: Option<Journal>, mut updates: watch::Receiver<Progress>) {
    let Some(mut journal) = journal else {
        return;
    };
    while updates.changed().await.is_ok() {
        let seconds = updates.borrow_and_update().seconds.clone();
        let path = journal.path.clone();
        let written = tokio::task::spawn_blocking(move || {
            let r = journal.append(&seconds);
            (journal, r)
        })
        .await;
        match written {
            Ok((j, Ok(()))) => journal = j,
            Ok((_, Err(e))) => {
                eprintln!(
                    "warning: {}: {e}; the run goes on without its journal",
                    path.display()
                );
                return;
            }
            Err(_) => return,
        }
    }
}

/// The header of a run's journal.
pub fn header(
    (scenario, side): (&crate::matrix::Scenario, Option<crate::results::Side>),
    target: &crate::matrix::Target,
    embedded: bool,
    part: Option<crate::matrix::Slice>,
    start: Option<SystemTime>,
) -> JournalHeader {
    let started_at = humantime::format_rfc3339_millis(start.unwrap_or_else(SystemTime::now));
    let split = part
        .filter(|p| p.count > 1)
        .map(|p| crate::results::SplitInfo {
            part: p.index,
            parts: p.count,
            start_at: started_at.to_string(),
            ..Default::default()
        });
    // Both sides of an A/B plan run the same ids: the file names carry the side.
    let id = match side {
        Some(side) => format!("{}.{side}", scenario.id),
        None => scenario.id.clone(),
    };
    let result_file =
        crate::results::result_file_name(&id, split.as_ref().map(|s| (s.part, s.parts)));
    JournalHeader {
        journal: crate::results::journal::JOURNAL_VERSION,
        result_file,
        side,
        scenario: crate::load::scenario_info(scenario),
        target: crate::load::target_info(target, embedded),
        started_at: started_at.to_string(),
        split,
        creation: Some(crate::results::CreationRate {
            arrival: scenario.arrival,
            planned_per_s: (100.0 / scenario.cpi.as_secs_f64().max(1e-9)).round() / 100.0,
            achieved_per_s: 0.0,
        }),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
    }
}

/// Opens the journal of a run in `dir`, or warns and returns `None`.
pub fn open(dir: &Path, header: &JournalHeader) -> Option<Journal> {
    Journal::create(dir, header)
        .inspect_err(|e| {
            eprintln!(
                "warning: cannot write the journal of {} in {}: {e}; a kill would lose this run",
                header.scenario.id,
                dir.display()
            )
        })
        .ok()
}

/// Removes a journal once its result file is written.
pub fn remove(dir: &Path, result_file: &str) {
    let path = dir.join(journal_name(result_file));
    if let Err(e) = std::fs::remove_file(&path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            eprintln!("warning: cannot remove {}: {e}", path.display());
        }
    }
}
