//! An API that died mid-run is not a plateau at zero.
//!
//! When the server under test crashed 5 s into a 20 s run, the first version
//! found a "plateau" on the 15 seconds of nothing that followed and reported
//! "Capacity: 0.0 msg/s sustained ✅ valid". A run whose rate falls to (near)
//! zero for good while connections are refused, reset or time out is
//! `collapsed` instead: its figures are the peak before the collapse, when it
//! happened and the active chats then, and the plateau is looked for only
//! before it.

use serde::{Deserialize, Serialize};

use crate::results::{ErrorKind, RunResult, Second};

/// A rate at or below this share of the run's peak counts as zero.
pub const ZERO_SHARE: f64 = 0.05;
/// Shortest tail at zero that makes a collapse (seconds).
pub const MIN_TAIL_S: usize = 3;
/// A collapse is sudden: within [`SUDDEN_S`] seconds before the tail the rate
/// was still at least this share of the peak. An API that degrades slowly
/// under load (the plateau's own "collapsed" end) is saturated, not gone.
pub const SUDDEN_SHARE: f64 = 0.5;
/// See [`SUDDEN_SHARE`].
pub const SUDDEN_S: usize = 3;

/// Error kinds that show the API went away (rather than refused politely).
const GONE: [ErrorKind; 4] = [
    ErrorKind::ConnectRefused,
    ErrorKind::ConnectionClosed,
    ErrorKind::HandshakeTimeout,
    ErrorKind::Timeout,
];

/// Where and how a run collapsed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollapseInfo {
    /// First second of the tail at zero (seconds since start).
    pub at_s: u32,
    /// Highest per-second rate before it.
    pub peak_before: f64,
    /// Active chats at the end of the last second before it.
    pub active_chats: u64,
    /// Errors that showed the API going away, by kind name.
    pub errors: u64,
}

/// The collapse of a run, if its `rate` (one value per second of `secs`)
/// ends in at least [`MIN_TAIL_S`] seconds at (near) zero, right after a rate
/// of at least [`SUDDEN_SHARE`] of the peak, while connections were refused,
/// reset or timed out.
pub fn find_collapse(run: &RunResult, secs: &[Second], rate: &[f64]) -> Option<CollapseInfo> {
    let peak = rate.iter().copied().fold(0.0, f64::max);
    if peak <= 0.0 {
        return None;
    }
    let zero = |r: f64| r <= ZERO_SHARE * peak;
    let tail = rate.iter().rev().take_while(|&&r| zero(r)).count();
    if tail < MIN_TAIL_S || tail == rate.len() {
        return None;
    }
    let errors: u64 = GONE.iter().filter_map(|k| run.errors_by_kind.get(k)).sum();
    if errors == 0 {
        return None;
    }
    let at = rate.len() - tail;
    let recent = rate[at.saturating_sub(SUDDEN_S)..at].iter().copied();
    if recent.fold(0.0, f64::max) < SUDDEN_SHARE * peak {
        return None;
    }
    Some(CollapseInfo {
        at_s: secs.get(at).map_or(at as u32, |s| s.t),
        peak_before: rate[..at].iter().copied().fold(0.0, f64::max),
        active_chats: secs.get(at - 1).map_or(0, |s| s.active_chats),
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_with(errors: &[(ErrorKind, u64)], rates: &[f64]) -> (RunResult, Vec<Second>) {
        let mut r = crate::results::tests::sample();
        for (k, n) in errors {
            r.errors_by_kind.insert(*k, *n);
        }
        let secs = rates
            .iter()
            .enumerate()
            .map(|(t, &d)| Second {
                t: t as u32,
                delivered: d as u64,
                active_chats: 10 * t as u64,
                ..Second::default()
            })
            .collect();
        (r, secs)
    }

    #[test]
    fn a_rate_that_drops_to_zero_with_refused_connections_collapsed() {
        let rates = [100.0, 200.0, 300.0, 310.0, 0.0, 0.0, 1.0, 0.0];
        let (r, secs) = run_with(&[(ErrorKind::ConnectRefused, 40)], &rates);
        let c = find_collapse(&r, &secs, &rates).expect("a collapse");
        assert_eq!((c.at_s, c.peak_before, c.active_chats), (4, 310.0, 30));
        assert_eq!(c.errors, 40);
    }

    #[test]
    fn a_slow_decline_is_saturation_not_a_collapse() {
        let rates: Vec<f64> = (0..20).map(|t| 300.0 * 0.7f64.powi(t)).collect();
        let (r, secs) = run_with(&[(ErrorKind::ConnectionClosed, 5)], &rates);
        assert_eq!(find_collapse(&r, &secs, &rates), None);
    }

    #[test]
    fn no_collapse_without_connection_errors_a_short_tail_or_a_peak() {
        let rates = [100.0, 200.0, 300.0, 0.0, 0.0, 0.0];
        let (r, secs) = run_with(&[(ErrorKind::HttpStatus, 5)], &rates);
        assert_eq!(
            find_collapse(&r, &secs, &rates),
            None,
            "errors of another kind"
        );
        let short = [100.0, 200.0, 300.0, 0.0, 0.0];
        let (r, secs) = run_with(&[(ErrorKind::ConnectionClosed, 5)], &short);
        assert_eq!(find_collapse(&r, &secs, &short), None, "2 s tail");
        let flat = [0.0; 6];
        let (r, secs) = run_with(&[(ErrorKind::ConnectionClosed, 5)], &flat);
        assert_eq!(find_collapse(&r, &secs, &flat), None, "never any traffic");
    }
}
