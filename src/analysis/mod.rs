//! Turning result files into answers: how much traffic the API takes before
//! it saturates, how sure we are, and whether a change made it better or worse.
//!
//! Pure functions over [`RunResult`]s — no files, no clock, no async — so every
//! rule is tested on synthetic timelines with known answers:
//! - [`plateau`]: where the rate stops rising while participants keep coming;
//! - [`run`] and [`verdict`]: one run's numbers and whether they measured the API;
//! - [`scenario`] and [`stats`]: repetitions pooled with Student-t intervals;
//! - [`mod@compare`]: the baseline comparison (Welch's t-test + minimum change);
//! - [`published_points`]: the published cross-scenario analysis;
//! - [`merge`]: one run from the parts of a split scenario;
//! - [`paired`]: base against candidate in one job, by paired ratios.

pub(crate) mod collapse;
pub(crate) mod compare;
pub(crate) mod delivery;
pub(crate) mod merge;
pub(crate) mod paired;
pub(crate) mod plateau;
pub(crate) mod run;
pub(crate) mod scenario;
pub(crate) mod stats;
pub(crate) mod verdict;

#[cfg(test)]
mod tests;

pub use compare::{compare, BaselineScenario, ChangeStatus, Comparison};
pub use merge::merge_parts;
pub use run::{analyze_run, usable_seconds, RateBasis, RunAnalysis};
pub use scenario::{Params, ScenarioSummary};
pub use stats::{Stat, Welch};
pub use verdict::{setup_bound, Verdict};

use crate::results::{ErrorKind, RunResult};
use serde::{Deserialize, Serialize};

/// The analysis of a set of runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// Every run, in scenario order, then by repetition.
    pub runs: Vec<RunAnalysis>,
    /// Every scenario group, sorted by sci, cpi, smi, organizers, then id.
    pub scenarios: Vec<ScenarioSummary>,
    /// The published analysis: one point per run with a first error.
    pub published: Vec<PublishedPoint>,
}

/// One point of the published analysis: a run's peak sent rate against the
/// active chats at its first error (normally the first handshake timeout).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedPoint {
    /// Run id.
    pub run: String,
    /// Scenario group.
    pub group: String,
    /// Send message interval, ms (the published charts colour by it).
    pub smi_ms: f64,
    /// Highest sent/s of one second.
    pub peak_sent: f64,
    /// Active chats at the first error.
    pub active_chats: u64,
    /// Kind of that first error (`handshake_timeout` in the published runs).
    pub error_kind: ErrorKind,
    /// The run's verdict (a generator-bound point is not the API's).
    pub verdict: Verdict,
}

/// Analyses every run and pools the repetitions of each scenario group.
pub fn analyze(results: &[RunResult]) -> Analysis {
    let mut order: Vec<&RunResult> = results.iter().collect();
    order.sort_by(|a, b| {
        let key = |r: &RunResult| {
            let s = &r.scenario;
            (s.sci_ms, s.cpi_ms, s.smi_ms, f64::from(s.organizers))
        };
        let (ka, kb) = (key(a), key(b));
        (ka.0.total_cmp(&kb.0))
            .then(ka.1.total_cmp(&kb.1))
            .then(ka.2.total_cmp(&kb.2))
            .then(ka.3.total_cmp(&kb.3))
            .then_with(|| a.scenario.group.cmp(&b.scenario.group))
            .then(a.scenario.repetition.cmp(&b.scenario.repetition))
            .then_with(|| a.scenario.id.cmp(&b.scenario.id))
    });
    let runs: Vec<RunAnalysis> = order.iter().map(|r| analyze_run(r)).collect();
    let mut groups: Vec<(String, Params)> = Vec::new();
    for (r, a) in order.iter().zip(&runs) {
        if !groups.iter().any(|(g, _)| *g == a.group) {
            groups.push((a.group.clone(), Params::of(r)));
        }
    }
    let scenarios = groups
        .into_iter()
        .map(|(g, params)| {
            let members: Vec<&RunAnalysis> = runs.iter().filter(|r| r.group == g).collect();
            scenario::summarize(&g, params, &members)
        })
        .collect();
    let published = published_points(&order, &runs);
    Analysis {
        runs,
        scenarios,
        published,
    }
}

/// The published analysis' points (`results` and `runs` in the same order).
pub fn published_points(results: &[&RunResult], runs: &[RunAnalysis]) -> Vec<PublishedPoint> {
    results
        .iter()
        .zip(runs)
        .filter_map(|(r, a)| {
            let e = r.first_error.as_ref()?;
            Some(PublishedPoint {
                run: a.id.clone(),
                group: a.group.clone(),
                smi_ms: r.scenario.smi_ms,
                peak_sent: a.peak_sent,
                active_chats: e.active_chats,
                error_kind: e.kind,
                verdict: a.verdict,
            })
        })
        .collect()
}
