//! One run's numbers: peaks, plateau, first error, loss, latency and verdict,
//! computed from its [`RunResult`] alone.
//!
//! The capacity metric ("sustained rate") is the plateau's median
//! **delivered**/s when the run measured deliveries, else its median sent/s
//! ([`RateBasis`]): a delivered message is what the API actually handled,
//! while sends can pile up in buffers. The published analysis (peak **sent**/s
//! against active chats at the first timeout) keeps the sent rate.

use super::collapse::{self, CollapseInfo};
use super::delivery::DeliveryInfo;
use super::plateau::{self, Plateau};
use super::verdict::{self, Verdict};
use crate::results::{
    CreationRate, ErrorKind, FirstError, Latencies, Outcome, Phase, RunResult, Second, StageCounts,
    StartFailure,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which per-second rate the plateau and the sustained rate are measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateBasis {
    /// Messages delivered to an organizer per second.
    Delivered,
    /// Messages sent by participants per second (when deliveries were not measured).
    Sent,
}

impl RateBasis {
    /// `delivered` or `sent`.
    pub fn as_str(self) -> &'static str {
        match self {
            RateBasis::Delivered => "delivered",
            RateBasis::Sent => "sent",
        }
    }
}

/// The plateau of a run, with both rates measured over it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlateauInfo {
    /// First second on the plateau (seconds since start).
    pub start_s: u32,
    /// One past its last second.
    pub end_s: u32,
    /// True when it ended in a collapse of the rate.
    pub collapsed: bool,
    /// Median sent/s over the plateau.
    pub sent_rate: f64,
    /// Median delivered/s over the plateau.
    pub delivered_rate: f64,
}

/// The first error of a run, as its result file has it, and when it came
/// relative to the plateau. It reads as the [`FirstError`] it holds (`Deref`).
/// In report.json its fields are the file's, then `since_plateau_s`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirstErrorInfo {
    /// The first error as recorded.
    #[serde(flatten)]
    pub error: FirstError,
    /// Seconds from the plateau start to this error (negative: before the plateau).
    pub since_plateau_s: Option<f64>,
}

impl std::ops::Deref for FirstErrorInfo {
    type Target = FirstError;

    fn deref(&self) -> &FirstError {
        &self.error
    }
}

/// The load generator's health numbers, copied for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorInfo {
    /// Average CPU, percent of one core.
    pub cpu_percent: f64,
    /// Cores available (0 = unknown).
    pub cores: u32,
    /// p99 send lateness, ms.
    pub p99_send_lateness_ms: f64,
    /// Max send lateness, ms.
    pub max_send_lateness_ms: f64,
    /// Ticks that fired more than one interval late.
    pub late_ticks: u64,
}

/// Everything the report says about one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunAnalysis {
    /// Scenario id of the run (`...-r2`).
    pub id: String,
    /// Scenario group (the id without the repetition).
    pub group: String,
    /// Repetition number.
    pub repetition: u32,
    /// How the run ended.
    pub outcome: Outcome,
    /// Which stop rule ended it.
    pub stop_reason: crate::results::StopReason,
    /// Seconds from start to stop.
    pub duration_s: f64,
    /// Rate the plateau and the sustained rate are measured on.
    pub rate_basis: RateBasis,
    /// Highest sent/s of one second.
    pub peak_sent: f64,
    /// Second of the highest sent/s.
    pub peak_sent_at_s: u32,
    /// Highest delivered/s of one second.
    pub peak_delivered: f64,
    /// The plateau, when one was found.
    pub plateau: Option<PlateauInfo>,
    /// The capacity metric: the plateau's median rate on `rate_basis`.
    pub sustained_rate: Option<f64>,
    /// The first error, if any.
    pub first_error: Option<FirstErrorInfo>,
    /// Errors by kind (a kind this build does not know is left out on reading).
    #[serde(deserialize_with = "crate::results::lenient_keys")]
    pub errors_by_kind: BTreeMap<ErrorKind, u64>,
    /// Messages sent.
    pub messages_sent: u64,
    /// Messages delivered.
    pub messages_delivered: u64,
    /// Messages lost: sent and never delivered, after deliveries had stopped.
    pub messages_lost: u64,
    /// `messages_lost / messages_sent`, null without sends.
    pub loss: Option<f64>,
    /// Latency percentiles, copied from the result.
    pub latency_ms: Latencies,
    /// Generator health numbers.
    pub generator: GeneratorInfo,
    /// The validity verdict.
    pub verdict: Verdict,
    /// Why the verdict is not `valid` (empty when valid).
    pub reasons: Vec<String>,
    /// Things worth knowing that did not change the verdict.
    pub warnings: Vec<String>,
    /// Organizer replies, when the run had them (`organizer.reply`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replies: Option<RepliesInfo>,
    /// Where the rate fell to zero for good, when the API went away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collapse: Option<CollapseInfo>,
    /// Why a `failed` run measured nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_failure: Option<StartFailure>,
    /// How many organizers and participants reached each stage.
    #[serde(default)]
    pub stages: StageCounts,
    /// Planned and achieved participant creation rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation: Option<CreationRate>,
    /// Backlog at the stop, late deliveries, what was still arriving, the drain.
    #[serde(default)]
    pub delivery: DeliveryInfo,
}

/// What organizer replies added to a run's load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepliesInfo {
    /// Replies organizers sent.
    pub sent: u64,
    /// Replies their participants received.
    pub received: u64,
    /// Highest per-second count of all messages the API handled: participant
    /// messages delivered plus replies sent (each reply answers a delivery).
    pub peak_handled: f64,
}

/// The seconds of the timeline that can be trusted: the run's whole seconds
/// before the stop. Drops the drain after it (nothing is sent then, so its
/// rates say nothing about capacity) and the partial bucket the run stopped
/// inside, so the last "second" does not look like a collapse.
pub fn usable_seconds(run: &RunResult) -> &[Second] {
    let tl = &run.timeline;
    let ends_in_time =
        |s: &Second| run.duration_s <= 0.0 || f64::from(s.t) + 1.0 <= run.duration_s + 1e-9;
    let end = tl
        .iter()
        .position(|s| s.phase == Phase::Drain || !ends_in_time(s))
        .unwrap_or(tl.len());
    &tl[..end]
}

/// Analyses one run.
pub fn analyze_run(run: &RunResult) -> RunAnalysis {
    let secs = usable_seconds(run);
    let sent: Vec<f64> = secs.iter().map(|s| s.sent as f64).collect();
    let delivered: Vec<f64> = secs.iter().map(|s| s.delivered as f64).collect();
    let participants: Vec<f64> = secs.iter().map(|s| s.participants as f64).collect();
    let basis = if run.totals.messages_delivered > 0 || delivered.iter().any(|&d| d > 0.0) {
        RateBasis::Delivered
    } else {
        RateBasis::Sent
    };
    let rate = match basis {
        RateBasis::Delivered => &delivered,
        RateBasis::Sent => &sent,
    };
    let per_participant = if run.scenario.smi_ms > 0.0 {
        1000.0 / run.scenario.smi_ms
    } else {
        0.0
    };
    let collapse = collapse::find_collapse(run, secs, rate);
    // A tail at zero is never a plateau: look only before the collapse.
    let before = collapse.as_ref().map_or(rate.len(), |c| {
        secs.iter()
            .position(|s| s.t == c.at_s)
            .unwrap_or(rate.len())
    });
    let found = plateau::find_plateau(&rate[..before], &participants[..before], per_participant);
    let plateau = found
        .as_ref()
        .map(|p| plateau_info(p, secs, &sent, &delivered));
    let (peak_sent_at, peak_sent) = peak(&sent);
    let (_, peak_delivered) = peak(&delivered);
    let first_error = run.first_error.as_ref().map(|e| FirstErrorInfo {
        error: e.clone(),
        since_plateau_s: plateau.as_ref().map(|p| e.at_s - f64::from(p.start_s)),
    });
    let replies = (run.totals.replies_sent > 0).then(|| RepliesInfo {
        sent: run.totals.replies_sent,
        received: run.totals.replies_received,
        peak_handled: secs
            .iter()
            .map(|s| (s.delivered + s.replies) as f64)
            .fold(0.0, f64::max),
    });
    let window = plateau_window(secs, found.as_ref());
    let decided = decide(run, secs.len(), found.as_ref(), rate, window);
    let (verdict, reasons) = if verdict::generator_limit(run).is_some() {
        decided
    } else {
        with_collapse(decided, collapse.as_ref())
    };
    let g = &run.generator;
    RunAnalysis {
        id: run.scenario.id.clone(),
        group: run.scenario.group.clone(),
        repetition: run.scenario.repetition,
        outcome: run.outcome,
        stop_reason: run.stop_reason,
        duration_s: run.duration_s,
        rate_basis: basis,
        peak_sent,
        peak_sent_at_s: secs.get(peak_sent_at).map_or(0, |s| s.t),
        peak_delivered,
        sustained_rate: found.as_ref().map(|p| p.sustained),
        plateau,
        first_error,
        errors_by_kind: run.errors_by_kind.clone(),
        messages_sent: run.totals.messages_sent,
        messages_delivered: run.totals.messages_delivered,
        messages_lost: run.totals.messages_lost,
        loss: (run.totals.messages_sent > 0)
            .then(|| run.totals.messages_lost as f64 / run.totals.messages_sent as f64),
        latency_ms: run.latency_ms.clone(),
        generator: GeneratorInfo {
            cpu_percent: g.cpu_percent,
            cores: g.cores,
            p99_send_lateness_ms: g.p99_send_lateness_ms,
            max_send_lateness_ms: g.max_send_lateness_ms,
            late_ticks: g.late_ticks,
        },
        verdict,
        reasons,
        // A skipped run has no generator to judge.
        warnings: if run.outcome == Outcome::Skipped {
            Vec::new()
        } else {
            verdict::generator_warnings(run)
        },
        replies,
        collapse,
        start_failure: run.start_failure.clone(),
        stages: run.totals.stages,
        creation: run.creation.clone(),
        delivery: DeliveryInfo::of(run),
    }
}

/// The plateau in seconds of the timeline (`Second::t`; the plateau finder
/// works in indexes, which are the same when no second is missing).
fn plateau_info(p: &Plateau, secs: &[Second], sent: &[f64], delivered: &[f64]) -> PlateauInfo {
    let (a, b) = (p.start_s as usize, p.end_s as usize);
    let med = |xs: &[f64]| super::stats::median(&xs[a..b]).unwrap_or(0.0);
    PlateauInfo {
        start_s: secs[a].t,
        end_s: secs[b - 1].t + 1,
        collapsed: p.collapsed,
        sent_rate: med(sent),
        delivered_rate: med(delivered),
    }
}

fn peak(xs: &[f64]) -> (usize, f64) {
    xs.iter().enumerate().fold(
        (0, 0.0),
        |best, (i, &x)| if x > best.1 { (i, x) } else { best },
    )
}

/// The seconds the generator rules look at: one window before the plateau to
/// its end, or the last two windows of the run when there is no plateau.
fn plateau_window<'a>(secs: &'a [Second], p: Option<&Plateau>) -> &'a [Second] {
    let w = plateau::window_s(secs.len());
    match p {
        Some(p) => &secs[(p.start_s as usize).saturating_sub(w)..p.end_s as usize],
        None => &secs[secs.len().saturating_sub(2 * w)..],
    }
}

fn decide(
    run: &RunResult,
    usable: usize,
    p: Option<&Plateau>,
    rate: &[f64],
    window: &[Second],
) -> (Verdict, Vec<String>) {
    if run.outcome == Outcome::Skipped {
        let why = run
            .skipped_reason
            .as_deref()
            .unwrap_or("a before hook failed");
        return (Verdict::Skipped, vec![format!("run was skipped: {why}")]);
    }
    // Whatever else the run shows, connections the generator could not open
    // make its numbers the generator's: never a capacity, never a collapse.
    if let Some(why) = verdict::generator_limit(run) {
        return (Verdict::GeneratorBound, vec![why]);
    }
    if run.outcome == Outcome::Failed {
        let why = run.start_failure.as_ref().map_or_else(
            || "the run never loaded the API".to_string(),
            |f| f.message.clone(),
        );
        return (
            Verdict::Failed,
            vec![format!("the test could not start: {why}")],
        );
    }
    if run.outcome == Outcome::Interrupted {
        return (
            Verdict::Interrupted,
            vec![format!("run was interrupted ({})", run.stop_reason)],
        );
    }
    if usable < verdict::MIN_RUN_S {
        let peak = rate.iter().copied().fold(0.0, f64::max);
        let why = format!(
            "too short for a plateau: {usable} s of usable data, the plateau analysis needs at least {} s (two {} s windows; longer runs use windows of a quarter of the run, up to {} s); peak {peak:.0} msg/s",
            verdict::MIN_RUN_S,
            crate::analysis::plateau::MIN_WINDOW_S,
            crate::analysis::plateau::WINDOW_S,
        );
        return (Verdict::TooShort, vec![why]);
    }
    if run.totals.messages_sent == 0 && rate.iter().all(|&r| r == 0.0) {
        return (Verdict::Inconclusive, vec!["no message was sent".into()]);
    }
    let findings = verdict::generator_findings(run, window);
    if !findings.is_empty() {
        return (Verdict::GeneratorBound, findings);
    }
    if let Some(why) = verdict::setup_bound(run) {
        return (Verdict::SetupBound, vec![why]);
    }
    if p.is_none() {
        return (Verdict::NoPlateau, vec![no_plateau_reason(rate)]);
    }
    (Verdict::Valid, Vec::new())
}

/// A collapse overrides what the rules found from the data alone, except
/// where the run measured nothing at all (skipped, failed, interrupted).
fn with_collapse(
    found: (Verdict, Vec<String>),
    c: Option<&CollapseInfo>,
) -> (Verdict, Vec<String>) {
    match (found.0, c) {
        (Verdict::Skipped | Verdict::Failed | Verdict::Interrupted, _) | (_, None) => found,
        (_, Some(c)) => (
            Verdict::Collapsed,
            vec![format!(
                "the API went away at {} s: the rate fell from a peak of {:.0}/s to zero while {} connections were refused, reset or timed out ({} chats active then)",
                c.at_s, c.peak_before, c.errors, c.active_chats
            )],
        ),
    }
}

fn no_plateau_reason(rate: &[f64]) -> String {
    let (at, top) = peak(rate);
    let last = super::stats::median(&rate[rate.len().saturating_sub(5)..]).unwrap_or(0.0);
    if top > 0.0 && last < (1.0 - plateau::COLLAPSE_DROP) * top {
        format!("the rate collapsed after its peak at {at} s without a sustained plateau")
    } else {
        "the rate was still rising when the run ended: its peak is a lower bound".into()
    }
}
