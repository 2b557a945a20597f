//! One run from the parts of a split scenario (`split: K`): the result files
//! of the K runners that generated it together, merged by wall-clock second.
//!
//! Rates and counts add up; gauges (participants, chats, connections) add up
//! second by second; the first error is the earliest of any part. Latency
//! percentiles cannot be merged exactly from summaries, so the merged value is
//! the largest part's (an upper bound) with the summed sample count. Loss is
//! recomputed from the sums, since a part's organizers also receive the other
//! parts' messages.
//!
//! What merging can see of the parts' clocks it writes as notes: parts that
//! started late or are missing, and skew estimated from the fastest messages
//! each way between two parts (NTP's symmetric-delay estimate).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::results::{
    DrainEnd, DrainInfo, FirstError, Outcome, Percentiles, Phase, RunResult, Second, SplitInfo,
    Totals,
};

/// Skew smaller than this is not worth a note: it moves few messages across
/// a one-second bucket.
pub const SKEW_NOTE_MS: f64 = 50.0;

/// Parts further apart than this are aligned at 0 and noted, rather than
/// merged into an hours-long timeline.
pub const MAX_PART_OFFSET: Duration = Duration::from_secs(3600);

/// A part counts as late when it started this long after the common start.
pub const LATE_START: Duration = Duration::from_secs(1);

/// Parses the RFC 3339 UTC times result files hold.
pub fn parse_time(rfc3339: &str) -> Option<SystemTime> {
    crate::time::parse_rfc3339(rfc3339).ok()
}

fn secs_between(from: SystemTime, to: SystemTime) -> f64 {
    match to.duration_since(from) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// Merges the parts of one split scenario (same id, `split` set, distinct
/// parts) into one run. Skipped parts are left out (and noted); when every
/// part was skipped, the first is returned.
///
/// Align the parts' clocks → notes on what does not add up → sum.
pub fn merge_parts(mut parts: Vec<RunResult>) -> RunResult {
    parts.sort_by_key(RunResult::part);
    let expected = parts
        .iter()
        .filter_map(|r| r.split.as_ref().map(|s| s.parts))
        .max()
        .unwrap_or(1);
    let (ran, skipped): (Vec<RunResult>, Vec<RunResult>) = parts
        .into_iter()
        .partition(|r| r.outcome != Outcome::Skipped);
    if ran.is_empty() {
        return skipped
            .into_iter()
            .next()
            .expect("merge_parts gets at least one part");
    }
    let start_at = ran[0]
        .split
        .as_ref()
        .map(|s| s.start_at.clone())
        .unwrap_or_default();
    let Aligned {
        base,
        offsets,
        starts,
        mut notes,
    } = align(&ran);
    let present: Vec<u32> = ran.iter().map(RunResult::part).collect();
    let scope = Scope {
        expected,
        present: &present,
        any_skipped: !skipped.is_empty(),
        start_at: &start_at,
    };
    let max_skew_ms = part_notes(&ran, &scope, &starts, &mut notes);
    let mut merged = sum(&ran, base, &offsets, &starts);
    merged.split = Some(SplitInfo {
        part: 0,
        parts: expected,
        start_at,
        min_one_way_ms: Vec::new(),
        merged_parts: present,
        notes,
        max_skew_ms,
    });
    merged
}

/// The parts on one clock: the earliest start, each part's offset from it
/// and its start, and a note for each part that had to be aligned.
struct Aligned {
    base: SystemTime,
    offsets: Vec<f64>,
    starts: Vec<SystemTime>,
    notes: Vec<String>,
}

/// A part whose start cannot be read, or that started implausibly far from
/// the others, is aligned with the earliest instead of stretching the timeline.
fn align(ran: &[RunResult]) -> Aligned {
    let mut notes = Vec::new();
    let parsed: Vec<Option<SystemTime>> = ran.iter().map(|r| r.started_at.instant()).collect();
    let base = parsed
        .iter()
        .flatten()
        .min()
        .copied()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let offsets: Vec<f64> = ran
        .iter()
        .zip(&parsed)
        .map(|(r, t)| match t.map(|t| secs_between(base, t)) {
            Some(o) if o <= MAX_PART_OFFSET.as_secs_f64() => o,
            other => {
                notes.push(match other {
                    Some(o) => format!(
                        "part {} started {o:.0} s after the earliest part: not the same run? aligned with it",
                        r.part()
                    ),
                    None => format!(
                        "part {}'s started_at {:?} is not an RFC 3339 time: aligned with the earliest part",
                        r.part(),
                        r.started_at
                    ),
                });
                0.0
            }
        })
        .collect();
    let starts = offsets
        .iter()
        .map(|o| base + Duration::from_secs_f64(*o))
        .collect();
    Aligned {
        base,
        offsets,
        starts,
        notes,
    }
}

/// Which parts there should be and which there are.
struct Scope<'a> {
    expected: u32,
    present: &'a [u32],
    any_skipped: bool,
    start_at: &'a str,
}

/// Notes on what does not add up: missing parts, late starts, clock skew,
/// parts that could not start. Returns the largest skew.
fn part_notes(
    ran: &[RunResult],
    scope: &Scope<'_>,
    starts: &[SystemTime],
    notes: &mut Vec<String>,
) -> Option<f64> {
    let missing: Vec<String> = (1..=scope.expected)
        .filter(|p| !scope.present.contains(p))
        .map(|p| p.to_string())
        .collect();
    if !missing.is_empty() {
        notes.push(format!(
            "part(s) {} of {} missing{}: their load is not in these numbers, so rates under-state what the API took",
            missing.join(", "),
            scope.expected,
            if scope.any_skipped { " or skipped" } else { "" },
        ));
    }
    if let Some(common) = parse_time(scope.start_at) {
        for (r, &t) in ran.iter().zip(starts) {
            let late = secs_between(common, t);
            if late >= LATE_START.as_secs_f64() {
                notes.push(format!(
                    "part {} started {late:.1} s after the common start {}: its runner came up late, so the load did not add up for its first seconds",
                    r.part(),
                    scope.start_at
                ));
            }
        }
    }
    let max_skew_ms = skew_notes(ran, notes);
    for r in ran.iter().filter(|r| r.outcome == Outcome::Failed) {
        let why = r.start_failure.as_ref().map_or("", |f| f.message.as_str());
        notes.push(format!(
            "part {} could not start ({why}): its load is not in these numbers",
            r.part()
        ));
    }
    max_skew_ms
}

/// The parts summed into one run (its `split` is set by the caller).
fn sum(ran: &[RunResult], base: SystemTime, offsets: &[f64], starts: &[SystemTime]) -> RunResult {
    let mut merged = ran[0].clone();
    merged.timeline = timeline(ran, offsets);
    merged.drain = drain(ran);
    merged.totals = totals(ran, merged.drain.as_ref());
    merged.started_at = ran[starts.iter().position(|&t| t == base).unwrap_or(0)]
        .started_at
        .clone();
    merged.ended_at = ran
        .iter()
        .filter_map(|r| r.ended_at.instant().map(|t| (t, r.ended_at.clone())))
        .max_by_key(|(t, _)| *t)
        .map_or(merged.ended_at, |(_, s)| s);
    merged.duration_s = ran
        .iter()
        .zip(offsets)
        .map(|(r, o)| o + r.duration_s)
        .fold(0.0, f64::max);
    settle(&mut merged, ran, offsets);
    sum_errors(&mut merged, ran, offsets);
    let lat = |f: fn(&RunResult) -> &Percentiles| upper_bound(ran.iter().map(f));
    merged.latency_ms.message = lat(|r| &r.latency_ms.message);
    merged.latency_ms.handshake = lat(|r| &r.latency_ms.handshake);
    merged.latency_ms.sign_up = lat(|r| &r.latency_ms.sign_up);
    merged.latency_ms.chat_request = lat(|r| &r.latency_ms.chat_request);
    merged.latency_ms.round_trip = lat(|r| &r.latency_ms.round_trip);
    merged.generator = generator(ran);
    merged.server = sum_maps(ran.iter().filter_map(|r| r.server.as_ref()));
    merged.cloudwatch = ran.iter().find_map(|r| r.cloudwatch.clone());
    merged.hooks = ran.iter().flat_map(|r| r.hooks.clone()).collect();
    merged.skipped_reason = None;
    merged
}

/// The merged start failure, outcome and stop reason.
fn settle(merged: &mut RunResult, ran: &[RunResult], offsets: &[f64]) {
    merged.start_failure = ran
        .iter()
        .all(|r| r.outcome == Outcome::Failed)
        .then(|| ran.iter().find_map(|r| r.start_failure.clone()))
        .flatten();
    merged.outcome = if merged.start_failure.is_some() {
        Outcome::Failed
    } else if ran.iter().any(|r| r.outcome == Outcome::Interrupted) {
        Outcome::Interrupted
    } else if ran.iter().any(|r| r.outcome == Outcome::Saturated) {
        Outcome::Saturated
    } else {
        Outcome::Completed
    };
    // The reason of the part that stopped first with the merged outcome.
    merged.stop_reason = ran
        .iter()
        .zip(offsets)
        .filter(|(r, _)| r.outcome == merged.outcome)
        .min_by(|a, b| (a.1 + a.0.duration_s).total_cmp(&(b.1 + b.0.duration_s)))
        .map_or(merged.stop_reason, |(r, _)| r.stop_reason);
}

/// The earliest first error on the merged clock, and the error counts summed.
fn sum_errors(merged: &mut RunResult, ran: &[RunResult], offsets: &[f64]) {
    merged.first_error = ran
        .iter()
        .zip(offsets)
        .filter_map(|(r, o)| {
            r.first_error.as_ref().map(|e| FirstError {
                at_s: e.at_s + o,
                worker: e.worker.clone().in_part(r.part()),
                ..e.clone()
            })
        })
        .min_by(|a, b| a.at_s.total_cmp(&b.at_s));
    merged.errors_by_kind = BTreeMap::new();
    for r in ran {
        for (k, v) in &r.errors_by_kind {
            *merged.errors_by_kind.entry(*k).or_default() += v;
        }
    }
}

/// Adds the parts' seconds into wall-clock seconds since the earliest start.
fn timeline(parts: &[RunResult], offsets: &[f64]) -> Vec<Second> {
    let shift: Vec<usize> = offsets
        .iter()
        .map(|o| o.round().max(0.0) as usize)
        .collect();
    let len = parts
        .iter()
        .zip(&shift)
        .map(|(r, s)| r.timeline.len() + s)
        .max()
        .unwrap_or(0);
    // A merged second is a drain second only when no part was still running in it.
    let mut out: Vec<Second> = (0..len)
        .map(|t| Second {
            t: t as u32,
            phase: Phase::Drain,
            ..Second::default()
        })
        .collect();
    for (r, &s) in parts.iter().zip(&shift) {
        let last = r.timeline.last().cloned().unwrap_or_default();
        for (t, slot) in out.iter_mut().enumerate() {
            let Some(i) = t.checked_sub(s) else { continue };
            match r.timeline.get(i) {
                Some(x) => {
                    slot.sent += x.sent;
                    slot.delivered += x.delivered;
                    slot.errors += x.errors;
                    slot.replies += x.replies;
                    slot.participants += x.participants;
                    slot.active_chats += x.active_chats;
                    slot.open_connections += x.open_connections;
                    slot.max_lateness_ms = slot.max_lateness_ms.max(x.max_lateness_ms);
                    slot.cpu_percent += x.cpu_percent;
                    slot.signed_up += x.signed_up;
                    slot.connected += x.connected;
                    if x.phase == Phase::Run {
                        slot.phase = Phase::Run;
                    }
                }
                // A part that ended keeps its cumulative counts.
                None => {
                    slot.participants += last.participants;
                    slot.active_chats += last.active_chats;
                    slot.signed_up += last.signed_up;
                    slot.connected += last.connected;
                }
            }
        }
    }
    out
}

fn totals(parts: &[RunResult], drain: Option<&DrainInfo>) -> Totals {
    let mut t = Totals::default();
    for r in parts {
        let x = &r.totals;
        t.participants += x.participants;
        t.chats += x.chats;
        t.messages_sent += x.messages_sent;
        t.messages_delivered += x.messages_delivered;
        t.messages_duplicated += x.messages_duplicated;
        t.start_chats_sent += x.start_chats_sent;
        t.errors += x.errors;
        t.replies_sent += x.replies_sent;
        t.replies_received += x.replies_received;
        t.stages = t.stages.plus(&x.stages);
        t.messages_delivered_late += x.messages_delivered_late;
        t.messages_out_of_order += x.messages_out_of_order;
    }
    // A part alone cannot tell its backlog or loss (its organizers receive
    // the other parts' messages): both come from the sums. Sends end at the
    // stop, so the backlog is what was sent minus what arrived before it.
    let missing = t.messages_sent.saturating_sub(t.messages_delivered);
    let on_time = t.messages_delivered - t.messages_delivered_late.min(t.messages_delivered);
    t.backlog_at_stop = t.messages_sent.saturating_sub(on_time);
    if drain.is_none_or(|d| d.end.judges_loss()) {
        t.messages_lost = missing;
    } else {
        t.messages_undelivered_at_drain_end = missing;
    }
    t
}

/// The merged drain: the least conclusive end of any part (one part cut short
/// makes the whole count unjudged) and the longest times.
fn drain(parts: &[RunResult]) -> Option<DrainInfo> {
    let rank = |e: DrainEnd| match e {
        DrainEnd::AllDelivered => 0,
        DrainEnd::Quiet => 1,
        DrainEnd::Bound => 2,
        DrainEnd::Interrupted => 3,
        DrainEnd::Skipped => 4,
    };
    parts
        .iter()
        .filter_map(|r| r.drain.clone())
        .reduce(|a, b| DrainInfo {
            end: if rank(b.end) > rank(a.end) {
                b.end
            } else {
                a.end
            },
            drain_s: a.drain_s.max(b.drain_s),
            bound_s: a.bound_s.max(b.bound_s),
            quiet_s: a.quiet_s.max(b.quiet_s),
            last_delivery_s: match (a.last_delivery_s, b.last_delivery_s) {
                (Some(x), Some(y)) => Some(x.max(y)),
                (x, y) => x.or(y),
            },
        })
}

/// The largest part's percentiles, with every part's samples counted.
fn upper_bound<'a>(parts: impl Iterator<Item = &'a Percentiles>) -> Percentiles {
    parts.fold(Percentiles::default(), |acc, p| Percentiles {
        p50: acc.p50.max(p.p50),
        p90: acc.p90.max(p.p90),
        p99: acc.p99.max(p.p99),
        max: acc.max.max(p.max),
        count: acc.count + p.count,
    })
}

fn generator(parts: &[RunResult]) -> crate::results::Generator {
    let mut g = crate::results::Generator::default();
    let mut cpu_us = 0.0;
    let mut sent = 0u64;
    for r in parts {
        let x = &r.generator;
        g.max_send_lateness_ms = g.max_send_lateness_ms.max(x.max_send_lateness_ms);
        g.p99_send_lateness_ms = g.p99_send_lateness_ms.max(x.p99_send_lateness_ms);
        g.p99_creation_lateness_ms = g.p99_creation_lateness_ms.max(x.p99_creation_lateness_ms);
        g.max_creation_lateness_ms = g.max_creation_lateness_ms.max(x.max_creation_lateness_ms);
        g.late_ticks += x.late_ticks;
        g.cpu_percent += x.cpu_percent;
        g.cores += x.cores;
        cpu_us += x.cpu_us_per_message * r.totals.messages_sent as f64;
        sent += r.totals.messages_sent;
    }
    if sent > 0 {
        g.cpu_us_per_message = (cpu_us / sent as f64 * 100.0).round() / 100.0;
    }
    g
}

fn sum_maps<'a>(
    maps: impl Iterator<Item = &'a BTreeMap<String, u64>>,
) -> Option<BTreeMap<String, u64>> {
    let mut out: Option<BTreeMap<String, u64>> = None;
    for m in maps {
        let acc = out.get_or_insert_with(BTreeMap::new);
        for (k, v) in m {
            *acc.entry(k.clone()).or_default() += v;
        }
    }
    out
}

/// Notes the clock skew the parts' one-way times show; returns the largest
/// estimated offset between two parts, ms.
fn skew_notes(parts: &[RunResult], notes: &mut Vec<String>) -> Option<f64> {
    let one_way = |r: &RunResult, from: u32| -> Option<f64> {
        r.split
            .as_ref()?
            .min_one_way_ms
            .get(from as usize - 1)
            .copied()
            .flatten()
    };
    let mut largest: Option<f64> = None;
    for (i, a) in parts.iter().enumerate() {
        for b in &parts[i + 1..] {
            let (pa, pb) = (a.part(), b.part());
            if pa == 0 || pb == 0 {
                continue;
            }
            match (one_way(a, pb), one_way(b, pa)) {
                (Some(ab), Some(ba)) => {
                    // ab = delay + (a − b), ba = delay + (b − a).
                    let skew = (ab - ba) / 2.0;
                    largest = Some(largest.map_or(skew.abs(), |l: f64| l.max(skew.abs())));
                    if skew.abs() >= SKEW_NOTE_MS {
                        notes.push(format!(
                            "clock skew: part {pa}'s clock is about {:.0} ms {} part {pb}'s (from the fastest messages each way); the merged seconds and cross-part latencies are off by up to that much",
                            skew.abs(),
                            if skew > 0.0 { "ahead of" } else { "behind" }
                        ));
                    }
                }
                (Some(d), None) | (None, Some(d)) if d < 0.0 => {
                    let (to, from) = if one_way(a, pb).is_some() {
                        (pa, pb)
                    } else {
                        (pb, pa)
                    };
                    largest = Some(largest.map_or(-d, |l: f64| l.max(-d)));
                    notes.push(format!(
                        "clock skew: part {to} received part {from}'s messages {:.0} ms before they were sent, so their clocks differ by at least that much",
                        -d
                    ));
                }
                _ => {}
            }
        }
    }
    largest
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;
