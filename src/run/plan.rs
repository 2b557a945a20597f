//! One resolved invocation, on ripgrep's LowArgs → HiArgs model:
//! [`RunOptions`] is what the CLI's flags and the action's `INPUT_*` fill
//! (both through the same parsers), and [`resolve`] turns it and the loaded
//! matrix into a [`RunPlan`]: the scenarios after overrides, this runner's
//! slots with their identities, the gate, CloudWatch and the target. Nothing
//! changes the plan after that.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::load::{Identity, PlanId};
use crate::matrix::shard::{self as sharding, Slot};
use crate::matrix::{
    self, CloudWatchConfig, Compare, Gate, Hooks, HostPattern, OnHookFailure, Plan, PlanOverrides,
    Scenario, SideTarget, Slice, Target,
};
use crate::results::Side;
use crate::staging::Capacity;

use super::RunError;

/// What to run, as given: the raw invocation of `msgperf run` or the action.
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
    /// Target, gate and CloudWatch settings from outside matrix.yaml (the
    /// action's inputs).
    pub overrides: PlanOverrides,
    /// Hosts this invocation may load besides loopback and
    /// `target.allowed_hosts` (`--allow-host`, the action's `allow-host`).
    pub allow_hosts: Vec<HostPattern>,
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
            overrides: PlanOverrides::default(),
            allow_hosts: Vec::new(),
        }
    }
}

/// Where the load goes.
#[derive(Debug, Clone)]
pub enum TargetSource {
    /// A deployed Messenger API (matrix.yaml `target:` or the overrides).
    External(Target),
    /// The embedded staging server, started for the runs with these knobs.
    Embedded(Capacity),
}

/// One slot of this runner, with the identity its participants get.
#[derive(Debug, Clone)]
pub struct PlannedSlot {
    /// The scenario, its part and its start instant.
    pub slot: Slot,
    /// Who the run is, as the server sees it.
    pub identity: Identity,
    /// The side of an A/B plan this run measures; `None` with one target.
    pub side: Option<Side>,
    /// The pair (repetition) of an A/B plan this run belongs to.
    pub pair: Option<u32>,
}

/// The resolved invocation: everything a run needs, decided up front.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// This runner's slots, in run order.
    pub slots: Vec<PlannedSlot>,
    /// Where the load goes (the base side of an A/B plan).
    pub target: TargetSource,
    /// The hosts besides loopback an external target may be: the file's
    /// `target.allowed_hosts` and the invocation's `--allow-host`.
    pub allowed_hosts: Vec<HostPattern>,
    /// Where the candidate side's load goes, for an A/B plan (`targets:`).
    pub candidate: Option<TargetSource>,
    /// The order of an A/B plan's runs.
    pub compare: Compare,
    /// The plan's hooks.
    pub hooks: Hooks,
    /// Whether this runner runs them: part 1 of a split shard prepares the
    /// shared target once.
    pub hooks_here: bool,
    /// What a failing `before_*` hook does.
    pub on_hook_failure: OnHookFailure,
    /// Pause between two runs.
    pub cooldown: Duration,
    /// The regression gate, for the report of the runs.
    pub gate: Gate,
    /// CloudWatch metrics for the report of the runs (its CloudWatch step).
    pub cloudwatch: Option<CloudWatchConfig>,
    /// Where result files go.
    pub out: PathBuf,
}

/// A common start further ahead than this is a mistake, not a plan: the job
/// would idle until its timeout.
const MAX_START_AHEAD: Duration = Duration::from_secs(3600);

/// Resolves the invocation against the loaded plan; the one place options
/// change the plan.
pub fn resolve(plan: Plan, opts: &RunOptions) -> Result<RunPlan, RunError> {
    let mut plan = opts.overrides.apply(plan, &opts.matrix)?;
    if let Some(k) = opts.split {
        sharding::set_split(&mut plan, k);
    }
    let plan_id = opts
        .plan_id
        .unwrap_or_else(|| opts.start_at.map_or_else(PlanId::fresh, PlanId::of_start));
    let mut slots: Vec<PlannedSlot> = slots(&plan, opts)?
        .into_iter()
        .map(|slot| {
            let part = slot.part.unwrap_or(Slice::WHOLE);
            let identity = Identity {
                attempt: opts.attempt.max(1),
                ..Identity::of(plan_id, &plan, &slot.scenario.id, opts.shard, part)
            };
            PlannedSlot {
                slot,
                identity,
                side: None,
                pair: None,
            }
        })
        .collect();
    let (candidate, compare) = match &plan.ab {
        Some(ab) => {
            check_ab(&slots, &ab.candidate, ab.compare)?;
            let offset = plan.scenarios.len() as u32;
            let half = |s: &Scenario| sharding::slot_length(&plan, s) / 2;
            slots = super::pairs::arrange(slots, ab.compare, offset, &half);
            let candidate = match &ab.candidate {
                SideTarget::External(t) => TargetSource::External(t.clone()),
                SideTarget::Embedded(c) => TargetSource::Embedded(c.clone()),
            };
            (Some(candidate), ab.compare)
        }
        None => (None, Compare::default()),
    };
    Ok(RunPlan {
        slots,
        candidate,
        compare,
        target: match plan.target {
            Some(target) => TargetSource::External(target),
            None => TargetSource::Embedded(plan.embedded),
        },
        allowed_hosts: plan
            .allowed_hosts
            .iter()
            .chain(&opts.allow_hosts)
            .cloned()
            .collect(),
        hooks: plan.hooks,
        hooks_here: opts.part.index == 1,
        on_hook_failure: plan.on_hook_failure,
        cooldown: plan.cooldown,
        gate: plan.gate,
        cloudwatch: plan.cloudwatch,
        out: opts.out.clone(),
    })
}

/// Split A/B scenarios need a shared candidate target too, and the
/// interleaved order (a split shard's schedule is a fixed slot per pair).
fn check_ab(
    slots: &[PlannedSlot],
    candidate: &SideTarget,
    compare: Compare,
) -> Result<(), RunError> {
    let width = slots
        .iter()
        .filter_map(|p| p.slot.part)
        .map(|p| p.count)
        .max();
    let Some(width) = width.filter(|w| *w > 1) else {
        return Ok(());
    };
    if matches!(candidate, SideTarget::Embedded(_)) {
        return Err(RunError::SplitWithoutTarget { width });
    }
    if compare == Compare::Sequential {
        return Err(RunError::SplitSequential { width });
    }
    Ok(())
}

/// The slots this runner runs: the selected scenarios of its shard, with its
/// part of each and their common start instants.
fn slots(plan: &Plan, opts: &RunOptions) -> Result<Vec<Slot>, RunError> {
    let selected: HashSet<String> = matrix::select(plan, &opts.scenarios)?
        .into_iter()
        .map(|s| s.id)
        .collect();
    let shard: Vec<Scenario> = sharding::shard(plan, opts.shard)
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
    Ok(sharding::schedule(plan, &shard, opts.part, opts.start_at)?)
}
