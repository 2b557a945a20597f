//! The paired comparison on synthetic runs with known capacities: ratios,
//! interval, sign test, verdicts, and the pairs that do not count.

use super::*;
use crate::analysis::tests::builder::{build, Spec};

/// A pair of runs: base at `base` msg/s, candidate at `cand`.
fn pair(rep: u32, base: f64, cand: f64) -> [RunResult; 2] {
    let mut b = build(&Spec::new(100.0, rep, base));
    b.side = Some(Side::Base);
    b.pair = Some(rep);
    let mut c = build(&Spec::new(100.0, rep, cand));
    c.side = Some(Side::Candidate);
    c.pair = Some(rep);
    [b, c]
}

fn runs(caps: &[(f64, f64)]) -> Vec<RunResult> {
    caps.iter()
        .enumerate()
        .flat_map(|(i, &(b, c))| pair(i as u32 + 1, b, c))
        .collect()
}

#[test]
fn a_ten_percent_slower_candidate_is_regressed_with_a_tight_interval() {
    let results = runs(&[(3000.0, 2700.0); 5]);
    let a = paired(&results, &Gate::default()).expect("A/B runs");
    let m = &a.overall;
    assert_eq!(m.pairs.len(), 5);
    let r = m.ratio.unwrap();
    assert!((r - 0.9).abs() < 0.02, "{r}");
    let (lo, hi) = (m.ci_low.unwrap(), m.ci_high.unwrap());
    assert!(lo < r && r < hi && hi < 0.95, "{lo} {hi}");
    assert_eq!(m.verdict, ChangeStatus::Regressed);
    assert_eq!((m.sign_test.up, m.sign_test.down), (0, 5));
    assert!((m.sign_test.p_value - 0.0625).abs() < 1e-9);
    assert!(a.regressed);
    assert_eq!(a.groups.len(), 1);
    assert_eq!(a.groups[0].sustained.verdict, ChangeStatus::Regressed);
    // The builder's runs end at a handshake timeout with the same active
    // chats whatever the capacity: compared too, and unchanged.
    let chats = a.groups[0].active_chats.as_ref().expect("first errors");
    assert_eq!(chats.pairs.len(), 5);
    assert_eq!(chats.verdict, ChangeStatus::Unchanged, "{chats:?}");
}

#[test]
fn equal_sides_are_unchanged_and_a_faster_candidate_improved() {
    let same = runs(&[(3000.0, 3000.0), (3100.0, 3100.0), (2900.0, 2900.0)]);
    let a = paired(&same, &Gate::default()).unwrap();
    assert_eq!(
        a.overall.verdict,
        ChangeStatus::Unchanged,
        "{:?}",
        a.overall
    );
    assert!(!a.regressed);
    let faster = runs(&[(3000.0, 3600.0); 4]);
    let a = paired(&faster, &Gate::default()).unwrap();
    assert_eq!(a.overall.verdict, ChangeStatus::Improved);
}

#[test]
fn noisy_pairs_that_straddle_one_are_inconclusive() {
    let results = runs(&[(3000.0, 2400.0), (3000.0, 3600.0), (3000.0, 2500.0)]);
    let a = paired(&results, &Gate::default()).unwrap();
    assert_eq!(
        a.overall.verdict,
        ChangeStatus::Inconclusive,
        "{:?}",
        a.overall
    );
    assert!(!a.regressed);
    // One pair is never enough for an interval.
    let one = runs(&[(3000.0, 2000.0)]);
    let a = paired(&one, &Gate::default()).unwrap();
    assert_eq!(a.overall.verdict, ChangeStatus::Inconclusive);
    assert_eq!(a.overall.ci_low, None);
}

#[test]
fn a_pair_counts_only_when_both_runs_are_valid_and_the_others_say_why() {
    let mut results = runs(&[(3000.0, 2700.0); 4]);
    // Pair 2's candidate was skipped, pair 3's base is missing.
    results[3] = crate::load::skipped_result(
        &crate::matrix::parse(
            "m.yaml",
            "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms]\n",
            &|_| None,
        )
        .unwrap()
        .scenarios[0],
        &crate::matrix::Target {
            messenger_ws_url: "ws://x".into(),
            organizer_api_url: "http://x".into(),
            participant_api_url: "http://x".into(),
            event_id: 1,
            organizer_email: "o@x".into(),
            organizer_password: crate::matrix::Secret::new("p"),
        },
        false,
        "hook failed".into(),
    );
    results[3].scenario.group = results[2].scenario.group.clone();
    results[3].side = Some(Side::Candidate);
    results[3].pair = Some(2);
    results.remove(4);
    let a = paired(&results, &Gate::default()).unwrap();
    let g = &a.groups[0];
    let counted: Vec<u32> = g.sustained.pairs.iter().map(|p| p.pair).collect();
    assert_eq!(counted, vec![1, 4]);
    let excluded: Vec<(u32, &str)> = g
        .excluded
        .iter()
        .map(|e| (e.pair, e.reason.as_str()))
        .collect();
    assert_eq!(
        excluded,
        vec![(2, "candidate run skipped"), (3, "no base run")]
    );
}

#[test]
fn runs_without_sides_have_no_paired_analysis() {
    let plain = vec![build(&Spec::new(100.0, 1, 3000.0))];
    assert!(paired(&plain, &Gate::default()).is_none());
}

#[test]
fn latency_verdicts_are_mirrored() {
    let pairs: Vec<PairValue> = (1..=4)
        .map(|n| value(n, 100.0, 130.0 + f64::from(n)))
        .collect();
    let m = judge(PairedMetricKind::P99Latency, pairs, &Gate::default());
    assert_eq!(m.verdict, ChangeStatus::Regressed);
}

#[test]
fn sign_test_matches_the_binomial() {
    let v = |r: f64| value(1, 1.0, r);
    let t = sign_test(&[v(0.9), v(0.9), v(1.1), v(1.0)]);
    // 1 up, 2 down, 1 tie: P(X <= 1 | n=3) = 4/8, doubled = 1.
    assert_eq!((t.up, t.down), (1, 2));
    assert!((t.p_value - 1.0).abs() < 1e-12);
    let t = sign_test(&vec![v(0.9); 8]);
    assert!((t.p_value - 2.0 / 256.0).abs() < 1e-12);
}
