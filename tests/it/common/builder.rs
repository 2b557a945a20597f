//! A deterministic builder of realistic result files for tests: participants
//! join every cpi, get a chat after a short lag and send every smi, so the
//! rate rises linearly until the API's capacity, holds a noisy plateau, and
//! the run stops at a handshake timeout some seconds later — the shape of the
//! published runs. Knobs make a generator-bound run, a collapse or a run that
//! ends before saturating.
//!
//! Shared by the unit tests (`src/analysis/tests.rs`, via `#[path]`) and the
//! integration tests; the includer provides `results` (the crate's module).

#![allow(dead_code)]

use super::results::{
    ErrorKind, FirstError, Generator, Latencies, Outcome, Percentiles, RunResult, ScenarioInfo,
    Second, StopReason, TargetInfo, Totals, Worker,
};
use std::collections::BTreeMap;

/// What to build.
#[derive(Debug, Clone)]
pub struct Spec {
    pub group: String,
    pub sci_ms: f64,
    pub cpi_ms: f64,
    pub smi_ms: f64,
    pub repetition: u32,
    /// Messages per second the API delivers at most.
    pub capacity: f64,
    /// Seconds from a participant's creation to its first message.
    pub lag_s: u32,
    /// Relative noise amplitude of the per-second rates.
    pub noise: f64,
    pub seed: u64,
    /// The first error (handshake timeout) comes this long after the knee; the run stops there.
    pub error_after_knee_s: Option<f64>,
    /// Hard stop without an error.
    pub max_s: u32,
    /// The load generator is the bottleneck: it sends at most 80% of the capacity, its CPU is full.
    pub generator_bound: bool,
    /// The rate collapses this long after the knee.
    pub collapse_after_knee_s: Option<u32>,
}

impl Spec {
    /// The published scenario (sci 10 ms, cpi 20 ms) at `smi_ms`, repetition `rep`.
    pub fn new(smi_ms: f64, rep: u32, capacity: f64) -> Spec {
        Spec {
            group: format!("sci10ms-cpi20ms-smi{}ms", smi_ms),
            sci_ms: 10.0,
            cpi_ms: 20.0,
            smi_ms,
            repetition: rep,
            capacity,
            lag_s: 2,
            noise: 0.03,
            seed: (smi_ms as u64) * 1000 + u64::from(rep) * 7 + capacity as u64,
            error_after_knee_s: Some(45.0),
            max_s: 900,
            generator_bound: false,
            collapse_after_knee_s: None,
        }
    }
}

fn noise(seed: &mut u64) -> f64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*seed >> 33) as f64 / (1u64 << 31) as f64) * 2.0 - 1.0
}

fn pct(p50: f64, p90: f64, p99: f64, max: f64, count: u64) -> Percentiles {
    Percentiles {
        p50,
        p90,
        p99,
        max,
        count,
    }
}

/// Builds the run described by `spec`.
pub fn build(spec: &Spec) -> RunResult {
    let mut seed = spec.seed;
    let per = 1000.0 / spec.smi_ms;
    let joins = 1000.0 / spec.cpi_ms;
    let chats_at = |t: f64| -> f64 {
        let p = (joins * (t - 1.0)).floor().max(0.0);
        p.min((1000.0 / spec.sci_ms * t).floor())
    };
    let limit = if spec.generator_bound {
        0.8 * spec.capacity
    } else {
        spec.capacity
    };
    // The knee: first second where the offered load reaches the limit.
    let knee = (0..100_000)
        .find(|&t| chats_at(f64::from(t.max(spec.lag_s) - spec.lag_s) + 1.0) * per >= limit)
        .unwrap_or(spec.max_s) as f64;
    let (end_s, first_error) = match spec.error_after_knee_s {
        Some(d) if knee + d < f64::from(spec.max_s) => (knee + d + 0.37, true),
        _ => (f64::from(spec.max_s), false),
    };
    let mut timeline = Vec::new();
    let mut totals = Totals::default();
    for t in 0..end_s.ceil() as u32 {
        let tf = f64::from(t);
        let participants = (joins * (tf + 1.0)).floor() as u64;
        let chats = chats_at(tf + 1.0);
        let sending = chats_at((tf + 1.0 - f64::from(spec.lag_s)).max(0.0));
        let mut rate = (sending * per).min(limit);
        if let Some(c) = spec.collapse_after_knee_s {
            let since = tf - knee - f64::from(c);
            if since > 0.0 {
                rate *= 0.85f64.powf(since);
            }
        }
        let sent = (rate * (1.0 + spec.noise * noise(&mut seed)))
            .max(0.0)
            .round() as u64;
        let delivered = if spec.generator_bound {
            sent
        } else {
            (sent as f64 * (1.0 - 0.0004 * (1.0 + noise(&mut seed)))).round() as u64
        };
        let (cpu, late) = if spec.generator_bound {
            (
                190.0 + 5.0 * noise(&mut seed),
                400.0 + 300.0 * noise(&mut seed),
            )
        } else {
            (45.0 + 10.0 * noise(&mut seed), 4.0 + 2.0 * noise(&mut seed))
        };
        let errors = u64::from(first_error && tf + 1.0 > end_s);
        timeline.push(Second {
            t,
            sent,
            delivered,
            participants,
            active_chats: chats as u64,
            open_connections: participants + 1,
            errors,
            max_lateness_ms: (late * 10.0f64).round() / 10.0,
            cpu_percent: (cpu * 10.0f64).round() / 10.0,
            replies: 0,
            ..Second::default()
        });
        totals.messages_sent += sent;
        totals.messages_delivered += delivered;
        totals.errors += errors;
    }
    let last = timeline.last().cloned().unwrap_or_default();
    totals.participants = last.participants;
    totals.chats = last.active_chats;
    totals.start_chats_sent = (end_s * 1000.0 / spec.sci_ms) as u64;
    totals.messages_lost = totals.messages_sent - totals.messages_delivered;
    let mut errors_by_kind = BTreeMap::new();
    if first_error {
        errors_by_kind.insert(ErrorKind::HandshakeTimeout, 1);
    }
    let id = format!("{}-r{}", spec.group, spec.repetition);
    let sent = totals.messages_sent;
    let scenario = ScenarioInfo {
        id,
        sci_ms: spec.sci_ms,
        cpi_ms: spec.cpi_ms,
        smi_ms: spec.smi_ms,
        repetition: spec.repetition,
        organizers: 1,
        group: spec.group.clone(),
    };
    let target = TargetInfo {
        messenger_ws_url: "wss://messenger.staging.example/connect".into(),
        organizer_api_url: "https://organizer.staging.example".into(),
        participant_api_url: "https://participant.staging.example".into(),
        event_id: 7,
        embedded: false,
    };
    RunResult {
        started_at: format!("2026-11-28T01:{:02}:00Z", spec.repetition * 10).into(),
        ended_at: format!(
            "2026-11-28T01:{:02}:{:02}Z",
            spec.repetition * 10 + (end_s as u32) / 60,
            (end_s as u32) % 60
        )
        .into(),
        duration_s: (end_s * 100.0).round() / 100.0,
        outcome: if first_error {
            Outcome::Saturated
        } else {
            Outcome::Completed
        },
        stop_reason: if first_error {
            StopReason::FirstError
        } else {
            StopReason::MaxDuration
        },
        first_error: first_error.then(|| FirstError {
            at_s: (end_s * 100.0).round() / 100.0,
            kind: ErrorKind::HandshakeTimeout,
            message: "WebSocket handshake did not complete within 45s".into(),
            worker: Worker::Participant(last.participants as u32),
            active_chats: last.active_chats,
            participants: last.participants,
            step: None,
            service: None,
            http_status: None,
        }),
        errors_by_kind,
        totals,
        timeline,
        latency_ms: Latencies {
            message: pct(12.4, 38.0, 120.0 + spec.smi_ms / 20.0, 2300.0, sent),
            handshake: pct(3.1, 9.8, 850.0, 45000.0, last.participants),
            sign_up: pct(18.0, 40.0, 95.0, 400.0, last.participants),
            chat_request: pct(9.0, 22.0, 60.0, 300.0, last.participants),
            round_trip: Percentiles::default(),
        },
        generator: Generator {
            max_send_lateness_ms: if spec.generator_bound { 2400.0 } else { 35.0 },
            p99_send_lateness_ms: if spec.generator_bound { 610.0 } else { 6.5 },
            late_ticks: if spec.generator_bound { sent / 20 } else { 0 },
            cpu_percent: if spec.generator_bound { 188.0 } else { 47.0 },
            cpu_us_per_message: 9.5,
            cores: 2,
            ..Generator::default()
        },
        ..RunResult::empty(scenario, target)
    }
}
