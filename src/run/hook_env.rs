//! The environment a hook sees: where the target is and which run it is
//! around, as `MSGPERF_*` variables (the embedded server's ports are random,
//! so a reset hook can only find it this way). Never the organizer password,
//! unless a hook opts in with `pass_password: true`.

use std::path::Path;

use crate::matrix::{Scenario, Target};

/// Variables common to every hook of a run of the plan.
pub fn base(target: &Target, embedded: bool, out: &Path, count: usize) -> Vec<(String, String)> {
    let mut env = vec![
        ("MSGPERF_MESSENGER_WS_URL", target.messenger_ws_url.clone()),
        (
            "MSGPERF_ORGANIZER_API_URL",
            target.organizer_api_url.clone(),
        ),
        (
            "MSGPERF_PARTICIPANT_API_URL",
            target.participant_api_url.clone(),
        ),
        ("MSGPERF_EVENT_ID", target.event_id.to_string()),
        ("MSGPERF_EMBEDDED", embedded.to_string()),
        ("MSGPERF_RESULTS_DIR", out.display().to_string()),
        ("MSGPERF_SCENARIO_COUNT", count.to_string()),
    ];
    if !target.organizer_email.contains("{n}") {
        env.push(("MSGPERF_ORGANIZER_EMAIL", target.organizer_email.clone()));
    }
    env.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Variables of the run a `*_each` hook is around.
pub fn scenario(s: &Scenario) -> Vec<(String, String)> {
    let ms = |d: std::time::Duration| format!("{}", d.as_secs_f64() * 1000.0);
    [
        ("MSGPERF_SCENARIO_ID", s.id.clone()),
        ("MSGPERF_SCENARIO_GROUP", s.group.clone()),
        ("MSGPERF_SCI_MS", ms(s.sci)),
        ("MSGPERF_CPI_MS", ms(s.cpi)),
        ("MSGPERF_SMI_MS", ms(s.smi)),
        ("MSGPERF_REPETITION", s.repetition.to_string()),
        ("MSGPERF_ORGANIZERS", s.organizers.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// `vars` with their `MSGPERF_` prefix replaced by `prefix`: the candidate
/// side's target as `MSGPERF_CANDIDATE_*` in the hooks that are not around
/// one run (`before_all`, `after_all`). Only the target's variables.
pub fn prefixed(prefix: &str, vars: &[(String, String)]) -> Vec<(String, String)> {
    const TARGET: [&str; 5] = [
        "MSGPERF_MESSENGER_WS_URL",
        "MSGPERF_ORGANIZER_API_URL",
        "MSGPERF_PARTICIPANT_API_URL",
        "MSGPERF_EVENT_ID",
        "MSGPERF_EMBEDDED",
    ];
    vars.iter()
        .filter(|(k, _)| TARGET.contains(&k.as_str()))
        .map(|(k, v)| (format!("{prefix}{}", &k["MSGPERF_".len()..]), v.clone()))
        .collect()
}
