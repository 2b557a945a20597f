//! Whether a run measured the API at all: the validity verdict.
//!
//! A capacity number is only the API's capacity when the load generator kept
//! its own schedule; a generator that fell behind (late sends, a full CPU)
//! measured itself. The rules below decide, in this order (first match wins):
//!
//! | verdict | when |
//! |---|---|
//! | `skipped` | a `before_*` hook failed, so the run never started (listed with its reason, never counted) |
//! | `failed` | the run started but never loaded the API: no organizer signed in and connected, or no participant connected (never counted) |
//! | `interrupted` | the run was cancelled by a signal (its data is shown, never counted) |
//! | `too-short` | fewer than [`MIN_RUN_S`] usable seconds: too short for the plateau analysis (two windows of [`super::plateau::MIN_WINDOW_S`] s at least); the reason states the minimum and the run's peak, which is still shown |
//! | `inconclusive` | no message was sent |
//! | `collapsed` | the rate fell to (near) zero for good while connections were refused, reset or timed out: the API went away (see [`super::collapse`]); its peak before the collapse is shown |
//! | `generator-bound` | the generator hit its own limits (`generator_limit` errors: no descriptor or local port; checked right after `skipped`, and no collapse overrides it), or any generator rule below fired |
//! | `setup-bound` | the first failure was the Organizer or Participant API and fewer than [`SETUP_CONNECTED_SHARE`] of the participants started reached the Messenger API: the load was limited by sign-up, not by the API under test ([`setup_bound`]) |
//! | `no-plateau` | the rate was still rising (or collapsed without a plateau) when the run ended: its peak is a lower bound of the capacity |
//! | `valid` | a plateau was found and the generator kept up |
//!
//! Generator rules (thresholds are the constants of this module):
//! - whole run: CPU ≥ [`CPU_BOUND_SHARE`] of `cores × 100%`; p99 send lateness
//!   above the lateness limit; late (skipped) ticks above [`LATE_TICKS_MAX_SHARE`]
//!   of the sends;
//! - around the plateau (from [`super::plateau::WINDOW_S`] before it to its end;
//!   without a plateau, the last 2 windows of the run): median per-second CPU ≥
//!   [`CPU_BOUND_SHARE`] of the cores, or at least [`LATE_SECONDS_MAX_SHARE`] of
//!   the seconds with a send later than the lateness limit.
//!
//! The lateness limit is `min(`[`LATENESS_LIMIT_MS`]`, `[`LATENESS_LIMIT_SMI_SHARE`]` × smi)`.
//! Send lateness is assumed to measure the generator's scheduler (when a tick
//! fired versus when it was due), not the time a blocked socket write took.

use crate::results::{ByName, ErrorKind, RunResult, Second, Service};
use serde::{Deserialize, Serialize};

/// Share of the generator's cores (`cores × 100%`) at or above which it is CPU-bound.
pub const CPU_BOUND_SHARE: f64 = 0.90;
/// Send lateness above this many ms counts as falling behind (upper cap).
pub const LATENESS_LIMIT_MS: f64 = 100.0;
/// ... or above this share of the send message interval, when that is smaller.
pub const LATENESS_LIMIT_SMI_SHARE: f64 = 0.5;
/// Largest share of ticks that may fire more than one interval late.
pub const LATE_TICKS_MAX_SHARE: f64 = 0.01;
/// Share of the seconds around the plateau with a late send that marks the run.
pub const LATE_SECONDS_MAX_SHARE: f64 = 0.25;
/// A single send later than this is worth a warning (not a verdict).
pub const MAX_LATENESS_WARN_MS: f64 = 1000.0;
/// Fewer usable seconds than this make a run `too-short`: the plateau
/// analysis needs two windows of at least [`super::plateau::MIN_WINDOW_S`] s.
pub const MIN_RUN_S: usize = 2 * super::plateau::MIN_WINDOW_S;

/// What a run is good for. Ordered by its name ([`ByName`]), so report.json's
/// `verdicts` map keeps its key order; [`Verdict::rank`] is the declaration order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// A plateau was found and the generator kept up: the API's capacity.
    Valid,
    /// The load generator fell behind its schedule: not the API's capacity.
    GeneratorBound,
    /// Participants could not join (the Organizer or Participant API failed
    /// first): the Messenger API never got the planned load.
    SetupBound,
    /// The rate never stopped rising: the peak is a lower bound.
    NoPlateau,
    /// Too little data to say anything (no message was sent).
    Inconclusive,
    /// Shorter than the plateau analysis needs ([`MIN_RUN_S`] usable
    /// seconds): never valid, its peak is still shown.
    TooShort,
    /// Cancelled by a signal.
    Interrupted,
    /// Not run: a `before_*` hook failed.
    Skipped,
    /// Started but never loaded the API (organizers could not sign in, no
    /// participant connected): not a measurement.
    Failed,
    /// The API went away mid-run: the rate fell to zero while connections
    /// were refused or reset. The peak before the collapse measured the API.
    Collapsed,
}

impl ByName for Verdict {
    fn name(&self) -> &'static str {
        self.as_str()
    }
}

crate::results::order_by_name!(Verdict);

impl Verdict {
    /// Its place in declaration order: the tie-break of the most frequent
    /// verdict (the earlier one wins).
    pub fn rank(self) -> u8 {
        self as u8
    }

    /// The kebab-case name used in report.md and report.json.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::GeneratorBound => "generator-bound",
            Verdict::SetupBound => "setup-bound",
            Verdict::NoPlateau => "no-plateau",
            Verdict::Inconclusive => "inconclusive",
            Verdict::TooShort => "too-short",
            Verdict::Interrupted => "interrupted",
            Verdict::Skipped => "skipped",
            Verdict::Failed => "failed",
            Verdict::Collapsed => "collapsed",
        }
    }

    /// Every verdict, best first: the order reports list them in.
    pub const ALL: [Verdict; 10] = [
        Verdict::Valid,
        Verdict::Collapsed,
        Verdict::GeneratorBound,
        Verdict::SetupBound,
        Verdict::NoPlateau,
        Verdict::TooShort,
        Verdict::Inconclusive,
        Verdict::Interrupted,
        Verdict::Failed,
        Verdict::Skipped,
    ];

    /// True when the run's peak rate measured the API (valid, no-plateau, or
    /// the peak before a collapse).
    pub fn measured_api(self) -> bool {
        matches!(
            self,
            Verdict::Valid | Verdict::NoPlateau | Verdict::Collapsed
        )
    }
}

/// Below this share of the started participants connected to the Messenger
/// API, a run whose first failure was a set-up service is `setup-bound`.
pub const SETUP_CONNECTED_SHARE: f64 = 0.9;

/// Why the run's load was limited by the set-up services (sign-in, sign-up,
/// chat requests) rather than by the Messenger API, or `None`.
///
/// Against the real system an open creation rate overloads the Participant
/// API's bcrypt sign-up: most sign-ups fail, the few participants that got in
/// make a flat rate, and that flat rate looks exactly like a plateau. It is
/// not the Messenger API's capacity.
pub fn setup_bound(run: &RunResult) -> Option<String> {
    let e = run.first_error.as_ref()?;
    let service = e.service.or(e.step.map(|s| s.service()))?;
    if service == Service::MessengerApi {
        return None;
    }
    let s = &run.totals.stages;
    if s.participants_started == 0
        || s.connected as f64 >= SETUP_CONNECTED_SHARE * s.participants_started as f64
    {
        return None;
    }
    Some(format!(
        "only {} of {} participants reached the Messenger API: the {} failed first ({}), so the Messenger API never got the planned load",
        s.connected,
        s.participants_started,
        service.label(),
        e.step.map_or("an error", |st| st.label())
    ))
}

/// Why the run is `generator-bound` because connections failed for lack of
/// descriptors or local ports on the generator's side (`generator_limit`
/// errors), or `None`. Such a run's rate is what the generator could open,
/// not what the API took.
pub fn generator_limit(run: &RunResult) -> Option<String> {
    let n = *run
        .errors_by_kind
        .get(&ErrorKind::GeneratorLimit)
        .filter(|&&n| n > 0)?;
    Some(format!(
        "the generator hit its own limits: {n} connection(s) found no free descriptor or local port (`generator_limit`); raise the open-file limit or use `split: K`: this is not the API's capacity"
    ))
}

/// The lateness above which a send counts as late for a scenario's smi.
pub fn lateness_limit_ms(smi_ms: f64) -> f64 {
    if smi_ms > 0.0 {
        LATENESS_LIMIT_MS.min(LATENESS_LIMIT_SMI_SHARE * smi_ms)
    } else {
        LATENESS_LIMIT_MS
    }
}

/// Reasons the generator was the bottleneck (empty when it kept up), checked
/// over the whole run and over `window` of the timeline.
pub fn generator_findings(run: &RunResult, window: &[Second]) -> Vec<String> {
    let g = &run.generator;
    let limit = lateness_limit_ms(run.scenario.smi_ms);
    let capacity = f64::from(g.cores) * 100.0;
    let mut out = Vec::new();
    if capacity > 0.0 && g.cpu_percent >= CPU_BOUND_SHARE * capacity {
        out.push(format!(
            "generator CPU {:.0}% of {} cores' {:.0}% (limit {:.0}%)",
            g.cpu_percent,
            g.cores,
            capacity,
            CPU_BOUND_SHARE * 100.0
        ));
    }
    if g.p99_send_lateness_ms > limit {
        out.push(format!(
            "p99 send lateness {:.0} ms > {limit:.0} ms",
            g.p99_send_lateness_ms
        ));
    }
    let ticks = run.totals.messages_sent + g.late_ticks;
    if ticks > 0 && g.late_ticks as f64 > LATE_TICKS_MAX_SHARE * ticks as f64 {
        out.push(format!(
            "{} late ticks ({:.1}% of sends, limit {:.0}%)",
            g.late_ticks,
            100.0 * g.late_ticks as f64 / ticks as f64,
            LATE_TICKS_MAX_SHARE * 100.0
        ));
    }
    if !window.is_empty() {
        let cpu: Vec<f64> = window.iter().map(|s| s.cpu_percent).collect();
        let med = super::stats::median(&cpu).unwrap_or(0.0);
        if capacity > 0.0 && med >= CPU_BOUND_SHARE * capacity {
            out.push(format!(
                "median generator CPU {med:.0}% around the plateau (limit {:.0}%)",
                CPU_BOUND_SHARE * capacity
            ));
        }
        let late = window.iter().filter(|s| s.max_lateness_ms > limit).count();
        if late as f64 >= LATE_SECONDS_MAX_SHARE * window.len() as f64 {
            out.push(format!(
                "{late} of {} seconds around the plateau had a send > {limit:.0} ms late",
                window.len()
            ));
        }
    }
    out
}

/// Warnings that do not change the verdict.
pub fn generator_warnings(run: &RunResult) -> Vec<String> {
    let g = &run.generator;
    let mut out = Vec::new();
    if g.max_send_lateness_ms > MAX_LATENESS_WARN_MS {
        out.push(format!(
            "one send was {:.1} s late (max send lateness)",
            g.max_send_lateness_ms / 1000.0
        ));
    }
    if g.cores == 0 {
        out.push("generator cores unknown: CPU rule skipped".to_string());
    }
    out
}
