//! Who a run is, as the server sees it: the names of its participants and the
//! run key in its message tokens, unique across every runner of a plan.
//!
//! A scaled-out plan runs many jobs against one target at the same time. Each
//! shard's first slot starts at the same `start_at`, so a tag made of the start
//! instant alone gave two shards the same e-mails, and the second sign-up got
//! `400 email already in use`. Shards also share the organizer accounts, so an
//! organizer connection of one shard receives the messages of another shard's
//! participants: without a run key in the token it counted them as its own.
//!
//! An [`Identity`] is built from the plan's nonce ([`PlanId`], made once by
//! `msgperf expand` and handed to every job), the scenario's index in the plan
//! (one per scenario and repetition), the shard and the part. Every part of
//! one run shares the [`Identity::run_key`], so its organizers recognise the
//! messages of the other parts' participants, whose ids interleave (see
//! [`super::Part`]) and never repeat.

use std::fmt;
use std::time::SystemTime;

use crate::matrix::shard::BadValue;
use crate::matrix::{Plan, Slice};

/// The nonce of one plan: 8 hex digits, printed by `msgperf expand` and
/// passed to every job as `--plan-id` (input `plan-id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlanId(pub u32);

impl PlanId {
    /// A new nonce from the clock and the process id: a run without
    /// `--plan-id` or `--start-at` (one runner) gets its own, so two
    /// invocations against one target never share names.
    pub fn fresh() -> PlanId {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        PlanId(mix(nanos ^ (u64::from(std::process::id()) << 32)))
    }

    /// The nonce of split parts started by hand with a common `--start-at`
    /// but no `--plan-id`: the parts share it because they share the instant.
    pub fn of_start(start_at: SystemTime) -> PlanId {
        let millis = start_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        PlanId(mix(millis))
    }

    /// Parses the 8 hex digits `msgperf expand` prints.
    pub fn parse(text: &str) -> Result<PlanId, String> {
        match PlanId::parse_value(text) {
            Ok(Some(id)) => Ok(id),
            Ok(None) | Err(_) => Err(format!("plan-id {:?}: {}", text.trim(), bad_plan_id())),
        }
    }

    /// Parses an optional value: empty is `None`.
    pub fn parse_optional(text: &str) -> Result<Option<PlanId>, String> {
        PlanId::parse_value(text).map_err(|e| format!("plan-id {:?}: {e}", text.trim()))
    }

    /// The one parser of `--plan-id` and the action's `plan-id` input: 8 hex
    /// digits, or empty for none.
    pub fn parse_value(text: &str) -> Result<Option<PlanId>, BadValue> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(None);
        }
        if t.len() == 8 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            if let Ok(n) = u32::from_str_radix(t, 16) {
                return Ok(Some(PlanId(n)));
            }
        }
        Err(bad_plan_id())
    }
}

fn bad_plan_id() -> BadValue {
    BadValue::new("not 8 hex digits: pass the `plan_id` that `msgperf expand` printed for this workflow run (every job of one plan needs the same), or leave it empty on a single runner")
}

/// splitmix64's finalizer, folded to 32 bits: spreads nearby inputs over all bits.
fn mix(mut x: u64) -> u32 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    (x ^ (x >> 32)) as u32
}

impl fmt::Display for PlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

/// One slot of a plan on one runner: a scenario (and repetition) of a shard,
/// as one of its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// The plan's nonce.
    pub plan: PlanId,
    /// The scenario's index in the plan (each repetition has its own).
    pub scenario: u32,
    /// The runner's shard.
    pub shard: Slice,
    /// The runner's part of the scenario (1/1 when it is not split).
    pub part: Slice,
    /// The workflow run attempt (`GITHUB_RUN_ATTEMPT`, 1 for the first): a
    /// re-run job keeps its plan id but must not sign up the same e-mails.
    pub attempt: u32,
}

impl Identity {
    /// A run outside any plan (tests, tools): a fresh nonce, scenario 0.
    pub fn standalone() -> Identity {
        Identity {
            plan: PlanId::fresh(),
            scenario: 0,
            shard: Slice::WHOLE,
            part: Slice::WHOLE,
            attempt: 1,
        }
    }

    /// The identity of scenario `id` of `plan` on shard `shard`, part `part`,
    /// in the first attempt (see [`Identity::attempt`]). A scenario not in
    /// the plan (cannot happen for a slot of it) gets the index past the last.
    pub fn of(plan_id: PlanId, plan: &Plan, id: &str, shard: Slice, part: Slice) -> Identity {
        let index = plan
            .scenarios
            .iter()
            .position(|s| s.id == id)
            .unwrap_or(plan.scenarios.len());
        Identity {
            plan: plan_id,
            scenario: index as u32,
            shard,
            part,
            attempt: 1,
        }
    }

    /// The key every message token of this run carries: the same for all
    /// parts of the run, different for every other run of any plan.
    pub fn run_key(&self) -> u64 {
        (u64::from(self.plan.0) << 32) | u64::from(self.scenario)
    }

    /// The short tag in e-mails and chat descriptions, e.g. `1a2b3c4d-5-s2-p1`
    /// (`-a2` appended in a re-run's second attempt).
    pub fn tag(&self) -> String {
        let tag = format!(
            "{}-{}-s{}-p{}",
            self.plan, self.scenario, self.shard.index, self.part.index
        );
        if self.attempt > 1 {
            format!("{tag}-a{}", self.attempt)
        } else {
            tag
        }
    }

    /// The sign-up e-mail of participant `participant` (a global id of the run).
    pub fn email(&self, participant: u32) -> String {
        format!("mp-{}-{participant}@load.msgperf.test", self.tag())
    }

    /// The chat request's description of participant `participant`.
    pub fn description(&self, participant: u32) -> String {
        format!("msgperf load test {} participant {participant}", self.tag())
    }
}

#[cfg(test)]
#[path = "identity_tests.rs"]
mod tests;
