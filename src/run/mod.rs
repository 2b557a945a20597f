//! `msgperf run`: the plan's scenarios, one after another, against the target
//! or the embedded staging server, each result written as soon as it exists.
//!
//! This is the command layer of the engine: it owns the process-level concerns
//! (signals, progress output, result files) so that [`crate::load`] stays a
//! function from a scenario to a result.

mod allow;
mod error;
mod hook_env;
pub(crate) mod hooks;
mod journal;
pub mod limits;
pub(crate) mod pairs;
mod plan;
pub(crate) mod progress;
pub(crate) mod signals;
pub(crate) mod table;

pub use error::RunError;

use std::collections::BTreeMap;
use std::path::PathBuf;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::load::{self, Identity, Progress, RunControl};
use crate::matrix::shard::Slot;
use crate::matrix::{self, Gate, HookPhase, Hooks, OnHookFailure, Scenario, Secret, Target};
use crate::results::{HookRecord, RunResult, Side};
use crate::server::{self, RunningServer, ServerConfig, ServerInfo, ServerStats};
use crate::staging::SERVER_GAUGES;

pub use plan::{resolve, PlannedSlot, RunOptions, RunPlan, TargetSource};

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
    /// The plan's CloudWatch settings, for the report of this run (its
    /// CloudWatch step fetches the runs' windows; the result files are
    /// written without them).
    pub cloudwatch: Option<matrix::CloudWatchConfig>,
}

/// Worker threads of the embedded server's own runtime.
const EMBEDDED_SERVER_THREADS: usize = 2;

/// Loads the matrix file, resolves the invocation, and runs it.
pub async fn run(opts: &RunOptions) -> Result<RunOutcome, RunError> {
    let plan = matrix::load_file(&opts.matrix)?;
    execute(resolve(plan, opts)?).await
}

/// Runs a resolved plan: the allowed-hosts check of an external target,
/// `before_all`, every slot ([`Session::run_slot`]), `after_all`. Each result
/// file is written as soon as its run ends, and never again: CloudWatch is the
/// report's step (`report::cloudwatch`).
pub async fn execute(plan: RunPlan) -> Result<RunOutcome, RunError> {
    limits::check(&plan)?;
    // Before any hook or traffic: a refused host is never touched, on
    // either side of an A/B plan.
    for source in std::iter::once(&plan.target).chain(plan.candidate.as_ref()) {
        if let TargetSource::External(target) = source {
            allow::check(target, &plan.allowed_hosts, allow::system_resolver).await?;
        }
    }
    let base = Rig::start(&plan.target)?;
    // Two embedded servers when both sides are embedded: each side its own.
    let candidate = plan.candidate.as_ref().map(Rig::start).transpose()?;
    let signals = signals::Signals::install().map_err(RunError::Signals)?;
    let mut session = Session::new(&plan, base, candidate, signals);
    session.before_all().await;
    for (i, slot) in plan.slots.iter().enumerate() {
        if session.aborted.is_some() || session.signals.interrupted().is_some() {
            break;
        }
        let Some(result) = session.run_slot(i, slot).await else {
            break;
        };
        session.keep(result)?;
    }
    session.after_all().await?;
    Ok(session.finish().await)
}

/// One side's target and, when it is embedded, its server.
struct Rig {
    target: Target,
    embedded: Option<RunningServer>,
}

impl Rig {
    /// Starts the embedded server of `source`, if it is one.
    fn start(source: &TargetSource) -> Result<Rig, RunError> {
        Ok(match source {
            TargetSource::External(target) => Rig {
                target: target.clone(),
                embedded: None,
            },
            TargetSource::Embedded(capacity) => {
                let server = start_embedded(capacity)?;
                Rig {
                    target: target_of(server.info()),
                    embedded: Some(server),
                }
            }
        })
    }
}

/// The state of one execution of a plan, between its slots.
struct Session<'a> {
    plan: &'a RunPlan,
    target: Target,
    embedded: Option<RunningServer>,
    /// The candidate side of an A/B plan.
    candidate: Option<Rig>,
    signals: signals::Signals,
    around: Around<'a>,
    /// Why every run is skipped (a failed `before_all`, `on_hook_failure: skip`).
    skip_all: Option<String>,
    /// Hook records not yet attached to a result.
    pending: Vec<HookRecord>,
    /// Whether a run has been made (the cool-down comes before the next one).
    ran_before: bool,
    /// Why the matrix was stopped early.
    aborted: Option<String>,
    results: Vec<RunResult>,
    paths: Vec<PathBuf>,
}

impl<'a> Session<'a> {
    fn new(
        plan: &'a RunPlan,
        base: Rig,
        candidate: Option<Rig>,
        signals: signals::Signals,
    ) -> Self {
        let Rig { target, embedded } = base;
        let count = plan.slots.len();
        let mut env = hook_env::base(&target, embedded.is_some(), &plan.out, count);
        let mut candidate_env = None;
        let mut secrets = Vec::new();
        if let Some(c) = &candidate {
            let own = hook_env::base(&c.target, c.embedded.is_some(), &plan.out, count);
            env.extend(hook_env::prefixed("MSGPERF_CANDIDATE_", &own));
            candidate_env = Some(own);
            let password = c.target.organizer_password.expose().to_string();
            secrets.push(("CANDIDATE_ORGANIZER_PASSWORD".to_string(), password));
        }
        let around = Around {
            hooks: &plan.hooks,
            enabled: plan.hooks_here,
            base: env,
            candidate: candidate_env,
            masker: hooks::Masker::new(target.organizer_password.expose(), &secrets),
            password: target.organizer_password.expose().to_string(),
            candidate_password: candidate
                .as_ref()
                .map(|c| c.target.organizer_password.expose().to_string()),
            style: progress::Style::detect(),
        };
        Session {
            plan,
            target,
            embedded,
            candidate,
            signals,
            around,
            skip_all: None,
            pending: Vec::new(),
            ran_before: false,
            aborted: None,
            results: Vec::new(),
            paths: Vec::new(),
        }
    }

    /// A failed `before_all` either skips every run or aborts the matrix.
    async fn before_all(&mut self) {
        let token = self.signals.token();
        let Some(rec) = self
            .around
            .run(HookPhase::BeforeAll, None, None, None, &token)
            .await
        else {
            return;
        };
        if !rec.ok {
            let reason = format!(
                "before_all hook failed: {}",
                rec.error.clone().unwrap_or_default()
            );
            match self.plan.on_hook_failure {
                OnHookFailure::Abort => self.aborted = Some(reason),
                OnHookFailure::Skip => self.skip_all = Some(reason),
            }
        }
        self.pending.push(rec);
    }

    /// One slot: cool-down and `before_each`, the run (or its skipped
    /// result), `after_each`. `None` when a signal stopped it before a result.
    async fn run_slot(&mut self, i: usize, planned: &PlannedSlot) -> Option<RunResult> {
        let scenario = &planned.slot.scenario;
        let mut records = std::mem::take(&mut self.pending);
        let skip = match &self.skip_all {
            Some(reason) => Some(reason.clone()),
            None => self.prepare(i, planned, &mut records).await?,
        };
        let (target, embedded) = self.rig(planned.side);
        let mut result = match skip {
            Some(reason) => load::skipped_result(scenario, target, embedded.is_some(), reason),
            None => {
                self.ran_before = true;
                let position = (i, self.plan.slots.len());
                let (slot, identity) = (&planned.slot, planned.identity);
                self.run_one(slot, identity, planned.side, position).await
            }
        };
        if self.skip_all.is_none() && self.signals.interrupted().is_none() {
            let outcome = result.outcome.name();
            let token = self.signals.token();
            let after = self.around.run(
                HookPhase::AfterEach,
                Some(scenario),
                Some(outcome),
                planned.side,
                &token,
            );
            records.extend(after.await);
        }
        result.hooks = records;
        result.side = planned.side;
        result.pair = planned.pair;
        Some(result)
    }

    /// The cool-down and `before_each` of slot `i`: `Some(skip reason)` to go
    /// on with, `None` when a signal came.
    async fn prepare(
        &mut self,
        i: usize,
        planned: &PlannedSlot,
        records: &mut Vec<HookRecord>,
    ) -> Option<Option<String>> {
        let (style, token) = (self.around.style, self.signals.token());
        let cooldown = self.plan.cooldown;
        // A split shard's schedule already leaves the cool-down between slots.
        if self.ran_before && !cooldown.is_zero() && planned.slot.start_at.is_none() {
            progress::cooldown(style, cooldown, i, self.plan.slots.len(), &token).await;
            self.signals.interrupted().is_none().then_some(())?;
        }
        let scenario = &planned.slot.scenario;
        let Some(rec) = self
            .around
            .run(
                HookPhase::BeforeEach,
                Some(scenario),
                None,
                planned.side,
                &token,
            )
            .await
        else {
            return Some(None);
        };
        let failed = (!rec.ok).then(|| {
            format!(
                "before_each hook failed: {}",
                rec.error.clone().unwrap_or_default()
            )
        });
        records.push(rec);
        self.signals.interrupted().is_none().then_some(())?;
        if let Some(reason) = &failed {
            if self.plan.on_hook_failure == OnHookFailure::Abort {
                self.aborted = Some(reason.clone());
            }
        }
        Some(failed)
    }

    /// Writes a result file and shows it.
    fn keep(&mut self, result: RunResult) -> Result<(), RunError> {
        let path = result.write_to_dir(&self.plan.out)?;
        // The result file has all the journal had (and more).
        journal::remove(&self.plan.out, &result.file_name());
        progress::finished(self.around.style, &result, &path);
        self.results.push(result);
        self.paths.push(path);
        Ok(())
    }

    /// `after_all` cleans up even after a failure or a signal (a second
    /// signal still exits at once); its record goes into the last result.
    async fn after_all(&mut self) -> Result<(), RunError> {
        let token = CancellationToken::new();
        let Some(rec) = self
            .around
            .run(HookPhase::AfterAll, None, None, None, &token)
            .await
        else {
            return Ok(());
        };
        if let (Some(last), Some(path)) = (self.results.last_mut(), self.paths.last()) {
            last.hooks.push(rec);
            last.write_to_dir(path.parent().unwrap_or(&self.plan.out))?;
        }
        Ok(())
    }

    /// Stops the embedded server and hands over what was made.
    async fn finish(self) -> RunOutcome {
        let interrupted = self.signals.interrupted();
        if let Some(server) = self.embedded {
            server.shutdown().await;
        }
        if let Some(server) = self.candidate.and_then(|c| c.embedded) {
            server.shutdown().await;
        }
        RunOutcome {
            results: self.results,
            paths: self.paths,
            interrupted,
            aborted: self.aborted,
            gate: self.plan.gate.clone(),
            cloudwatch: self.plan.cloudwatch.clone(),
        }
    }

    /// The target and embedded server of `side` (the base without one).
    fn rig(&self, side: Option<Side>) -> (&Target, Option<&RunningServer>) {
        match (side, &self.candidate) {
            (Some(Side::Candidate), Some(c)) => (&c.target, c.embedded.as_ref()),
            _ => (&self.target, self.embedded.as_ref()),
        }
    }

    /// See [`run_one`].
    async fn run_one(
        &self,
        slot: &Slot,
        identity: Identity,
        side: Option<Side>,
        position: (usize, usize),
    ) -> RunResult {
        let style = self.around.style;
        let (target, embedded) = self.rig(side);
        run_one(
            (slot, side),
            identity,
            target,
            embedded,
            &self.signals,
            (style, &self.plan.out),
            position,
        )
        .await
    }
}

/// One real run: reset the embedded server, run the load with its journal
/// in `out`, attach the server's counters. `position` is the slot's index
/// and the number of slots, for the progress.
async fn run_one(
    (slot, side): (&Slot, Option<Side>),
    identity: Identity,
    target: &Target,
    embedded: Option<&RunningServer>,
    signals: &signals::Signals,
    (style, out): (progress::Style, &std::path::Path),
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
        // A test-only drifting server (`drift_per_run`): its cap for run i.
        s.drift_to_run(i as u32);
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
    let header = journal::header(
        (scenario, side),
        target,
        embedded.is_some(),
        slot.part,
        slot.start_at,
    );
    let journaled = journal::follow(journal::open(out, &header), updates.clone());
    let (mut result, (), ()) = tokio::join!(
        load::run_scenario(scenario, target, control),
        progress::follow(style, scenario, i, count, updates),
        journaled
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
    /// The candidate side's target variables, for its `*_each` hooks.
    candidate: Option<Vec<(String, String)>>,
    masker: hooks::Masker,
    password: String,
    candidate_password: Option<String>,
    style: progress::Style,
}

impl Around<'_> {
    /// Runs the hook of `phase` if the plan has one, and shows it.
    /// Around a run of an A/B plan, `side` says which: the target variables
    /// are that side's, and `MSGPERF_SIDE` names it.
    async fn run(
        &self,
        phase: HookPhase,
        scenario: Option<&Scenario>,
        outcome: Option<&str>,
        side: Option<Side>,
        interrupt: &CancellationToken,
    ) -> Option<HookRecord> {
        if !self.enabled {
            return None;
        }
        let hook = self.hooks.get(phase)?;
        let candidate = side == Some(Side::Candidate);
        let mut env = match (&self.candidate, candidate) {
            (Some(own), true) => own.clone(),
            _ => self.base.clone(),
        };
        if let Some(side) = side {
            env.push(("MSGPERF_SIDE".into(), side.as_str().into()));
        }
        env.push(("MSGPERF_HOOK".into(), phase.as_str().into()));
        if let Some(s) = scenario {
            env.extend(hook_env::scenario(s));
        }
        if let Some(o) = outcome {
            env.push(("MSGPERF_OUTCOME".into(), o.into()));
        }
        if hook.pass_password {
            let password = match (&self.candidate_password, candidate) {
                (Some(own), true) => own.clone(),
                _ => self.password.clone(),
            };
            env.push(("MSGPERF_ORGANIZER_PASSWORD".into(), password));
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

/// Counters as differences over the run; gauges ([`SERVER_GAUGES`]) as
/// their value at the end.
fn stats_delta(before: &ServerStats, after: &ServerStats) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| {
            let value = if SERVER_GAUGES.contains(&k.as_str()) {
                *v
            } else {
                v.saturating_sub(before.get(k).copied().unwrap_or(0))
            };
            (k.clone(), value)
        })
        .collect()
}
