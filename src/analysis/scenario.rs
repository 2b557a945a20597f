//! A scenario over its repetitions: how large the capacity is and how sure we
//! are (mean, standard deviation, 95% Student-t confidence interval).
//!
//! Which runs count: the sustained rate is pooled over `valid` runs only; peak
//! rates, active chats at the first error and the time from plateau to first
//! error over runs that measured the API (`valid` and `no-plateau`); a
//! generator-bound, inconclusive or interrupted run is shown but never counted.

use super::run::{RateBasis, RunAnalysis};
use super::stats::Stat;
use super::verdict::Verdict;
use crate::results::RunResult;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The parameters a scenario group was run with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Start chat interval, ms.
    pub sci_ms: f64,
    /// Create participant interval, ms.
    pub cpi_ms: f64,
    /// Send message interval, ms.
    pub smi_ms: f64,
    /// Organizer pool size.
    pub organizers: u32,
}

impl Params {
    /// The parameters of a run.
    pub fn of(run: &RunResult) -> Params {
        Params {
            sci_ms: run.scenario.sci_ms,
            cpi_ms: run.scenario.cpi_ms,
            smi_ms: run.scenario.smi_ms,
            organizers: run.scenario.organizers,
        }
    }
}

/// One scenario group summarised over its repetitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioSummary {
    /// Group id, e.g. `sci10ms-cpi20ms-smi100ms`.
    pub id: String,
    /// Its parameters.
    pub params: Params,
    /// Ids of its runs, in repetition order.
    pub runs: Vec<String>,
    /// Number of runs per verdict, in the order of the verdicts' names
    /// (a verdict this build does not know is left out on reading).
    #[serde(deserialize_with = "crate::results::lenient_keys")]
    pub verdicts: BTreeMap<Verdict, usize>,
    /// The scenario's verdict: `valid` when at least one run is valid, else
    /// the most frequent verdict of its runs.
    pub verdict: Verdict,
    /// Rate basis of the sustained rate (of the valid runs).
    pub rate_basis: RateBasis,
    /// Sustained rates of the valid runs (the sample the baseline test uses).
    pub sustained_values: Vec<f64>,
    /// Sustained rate over the valid runs.
    pub sustained: Option<Stat>,
    /// Peak sent/s over the runs that measured the API.
    pub peak_sent: Option<Stat>,
    /// Peak delivered/s over the runs that measured the API.
    pub peak_delivered: Option<Stat>,
    /// Active chats at the first error, over the runs that measured the API.
    pub chats_at_first_error: Option<Stat>,
    /// Seconds from plateau start to first error, over valid runs with an error.
    pub plateau_to_first_error_s: Option<Stat>,
    /// p99 message latency (ms), over the runs that measured the API.
    pub p99_message_latency_ms: Option<Stat>,
    /// Lost / sent messages, pooled over the runs that measured the API.
    pub loss: Option<f64>,
}

impl ScenarioSummary {
    /// Number of runs.
    pub fn n_runs(&self) -> usize {
        self.runs.len()
    }
    /// Number of valid runs.
    pub fn n_valid(&self) -> usize {
        self.verdicts.get(&Verdict::Valid).copied().unwrap_or(0)
    }
}

/// Summarises the runs of one group (`runs` all share the group; `params`
/// are the group's parameters).
pub fn summarize(id: &str, params: Params, runs: &[&RunAnalysis]) -> ScenarioSummary {
    let mut sorted: Vec<&RunAnalysis> = runs.to_vec();
    sorted.sort_by(|a, b| (a.repetition, &a.id).cmp(&(b.repetition, &b.id)));
    let mut verdicts = BTreeMap::new();
    for r in &sorted {
        *verdicts.entry(r.verdict).or_insert(0) += 1;
    }
    let valid: Vec<&RunAnalysis> = sorted
        .iter()
        .copied()
        .filter(|r| r.verdict == Verdict::Valid)
        .collect();
    let api: Vec<&RunAnalysis> = sorted
        .iter()
        .copied()
        .filter(|r| r.verdict.measured_api())
        .collect();
    let sustained_values: Vec<f64> = valid.iter().filter_map(|r| r.sustained_rate).collect();
    let collect = |rs: &[&RunAnalysis], f: &dyn Fn(&RunAnalysis) -> Option<f64>| -> Vec<f64> {
        rs.iter().filter_map(|r| f(r)).collect()
    };
    let sent: u64 = api.iter().map(|r| r.messages_sent).sum();
    let lost: u64 = api.iter().map(|r| r.messages_lost).sum();
    ScenarioSummary {
        id: id.to_string(),
        params,
        runs: sorted.iter().map(|r| r.id.clone()).collect(),
        verdict: scenario_verdict(&sorted),
        verdicts,
        rate_basis: valid
            .first()
            .or(sorted.first())
            .map(|r| r.rate_basis)
            .unwrap_or(RateBasis::Sent),
        sustained: Stat::of(&sustained_values),
        sustained_values,
        peak_sent: Stat::of(&collect(&api, &|r| Some(r.peak_sent))),
        peak_delivered: Stat::of(&collect(&api, &|r| Some(r.peak_delivered))),
        chats_at_first_error: Stat::of(&collect(&api, &|r| {
            r.first_error.as_ref().map(|e| e.active_chats as f64)
        })),
        plateau_to_first_error_s: Stat::of(&collect(&valid, &|r| {
            r.first_error.as_ref().and_then(|e| e.since_plateau_s)
        })),
        p99_message_latency_ms: Stat::of(&collect(&api, &|r| {
            (r.latency_ms.message.count > 0).then_some(r.latency_ms.message.p99)
        })),
        loss: (sent > 0).then(|| lost as f64 / sent as f64),
    }
}

fn scenario_verdict(runs: &[&RunAnalysis]) -> Verdict {
    if runs.iter().any(|r| r.verdict == Verdict::Valid) {
        return Verdict::Valid;
    }
    let mut counts: BTreeMap<Verdict, usize> = BTreeMap::new();
    for r in runs {
        *counts.entry(r.verdict).or_insert(0) += 1;
    }
    // Most frequent; ties go to the earlier variant in declaration order.
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.rank().cmp(&a.0.rank())))
        .map(|(v, _)| v)
        .unwrap_or(Verdict::Inconclusive)
}
