use super::*;

fn need(participants: u64, server: u64) -> Need {
    Need {
        scenario: "s1".into(),
        participants,
        organizers: 1,
        rest: participants.min(64) + 1,
        server,
        open_now: 10,
    }
}

#[test]
fn a_plan_within_the_limit_fits() {
    let limits = OpenFiles {
        soft: 1024,
        hard: 1024,
    };
    assert_eq!(
        fit(&need(500, 0), Some(limits), Some(28_000), false),
        Ok(())
    );
    assert_eq!(
        fit(&need(500, 0), None, None, false),
        Ok(()),
        "unknown limits"
    );
}

#[test]
fn too_many_descriptors_are_refused_with_the_numbers_and_what_to_do() {
    let limits = OpenFiles {
        soft: 1024,
        hard: 1024,
    };
    let n = need(2000, 0);
    let e = fit(&n, Some(limits), Some(28_000), false).unwrap_err();
    let msg = e.to_string();
    // 2000 + 1 + 65 connections, 10 open, 32 spare.
    assert_eq!(n.descriptors(), 2108);
    for part in [
        "scenario `s1` needs about 2108 open files",
        "2000 participant and 1 organizer WebSockets, 65 REST connections",
        "may open 1024 (RLIMIT_NOFILE soft 1024, hard 1024)",
        "ulimit -n 2108",
        "`split: 3`",
        UNCHECKED_ENV,
    ] {
        assert!(msg.contains(part), "{part:?} in {msg}");
    }
    let embedded = fit(&need(600, 670), Some(limits), Some(28_000), true)
        .unwrap_err()
        .to_string();
    assert!(
        embedded.contains("670 sockets of the embedded server in this process"),
        "{embedded}"
    );
    assert!(embedded.contains("msgperf serve"), "{embedded}");
}

#[test]
fn more_connections_than_local_ports_are_refused() {
    let limits = OpenFiles {
        soft: 1 << 20,
        hard: 1 << 20,
    };
    let e = fit(&need(40_000, 0), Some(limits), Some(28_232), false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("28232 ports"), "{e}");
    assert!(e.contains("`split: K` (K ≥ 2)"), "{e}");
}

#[test]
fn raising_leaves_soft_at_hard() {
    let (_, after) = raise_open_files().expect("limits are readable on Linux");
    assert_eq!(after.soft, after.hard);
}
