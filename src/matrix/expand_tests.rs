//! Tests of matrix expansion (kept apart from `expand.rs` to keep both short).

use super::*;
use crate::matrix::OnError;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn spec(sci: &[u64], cpi: &[u64], smi: &[u64], repetitions: u32) -> MatrixSpec {
    MatrixSpec {
        sci: sci.iter().map(|&n| ms(n)).collect(),
        cpi: cpi.iter().map(|&n| ms(n)).collect(),
        smi: smi.iter().map(|&n| ms(n)).collect(),
        exclude: vec![],
        include: vec![],
        repetitions,
        organizers: 1,
        split: 1,
        stop: StopRules {
            max_duration: Duration::from_secs(30),
            max_participants: None,
            on_error: OnError::First,
            handshake_timeout: Duration::from_secs(45),
            drain: Duration::from_secs(1),
        },
        arrival: Default::default(),
    }
}

fn ids(scenarios: &[Scenario]) -> Vec<String> {
    scenarios.iter().map(|s| s.id.clone()).collect()
}

fn m(sci: Option<u64>, cpi: Option<u64>, smi: Option<u64>) -> Match {
    Match {
        sci: sci.map(ms),
        cpi: cpi.map(ms),
        smi: smi.map(ms),
    }
}

#[test]
fn labels_are_shortest_exact_single_unit() {
    assert_eq!(duration_label(ms(10)), "10ms");
    assert_eq!(duration_label(ms(1000)), "1s");
    assert_eq!(duration_label(ms(10_000)), "10s");
    assert_eq!(duration_label(ms(1500)), "1500ms");
    assert_eq!(duration_label(Duration::from_secs(90)), "90s");
    assert_eq!(duration_label(Duration::from_micros(250)), "250us");
    assert_eq!(duration_label(Duration::from_nanos(1_000_001)), "1000001ns");
}

#[test]
fn product_is_sci_outermost_and_repetitions_innermost() {
    let s = spec(&[10, 5], &[20], &[100, 1000], 2);
    assert_eq!(
        ids(&expand(&s)),
        [
            "sci10ms-cpi20ms-smi100ms-r1",
            "sci10ms-cpi20ms-smi100ms-r2",
            "sci10ms-cpi20ms-smi1s-r1",
            "sci10ms-cpi20ms-smi1s-r2",
            "sci5ms-cpi20ms-smi100ms-r1",
            "sci5ms-cpi20ms-smi100ms-r2",
            "sci5ms-cpi20ms-smi1s-r1",
            "sci5ms-cpi20ms-smi1s-r2",
        ]
    );
    let first = &expand(&s)[1];
    assert_eq!(first.group, "sci10ms-cpi20ms-smi100ms");
    assert_eq!(first.repetition, 2);
    assert_eq!((first.sci, first.cpi, first.smi), (ms(10), ms(20), ms(100)));
}

#[test]
fn exclude_removes_every_matching_combination() {
    let mut s = spec(&[10, 5], &[20], &[100, 1000, 10_000], 1);
    s.exclude = vec![m(None, None, Some(1000)), m(Some(5), None, Some(100))];
    assert_eq!(
        ids(&expand(&s)),
        [
            "sci10ms-cpi20ms-smi100ms-r1",
            "sci10ms-cpi20ms-smi10s-r1",
            "sci5ms-cpi20ms-smi10s-r1",
        ]
    );
}

#[test]
fn include_with_matching_keys_extends_existing_combinations() {
    let mut s = spec(&[10], &[20], &[100, 10_000], 1);
    s.include = vec![Include {
        matrix: m(None, None, Some(10_000)),
        organizers: Some(2),
        max_duration: Some(Duration::from_secs(60)),
        ..Include::default()
    }];
    let out = expand(&s);
    assert_eq!(
        ids(&out),
        [
            "sci10ms-cpi20ms-smi100ms-r1",
            "sci10ms-cpi20ms-smi10s-o2-r1"
        ]
    );
    assert_eq!(out[0].organizers, 1);
    assert_eq!(out[1].organizers, 2);
    assert_eq!(out[1].group, "sci10ms-cpi20ms-smi10s-o2");
    assert_eq!(out[1].stop.max_duration, Duration::from_secs(60));
    assert_eq!(out[0].stop.max_duration, Duration::from_secs(30));
}

#[test]
fn include_without_match_adds_a_new_combination_at_the_end() {
    let mut s = spec(&[10], &[20], &[100], 2);
    s.include = vec![Include {
        matrix: m(Some(5), Some(20), Some(50)),
        ..Include::default()
    }];
    let c = combinations(&s);
    assert!(c.unplaced.is_empty());
    assert_eq!(c.cells.len(), 2);
    assert_eq!(c.cells[1].from_include, Some(0));
    assert_eq!(
        ids(&expand(&s)),
        [
            "sci10ms-cpi20ms-smi100ms-r1",
            "sci10ms-cpi20ms-smi100ms-r2",
            "sci5ms-cpi20ms-smi50ms-r1",
            "sci5ms-cpi20ms-smi50ms-r2",
        ]
    );
}

#[test]
fn include_only_extends_product_cells_and_later_includes_overwrite() {
    let mut s = spec(&[10], &[20], &[100], 1);
    s.include = vec![
        // A new cell...
        Include {
            matrix: m(Some(5), Some(20), Some(50)),
            ..Include::default()
        },
        // ...that a later include does not extend (GitHub's rule): it names
        // all keys and matches nothing in the product, so it is a new cell,
        // and differs from the first only by organizers.
        Include {
            matrix: m(Some(5), Some(20), Some(50)),
            organizers: Some(3),
            ..Include::default()
        },
        // Extends every product cell, then is overwritten for organizers.
        Include {
            organizers: Some(2),
            ..Include::default()
        },
        Include {
            organizers: Some(4),
            ..Include::default()
        },
    ];
    assert_eq!(
        ids(&expand(&s)),
        [
            "sci10ms-cpi20ms-smi100ms-o4-r1",
            "sci5ms-cpi20ms-smi50ms-r1",
            "sci5ms-cpi20ms-smi50ms-o3-r1",
        ]
    );
}

#[test]
fn include_missing_keys_that_matches_nothing_is_unplaced() {
    let mut s = spec(&[10], &[20], &[100, 1000], 1);
    s.exclude = vec![m(None, None, Some(1000))];
    s.include = vec![Include {
        matrix: m(None, None, Some(1000)),
        organizers: Some(2),
        ..Include::default()
    }];
    let c = combinations(&s);
    assert_eq!(c.unplaced, [0]);
    assert_eq!(ids(&expand(&s)), ["sci10ms-cpi20ms-smi100ms-r1"]);
}

#[test]
fn duplicates_collapse() {
    let mut s = spec(&[10], &[20], &[1000, 1000, 100], 1);
    s.include = vec![
        // Same as an existing cell: extends it with nothing.
        Include {
            matrix: m(Some(10), Some(20), Some(100)),
            organizers: Some(1),
            ..Include::default()
        },
        Include {
            matrix: m(Some(1), Some(2), Some(3)),
            ..Include::default()
        },
        Include {
            matrix: m(Some(1), Some(2), Some(3)),
            ..Include::default()
        },
    ];
    assert_eq!(
        ids(&expand(&s)),
        [
            "sci10ms-cpi20ms-smi1s-r1",
            "sci10ms-cpi20ms-smi100ms-r1",
            "sci1ms-cpi2ms-smi3ms-r1",
        ]
    );
}

#[test]
fn every_excluded_combination_leaves_nothing() {
    let mut s = spec(&[10], &[20], &[100], 3);
    s.exclude = vec![m(Some(10), None, None)];
    assert!(expand(&s).is_empty());
}

#[test]
fn ids_are_file_name_safe() {
    let mut s = spec(&[10, 1500], &[20], &[100], 2);
    s.smi = vec![Duration::from_micros(250), Duration::from_secs(90)];
    for scenario in expand(&s) {
        assert!(
            scenario
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{}",
            scenario.id
        );
    }
}
