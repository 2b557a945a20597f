//! The run order of an A/B plan (`targets: {base, candidate}`): every slot of
//! the runner becomes a pair, one run per side, numbered by its repetition.
//!
//! - `compare: interleaved`: the two runs of a pair go back to back, in the
//!   order AB for odd repetitions and BA for even ones, so a warm-up effect
//!   or a trend over the job falls on both sides alike and cancels in the
//!   paired ratios.
//! - `compare: sequential`: every base run, then every candidate run (what a
//!   stored baseline amounts to); the pairs are still numbered so the report
//!   can show how much drift this order lets in.
//!
//! A split shard's slots have start instants; the schedule gives an A/B
//! plan's slot twice the time ([`crate::matrix::shard::slot_length`]), and the
//! second run of a pair starts half-way through it. Sequential order cannot
//! keep such a schedule and is refused for split scenarios.

use std::time::Duration;

use crate::matrix::{Compare, Scenario};
use crate::results::Side;

use super::PlannedSlot;

/// The two sides in the order pair `repetition` runs them.
pub fn order(repetition: u32) -> [Side; 2] {
    if repetition % 2 == 1 {
        [Side::Base, Side::Candidate]
    } else {
        [Side::Candidate, Side::Base]
    }
}

/// The runner's slots of an A/B plan: two per slot, each with its side and
/// pair. `offset` is added to a candidate run's identity index (the plan's
/// scenario count), so the two sides never share participants' e-mails
/// even when they point at the same deployment. `half` is the time a split
/// shard's schedule keeps for one run of a scenario.
pub fn arrange(
    slots: Vec<PlannedSlot>,
    compare: Compare,
    offset: u32,
    half: &dyn Fn(&Scenario) -> Duration,
) -> Vec<PlannedSlot> {
    let mark = |planned: &PlannedSlot, side: Side| {
        let mut p = planned.clone();
        p.side = Some(side);
        p.pair = Some(planned.slot.scenario.repetition);
        if side == Side::Candidate {
            p.identity.scenario = p.identity.scenario.saturating_add(offset);
        }
        p
    };
    match compare {
        Compare::Interleaved => slots
            .iter()
            .flat_map(|planned| {
                let [first, second] = order(planned.slot.scenario.repetition);
                let mut later = mark(planned, second);
                if let Some(at) = planned.slot.start_at {
                    later.slot.start_at = Some(at + half(&planned.slot.scenario));
                }
                [mark(planned, first), later]
            })
            .collect(),
        Compare::Sequential => [Side::Base, Side::Candidate]
            .into_iter()
            .flat_map(|side| slots.iter().map(move |p| mark(p, side)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Identity;
    use crate::matrix::shard::Slot;

    fn slots(reps: u32) -> Vec<PlannedSlot> {
        let plan = crate::matrix::parse(
            "m.yaml",
            &format!(
                "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms]\nrepetitions: {reps}\n"
            ),
            &|_| None,
        )
        .unwrap();
        plan.scenarios
            .into_iter()
            .enumerate()
            .map(|(i, scenario)| PlannedSlot {
                slot: Slot {
                    scenario,
                    part: None,
                    start_at: None,
                },
                identity: Identity {
                    scenario: i as u32,
                    ..Identity::standalone()
                },
                side: None,
                pair: None,
            })
            .collect()
    }

    fn shape(out: &[PlannedSlot]) -> Vec<(u32, Side, u32)> {
        out.iter()
            .map(|p| (p.pair.unwrap(), p.side.unwrap(), p.identity.scenario))
            .collect()
    }

    #[test]
    fn interleaved_pairs_alternate_ab_ba_and_candidates_get_their_own_identity() {
        let out = arrange(slots(3), Compare::Interleaved, 10, &|_| Duration::ZERO);
        use Side::{Base as B, Candidate as C};
        assert_eq!(
            shape(&out),
            vec![
                (1, B, 0),
                (1, C, 10),
                (2, C, 11),
                (2, B, 1),
                (3, B, 2),
                (3, C, 12)
            ]
        );
    }

    #[test]
    fn sequential_runs_every_base_first() {
        let out = arrange(slots(2), Compare::Sequential, 2, &|_| Duration::ZERO);
        use Side::{Base as B, Candidate as C};
        assert_eq!(
            shape(&out),
            vec![(1, B, 0), (2, B, 1), (1, C, 2), (2, C, 3)]
        );
    }

    #[test]
    fn a_split_pairs_second_run_starts_half_a_slot_later() {
        let at = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let mut s = slots(2);
        for p in &mut s {
            p.slot.start_at = Some(at);
        }
        let out = arrange(s, Compare::Interleaved, 2, &|_| Duration::from_secs(30));
        let starts: Vec<u64> = out
            .iter()
            .map(|p| {
                p.slot
                    .start_at
                    .unwrap()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs()
            })
            .collect();
        assert_eq!(starts, vec![100, 130, 100, 130]);
    }
}

#[cfg(test)]
mod split_tests {
    use std::time::{Duration, SystemTime};

    use super::super::{resolve, RunError, RunOptions};
    use crate::matrix::Slice;
    use crate::results::Side;

    const TARGET: &str = "{ messenger_ws_url: 'ws://127.0.0.1:1', organizer_api_url: 'http://127.0.0.1:2', participant_api_url: 'http://127.0.0.1:3', event_id: 1, organizer_email: o@x, organizer_password: p }";

    fn plan(candidate: &str, compare: &str) -> crate::matrix::Plan {
        let text = format!(
            "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms]\nrepetitions: 2\nsplit: 2\n\
             stop:\n  max_duration: 10s\n  drain: 0s\ntargets:\n  base: {TARGET}\n  candidate: {candidate}\ncompare: {compare}\n"
        );
        crate::matrix::parse("m.yaml", &text, &|_| None).unwrap()
    }

    fn opts(start: SystemTime) -> RunOptions {
        RunOptions {
            part: Slice { index: 2, count: 2 },
            start_at: Some(start),
            ..RunOptions::default()
        }
    }

    #[test]
    fn split_load_splits_both_sides_of_a_pair_alike_in_one_slot() {
        let start = SystemTime::now() + Duration::from_secs(60);
        let run = resolve(plan(TARGET, "interleaved"), &opts(start)).unwrap();
        let got: Vec<(u32, Side, Option<Slice>, u64)> = run
            .slots
            .iter()
            .map(|p| {
                let at = p.slot.start_at.unwrap().duration_since(start).unwrap();
                (p.pair.unwrap(), p.side.unwrap(), p.slot.part, at.as_secs())
            })
            .collect();
        let part = Some(Slice { index: 2, count: 2 });
        // One run of 10 s + 10 s slack per side: a pair's slot is 40 s.
        assert_eq!(
            got,
            vec![
                (1, Side::Base, part, 0),
                (1, Side::Candidate, part, 20),
                (2, Side::Candidate, part, 40),
                (2, Side::Base, part, 60),
            ]
        );
    }

    #[test]
    fn split_load_needs_a_deployed_candidate_and_the_interleaved_order() {
        let start = SystemTime::now() + Duration::from_secs(60);
        let e = resolve(plan("embedded", "interleaved"), &opts(start)).unwrap_err();
        assert!(
            matches!(e, RunError::SplitWithoutTarget { width: 2 }),
            "{e}"
        );
        let e = resolve(plan(TARGET, "sequential"), &opts(start)).unwrap_err();
        assert!(matches!(e, RunError::SplitSequential { width: 2 }), "{e}");
        assert!(e.is_config());
    }
}
