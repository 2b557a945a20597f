//! Tests of shard partitioning, part schedules and the job list.

use super::*;
use crate::matrix::parse;

/// A tiny deterministic generator (no dependency): xorshift64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn plan(text: &str) -> Plan {
    parse("m.yaml", text, &|_| Some("x".into())).unwrap()
}

/// `n` scenarios with random durations (1..=120 s) and drains.
fn scenarios(rng: &mut Rng, n: usize) -> Vec<Scenario> {
    let base = plan("matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [1s]\n").scenarios[0].clone();
    (0..n)
        .map(|i| {
            let mut s = base.clone();
            s.id = format!("s{i}");
            s.stop.max_duration = Duration::from_secs(1 + rng.below(120));
            s.stop.drain = Duration::from_millis(rng.below(3000));
            s
        })
        .collect()
}

#[test]
fn shards_cover_every_scenario_exactly_once_and_balance_by_duration() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut pairs = 0;
    for n in 0..40 {
        for count in 1..=12u32 {
            let list = scenarios(&mut rng, n);
            let cooldown = Duration::from_millis(rng.below(2000));
            let shards = partition(&list, cooldown, count);
            assert_eq!(shards.len(), count as usize);
            let mut seen = vec![0u32; n];
            for shard in &shards {
                assert!(shard.windows(2).all(|w| w[0] < w[1]), "plan order");
                for &i in shard {
                    seen[i] += 1;
                }
            }
            assert!(
                seen.iter().all(|&c| c == 1),
                "n={n} count={count}: {seen:?}"
            );
            // Longest-first greedy: no shard exceeds the lightest by more than
            // the longest scenario.
            let load = |s: &Vec<usize>| -> Duration {
                s.iter()
                    .map(|&i| expected_duration(&list[i], cooldown))
                    .sum()
            };
            let loads: Vec<Duration> = shards.iter().map(load).collect();
            let longest = list
                .iter()
                .map(|s| expected_duration(s, cooldown))
                .max()
                .unwrap_or_default();
            let (lo, hi) = (loads.iter().min().unwrap(), loads.iter().max().unwrap());
            assert!(*hi <= *lo + longest, "n={n} count={count}: {loads:?}");
            // Deterministic: every job computes the same partition.
            assert_eq!(partition(&list, cooldown, count), shards);
            pairs += 1;
        }
    }
    assert_eq!(pairs, 40 * 12);
}

#[test]
fn balance_beats_round_robin_on_uneven_durations() {
    let text = "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms, 1s, 10s, 20s]\n  include:\n    - { smi: 100ms, max_duration: 90s }\n    - { smi: 1s, max_duration: 90s }\nstop:\n  max_duration: 10s\n";
    let p = plan(text);
    let ids = |s: Slice| shard(&p, s).into_iter().map(|x| x.id).collect::<Vec<_>>();
    // Round-robin would put both 90 s scenarios on shard 1.
    assert_eq!(
        ids(Slice { index: 1, count: 2 }),
        ["sci10ms-cpi20ms-smi100ms-r1", "sci10ms-cpi20ms-smi10s-r1"]
    );
    assert_eq!(
        ids(Slice { index: 2, count: 2 }),
        ["sci10ms-cpi20ms-smi1s-r1", "sci10ms-cpi20ms-smi20s-r1"]
    );
}

#[test]
fn slices_parse_and_explain_bad_input() {
    assert_eq!(
        Slice::parse("2/4", "--shard").unwrap(),
        Slice { index: 2, count: 4 }
    );
    for bad in ["0/2", "3/2", "2", "a/b", "1/0", "", "1/257"] {
        let err = Slice::parse(bad, "--shard").unwrap_err();
        assert!(err.contains("--shard") && err.contains("i/N"), "{err}");
    }
}

const SPLIT: &str = "target:\n  messenger_ws_url: ws://h\n  organizer_api_url: http://h\n  participant_api_url: http://h\n  event_id: 1\n  organizer_email: o{n}@x\n  organizer_password: pw\nmatrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [1s, 10s]\n  include:\n    - { smi: 1s, split: 3 }\nstop:\n  max_duration: 20s\n  drain: 1s\ncooldown: 4s\n";

#[test]
fn split_scenarios_get_one_job_per_part_and_a_common_schedule() {
    let p = plan(SPLIT);
    assert_eq!(
        p.scenarios.iter().map(|s| s.split).collect::<Vec<_>>(),
        [3, 1]
    );
    let jobs = jobs(&p, 1);
    let parts: Vec<(String, Vec<String>)> = jobs
        .iter()
        .map(|j| (j.part.to_string(), j.scenarios.clone()))
        .collect();
    let (a, b) = (
        "sci10ms-cpi20ms-smi1s-r1".to_string(),
        "sci10ms-cpi20ms-smi10s-r1".to_string(),
    );
    assert_eq!(
        parts,
        [
            ("1/3".into(), vec![a.clone(), b.clone()]),
            ("2/3".into(), vec![a.clone()]),
            ("3/3".into(), vec![a.clone()]),
        ]
    );
    // Each scenario is run by exactly `split` jobs.
    for s in &p.scenarios {
        let runs = jobs.iter().filter(|j| j.scenarios.contains(&s.id)).count();
        assert_eq!(runs as u32, s.split, "{}", s.id);
    }
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let shard = shard(&p, Slice::WHOLE);
    let first = schedule(&p, &shard, Slice { index: 1, count: 3 }, Some(t0)).unwrap();
    let third = schedule(&p, &shard, Slice { index: 3, count: 3 }, Some(t0)).unwrap();
    // Slot = 20 s run + 1 s drain + 4 s cool-down + 10 s slack.
    assert_eq!(first[1].start_at, Some(t0 + Duration::from_secs(35)));
    assert_eq!(first[0].part, Some(Slice { index: 1, count: 3 }));
    assert_eq!(first[1].part, None, "unsplit scenario runs whole on part 1");
    assert_eq!(third.len(), 1);
    assert_eq!(
        (third[0].start_at, third[0].part),
        (Some(t0), Some(Slice { index: 3, count: 3 }))
    );
    let err = schedule(&p, &shard, Slice { index: 1, count: 2 }, Some(t0)).unwrap_err();
    assert!(err.to_string().contains("largest split is 3"), "{err}");
    let err = schedule(&p, &shard, Slice { index: 1, count: 3 }, None).unwrap_err();
    assert!(err.to_string().contains("--start-at"), "{err}");
}

#[test]
fn unsplit_shards_run_in_order_without_a_schedule() {
    let p = plan("matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [1s, 10s]\n");
    let slots = schedule(&p, &p.scenarios, Slice::WHOLE, None).unwrap();
    assert!(slots
        .iter()
        .all(|s| s.part.is_none() && s.start_at.is_none()));
    assert_eq!(jobs(&p, 4).len(), 2, "empty shards get no job");
}
