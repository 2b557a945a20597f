//! `msgperf run`: the plan's scenarios, one after another, against the target
//! or the embedded staging server, each result written as soon as it exists.
//!
//! This is the command layer of the engine: it owns the process-level concerns
//! (signals, progress output, result files) so that [`crate::load`] stays a
//! function from a scenario to a result.

mod cloudwatch;
mod error;
mod hook_env;
pub mod hooks;
pub mod progress;
pub mod signals;
pub mod table;

pub use error::RunError;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::load::{self, Identity, PlanId, Progress, RunControl};
use crate::matrix::shard::{self as sharding, Slot};
use crate::matrix::{self, Gate, Hooks, OnHookFailure, Plan, Scenario, Secret, Slice, Target};
use crate::results::{HookRecord, RunResult};
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
    /// Which shard of the plan this runner runs (`--shard i/N`).
    pub shard: Slice,
    /// Which part of a split shard this runner is (`--part j/K`).
    pub part: Slice,
    /// Runners per scenario for every scenario (`--split K`), overriding matrix.yaml.
    pub split: Option<u32>,
    /// The common start of split parts (`--start-at`).
    pub start_at: Option<SystemTime>,
    /// The plan's nonce from `msgperf expand` (`--plan-id`), shared by every
    /// job of a scaled-out run; `None` derives one from `start_at` (parts
    /// started by hand share it), or makes a fresh one for a single runner.
    pub plan_id: Option<PlanId>,
    /// The workflow run attempt (`GITHUB_RUN_ATTEMPT`; 1 outside Actions): a
    /// re-run job signs up new participants.
    pub attempt: u32,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            matrix: "matrix.yaml".into(),
            out: "results".into(),
            scenarios: Vec::new(),
            shard: Slice::WHOLE,
            part: Slice::WHOLE,
            split: None,
            start_at: None,
            plan_id: None,
            attempt: 1,
        }
    }
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
    /// Why the matrix was stopped early (`on_hook_failure: abort`).
    pub aborted: Option<String>,
    /// The plan's regression gate, for the report of this run.
    pub gate: Gate,
}

/// A common start further ahead than this is a mistake, not a plan: the job
/// would idle until its timeout.
const MAX_START_AHEAD: Duration = Duration::from_secs(3600);

/// Worker threads of the embedded server's own runtime.
const EMBEDDED_SERVER_THREADS: usize = 2;

/// Runs the selected scenarios of the plan and writes one result file each.
pub async fn run(opts: &RunOptions) -> Result<RunOutcome, RunError> {
    let plan = matrix::load_file(&opts.matrix)?;
    run_plan(&plan, opts).await
}

/// Like [`run`] with a plan already loaded (and changed, e.g. by the GitHub
/// Action's target overrides and shard); `opts.matrix` is not read.
pub async fn run_plan(plan: &Plan, opts: &RunOptions) -> Result<RunOutcome, RunError> {
    let slots = slots(plan, opts)?;
    let plan_id = opts
        .plan_id
        .unwrap_or_else(|| opts.start_at.map_or_else(PlanId::fresh, PlanId::of_start));
    let scenarios: Vec<&Scenario> = slots.iter().map(|s| &s.scenario).collect();
    // Hooks prepare the shared target once: on part 1 of a split shard.
    let hooks_here = opts.part.index == 1;
    let embedded = match plan.target {
        Some(_) => None,
        None => Some(start_embedded(&plan.embedded)?),
    };
    let target = match (&plan.target, &embedded) {
        (Some(target), _) => target.clone(),
        (None, Some(server)) => target_of(server.info()),
        (None, None) => unreachable!("an embedded server is started when there is no target"),
    };
    let signals = signals::Signals::install().map_err(RunError::Signals)?;
    let style = progress::Style::detect();
    let mut outcome = RunOutcome {
        results: Vec::new(),
        paths: Vec::new(),
        interrupted: None,
        gate: plan.gate.clone(),
        aborted: None,
    };
    let around = Around {
        hooks: &plan.hooks,
        enabled: hooks_here,
        base: hook_env::base(&target, embedded.is_some(), &opts.out, scenarios.len()),
        masker: hooks::Masker::new(target.organizer_password.expose(), &[]),
        password: target.organizer_password.expose().to_string(),
        style,
    };
    // A failed before_all either skips every run or aborts the matrix.
    let mut pending = Vec::new();
    let mut skip_all = None;
    if let Some(rec) = around.run("before_all", None, None, &signals.token()).await {
        if !rec.ok {
            let reason = format!(
                "before_all hook failed: {}",
                rec.error.clone().unwrap_or_default()
            );
            match plan.on_hook_failure {
                OnHookFailure::Abort => outcome.aborted = Some(reason),
                OnHookFailure::Skip => skip_all = Some(reason),
            }
        }
        pending.push(rec);
    }
    let mut ran_before = false;
    for (i, slot) in slots.iter().enumerate() {
        let scenario = &slot.scenario;
        if outcome.aborted.is_some() || signals.interrupted().is_some() {
            break;
        }
        let mut records = std::mem::take(&mut pending);
        let mut skip = skip_all.clone();
        if skip.is_none() {
            // A split shard's schedule already leaves the cool-down between slots.
            if ran_before && !plan.cooldown.is_zero() && slot.start_at.is_none() {
                progress::cooldown(style, plan.cooldown, i, scenarios.len(), &signals.token())
                    .await;
                if signals.interrupted().is_some() {
                    break;
                }
            }
            if let Some(rec) = around
                .run("before_each", Some(scenario), None, &signals.token())
                .await
            {
                let failed = (!rec.ok).then(|| {
                    format!(
                        "before_each hook failed: {}",
                        rec.error.clone().unwrap_or_default()
                    )
                });
                records.push(rec);
                if signals.interrupted().is_some() {
                    break;
                }
                if let Some(reason) = failed {
                    if plan.on_hook_failure == OnHookFailure::Abort {
                        outcome.aborted = Some(reason.clone());
                    }
                    skip = Some(reason);
                }
            }
        }
        let mut result = match skip {
            Some(reason) => load::skipped_result(scenario, &target, embedded.is_some(), reason),
            None => {
                ran_before = true;
                let part = slot.part.unwrap_or(Slice::WHOLE);
                let identity = Identity {
                    attempt: opts.attempt.max(1),
                    ..Identity::of(plan_id, plan, &scenario.id, opts.shard, part)
                };
                run_one(
                    slot,
                    identity,
                    &target,
                    embedded.as_ref(),
                    &signals,
                    style,
                    (i, scenarios.len()),
                )
                .await
            }
        };
        if skip_all.is_none() && signals.interrupted().is_none() {
            let outcome_name = format!("{:?}", result.outcome).to_lowercase();
            if let Some(rec) = around
                .run(
                    "after_each",
                    Some(scenario),
                    Some(&outcome_name),
                    &signals.token(),
                )
                .await
            {
                records.push(rec);
            }
        }
        result.hooks = records;
        let path = result.write_to_dir(&opts.out)?;
        progress::finished(style, &result, &path);
        outcome.results.push(result);
        outcome.paths.push(path);
    }
    // after_all cleans up even after a failure or a signal; a second signal still exits at once.
    if let Some(rec) = around
        .run("after_all", None, None, &CancellationToken::new())
        .await
    {
        match (outcome.results.last_mut(), outcome.paths.last()) {
            (Some(last), Some(path)) => {
                last.hooks.push(rec);
                last.write_to_dir(path.parent().unwrap_or(&opts.out))?;
            }
            _ => pending.push(rec),
        }
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

/// The slots this runner runs: the selected scenarios of its shard, with its
/// part of each and their common start instants.
fn slots(plan: &Plan, opts: &RunOptions) -> Result<Vec<Slot>, RunError> {
    let mut plan = plan.clone();
    if let Some(k) = opts.split {
        sharding::set_split(&mut plan, k);
    }
    let selected: std::collections::HashSet<String> = matrix::select(&plan, &opts.scenarios)?
        .into_iter()
        .map(|s| s.id)
        .collect();
    let shard: Vec<Scenario> = sharding::shard(&plan, opts.shard)
        .into_iter()
        .filter(|s| selected.contains(&s.id))
        .collect();
    let width = sharding::width(&shard);
    if width > 1 && plan.target.is_none() {
        return Err(RunError::SplitWithoutTarget { width });
    }
    if let Some(ahead) = opts
        .start_at
        .and_then(|t| t.duration_since(SystemTime::now()).ok())
        .filter(|ahead| width > 1 && *ahead > MAX_START_AHEAD)
    {
        return Err(RunError::StartTooFarAhead {
            ahead: Duration::from_secs(ahead.as_secs()),
            max: MAX_START_AHEAD,
        });
    }
    Ok(sharding::schedule(&plan, &shard, opts.part, opts.start_at)?)
}

/// One real run: reset the embedded server, run the load, attach its counters.
/// `position` is the slot's index and the number of slots, for the progress.
async fn run_one(
    slot: &Slot,
    identity: Identity,
    target: &Target,
    embedded: Option<&RunningServer>,
    signals: &signals::Signals,
    style: progress::Style,
    (i, count): (usize, usize),
) -> RunResult {
    let scenario = &slot.scenario;
    let start = match slot.start_at {
        Some(at) => {
            let clock = load::Clock::at(at);
            let token = signals.token();
            progress::wait_for_start(style, scenario, at, clock.map(|c| c.start), &token).await;
            clock
        }
        None => None,
    };
    // Each repetition starts from an empty system, as the published procedure
    // restarted the API between repetitions.
    let before = embedded.map(|s| {
        s.reset();
        s.stats()
    });
    let (progress, updates) = watch::channel(Progress::default());
    let control = RunControl {
        interrupt: signals.token(),
        progress,
        embedded: embedded.is_some(),
        part: slot.part.map_or(load::Part::WHOLE, load::Part),
        start,
        identity,
    };
    let (mut result, ()) = tokio::join!(
        load::run_scenario(scenario, target, control),
        progress::follow(style, scenario, i, count, updates)
    );
    if let (Some(server), Some(before)) = (embedded, before) {
        result.server = Some(stats_delta(&before, &server.stats()));
    }
    result
}

/// What the hooks of a plan share: the hooks, the environment common to all,
/// and the masking of secrets.
struct Around<'a> {
    hooks: &'a Hooks,
    /// False on the parts of a split shard other than part 1.
    enabled: bool,
    base: Vec<(String, String)>,
    masker: hooks::Masker,
    password: String,
    style: progress::Style,
}

impl Around<'_> {
    /// Runs the hook of `phase` if the plan has one, and shows it.
    async fn run(
        &self,
        phase: &'static str,
        scenario: Option<&Scenario>,
        outcome: Option<&str>,
        interrupt: &CancellationToken,
    ) -> Option<HookRecord> {
        if !self.enabled {
            return None;
        }
        let hook = self.hooks.iter().find(|(p, _)| *p == phase)?.1;
        let mut env = self.base.clone();
        env.push(("MSGPERF_HOOK".into(), phase.into()));
        if let Some(s) = scenario {
            env.extend(hook_env::scenario(s));
        }
        if let Some(o) = outcome {
            env.push(("MSGPERF_OUTCOME".into(), o.into()));
        }
        if hook.pass_password {
            env.push(("MSGPERF_ORGANIZER_PASSWORD".into(), self.password.clone()));
        }
        let record = hooks::run(phase, hook, &env, &self.masker, interrupt).await;
        progress::hook(self.style, scenario.map(|s| s.id.as_str()), &record);
        Some(record)
    }
}

fn start_embedded(capacity: &server::Capacity) -> Result<RunningServer, RunError> {
    let config = ServerConfig {
        listen: std::net::Ipv4Addr::LOCALHOST.into(),
        ports: [0, 0, 0],
        capacity: capacity.clone(),
        ..ServerConfig::default()
    };
    Ok(server::start_on_own_runtime(
        config,
        EMBEDDED_SERVER_THREADS,
    )?)
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
