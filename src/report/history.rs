//! One JSON line per report for nightly trends: appended to a history file
//! (JSON Lines) when asked, small enough to keep years of nights.

use super::model::Report;
use crate::analysis::Verdict;
use serde::{Deserialize, Serialize};

/// Version of the history line format.
pub const HISTORY_SCHEMA: u32 = 1;

/// One line of the history file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryLine {
    /// [`HISTORY_SCHEMA`].
    pub schema: u32,
    /// When the report was made (RFC 3339 UTC).
    pub generated_at: String,
    /// msgperf version.
    pub msgperf_version: String,
    /// Commit tested, when known (`GITHUB_SHA` in Actions).
    pub commit: Option<String>,
    /// Branch or tag, when known (`GITHUB_REF_NAME` in Actions).
    pub git_ref: Option<String>,
    /// Baseline label, when compared.
    pub baseline: Option<String>,
    /// The headline sentence.
    pub headline: String,
    /// A scenario regressed.
    pub regressed: bool,
    /// One entry per scenario.
    pub scenarios: Vec<HistoryScenario>,
}

/// A scenario's numbers in a history line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryScenario {
    /// Group id.
    pub id: String,
    /// Runs.
    pub runs: usize,
    /// Valid runs.
    pub valid: usize,
    /// Scenario verdict.
    pub verdict: Verdict,
    /// Mean sustained rate over valid runs.
    pub sustained: Option<f64>,
    /// Its 95% confidence interval.
    pub sustained_ci95: Option<[f64; 2]>,
    /// Mean peak sent/s.
    pub peak_sent: Option<f64>,
    /// Mean active chats at the first error.
    pub chats_at_first_error: Option<f64>,
    /// Relative change vs the baseline.
    pub change: Option<f64>,
    /// Comparison status (`regressed`, ...).
    pub status: Option<String>,
}

/// The history line of a report.
pub fn line(r: &Report, commit: Option<String>, git_ref: Option<String>) -> HistoryLine {
    HistoryLine {
        schema: HISTORY_SCHEMA,
        generated_at: r.generated_at.clone(),
        msgperf_version: r.msgperf_version.clone(),
        commit,
        git_ref,
        baseline: r.baseline.as_ref().map(|b| b.label.clone()),
        headline: r.headline.clone(),
        regressed: r.regressed,
        scenarios: r
            .scenarios
            .iter()
            .map(|s| {
                let m = &s.summary;
                HistoryScenario {
                    id: m.id.clone(),
                    runs: m.n_runs(),
                    valid: m.n_valid(),
                    verdict: m.verdict,
                    sustained: m.sustained.as_ref().map(|x| x.mean),
                    sustained_ci95: m.sustained.as_ref().and_then(|x| x.ci95),
                    peak_sent: m.peak_sent.as_ref().map(|x| x.mean),
                    chats_at_first_error: m.chats_at_first_error.as_ref().map(|x| x.mean),
                    change: s.comparison.as_ref().and_then(|c| c.change),
                    status: s.comparison.as_ref().map(|c| c.status.as_str().to_string()),
                }
            })
            .collect(),
    }
}

/// The line as one line of JSON text, newline included.
pub fn to_json_line(l: &HistoryLine) -> String {
    let mut s = serde_json::to_string(l).expect("history types always serialize");
    s.push('\n');
    s
}
