//! Base against candidate in one job (`targets: {base, candidate}`): each
//! repetition is a pair of runs, one per side, run back to back, and the
//! change is judged by the pairs' ratios rather than by two pools of runs.
//!
//! Per pair the ratio is candidate / base, taken as a log ratio. Across the
//! pairs that count (both runs valid):
//! - the geometric-mean ratio with a confidence interval of level 1 − alpha
//!   (Student's t on the log ratios, n − 1 degrees of freedom);
//! - a sign test (two-sided binomial on how many pairs went up or down) as a
//!   cross-check that needs no normality;
//! - a verdict against `gate.min_change`:
//!
//! | verdict | when (for a rate; mirrored for latency, where lower is better) |
//! |---|---|
//! | `regressed` | the whole interval is below 1 and the ratio ≤ 1 − min_change |
//! | `improved` | the whole interval is above 1 and the ratio ≥ 1 + min_change |
//! | `unchanged` | the interval lies within 1 ± min_change, or it excludes 1 but the change is smaller than min_change |
//! | `inconclusive` | fewer than 2 pairs, or an interval that reaches past 1 ± min_change and includes 1 |
//!
//! Drift over the job (a staging system that slows down) multiplies both
//! runs of an adjacent pair alike, so it cancels in the ratio; alternating
//! the order (AB, BA, …) cancels what is left of a trend within the pair.

use super::compare::ChangeStatus;
use super::run::{analyze_run, RunAnalysis};
use super::stats::{mean, std_dev, t_quantile};
use super::verdict::Verdict;
use crate::matrix::Gate;
use crate::results::{RunResult, Side};
use serde::{Deserialize, Serialize};

/// What a paired metric measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairedMetricKind {
    /// The sustained rate (higher is better).
    SustainedRate,
    /// The message latency's p99 (lower is better).
    P99Latency,
    /// Active chats at the first error (higher is better).
    ActiveChatsAtFirstError,
}

impl PairedMetricKind {
    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            PairedMetricKind::SustainedRate => "sustained rate",
            PairedMetricKind::P99Latency => "p99 latency",
            PairedMetricKind::ActiveChatsAtFirstError => "active chats at the first error",
        }
    }

    /// True when a higher value is the better one.
    pub fn higher_is_better(self) -> bool {
        !matches!(self, PairedMetricKind::P99Latency)
    }
}

/// One pair's values of a metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairValue {
    /// The pair (repetition) number.
    pub pair: u32,
    /// The base run's value.
    pub base: f64,
    /// The candidate run's value.
    pub candidate: f64,
    /// candidate / base.
    pub ratio: f64,
}

/// The sign test over the pairs' ratios.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignTest {
    /// Pairs whose ratio is above 1.
    pub up: usize,
    /// Pairs whose ratio is below 1.
    pub down: usize,
    /// Two-sided p-value (ties left out).
    pub p_value: f64,
}

/// One metric judged over the pairs that count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedMetric {
    /// What is measured.
    pub metric: PairedMetricKind,
    /// The pairs that count, in pair order.
    pub pairs: Vec<PairValue>,
    /// Geometric mean of the ratios (null without pairs).
    pub ratio: Option<f64>,
    /// Lower end of the interval (null with fewer than 2 pairs).
    pub ci_low: Option<f64>,
    /// Upper end of the interval.
    pub ci_high: Option<f64>,
    /// The interval's level, 1 − alpha (0.95 by default).
    pub level: f64,
    /// The sign test.
    pub sign_test: SignTest,
    /// The verdict against `gate.min_change`.
    pub verdict: ChangeStatus,
}

/// A pair that does not count, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExcludedPair {
    /// The pair number.
    pub pair: u32,
    /// Why, for people (e.g. `candidate run too-short`).
    pub reason: String,
}

/// The paired comparison of one scenario group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedGroup {
    /// Scenario group id.
    pub group: String,
    /// The sustained rate over the pairs.
    pub sustained: PairedMetric,
    /// p99 message latency over the pairs (null when no pair has it).
    pub p99_latency: Option<PairedMetric>,
    /// Active chats at the first error, over pairs whose runs both had one.
    pub active_chats: Option<PairedMetric>,
    /// Pairs that do not count for the sustained rate, with the reason.
    pub excluded: Vec<ExcludedPair>,
}

/// Everything the paired comparison found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedAnalysis {
    /// Per scenario group, in group order.
    pub groups: Vec<PairedGroup>,
    /// The sustained rate over the pairs of every group together.
    pub overall: PairedMetric,
    /// True when a sustained-rate verdict (overall or of a group) is `regressed`.
    pub regressed: bool,
}

/// The paired comparison of the A/B runs in `results` (those with a `side`
/// and a `pair`), or `None` when there are none.
pub fn paired(results: &[RunResult], gate: &Gate) -> Option<PairedAnalysis> {
    let runs: Vec<(&RunResult, RunAnalysis)> = results
        .iter()
        .filter(|r| r.side.is_some() && r.pair.is_some())
        .map(|r| (r, analyze_run(r)))
        .collect();
    if runs.is_empty() {
        return None;
    }
    let mut groups: Vec<String> = runs.iter().map(|(_, a)| a.group.clone()).collect();
    groups.sort();
    groups.dedup();
    let groups: Vec<PairedGroup> = groups
        .into_iter()
        .map(|g| {
            let members: Vec<&(&RunResult, RunAnalysis)> =
                runs.iter().filter(|(_, a)| a.group == g).collect();
            group(&g, &members, gate)
        })
        .collect();
    let all: Vec<PairValue> = groups
        .iter()
        .flat_map(|g| g.sustained.pairs.iter().cloned())
        .collect();
    let overall = judge(PairedMetricKind::SustainedRate, all, gate);
    let regressed = std::iter::once(&overall)
        .chain(groups.iter().map(|g| &g.sustained))
        .any(|m| m.verdict == ChangeStatus::Regressed);
    Some(PairedAnalysis {
        groups,
        overall,
        regressed,
    })
}

/// One side of a pair: its result and analysis.
type Run<'a> = &'a (&'a RunResult, RunAnalysis);

/// The pairs of one group, judged.
fn group(id: &str, members: &[&(&RunResult, RunAnalysis)], gate: &Gate) -> PairedGroup {
    let mut numbers: Vec<u32> = members.iter().filter_map(|(r, _)| r.pair).collect();
    numbers.sort_unstable();
    numbers.dedup();
    let side = |n: u32, s: Side| {
        members
            .iter()
            .copied()
            .find(|(r, _)| r.pair == Some(n) && r.side == Some(s))
    };
    let mut sustained = Vec::new();
    let mut p99 = Vec::new();
    let mut chats = Vec::new();
    let mut excluded = Vec::new();
    for n in numbers {
        let (base, cand) = match (side(n, Side::Base), side(n, Side::Candidate)) {
            (Some(b), Some(c)) => (b, c),
            (b, _) => {
                let gone = if b.is_none() { "base" } else { "candidate" };
                excluded.push(ExcludedPair {
                    pair: n,
                    reason: format!("no {gone} run"),
                });
                continue;
            }
        };
        if let Some(reason) = invalid(base, cand) {
            excluded.push(ExcludedPair { pair: n, reason });
        } else {
            let (b, c) = (&base.1, &cand.1);
            if let (Some(x), Some(y)) = (b.sustained_rate, c.sustained_rate) {
                sustained.push(value(n, x, y));
            }
            let (lb, lc) = (b.latency_ms.message.p99, c.latency_ms.message.p99);
            if lb > 0.0 && lc > 0.0 {
                p99.push(value(n, lb, lc));
            }
        }
        // Active chats at the first error: whenever both runs loaded the
        // API and both had one (a saturating run is often not `valid`).
        let (eb, ec) = (&base.0.first_error, &cand.0.first_error);
        if let (Some(eb), Some(ec)) = (eb, ec) {
            let measured = base.1.verdict.measured_api() && cand.1.verdict.measured_api();
            if measured && eb.active_chats > 0 && ec.active_chats > 0 {
                chats.push(value(n, eb.active_chats as f64, ec.active_chats as f64));
            }
        }
    }
    let optional =
        |kind, pairs: Vec<PairValue>| (!pairs.is_empty()).then(|| judge(kind, pairs, gate));
    PairedGroup {
        group: id.to_string(),
        sustained: judge(PairedMetricKind::SustainedRate, sustained, gate),
        p99_latency: optional(PairedMetricKind::P99Latency, p99),
        active_chats: optional(PairedMetricKind::ActiveChatsAtFirstError, chats),
        excluded,
    }
}

/// Why a pair does not count for the rate, or `None` when both runs are valid.
fn invalid(base: Run, cand: Run) -> Option<String> {
    let bad = |(_, a): Run| a.verdict != Verdict::Valid || a.sustained_rate.is_none();
    let why = |side: &str, (_, a): Run| format!("{side} run {}", a.verdict.as_str());
    match (bad(base), bad(cand)) {
        (false, false) => None,
        (true, false) => Some(why("base", base)),
        (false, true) => Some(why("candidate", cand)),
        (true, true) => Some(format!("{}, {}", why("base", base), why("candidate", cand))),
    }
}

fn value(pair: u32, base: f64, candidate: f64) -> PairValue {
    PairValue {
        pair,
        base,
        candidate,
        ratio: candidate / base,
    }
}

/// The interval, sign test and verdict of `pairs` (positive values only).
pub fn judge(metric: PairedMetricKind, mut pairs: Vec<PairValue>, gate: &Gate) -> PairedMetric {
    pairs.retain(|p| p.ratio.is_finite() && p.ratio > 0.0);
    pairs.sort_by_key(|p| p.pair);
    let logs: Vec<f64> = pairs.iter().map(|p| p.ratio.ln()).collect();
    let level = 1.0 - gate.alpha;
    let m = mean(&logs);
    let interval = match (m, std_dev(&logs)) {
        (Some(m), Some(sd)) if logs.len() >= 2 => {
            let n = logs.len() as f64;
            let t = t_quantile(1.0 - gate.alpha / 2.0, n - 1.0);
            let half = t * sd / n.sqrt();
            Some(((m - half).exp(), (m + half).exp()))
        }
        _ => None,
    };
    let ratio = m.map(f64::exp);
    PairedMetric {
        metric,
        verdict: verdict(metric, ratio, interval, gate.min_change),
        sign_test: sign_test(&pairs),
        ratio,
        ci_low: interval.map(|i| i.0),
        ci_high: interval.map(|i| i.1),
        level,
        pairs,
    }
}

/// The verdict of a ratio and its interval (see the module's table).
fn verdict(
    metric: PairedMetricKind,
    ratio: Option<f64>,
    interval: Option<(f64, f64)>,
    min_change: f64,
) -> ChangeStatus {
    let (Some(r), Some((lo, hi))) = (ratio, interval) else {
        return ChangeStatus::Inconclusive;
    };
    let (down, up) = (1.0 - min_change, 1.0 + min_change);
    let (worse, better) = if metric.higher_is_better() {
        (ChangeStatus::Regressed, ChangeStatus::Improved)
    } else {
        (ChangeStatus::Improved, ChangeStatus::Regressed)
    };
    if hi < 1.0 && r <= down {
        worse
    } else if lo > 1.0 && r >= up {
        better
    } else if (lo >= down && hi <= up) || hi < 1.0 || lo > 1.0 {
        ChangeStatus::Unchanged
    } else {
        ChangeStatus::Inconclusive
    }
}

/// Two-sided sign test: how likely a split at least this uneven is when up
/// and down are equally likely (ties left out).
pub fn sign_test(pairs: &[PairValue]) -> SignTest {
    let up = pairs.iter().filter(|p| p.ratio > 1.0).count();
    let down = pairs.iter().filter(|p| p.ratio < 1.0).count();
    let n = up + down;
    let k = up.min(down);
    // P(X <= k) for X ~ Binomial(n, 1/2), doubled.
    let mut tail = 0.0;
    let mut choose = 1.0f64;
    for i in 0..=k {
        if i > 0 {
            choose = choose * (n + 1 - i) as f64 / i as f64;
        }
        tail += choose;
    }
    let p_value = if n == 0 {
        1.0
    } else {
        (2.0 * tail / 2f64.powi(n as i32)).min(1.0)
    };
    SignTest { up, down, p_value }
}

#[cfg(test)]
#[path = "paired_tests.rs"]
mod tests;
