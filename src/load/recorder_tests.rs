//! The recorder alone, fed events by hand: loss, duplicates, gauges, stop rules.

use super::*;
use crate::results::{ErrorKind, Step};

fn recorder(on_error: OnError) -> (Recorder, Arc<StopSignal>) {
    let stop = Arc::new(StopSignal::new());
    (
        Recorder::new(
            Clock::new(),
            on_error,
            stop.clone(),
            Periods {
                send_message: Duration::from_millis(100),
                start_chat: Duration::from_millis(10),
                create_participant: Duration::from_millis(20),
            },
            Part::WHOLE,
        ),
        stop,
    )
}

#[test]
fn loss_and_duplicates_are_counted_per_message() {
    let (mut r, _) = recorder(OnError::Never);
    for seq in 0..3 {
        r.record(Event::Sent {
            t_us: 10,
            participant: 1,
            seq,
            late_us: 0,
        });
    }
    for seq in [0, 2, 2] {
        r.record(Event::Delivered {
            t_us: 1_500_000,
            participant: 1,
            seq,
            sent_us: 1_500_000 - 900,
        });
    }
    let rec = r.finish();
    assert_eq!(
        (rec.sent, rec.delivered, rec.lost, rec.duplicated),
        (3, 2, 1, 1)
    );
    assert_eq!(rec.timeline.len(), 2);
    assert_eq!((rec.timeline[0].sent, rec.timeline[1].delivered), (3, 2));
    assert_eq!(rec.message.count, 2);
    assert!((rec.message.p50 - 0.9).abs() < 0.01, "{:?}", rec.message);
}

#[test]
fn gauges_integrate_over_seconds() {
    let (mut r, _) = recorder(OnError::Never);
    r.record(Event::ParticipantCreated { t_us: 100 });
    r.record(Event::Connection {
        t_us: 200,
        delta: 1,
    });
    r.record(Event::ParticipantCreated { t_us: 2_100_000 });
    r.record(Event::Connection {
        t_us: 2_200_000,
        delta: 1,
    });
    r.record(Event::Connection {
        t_us: 2_300_000,
        delta: -1,
    });
    r.record(Event::ChatStarted { t_us: 2_400_000 });
    let tl = r.finish().timeline;
    let gauges: Vec<_> = tl
        .iter()
        .map(|s| (s.participants, s.open_connections, s.active_chats))
        .collect();
    assert_eq!(gauges, vec![(1, 1, 0), (1, 1, 0), (2, 1, 1)]);
}

#[test]
fn first_error_stops_and_keeps_the_load_at_that_moment() {
    let (mut r, stop) = recorder(OnError::First);
    r.record(Event::ParticipantCreated { t_us: 1 });
    r.record(Event::ChatStarted { t_us: 2 });
    assert!(!stop.is_stopped());
    r.record(Event::Error(Box::new(ErrorEvent {
        t_us: 3_000_000,
        kind: ErrorKind::HandshakeTimeout,
        step: Step::Handshake,
        http_status: None,
        worker: "participant 1".into(),
        message: "slow".into(),
    })));
    assert!(stop.is_stopped());
    assert_eq!(stop.reason(), Some(StopReason::FirstError));
    let fe = r.finish().first_error.unwrap();
    assert_eq!(
        (fe.active_chats, fe.participants, fe.kind),
        (1, 1, ErrorKind::HandshakeTimeout)
    );
    assert_eq!(fe.at_s, 3.0);
}

#[test]
fn budget_ignores_early_errors_and_fires_past_the_fraction() {
    let (mut r, stop) = recorder(OnError::Budget(0.01));
    let err = || {
        Event::Error(Box::new(ErrorEvent {
            t_us: 1,
            kind: ErrorKind::Timeout,
            step: Step::Read,
            http_status: None,
            worker: String::new(),
            message: String::new(),
        }))
    };
    r.record(err());
    r.check_budget();
    assert!(
        !stop.is_stopped(),
        "one error in one operation is below the minimum count"
    );
    for seq in 0..200 {
        r.record(Event::Sent {
            t_us: 1,
            participant: 0,
            seq,
            late_us: 0,
        });
    }
    r.record(err());
    r.check_budget();
    assert!(
        !stop.is_stopped(),
        "2 errors in 200 operations is exactly 1%"
    );
    r.record(err());
    r.check_budget();
    assert_eq!(stop.reason(), Some(StopReason::ErrorBudget));
}

#[test]
fn deliveries_after_the_stop_are_late_and_their_seconds_are_drain() {
    let (mut r, stop) = recorder(OnError::Never);
    // A run that started 1.6 s ago: the stop below falls in its second second.
    r.clock.start -= Duration::from_millis(1600);
    for seq in 0..5 {
        r.record(Event::Sent {
            t_us: 10,
            participant: 2,
            seq,
            late_us: 0,
        });
    }
    let deliver = |r: &mut Recorder, seq, t_us| {
        r.record(Event::Delivered {
            t_us,
            participant: 2,
            seq,
            sent_us: 10,
        })
    };
    deliver(&mut r, 0, 100);
    deliver(&mut r, 1, 200);
    stop.stop(StopReason::MaxDuration);
    // Out of order, and one twice: still exact.
    deliver(&mut r, 3, 1_700_000);
    deliver(&mut r, 2, 2_500_000);
    deliver(&mut r, 3, 2_600_000);
    let rec = r.finish();
    assert_eq!((rec.delivered, rec.duplicated, rec.lost), (4, 1, 1));
    assert_eq!((rec.backlog_at_stop, rec.delivered_late), (3, 2));
    assert_eq!(rec.last_delivery_us, Some(2_500_000));
    let phases: Vec<Phase> = rec.timeline.iter().map(|s| s.phase).collect();
    // Second 1 is [1.0, 2.0): mostly before the stop at 1.6 s.
    assert_eq!(phases, [Phase::Run, Phase::Run, Phase::Drain]);
    assert_eq!(rec.message.count, 4, "late latencies are in the histogram");
    assert_eq!(rec.out_of_order, 1, "seq 2 came after seq 3");
}

#[test]
fn a_ledger_drops_fully_delivered_words_and_still_finds_duplicates() {
    let mut l = Ledger::default();
    // 1,000 messages delivered in order: the words they filled are dropped.
    for seq in 0..1000 {
        assert!(l.mark(seq));
    }
    assert_eq!(l.base, 1000 / 64);
    assert_eq!(l.seen.len(), 1, "only the word still filling stays");
    // A duplicate of a dropped word's seq and of a kept one are both found.
    assert!(!l.mark(3));
    assert!(!l.mark(999));
    // A gap (seq 1000 never arrives) pins its word: later ones still count.
    for seq in 1001..1200 {
        assert!(l.mark(seq));
    }
    assert_eq!(l.base, 1000 / 64, "the word with the gap is kept");
    assert!(l.mark(1000), "the late one is fresh");
    assert_eq!(l.base, 1200 / 64);
}
