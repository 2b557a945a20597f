use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

use super::*;
use crate::load::Part;
use crate::matrix::shard::{jobs, schedule, set_split, shard};

/// A plan of `smis` send intervals × `reps` repetitions; `mixed` splits only
/// the first interval (`split: 3`), so shards mix split and unsplit scenarios.
fn plan(smis: usize, reps: u32, mixed: bool) -> Plan {
    let list: Vec<String> = (1..=smis).map(|i| format!("{}ms", i * 100)).collect();
    let include = if mixed {
        "  include:\n    - { smi: 100ms, split: 3 }\n"
    } else {
        ""
    };
    let text = format!(
        "target:\n  messenger_ws_url: ws://h\n  organizer_api_url: http://h\n  participant_api_url: http://h\n  event_id: 1\n  organizer_email: o{{n}}@x\n  organizer_password: pw\nmatrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [{}]\n{include}repetitions: {reps}\nstop:\n  max_duration: 5s\n",
        list.join(", ")
    );
    crate::matrix::parse("test.yaml", &text, &|_| None).unwrap()
}

/// Every slot every job of the plan runs, with its identity: what the jobs
/// of a workflow compute, each on its own runner.
fn slot_identities(p: &Plan, shards: u32, plan_id: PlanId) -> Vec<(Identity, Part)> {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000);
    let mut out = Vec::new();
    for job in jobs(p, shards) {
        let scenarios = shard(p, job.shard);
        for slot in schedule(p, &scenarios, job.part, Some(t0)).unwrap() {
            let part = slot.part.unwrap_or(Slice::WHOLE);
            let id = Identity::of(plan_id, p, &slot.scenario.id, job.shard, part);
            out.push((id, Part(part)));
        }
    }
    out
}

/// For any (shards, split, scenarios) plan, no two slots share a
/// participant e-mail or a (run key, participant) token prefix, and all
/// parts of one run share their run key (so their organizers count each
/// other's messages) while different runs never do.
#[test]
fn identities_of_all_slots_of_any_plan_are_disjoint() {
    let mut plans = 0;
    for smis in 1..=4 {
        for reps in 1..=2 {
            for split in [None, Some(1), Some(2), Some(3), Some(4)] {
                for mixed in [false, true] {
                    let mut p = plan(smis, reps, mixed);
                    if let Some(k) = split {
                        set_split(&mut p, k);
                    }
                    for shards in 1..=5 {
                        check_disjoint(&p, shards);
                        plans += 1;
                    }
                }
            }
        }
    }
    assert_eq!(plans, 400);
}

fn check_disjoint(p: &Plan, shards: u32) {
    let plan_id = PlanId(0x00c0_ffee);
    let slots = slot_identities(p, shards, plan_id);
    let runs: usize = p.scenarios.iter().map(|s| s.split as usize).sum();
    assert_eq!(slots.len(), runs, "every part of every scenario runs once");
    let mut emails = HashSet::new();
    let mut tokens = HashSet::new();
    let mut key_of: HashMap<u32, u64> = HashMap::new();
    for (id, part) in &slots {
        let key = *key_of.entry(id.scenario).or_insert(id.run_key());
        assert_eq!(key, id.run_key(), "parts of one run share the key");
        for k in 0..25 {
            let participant = part.participant_id(k);
            let email = id.email(participant);
            assert!(email.len() <= 64 + 19, "{email}");
            assert!(
                emails.insert(email.clone()),
                "{email} twice, {shards} shards"
            );
            assert!(
                tokens.insert((id.run_key(), participant)),
                "token {}:{participant} twice",
                id.run_key()
            );
        }
    }
    let keys: HashSet<u64> = key_of.values().copied().collect();
    assert_eq!(keys.len(), p.scenarios.len(), "one key per run");
    // Another plan against the same target shares nothing.
    for (id, part) in slot_identities(p, shards, PlanId(0x00c0_fff0)) {
        assert!(!keys.contains(&id.run_key()));
        assert!(!emails.contains(&id.email(part.participant_id(0))));
    }
}

#[test]
fn plan_ids_parse_print_and_explain_bad_input() {
    let id = PlanId::parse("00c0ffee").unwrap();
    assert_eq!((id, id.to_string()), (PlanId(0xc0ffee), "00c0ffee".into()));
    for bad in ["c0ffee", "00c0ffeeg", "xyzxyzxy", "00c0 ffee", "-0c0ffee"] {
        let err = PlanId::parse(bad).unwrap_err();
        assert!(err.contains("msgperf expand"), "{err}");
    }
    assert_eq!(PlanId::parse_optional(" "), Ok(None));
    assert_eq!(PlanId::parse_optional("00c0ffee"), Ok(Some(id)));
    assert_ne!(PlanId::fresh(), PlanId::fresh());
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    assert_eq!(PlanId::of_start(t), PlanId::of_start(t));
    assert_ne!(
        PlanId::of_start(t),
        PlanId::of_start(t + Duration::from_secs(1))
    );
    let a = Identity {
        plan: id,
        scenario: 5,
        shard: Slice { index: 2, count: 2 },
        part: Slice { index: 1, count: 2 },
        attempt: 1,
    };
    assert_eq!(a.email(17), "mp-00c0ffee-5-s2-p1-17@load.msgperf.test");
    // A re-run job (same plan id) signs up new participants, and still
    // shares the run key with the parts of the first attempt.
    let rerun = Identity { attempt: 2, ..a };
    assert_eq!(
        rerun.email(17),
        "mp-00c0ffee-5-s2-p1-a2-17@load.msgperf.test"
    );
    assert_eq!(rerun.run_key(), a.run_key());
    assert!(a
        .description(17)
        .contains("00c0ffee-5-s2-p1 participant 17"));
}
