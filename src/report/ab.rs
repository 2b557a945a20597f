//! The report of an A/B job (`targets: {base, candidate}`): the headline
//! "candidate / base: 0.93× sustained rate (95% CI 0.90–0.96, 5 pairs):
//! regressed", the per-scenario table with both sides, the pairs, the pairs
//! that did not count, and the gate's verdict from the paired ratios.
//!
//! Pure: [`split`] separates the two sides' runs, [`section`] builds report.json's
//! `ab` entry, [`markdown`] renders it. The rest of the report (runs,
//! charts, details) describes the candidate's runs, compared with the base
//! runs as its baseline.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::format::{self, cell};
use crate::analysis::paired::{PairedAnalysis, PairedMetric};
use crate::analysis::{self, ChangeStatus, ScenarioSummary};
use crate::matrix::Gate;
use crate::results::{RunResult, Side};

/// report.json's `ab`: the paired comparison of an A/B job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AbReport {
    /// The headline sentence.
    pub headline: String,
    /// The base side's Messenger API (URL only).
    pub base_target: String,
    /// The candidate side's Messenger API.
    pub candidate_target: String,
    /// Per scenario group: both sides and the paired ratio.
    pub scenarios: Vec<AbScenario>,
    /// The paired analysis itself (ratios, intervals, sign tests, pairs).
    pub paired: PairedAnalysis,
    /// True when a sustained-rate verdict is `regressed`.
    pub regressed: bool,
}

/// One scenario group of an A/B job, both sides side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AbScenario {
    /// Group id.
    pub group: String,
    /// The base side's mean sustained rate over its valid runs.
    pub base_sustained: Option<f64>,
    /// The candidate side's.
    pub candidate_sustained: Option<f64>,
    /// Valid runs of the base side, of all its runs.
    pub base_valid: (usize, usize),
    /// Valid runs of the candidate side, of all its runs.
    pub candidate_valid: (usize, usize),
}

/// The base and candidate runs of `results`, or `None` when none has a side.
pub fn split(results: &[RunResult]) -> Option<(Vec<RunResult>, Vec<RunResult>)> {
    if results.iter().all(|r| r.side.is_none()) {
        return None;
    }
    let (base, candidate): (Vec<RunResult>, Vec<RunResult>) = results
        .iter()
        .filter(|r| r.side.is_some())
        .cloned()
        .partition(|r| r.side == Some(Side::Base));
    Some((base, candidate))
}

/// report.json's `ab` entry for the two sides' runs.
pub fn section(base: &[RunResult], candidate: &[RunResult], gate: &Gate) -> Option<AbReport> {
    let all: Vec<RunResult> = base.iter().chain(candidate).cloned().collect();
    let paired = analysis::paired::paired(&all, gate)?;
    let (b, c) = (analysis::analyze(base), analysis::analyze(candidate));
    let scenarios = paired
        .groups
        .iter()
        .map(|g| {
            let find = |list: &[ScenarioSummary]| list.iter().find(|s| s.id == g.group).cloned();
            let (bs, cs) = (find(&b.scenarios), find(&c.scenarios));
            let mean = |s: &Option<ScenarioSummary>| {
                s.as_ref()
                    .and_then(|s| s.sustained.as_ref())
                    .map(|x| x.mean)
            };
            let valid = |s: &Option<ScenarioSummary>| {
                s.as_ref().map_or((0, 0), |s| (s.n_valid(), s.n_runs()))
            };
            AbScenario {
                group: g.group.clone(),
                base_sustained: mean(&bs),
                candidate_sustained: mean(&cs),
                base_valid: valid(&bs),
                candidate_valid: valid(&cs),
            }
        })
        .collect();
    let url = |list: &[RunResult]| {
        list.first()
            .map(|r| r.target.messenger_ws_url.clone())
            .unwrap_or_default()
    };
    Some(AbReport {
        headline: headline(&paired.overall),
        base_target: url(base),
        candidate_target: url(candidate),
        regressed: paired.regressed,
        scenarios,
        paired,
    })
}

/// Puts the A/B section into the report: its headline leads, and its
/// verdict is the gate's.
pub fn apply(report: &mut super::model::Report, ab: Option<AbReport>, gate: &Gate) {
    let Some(ab) = ab else {
        return;
    };
    report.headline = ab.headline.clone();
    report.regressed = ab.regressed;
    report.gate_failed = ab.regressed && gate.fail_on_regression;
    report.ab = Some(ab);
}

/// "candidate / base: 0.93× sustained rate (95% CI 0.90–0.96, 5 pairs): regressed".
pub fn headline(m: &PairedMetric) -> String {
    let n = m.pairs.len();
    let pairs = format!("{n} pair{}", if n == 1 { "" } else { "s" });
    let what = m.metric.label();
    match (m.ratio, m.ci_low, m.ci_high) {
        (Some(r), Some(lo), Some(hi)) => format!(
            "candidate / base: {:.2}× {what} ({:.0}% CI {:.2}–{:.2}, {pairs}): {}",
            r,
            m.level * 100.0,
            lo,
            hi,
            m.verdict.as_str()
        ),
        (Some(r), _, _) => format!(
            "candidate / base: {r:.2}× {what} ({pairs}, too few for an interval): {}",
            m.verdict.as_str()
        ),
        _ => format!(
            "candidate / base: no pair with two valid runs: {}",
            m.verdict.as_str()
        ),
    }
}

/// How many sustained-rate verdicts regressed (the groups', or the overall
/// one when no single group did).
pub fn regressions(ab: &AbReport) -> usize {
    let groups = ab
        .paired
        .groups
        .iter()
        .filter(|g| g.sustained.verdict == ChangeStatus::Regressed)
        .count();
    groups.max(usize::from(ab.regressed))
}

/// Most pair rows shown in report.md; the rest are in report.json.
const PAIR_ROWS: usize = 40;

/// The A/B section of report.md (empty without one).
pub fn markdown(ab: Option<&AbReport>) -> String {
    let Some(ab) = ab else {
        return String::new();
    };
    let mut s = String::from("### Base against candidate (paired runs)\n\n");
    let _ = writeln!(
        s,
        "Base `{}` · candidate `{}`. Each pair is one repetition run on both sides back to back; the ratio is candidate / base, judged on the pairs whose two runs are valid.\n",
        cell(&ab.base_target, 80),
        cell(&ab.candidate_target, 80)
    );
    s.push_str("| scenario | base msg/s | candidate msg/s | ratio (CI) | pairs | sign test | p99 latency ratio | verdict |\n");
    s.push_str("|---|---:|---:|---|---:|---|---|---|\n");
    for (row, g) in ab.scenarios.iter().zip(&ab.paired.groups) {
        let rate = |v: Option<f64>| v.map_or("—".to_string(), format::rate);
        let m = &g.sustained;
        let p99 = g.p99_latency.as_ref().map_or("—".to_string(), ratio_text);
        let _ = writeln!(
            s,
            "| {} | {} ({}/{} valid) | {} ({}/{} valid) | {} | {} | {} | {} | {} |",
            cell(&row.group, 60),
            rate(row.base_sustained),
            row.base_valid.0,
            row.base_valid.1,
            rate(row.candidate_sustained),
            row.candidate_valid.0,
            row.candidate_valid.1,
            ratio_text(m),
            m.pairs.len(),
            sign_text(m),
            p99,
            verdict_text(m.verdict)
        );
    }
    pairs_table(&mut s, ab);
    s.push('\n');
    s
}

fn pairs_table(s: &mut String, ab: &AbReport) {
    s.push_str(
        "\n| scenario | pair | base msg/s | candidate msg/s | ratio |\n|---|---:|---:|---:|---:|\n",
    );
    let mut shown = 0;
    let mut total = 0;
    for g in &ab.paired.groups {
        for p in &g.sustained.pairs {
            total += 1;
            if shown < PAIR_ROWS {
                shown += 1;
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {:.3} |",
                    cell(&g.group, 60),
                    p.pair,
                    format::rate(p.base),
                    format::rate(p.candidate),
                    p.ratio
                );
            }
        }
    }
    if total > shown {
        let _ = writeln!(s, "\n{} more pairs in report.json.", total - shown);
    }
    let excluded: Vec<String> = ab
        .paired
        .groups
        .iter()
        .flat_map(|g| {
            g.excluded
                .iter()
                .map(move |e| format!("`{}` pair {}: {}", g.group, e.pair, e.reason))
        })
        .collect();
    if !excluded.is_empty() {
        let _ = writeln!(s, "\nPairs that do not count:");
        for line in excluded.iter().take(PAIR_ROWS) {
            let _ = writeln!(s, "- {line}");
        }
    }
}

/// `0.90× (0.88–0.92)`.
fn ratio_text(m: &PairedMetric) -> String {
    match (m.ratio, m.ci_low, m.ci_high) {
        (Some(r), Some(lo), Some(hi)) => format!("{r:.2}× ({lo:.2}–{hi:.2})"),
        (Some(r), _, _) => format!("{r:.2}×"),
        _ => "—".into(),
    }
}

/// `0 up / 5 down, p = 0.062`.
fn sign_text(m: &PairedMetric) -> String {
    let t = &m.sign_test;
    format!("{} up / {} down, p = {:.3}", t.up, t.down, t.p_value)
}

fn verdict_text(v: ChangeStatus) -> String {
    match v {
        ChangeStatus::Regressed => "❌ regressed".into(),
        ChangeStatus::Improved => "✅ improved".into(),
        other => other.as_str().into(),
    }
}
