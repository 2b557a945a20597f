//! A run's identity in its result file: the scenario and target as recorded,
//! and the result of a run that never started (a failed `before_*` hook), so
//! that a skipped run still leaves a file saying why.

use std::time::SystemTime;

use super::{ms, rfc3339};
use crate::matrix::{Scenario, Target};
use crate::results::{
    Generator, Latencies, Outcome, RunResult, ScenarioInfo, TargetInfo, Totals, SCHEMA_VERSION,
};

/// The scenario's parameters as a result file records them.
pub fn scenario_info(scenario: &Scenario) -> ScenarioInfo {
    ScenarioInfo {
        id: scenario.id.clone(),
        sci_ms: ms(scenario.sci),
        cpi_ms: ms(scenario.cpi),
        smi_ms: ms(scenario.smi),
        repetition: scenario.repetition,
        organizers: scenario.organizers,
        group: scenario.group.clone(),
    }
}

/// The target's public coordinates (never credentials).
pub fn target_info(target: &Target, embedded: bool) -> TargetInfo {
    TargetInfo {
        messenger_ws_url: target.messenger_ws_url.clone(),
        organizer_api_url: target.organizer_api_url.clone(),
        participant_api_url: target.participant_api_url.clone(),
        event_id: target.event_id,
        embedded,
    }
}

/// The result of a run that never started: empty numbers, `skipped`, and why.
pub fn skipped_result(
    scenario: &Scenario,
    target: &Target,
    embedded: bool,
    reason: String,
) -> RunResult {
    let now = rfc3339(SystemTime::now());
    RunResult {
        schema: SCHEMA_VERSION,
        scenario: scenario_info(scenario),
        target: target_info(target, embedded),
        started_at: now.clone(),
        ended_at: now,
        duration_s: 0.0,
        outcome: Outcome::Skipped,
        stop_reason: crate::results::StopReason::Skipped,
        first_error: None,
        errors_by_kind: Default::default(),
        totals: Totals::default(),
        timeline: Vec::new(),
        latency_ms: Latencies::default(),
        generator: Generator::default(),
        server: None,
        cloudwatch: None,
        skipped_reason: Some(reason),
        hooks: Vec::new(),
        split: None,
        start_failure: None,
        creation: None,
        side: None,
        pair: None,
        drain: None,
    }
}
