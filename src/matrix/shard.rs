//! Scale-out planning: which runner runs what, and when. Pure and
//! deterministic, because every job of a GitHub Actions matrix recomputes it
//! from the same matrix.yaml: no coordinator hands out work.
//!
//! - Shards: the scenarios are partitioned into `N` disjoint subsets balanced
//!   by expected duration (longest first onto the least-loaded shard), each
//!   kept in plan order.
//! - Parts: a shard whose scenarios have `split: K` is run by `K` jobs at once,
//!   each generating `1/K` of the load. Parts never talk to each other, so each
//!   scenario of such a shard gets a fixed slot on a common schedule from
//!   `--start-at`, long enough for its longest possible run.

use std::time::{Duration, SystemTime};

use super::{Plan, Scenario};

/// Time a slot of a split shard keeps free beyond the run itself: sign-in,
/// result writing and a slow runner's start-up.
pub const SLOT_SLACK: Duration = Duration::from_secs(10);

/// `i/N`: one of several, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    /// 1-based index.
    pub index: u32,
    /// How many there are (>= 1).
    pub count: u32,
}

impl Slice {
    /// The whole: 1/1.
    pub const WHOLE: Slice = Slice { index: 1, count: 1 };

    /// Parses `i/N` with `1 <= i <= N <= MAX_SPLIT`; `what` names the option
    /// in the error.
    pub fn parse(text: &str, what: &str) -> Result<Slice, String> {
        Slice::parse_value(text).map_err(|e| format!("{what} {text:?}: {e}"))
    }

    /// Parses `i/N` with `1 <= i <= N <= MAX_SPLIT`: the one parser of
    /// `--shard`, `--part` and the action's `shard` and `part` inputs.
    pub fn parse_value(text: &str) -> Result<Slice, BadValue> {
        let bad = || BadValue::new(format!("i/N with 1 <= i <= N <= {MAX_SPLIT}, e.g. 2/4"));
        let (i, n) = text.trim().split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count || count > MAX_SPLIT {
            return Err(bad());
        }
        Ok(Slice { index, count })
    }
}

/// A value of an option (a CLI flag or an action input) that does not parse:
/// what is allowed. The caller names the option and the value given, so the
/// CLI and the action share the parsers and these texts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{expected}")]
pub struct BadValue {
    /// What is allowed, e.g. `a whole number of runners from 1 to 256`.
    pub expected: String,
}

impl BadValue {
    /// A value error saying what is allowed.
    pub fn new(expected: impl Into<String>) -> Self {
        BadValue {
            expected: expected.into(),
        }
    }
}

impl std::fmt::Display for Slice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Most runners one scenario may be split over, and most shards: GitHub's
/// limit of jobs per matrix.
pub const MAX_SPLIT: u32 = 256;

/// Gives every scenario of the plan `split` runners (`--split K`).
pub fn set_split(plan: &mut Plan, split: u32) {
    for s in &mut plan.scenarios {
        s.split = split;
    }
}

/// Parses a `--split` value (input `split`): empty means "as matrix.yaml says".
pub fn parse_split(text: &str) -> Result<Option<u32>, BadValue> {
    match text.trim() {
        "" => Ok(None),
        t => match t.parse::<u32>() {
            Ok(k) if (1..=MAX_SPLIT).contains(&k) => Ok(Some(k)),
            _ => Err(BadValue::new(format!(
                "give a whole number of runners from 1 to {MAX_SPLIT}, or nothing"
            ))),
        },
    }
}

/// Parses a `--start-at` value (input `start-at`): an RFC 3339 instant, or
/// empty for none.
pub fn parse_start_at(text: &str) -> Result<Option<SystemTime>, BadValue> {
    match text.trim() {
        "" => Ok(None),
        t => crate::time::parse_rfc3339(t)
            .map(Some)
            .map_err(|e| {
                BadValue::new(format!("{e}; give an RFC 3339 instant such as 2026-11-28T06:00:00Z (what `msgperf expand` prints), or nothing"))
            }),
    }
}

/// How long one scenario can keep its runner busy: the stop limit, the drain
/// and the plan's cool-down. Runs that saturate end sooner; the balance is by
/// this upper bound because it is what is known before running.
pub fn expected_duration(s: &Scenario, plan_cooldown: Duration) -> Duration {
    s.stop.max_duration + s.stop.drain + plan_cooldown
}

/// Partitions scenario indices into `count` shards balanced by
/// [`expected_duration`]; each shard lists its indices in plan order. Ties go
/// to the lower shard, so the result depends only on the input.
pub fn partition(scenarios: &[Scenario], cooldown: Duration, count: u32) -> Vec<Vec<usize>> {
    let count = count.max(1) as usize;
    let mut order: Vec<usize> = (0..scenarios.len()).collect();
    // Longest first; stable, so equal durations keep plan order.
    order.sort_by_key(|&i| std::cmp::Reverse(expected_duration(&scenarios[i], cooldown)));
    let mut shards = vec![Vec::new(); count];
    let mut load = vec![Duration::ZERO; count];
    for i in order {
        let lightest = (0..count)
            .min_by_key(|&s| (load[s], s))
            .expect("count >= 1");
        load[lightest] += expected_duration(&scenarios[i], cooldown);
        shards[lightest].push(i);
    }
    for shard in &mut shards {
        shard.sort_unstable();
    }
    shards
}

/// The scenarios of shard `slice` of the plan (all of them for 1/1).
pub fn shard(plan: &Plan, slice: Slice) -> Vec<Scenario> {
    partition(&plan.scenarios, plan.cooldown, slice.count)
        .swap_remove(slice.index as usize - 1)
        .into_iter()
        .map(|i| plan.scenarios[i].clone())
        .collect()
}

/// How many parts (jobs) a shard needs: the largest `split` among its scenarios.
pub fn width(scenarios: &[Scenario]) -> u32 {
    scenarios.iter().map(|s| s.split).max().unwrap_or(1)
}

/// One scenario as a part of a split shard runs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    /// The scenario.
    pub scenario: Scenario,
    /// This runner's part of it, `j/split`; `None` when the scenario is not
    /// split (`split: 1`) and this runner is not its part 1.
    pub part: Option<Slice>,
    /// When every part starts it, for split shards; `None` runs it as soon as
    /// the previous one is done.
    pub start_at: Option<SystemTime>,
}

/// Why a part cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartError {
    /// `--part j/K` with `K` not the shard's width.
    #[error("--part {part} does not fit: the shard's largest split is {width}, so its parts are 1/{width} to {width}/{width}; pass the part from `msgperf expand`")]
    Width {
        /// The part given.
        part: Slice,
        /// The shard's width.
        width: u32,
    },
    /// A split shard without a start instant.
    #[error("the scenarios are split over {width} runners but no --start-at was given: pass the instant from `msgperf expand` so the parts start together")]
    NoStart {
        /// The shard's width.
        width: u32,
    },
}

/// The time a split shard reserves for one scenario: its
/// [`expected_duration`], [`SLOT_SLACK`], and the `before_each`/`after_each`
/// hooks' timeouts.
///
/// An A/B plan (`targets:`) runs each scenario once per side, back to back
/// in one slot: twice the time.
pub fn slot_length(plan: &Plan, s: &Scenario) -> Duration {
    let hooks: Duration = [&plan.hooks.before_each, &plan.hooks.after_each]
        .into_iter()
        .flatten()
        .map(|h| h.timeout)
        .sum();
    let one = expected_duration(s, plan.cooldown) + SLOT_SLACK + hooks;
    one * sides(plan)
}

/// Runs per scenario: 2 for an A/B plan (base and candidate), else 1.
pub fn sides(plan: &Plan) -> u32 {
    if plan.ab.is_some() {
        2
    } else {
        1
    }
}

/// What runner `part` of a shard (`scenarios`, from [`shard`]) runs, and
/// when. Scenarios split less widely than `part.index` are left to the other
/// parts; unsplit scenarios of a split shard run on part 1 only. Every
/// scenario of a split shard starts at `start_at` plus the [`slot_length`]s of
/// the scenarios before it.
pub fn schedule(
    plan: &Plan,
    scenarios: &[Scenario],
    part: Slice,
    start_at: Option<SystemTime>,
) -> Result<Vec<Slot>, PartError> {
    let width = width(scenarios);
    if part.count != width {
        return Err(PartError::Width { part, width });
    }
    if width == 1 {
        return Ok(scenarios
            .iter()
            .map(|s| Slot {
                scenario: s.clone(),
                part: None,
                start_at: None,
            })
            .collect());
    }
    let Some(mut at) = start_at else {
        return Err(PartError::NoStart { width });
    };
    let mut slots = Vec::new();
    for s in scenarios {
        if part.index <= s.split {
            slots.push(Slot {
                scenario: s.clone(),
                part: (s.split > 1).then_some(Slice {
                    index: part.index,
                    count: s.split,
                }),
                start_at: Some(at),
            });
        }
        at += slot_length(plan, s);
    }
    Ok(slots)
}

/// One job of the GitHub Actions matrix: a part of a shard.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Which shard.
    pub shard: Slice,
    /// Which part of that shard (1/1 when nothing in it is split).
    pub part: Slice,
    /// Scenario ids this job runs, in order.
    pub scenarios: Vec<String>,
    /// Upper bound of the job's running time (the shard's schedule for split shards).
    pub expected: Duration,
}

/// Every job of the plan for `shards` shards: one per part of each shard,
/// empty shards left out.
pub fn jobs(plan: &Plan, shards: u32) -> Vec<Job> {
    let mut out = Vec::new();
    for (s, indices) in partition(&plan.scenarios, plan.cooldown, shards)
        .into_iter()
        .enumerate()
    {
        let list: Vec<Scenario> = indices.iter().map(|&i| plan.scenarios[i].clone()).collect();
        if list.is_empty() {
            continue;
        }
        let w = width(&list);
        let total: Duration = list
            .iter()
            .map(|x| {
                if w > 1 {
                    slot_length(plan, x)
                } else {
                    expected_duration(x, plan.cooldown) * sides(plan)
                }
            })
            .sum();
        for p in 1..=w {
            out.push(Job {
                shard: Slice {
                    index: s as u32 + 1,
                    count: shards.max(1),
                },
                part: Slice { index: p, count: w },
                scenarios: list
                    .iter()
                    .filter(|x| p <= x.split)
                    .map(|x| x.id.clone())
                    .collect(),
                expected: total,
            });
        }
    }
    out
}

#[cfg(test)]
#[path = "shard_tests.rs"]
mod tests;
