//! The report as data: everything report.md shows, in the shape of
//! report.json (documented in `docs/report.md`, versioned by [`REPORT_SCHEMA`]).
//!
//! [`build`] is pure: analysis, baseline and gate in, [`Report`] out. The
//! markdown, the terminal table, the history line and a later baseline
//! comparison all read this one value, so they cannot disagree.

use super::format;
use crate::analysis::{
    compare, Analysis, BaselineScenario, ChangeStatus, Comparison, PublishedPoint, RunAnalysis,
    ScenarioSummary, Verdict,
};
use crate::matrix::Gate;
use crate::results::{RunMetrics, RunResult};
use serde::{Deserialize, Serialize};

/// Version of report.json written by this build.
pub const REPORT_SCHEMA: u32 = 1;
/// Most points of the rate timeline kept for the Mermaid chart.
pub const TIMELINE_POINTS: usize = 80;

/// A whole report (report.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Format version, [`REPORT_SCHEMA`].
    pub schema: u32,
    /// Version of msgperf that wrote it.
    pub msgperf_version: String,
    /// RFC 3339 UTC time the report was made.
    pub generated_at: String,
    /// The one-sentence answer.
    pub headline: String,
    /// The results directories, in the order given.
    pub sources: Vec<String>,
    /// The regression gate in force.
    pub gate: GateSettings,
    /// The baseline compared against, if any.
    pub baseline: Option<BaselineInfo>,
    /// True when at least one scenario regressed.
    pub regressed: bool,
    /// True when the command fails because of the gate (exit 1).
    pub gate_failed: bool,
    /// One entry per scenario group, sorted by sci, cpi, smi, organizers, then id.
    pub scenarios: Vec<ScenarioReport>,
    /// Baseline scenarios this report does not have.
    pub missing: Vec<Comparison>,
    /// Every run, in scenario order, then by repetition.
    pub runs: Vec<RunAnalysis>,
    /// The published analysis: peak sent/s vs active chats at the first error.
    pub published: Vec<PublishedPoint>,
    /// The downsampled rate timeline shown in report.md's Mermaid chart.
    pub timeline: Option<TimelineSample>,
    /// Chart files, relative to the report directory.
    #[serde(default)]
    pub charts: Vec<String>,
    /// CloudWatch metrics of the runs whose result files hold them, in the
    /// order of `runs`; absent when none do.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cloudwatch: Vec<RunCloudWatch>,
    /// Runs merged from split parts, and what merging noticed (late parts,
    /// missing parts, clock skew), one line each; absent when nothing was split.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub split_notes: Vec<String>,
    /// The paired comparison of an A/B job (`targets: {base, candidate}`);
    /// absent for a job with one target. With it, the rest of the report
    /// describes the candidate's runs, with the base runs as the baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ab: Option<super::ab::AbReport>,
}

/// The CloudWatch metrics of one run, as stored in its result file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunCloudWatch {
    /// Run id.
    pub run: String,
    /// Scenario group.
    pub group: String,
    /// Window, period, series and warnings.
    #[serde(flatten)]
    pub metrics: RunMetrics,
}

/// The regression gate, as report.json records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateSettings {
    /// Smallest relative change that counts.
    pub min_change: f64,
    /// Significance level of Welch's t-test.
    pub alpha: f64,
    /// Whether a regression fails the command.
    pub fail_on_regression: bool,
}

impl From<&Gate> for GateSettings {
    fn from(g: &Gate) -> Self {
        GateSettings {
            min_change: g.min_change,
            alpha: g.alpha,
            fail_on_regression: g.fail_on_regression,
        }
    }
}

/// Which baseline the report compared against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineInfo {
    /// Name used in sentences ("vs main").
    pub label: String,
    /// The path it was read from.
    pub source: String,
    /// Number of scenarios in it.
    pub scenarios: usize,
}

/// A baseline ready to compare with.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineInput {
    /// Name used in sentences.
    pub label: String,
    /// Where it came from.
    pub source: String,
    /// Its scenarios.
    pub scenarios: Vec<BaselineScenario>,
}

/// One scenario group: its summary, a short label and the baseline comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioReport {
    /// Short name: the parameters that vary between the report's scenarios.
    pub label: String,
    /// The statistics over its repetitions.
    #[serde(flatten)]
    pub summary: ScenarioSummary,
    /// The comparison with the baseline, when there is one.
    pub comparison: Option<Comparison>,
}

/// A run's rate timeline averaged into at most [`TIMELINE_POINTS`] buckets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineSample {
    /// The run shown.
    pub run: String,
    /// Its scenario's label.
    pub label: String,
    /// Seconds per bucket.
    pub step_s: u32,
    /// Seconds covered.
    pub duration_s: u32,
    /// Mean sent/s per bucket.
    pub sent: Vec<f64>,
    /// Mean delivered/s per bucket.
    pub delivered: Vec<f64>,
    /// Plateau start, seconds.
    pub plateau_start_s: Option<u32>,
    /// First error, seconds.
    pub first_error_s: Option<f64>,
    /// What the drain after the stop (not drawn) showed, when there was
    /// something queued or missing, e.g. `17,050 messages queued at stop; …`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_stop: Option<String>,
}

/// Builds the report (pure). `results` are the runs `analysis` was made from.
pub fn build(
    results: &[RunResult],
    analysis: Analysis,
    baseline: Option<&BaselineInput>,
    gate: &Gate,
    generated_at: &str,
    sources: Vec<String>,
) -> Report {
    let labels = labels(&analysis.scenarios);
    let comparisons = baseline.map(|b| compare(&analysis.scenarios, &b.scenarios, gate));
    let find = |id: &str| {
        comparisons
            .as_ref()
            .and_then(|cs| {
                cs.iter()
                    .find(|c| c.id == id && c.status != ChangeStatus::Missing)
            })
            .cloned()
    };
    let scenarios: Vec<ScenarioReport> = analysis
        .scenarios
        .into_iter()
        .zip(labels)
        .map(|(summary, label)| ScenarioReport {
            comparison: find(&summary.id),
            label,
            summary,
        })
        .collect();
    let missing: Vec<Comparison> = comparisons
        .iter()
        .flatten()
        .filter(|c| c.status == ChangeStatus::Missing)
        .cloned()
        .collect();
    let regressed = scenarios.iter().any(|s| {
        s.comparison
            .as_ref()
            .is_some_and(|c| c.status == ChangeStatus::Regressed)
    });
    let timeline = pick_timeline(results, &analysis.runs, &scenarios);
    let cloudwatch = analysis
        .runs
        .iter()
        .filter_map(|a| {
            let r = results.iter().find(|r| r.scenario.id == a.id)?;
            Some(RunCloudWatch {
                run: a.id.clone(),
                group: a.group.clone(),
                metrics: r.cloudwatch.clone()?,
            })
        })
        .collect();
    let mut report = Report {
        schema: REPORT_SCHEMA,
        msgperf_version: env!("CARGO_PKG_VERSION").to_string(),
        generated_at: generated_at.to_string(),
        headline: String::new(),
        sources,
        gate: gate.into(),
        baseline: baseline.map(|b| BaselineInfo {
            label: b.label.clone(),
            source: b.source.clone(),
            scenarios: b.scenarios.len(),
        }),
        regressed,
        gate_failed: regressed && gate.fail_on_regression,
        scenarios,
        missing,
        runs: analysis.runs,
        published: analysis.published,
        timeline,
        charts: Vec::new(),
        cloudwatch,
        split_notes: split_notes(results),
        ab: None,
    };
    report.headline = super::headline::headline(&report);
    report
}

/// One line per merged split run, then one per thing its merge noticed.
fn split_notes(results: &[RunResult]) -> Vec<String> {
    let mut out = Vec::new();
    for r in results {
        let Some(split) = r.split.as_ref().filter(|s| s.part == 0) else {
            continue;
        };
        let parts: Vec<String> = split.merged_parts.iter().map(u32::to_string).collect();
        out.push(format!(
            "`{}`: merged from {} of {} runners (parts {})",
            r.scenario.id,
            split.merged_parts.len(),
            split.parts,
            parts.join(", ")
        ));
        out.extend(
            split
                .notes
                .iter()
                .map(|n| format!("⚠️ `{}`: {n}", r.scenario.id)),
        );
    }
    out
}

/// Short labels: only the parameters that differ between scenarios (all of
/// them for a single scenario); the group id when two would read the same.
pub fn labels(scenarios: &[ScenarioSummary]) -> Vec<String> {
    let differs = |f: &dyn Fn(&ScenarioSummary) -> f64| {
        scenarios.len() < 2 || scenarios.iter().any(|s| f(s) != f(&scenarios[0]))
    };
    let (sci, cpi, smi) = (
        differs(&|s| s.params.sci_ms),
        differs(&|s| s.params.cpi_ms),
        differs(&|s| s.params.smi_ms),
    );
    let org = scenarios.len() >= 2 && differs(&|s| f64::from(s.params.organizers));
    let out: Vec<String> = scenarios
        .iter()
        .map(|s| {
            let mut parts = Vec::new();
            if sci {
                parts.push(format!("sci {}", format::interval(s.params.sci_ms)));
            }
            if cpi {
                parts.push(format!("cpi {}", format::interval(s.params.cpi_ms)));
            }
            if smi {
                parts.push(format!("smi {}", format::interval(s.params.smi_ms)));
            }
            if org || s.params.organizers > 1 && scenarios.len() < 2 {
                parts.push(format!("{} organizers", s.params.organizers));
            }
            parts.join(", ")
        })
        .collect();
    out.iter()
        .zip(scenarios)
        .map(|(l, s)| {
            let dup = l.is_empty() || out.iter().filter(|o| *o == l).count() > 1;
            if dup {
                s.id.clone()
            } else {
                l.clone()
            }
        })
        .collect()
}

/// The timeline shown in the markdown: the median valid run (by sustained
/// rate) of the headline scenario, else its first run.
fn pick_timeline(
    results: &[RunResult],
    runs: &[RunAnalysis],
    scenarios: &[ScenarioReport],
) -> Option<TimelineSample> {
    let top = super::headline::top_scenario(scenarios)?;
    let mut members: Vec<&RunAnalysis> = runs
        .iter()
        .filter(|r| r.group == top.summary.id && r.verdict == Verdict::Valid)
        .collect();
    members.sort_by(|a, b| {
        a.sustained_rate
            .unwrap_or(0.0)
            .total_cmp(&b.sustained_rate.unwrap_or(0.0))
    });
    let run = members
        .get(members.len() / 2)
        .copied()
        .or_else(|| runs.iter().find(|r| r.group == top.summary.id))?;
    let result = results.iter().find(|r| r.scenario.id == run.id)?;
    let secs = crate::analysis::run::usable_seconds(result);
    if secs.is_empty() {
        return None;
    }
    let step = secs.len().div_ceil(TIMELINE_POINTS).max(1);
    let avg = |f: &dyn Fn(&crate::results::Second) -> u64| -> Vec<f64> {
        secs.chunks(step)
            .map(|c| c.iter().map(|s| f(s) as f64).sum::<f64>() / c.len() as f64)
            .collect()
    };
    Some(TimelineSample {
        run: run.id.clone(),
        label: top.label.clone(),
        step_s: step as u32,
        duration_s: secs.len() as u32,
        sent: avg(&|s| s.sent),
        delivered: avg(&|s| s.delivered),
        plateau_start_s: run.plateau.as_ref().map(|p| p.start_s),
        first_error_s: run.first_error.as_ref().map(|e| e.at_s),
        after_stop: super::delivery::sentence(run),
    })
}
