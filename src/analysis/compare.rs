//! Did a change make the API better or worse? Per scenario, the sustained
//! rate of this report against a baseline's, judged by Welch's t-test over
//! the repetitions and a minimum relative change (both from [`Gate`]).
//!
//! | status | when |
//! |---|---|
//! | `new` | the scenario is not in the baseline |
//! | `missing` | the baseline has it, this report does not |
//! | `inconclusive` | fewer than 2 valid runs on a side (no test possible), or the rate bases differ |
//! | `regressed` | change ≤ −min_change and p < alpha |
//! | `improved` | change ≥ +min_change and p < alpha |
//! | `unchanged` | otherwise |
//!
//! Only `regressed` can fail the gate; `inconclusive` is reported with its
//! change so a single-run comparison is visible without failing CI on noise.

use super::run::RateBasis;
use super::scenario::ScenarioSummary;
use super::stats::{mean, welch, Welch};
use crate::matrix::Gate;
use serde::{Deserialize, Serialize};

/// What the baseline knows about one scenario group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineScenario {
    /// Group id.
    pub id: String,
    /// Sustained rates of its valid runs.
    pub sustained_values: Vec<f64>,
    /// Rate basis of those values.
    pub rate_basis: RateBasis,
}

impl From<&ScenarioSummary> for BaselineScenario {
    fn from(s: &ScenarioSummary) -> Self {
        BaselineScenario {
            id: s.id.clone(),
            sustained_values: s.sustained_values.clone(),
            rate_basis: s.rate_basis,
        }
    }
}

/// Outcome of the comparison of one scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeStatus {
    /// Significantly lower, by at least the minimum change.
    Regressed,
    /// Significantly higher, by at least the minimum change.
    Improved,
    /// Not enough data for a test.
    Inconclusive,
    /// Within the minimum change or not significant.
    Unchanged,
    /// Not in the baseline.
    New,
    /// In the baseline only.
    Missing,
}

impl ChangeStatus {
    /// The kebab-case name used in report.md and report.json.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeStatus::Regressed => "regressed",
            ChangeStatus::Improved => "improved",
            ChangeStatus::Inconclusive => "inconclusive",
            ChangeStatus::Unchanged => "unchanged",
            ChangeStatus::New => "new",
            ChangeStatus::Missing => "missing",
        }
    }
}

/// The comparison of one scenario with the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Group id.
    pub id: String,
    /// The verdict of the comparison.
    pub status: ChangeStatus,
    /// Mean sustained rate in the baseline.
    pub baseline_mean: Option<f64>,
    /// Valid runs in the baseline.
    pub baseline_n: usize,
    /// Mean sustained rate now.
    pub current_mean: Option<f64>,
    /// Valid runs now.
    pub current_n: usize,
    /// Relative change `(current − baseline) / baseline`.
    pub change: Option<f64>,
    /// Welch's t-test of current against baseline, when both have ≥ 2 runs.
    pub welch: Option<Welch>,
    /// Whether the change is significant (`p < alpha`); null without a test.
    pub significant: Option<bool>,
    /// One sentence on why, for people.
    pub note: String,
}

/// Compares every current scenario with the baseline; baseline scenarios not
/// in `current` come last as `missing`. Order: current order, then baseline order.
pub fn compare(
    current: &[ScenarioSummary],
    baseline: &[BaselineScenario],
    gate: &Gate,
) -> Vec<Comparison> {
    let mut out: Vec<Comparison> = current
        .iter()
        .map(|s| match baseline.iter().find(|b| b.id == s.id) {
            Some(b) => compare_one(s, b, gate),
            None => Comparison {
                id: s.id.clone(),
                status: ChangeStatus::New,
                baseline_mean: None,
                baseline_n: 0,
                current_mean: mean(&s.sustained_values),
                current_n: s.sustained_values.len(),
                change: None,
                welch: None,
                significant: None,
                note: "not in the baseline".into(),
            },
        })
        .collect();
    for b in baseline {
        if !current.iter().any(|s| s.id == b.id) {
            out.push(Comparison {
                id: b.id.clone(),
                status: ChangeStatus::Missing,
                baseline_mean: mean(&b.sustained_values),
                baseline_n: b.sustained_values.len(),
                current_mean: None,
                current_n: 0,
                change: None,
                welch: None,
                significant: None,
                note: "in the baseline but not run now".into(),
            });
        }
    }
    out
}

fn compare_one(s: &ScenarioSummary, b: &BaselineScenario, gate: &Gate) -> Comparison {
    let cur = &s.sustained_values;
    let base = &b.sustained_values;
    let (cm, bm) = (mean(cur), mean(base));
    let change = match (cm, bm) {
        (Some(c), Some(b)) if b > 0.0 => Some((c - b) / b),
        _ => None,
    };
    let test = welch(cur, base);
    let significant = test.as_ref().map(|w| w.p_value < gate.alpha);
    let (status, note) = if s.rate_basis != b.rate_basis && !base.is_empty() && !cur.is_empty() {
        (
            ChangeStatus::Inconclusive,
            format!(
                "rates not comparable: {} now, {} in the baseline",
                s.rate_basis.as_str(),
                b.rate_basis.as_str()
            ),
        )
    } else if let (Some(w), Some(ch)) = (&test, change) {
        let big = ch.abs() >= gate.min_change;
        let sig = w.p_value < gate.alpha;
        let status = match (big && sig, ch < 0.0) {
            (true, true) => ChangeStatus::Regressed,
            (true, false) => ChangeStatus::Improved,
            _ => ChangeStatus::Unchanged,
        };
        let why = match (big, sig) {
            (true, true) => "significant",
            (true, false) => "not significant",
            (false, true) => "significant but below the minimum change",
            (false, false) => "not significant, below the minimum change",
        };
        let note = format!(
            "{why} (p = {:.3}, min change {:.0}%)",
            w.p_value,
            gate.min_change * 100.0
        );
        (status, note)
    } else {
        let note = format!(
            "needs ≥ 2 valid runs on each side for a test ({} now, {} in the baseline)",
            cur.len(),
            base.len()
        );
        (ChangeStatus::Inconclusive, note)
    };
    Comparison {
        id: s.id.clone(),
        status,
        baseline_mean: bm,
        baseline_n: base.len(),
        current_mean: cm,
        current_n: cur.len(),
        change,
        welch: test,
        significant,
        note,
    }
}
