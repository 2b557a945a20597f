//! A run's journal: its timeline, appended while it runs, so a SIGKILL (or a
//! power cut, or a runner that vanished) loses at most the last second.
//!
//! `<result file stem>.journal.jsonl` beside the result file: one JSON object
//! per line, a [`JournalHeader`] first, then one [`Second`] per line as each
//! second completes, fsynced once a second. The result file, written
//! atomically when the run ends, supersedes it and `msgperf run` then removes
//! it; a journal without a result file is a run that never finished, which
//! [`recover`] turns into an `interrupted` result (the outcome and stop
//! reason a SIGTERM writes). It is never `*.json`, so readers of result
//! directories that predate it never see it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{
    CreationRate, Generator, Outcome, ResultsError, RunResult, ScenarioInfo, Second, SplitInfo,
    StageCounts, StopReason, TargetInfo, Totals,
};

/// The journal format's version (its header's `journal` key).
pub const JOURNAL_VERSION: u32 = 1;
/// What a journal's name ends with.
pub const JOURNAL_SUFFIX: &str = ".journal.jsonl";

/// A journal's first line: enough to name and describe the run without its
/// result file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JournalHeader {
    /// [`JOURNAL_VERSION`].
    pub journal: u32,
    /// The name the run's result file gets (`<id>.json`, `<id>.part2of3.json`).
    pub result_file: String,
    /// The side of an A/B plan's run (its result file's name carries it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<super::Side>,
    /// What was run.
    pub scenario: ScenarioInfo,
    /// Against what (URLs only; never credentials).
    pub target: TargetInfo,
    /// RFC 3339 UTC, the run's start (its timeline's second 0).
    pub started_at: String,
    /// This runner's part of a split scenario.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitInfo>,
    /// The planned creation rate (the achieved one is known at the end only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation: Option<CreationRate>,
    /// Cores available to the generator.
    #[serde(default)]
    pub cores: u32,
}

/// The journal's file name for a result file name (`x.json` → `x.journal.jsonl`).
pub fn journal_name(result_file: &str) -> String {
    let stem = result_file.strip_suffix(".json").unwrap_or(result_file);
    format!("{stem}{JOURNAL_SUFFIX}")
}

/// The result file a journal stands for, beside it.
pub fn result_path_of(journal: &Path) -> Option<PathBuf> {
    let name = journal.file_name()?.to_str()?;
    let stem = name.strip_suffix(JOURNAL_SUFFIX)?;
    Some(journal.with_file_name(format!("{stem}.json")))
}

/// Whether `path` is named like a journal.
pub fn is_journal(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(JOURNAL_SUFFIX) && !n.starts_with('.'))
}

/// The `interrupted` result of a run that left only its journal: its
/// timeline as journaled (a torn last line is dropped) and the totals that
/// timeline gives. What only the end of a run knows (latency percentiles,
/// errors by kind, the first error, the drain) stays empty.
pub fn recover(path: &Path) -> Result<RunResult, ResultsError> {
    let text = std::fs::read(path).map_err(|source| ResultsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let parse = |source| ResultsError::Parse {
        path: path.to_path_buf(),
        source,
    };
    let mut lines = text.split(|&b| b == b'\n');
    let header: JournalHeader =
        serde_json::from_slice(lines.next().unwrap_or_default()).map_err(parse)?;
    if header.journal > JOURNAL_VERSION {
        return Err(ResultsError::NewerSchema {
            path: path.to_path_buf(),
            found: header.journal,
        });
    }
    let mut rows: Vec<Second> = Vec::new();
    // Only the line being written when the process died can be torn: stop there.
    for line in lines.filter(|l| !l.is_empty()) {
        let Ok(row) = serde_json::from_slice::<Second>(line) else {
            break;
        };
        match rows.last() {
            Some(last) if last.t >= row.t => {}
            _ => rows.push(row),
        }
    }
    Ok(result_of(header, rows))
}

fn result_of(h: JournalHeader, timeline: Vec<Second>) -> RunResult {
    let ran = timeline.last().map_or(0, |s| s.t + 1);
    let ended_at = crate::time::parse_rfc3339(&h.started_at)
        .map(|t| t + Duration::from_secs(u64::from(ran)))
        .map_or_else(
            |_| h.started_at.clone(),
            |t| humantime::format_rfc3339_millis(t).to_string(),
        );
    let cpu: Vec<f64> = timeline.iter().map(|s| s.cpu_percent).collect();
    let generator = Generator {
        max_send_lateness_ms: timeline
            .iter()
            .map(|s| s.max_lateness_ms)
            .fold(0.0, f64::max),
        cpu_percent: cpu.iter().sum::<f64>() / cpu.len().max(1) as f64,
        cores: h.cores,
        ..Generator::default()
    };
    let totals = totals_of(&timeline);
    RunResult {
        started_at: h.started_at.into(),
        ended_at: ended_at.into(),
        duration_s: f64::from(ran),
        outcome: Outcome::Interrupted,
        stop_reason: StopReason::Signal,
        totals,
        timeline,
        generator,
        split: h.split,
        creation: h.creation,
        side: h.side,
        ..RunResult::empty(h.scenario, h.target)
    }
}

/// The totals a timeline gives: sums of the per-second counts, the gauges
/// of its last second.
fn totals_of(timeline: &[Second]) -> Totals {
    let sum = |f: fn(&Second) -> u64| timeline.iter().map(f).sum::<u64>();
    let last = timeline.last().cloned().unwrap_or_default();
    let (sent, delivered) = (sum(|s| s.sent), sum(|s| s.delivered));
    let participants = timeline.iter().map(|s| s.participants).max().unwrap_or(0);
    Totals {
        participants,
        chats: last.active_chats,
        messages_sent: sent,
        messages_delivered: delivered,
        errors: sum(|s| s.errors),
        replies_sent: sum(|s| s.replies),
        stages: StageCounts {
            participants_started: participants,
            signed_up: last.signed_up,
            connected: last.connected,
            ..StageCounts::default()
        },
        // Killed without a drain: what had not arrived is not known lost.
        backlog_at_stop: sent.saturating_sub(delivered),
        messages_undelivered_at_drain_end: sent.saturating_sub(delivered),
        ..Totals::default()
    }
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
