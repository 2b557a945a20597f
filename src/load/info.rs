//! A run's identity in its result file: the scenario and target as recorded,
//! and the result of a run that never started (a failed `before_*` hook), so
//! that a skipped run still leaves a file saying why.

use std::time::SystemTime;

use super::ms;
use crate::matrix::{Scenario, Target};
use crate::results::{RunResult, ScenarioInfo, TargetInfo, Timestamp};

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
    let now = Timestamp::at(SystemTime::now());
    RunResult {
        started_at: now.clone(),
        ended_at: now,
        skipped_reason: Some(reason),
        ..RunResult::empty(scenario_info(scenario), target_info(target, embedded))
    }
}
