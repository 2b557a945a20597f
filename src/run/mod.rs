//! `msgperf run`: the plan's scenarios, one after another, against the target
//! or the embedded staging server, each result written as soon as it exists.
//!
//! This is the command layer of the engine: it owns the process-level concerns
//! (signals, progress output, result files) so that [`crate::load`] stays a
//! function from a scenario to a result.

mod cloudwatch;
pub mod progress;
pub mod signals;
pub mod table;

use std::collections::BTreeMap;
use std::path::PathBuf;

use tokio::sync::watch;

use crate::cli::CommandError;
use crate::load::{self, Progress, RunControl};
use crate::matrix::{self, Gate, Plan, Secret, Target};
use crate::results::RunResult;
use crate::server::{self, RunningServer, ServerConfig, ServerInfo, ServerStats};

/// Options of `msgperf run`.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The plan.
    pub matrix: PathBuf,
    /// Where result files go.
    pub out: PathBuf,
    /// Scenario or group ids to run (empty = all).
    pub scenarios: Vec<String>,
}

/// What a finished `run` produced.
#[derive(Debug)]
pub struct RunOutcome {
    /// Results in run order.
    pub results: Vec<RunResult>,
    /// Their files.
    pub paths: Vec<PathBuf>,
    /// Exit code of the signal that cancelled the run (130 SIGINT, 143 SIGTERM).
    pub interrupted: Option<i32>,
    /// The plan's regression gate, for the report of this run.
    pub gate: Gate,
}

/// Worker threads of the embedded server's own runtime.
const EMBEDDED_SERVER_THREADS: usize = 2;

/// Runs the selected scenarios of the plan and writes one result file each.
pub async fn run(opts: &RunOptions) -> Result<RunOutcome, CommandError> {
    let plan = matrix::load_file(&opts.matrix).map_err(CommandError::config)?;
    run_plan(&plan, opts).await
}

/// Like [`run`] with a plan already loaded (and changed, e.g. by the GitHub
/// Action's target overrides and shard); `opts.matrix` is not read.
pub async fn run_plan(plan: &Plan, opts: &RunOptions) -> Result<RunOutcome, CommandError> {
    let scenarios = matrix::select(plan, &opts.scenarios).map_err(CommandError::config)?;
    let embedded = match plan.target {
        Some(_) => None,
        None => Some(start_embedded(&plan.embedded)?),
    };
    let target = match (&plan.target, &embedded) {
        (Some(target), _) => target.clone(),
        (None, Some(server)) => target_of(server.info()),
        (None, None) => unreachable!("an embedded server is started when there is no target"),
    };
    let signals = signals::Signals::install().map_err(CommandError::tool)?;
    let style = progress::Style::detect();
    let mut outcome = RunOutcome {
        results: Vec::new(),
        paths: Vec::new(),
        interrupted: None,
        gate: plan.gate.clone(),
    };
    for (i, scenario) in scenarios.iter().enumerate() {
        if signals.interrupted().is_some() {
            break;
        }
        // Each repetition starts from an empty system, as the published procedure
        // restarted the API between repetitions.
        let before = embedded.as_ref().map(|s| {
            s.reset();
            s.stats()
        });
        let (progress, updates) = watch::channel(Progress::default());
        let control = RunControl {
            interrupt: signals.token(),
            progress,
            embedded: embedded.is_some(),
        };
        let (mut result, ()) = tokio::join!(
            load::run_scenario(scenario, &target, control),
            progress::follow(style, scenario, i, scenarios.len(), updates)
        );
        if let (Some(server), Some(before)) = (&embedded, before) {
            result.server = Some(stats_delta(&before, &server.stats()));
        }
        let path = result.write_to_dir(&opts.out).map_err(CommandError::tool)?;
        progress::finished(style, &result, &path);
        outcome.results.push(result);
        outcome.paths.push(path);
    }
    outcome.interrupted = signals.interrupted();
    if let Some(server) = embedded {
        server.shutdown().await;
    }
    if let Some(config) = &plan.cloudwatch {
        if outcome.interrupted.is_none() {
            cloudwatch::attach(config, &opts.out, &mut outcome.results, &mut outcome.paths).await?;
        }
    }
    Ok(outcome)
}

fn start_embedded(capacity: &server::Capacity) -> Result<RunningServer, CommandError> {
    let config = ServerConfig {
        listen: std::net::Ipv4Addr::LOCALHOST.into(),
        ports: [0, 0, 0],
        capacity: capacity.clone(),
        ..ServerConfig::default()
    };
    server::start_on_own_runtime(config, EMBEDDED_SERVER_THREADS).map_err(CommandError::tool)
}

/// The embedded server as a target.
pub fn target_of(info: &ServerInfo) -> Target {
    Target {
        messenger_ws_url: info.messenger_ws_url.clone(),
        organizer_api_url: info.organizer_api_url.clone(),
        participant_api_url: info.participant_api_url.clone(),
        event_id: info.event_id,
        organizer_email: info.organizer_email.clone(),
        organizer_password: Secret::new(info.organizer_password.clone()),
    }
}

/// Counters as differences over the run; gauges (`*_open`) as their value at the end.
fn stats_delta(before: &ServerStats, after: &ServerStats) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| {
            let value = if k.ends_with("_open") {
                *v
            } else {
                v.saturating_sub(before.get(k).copied().unwrap_or(0))
            };
            (k.clone(), value)
        })
        .collect()
}
