//! Merging split parts: sums, wall-clock alignment, first error, notes.

use super::*;
use crate::results::tests::sample;
use crate::results::{ErrorKind, FirstError, Worker};

fn part(
    index: u32,
    parts: u32,
    started_at: &str,
    sent: &[u64],
    one_way: Vec<Option<f64>>,
) -> RunResult {
    let mut r = sample();
    r.started_at = started_at.into();
    r.duration_s = sent.len() as f64;
    r.timeline = sent
        .iter()
        .enumerate()
        .map(|(t, &s)| Second {
            t: t as u32,
            sent: s,
            delivered: s.saturating_sub(1),
            participants: (t as u64 + 1) * 10,
            open_connections: (t as u64 + 1) * 10,
            ..Second::default()
        })
        .collect();
    r.totals.messages_sent = sent.iter().sum();
    r.totals.messages_delivered = r.timeline.iter().map(|s| s.delivered).sum();
    r.totals.messages_lost = 99; // per-part loss is not trusted
    r.totals.participants = sent.len() as u64 * 10;
    r.latency_ms.message = Percentiles {
        p50: index as f64,
        p90: 2.0,
        p99: 10.0 * index as f64,
        max: 50.0,
        count: 100,
    };
    r.generator.cpu_us_per_message = 10.0 * index as f64;
    r.generator.cores = 2;
    r.split = Some(SplitInfo {
        part: index,
        parts,
        start_at: "2026-11-28T01:00:00Z".into(),
        min_one_way_ms: one_way,
        ..SplitInfo::default()
    });
    r
}

#[test]
fn parts_on_time_add_up_second_by_second() {
    let a = part(
        1,
        2,
        "2026-11-28T01:00:00.000Z",
        &[10, 20, 30],
        vec![None, Some(1.2)],
    );
    let mut b = part(
        2,
        2,
        "2026-11-28T01:00:00.004Z",
        &[11, 21, 31, 41],
        vec![Some(0.9), None],
    );
    b.first_error = Some(FirstError {
        at_s: 2.5,
        kind: ErrorKind::HandshakeTimeout,
        message: "slow".into(),
        worker: Worker::Participant(7),
        active_chats: 3,
        participants: 30,
        step: None,
        service: None,
        http_status: None,
    });
    b.outcome = Outcome::Saturated;
    b.stop_reason = crate::results::StopReason::FirstError;
    let m = merge_parts(vec![b.clone(), a.clone()]);
    let sent: Vec<u64> = m.timeline.iter().map(|s| s.sent).collect();
    assert_eq!(sent, [21, 41, 61, 41]);
    let sum = |f: fn(&RunResult) -> u64| f(&a) + f(&b);
    assert_eq!(m.totals.messages_sent, sum(|r| r.totals.messages_sent));
    assert_eq!(
        m.totals.messages_delivered,
        sum(|r| r.totals.messages_delivered)
    );
    assert_eq!(
        m.timeline.iter().map(|s| s.sent).sum::<u64>(),
        m.totals.messages_sent
    );
    assert_eq!(
        m.totals.messages_lost,
        m.totals.messages_sent - m.totals.messages_delivered
    );
    // Part 1 ended after 3 s: its participants stay counted, its connections do not.
    assert_eq!(
        (m.timeline[3].participants, m.timeline[3].open_connections),
        (40 + 30, 40)
    );
    assert_eq!(
        (m.outcome, m.stop_reason.as_str()),
        (Outcome::Saturated, "first_error")
    );
    let e = m.first_error.clone().unwrap();
    assert_eq!(e.worker.to_string(), "part 2: participant 7");
    assert!((e.at_s - 2.504).abs() < 1e-9, "{}", e.at_s);
    assert_eq!(
        (m.latency_ms.message.p99, m.latency_ms.message.count),
        (20.0, 200)
    );
    assert!((m.generator.cpu_us_per_message - (10.0 * 60.0 + 20.0 * 104.0) / 164.0).abs() < 0.01);
    assert_eq!(m.generator.cores, 4);
    assert_eq!(m.file_name(), "sci10ms-cpi20ms-smi100ms-r1.json");
    let split = m.split.unwrap();
    assert_eq!(
        (split.part, split.parts, split.merged_parts),
        (0, 2, vec![1, 2])
    );
    assert!(split.notes.is_empty(), "{:?}", split.notes);
    assert!(split.max_skew_ms.unwrap() < 1.0);
}

#[test]
fn skewed_and_late_parts_are_aligned_by_wall_clock_and_flagged() {
    // Part 2 started 2 s late; part 1's clock is ~300 ms behind part 2's:
    // part 1 sees part 2's messages "arrive" 299 ms before they were sent.
    let a = part(
        1,
        3,
        "2026-11-28T01:00:00.000Z",
        &[10, 10, 10, 10],
        vec![None, Some(-299.0), None],
    );
    let b = part(
        2,
        3,
        "2026-11-28T01:00:02.000Z",
        &[5, 5],
        vec![Some(301.0), None, None],
    );
    let m = merge_parts(vec![a, b]);
    let sent: Vec<u64> = m.timeline.iter().map(|s| s.sent).collect();
    assert_eq!(sent, [10, 10, 15, 15]);
    assert!((m.duration_s - 4.0).abs() < 1e-9);
    let split = m.split.unwrap();
    assert!((split.max_skew_ms.unwrap() - 300.0).abs() < 1e-9);
    let notes = split.notes.join("\n");
    assert!(notes.contains("part(s) 3 of 3 missing"), "{notes}");
    assert!(
        notes.contains("part 2 started 2.0 s after the common start"),
        "{notes}"
    );
    assert!(
        notes.contains("part 1's clock is about 300 ms behind part 2's"),
        "{notes}"
    );
}

#[test]
fn one_sided_negative_delay_is_skew_too() {
    let a = part(1, 2, "2026-11-28T01:00:00Z", &[1], vec![None, Some(-80.0)]);
    let b = part(2, 2, "2026-11-28T01:00:00Z", &[1], vec![None, None]);
    let split = merge_parts(vec![a, b]).split.unwrap();
    assert_eq!(split.max_skew_ms, Some(80.0));
    assert!(
        split.notes[0].contains("received part 2's messages 80 ms before they were sent"),
        "{:?}",
        split.notes
    );
}

#[test]
fn unreadable_or_far_apart_starts_do_not_stretch_the_timeline() {
    let a = part(1, 2, "2026-11-28T01:00:00Z", &[1, 1], vec![None, None]);
    let mut b = part(2, 2, "garbage", &[2, 2], vec![None, None]);
    let m = merge_parts(vec![a.clone(), b.clone()]);
    assert_eq!(m.timeline.len(), 2);
    assert!(m.split.unwrap().notes[0].contains("not an RFC 3339 time"));
    b.started_at = "2026-11-29T01:00:00Z".into();
    let m = merge_parts(vec![a, b]);
    assert_eq!(m.timeline.len(), 2);
    assert!(m
        .split
        .unwrap()
        .notes
        .iter()
        .any(|n| n.contains("not the same run?")));
}

#[test]
fn backlog_and_loss_of_split_parts_come_from_the_sums() {
    let drain = |end| crate::results::DrainInfo {
        end,
        drain_s: 3.0,
        bound_s: 30.0,
        quiet_s: 2.0,
        last_delivery_s: Some(1.0),
    };
    let mut a = part(1, 2, "2026-11-28T01:00:00.000Z", &[100, 100], vec![]);
    let mut b = part(2, 2, "2026-11-28T01:00:00.000Z", &[100, 100], vec![]);
    // Each part's organizers received some of the other's messages: alone,
    // a part's backlog means nothing; together 400 sent, 390 delivered, 50 late.
    (
        a.totals.messages_delivered,
        a.totals.messages_delivered_late,
    ) = (230, 30);
    (
        b.totals.messages_delivered,
        b.totals.messages_delivered_late,
    ) = (160, 20);
    a.totals.backlog_at_stop = 0;
    b.totals.backlog_at_stop = 999;
    a.drain = Some(drain(DrainEnd::Quiet));
    b.drain = Some(drain(DrainEnd::Quiet));
    let m = merge_parts(vec![a.clone(), b.clone()]);
    let t = &m.totals;
    assert_eq!((t.messages_delivered_late, t.backlog_at_stop), (50, 60));
    assert_eq!(
        (t.messages_lost, t.messages_undelivered_at_drain_end),
        (10, 0)
    );
    // One part cut short by its bound: the missing ones are not judged.
    b.drain = Some(drain(DrainEnd::Bound));
    let m = merge_parts(vec![a, b]);
    assert_eq!(m.drain.as_ref().map(|d| d.end), Some(DrainEnd::Bound));
    let t = &m.totals;
    assert_eq!(
        (t.messages_lost, t.messages_undelivered_at_drain_end),
        (0, 10)
    );
}

#[test]
fn a_merged_second_is_drain_only_when_no_part_still_ran() {
    let mut a = part(1, 2, "2026-11-28T01:00:00.000Z", &[10, 10, 0], vec![]);
    let b = part(2, 2, "2026-11-28T01:00:00.000Z", &[10, 10, 10], vec![]);
    a.timeline[2].phase = Phase::Drain;
    let m = merge_parts(vec![a.clone(), b.clone()]);
    assert!(m.timeline.iter().all(|s| s.phase == Phase::Run));
    let mut b = b;
    b.timeline[2].phase = Phase::Drain;
    let m = merge_parts(vec![a, b]);
    let phases: Vec<Phase> = m.timeline.iter().map(|s| s.phase).collect();
    assert_eq!(phases, [Phase::Run, Phase::Run, Phase::Drain]);
}
