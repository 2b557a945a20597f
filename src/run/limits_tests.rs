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

/// An A/B plan whose base is deployed and whose candidate is embedded: the
/// candidate's runs have the embedded server's sockets in this process, the
/// base's do not.
#[test]
fn an_embedded_candidate_counts_its_servers_sockets_and_a_deployed_base_does_not() {
    const TARGET: &str = "{ messenger_ws_url: 'ws://127.0.0.1:1', organizer_api_url: 'http://127.0.0.1:2', participant_api_url: 'http://127.0.0.1:3', event_id: 1, organizer_email: o@x, organizer_password: p }";
    let text = |candidate: &str| {
        format!(
            "matrix:\n  sci: [10ms]\n  cpi: [10ms]\n  smi: [100ms]\nrepetitions: 1\n\
             stop:\n  max_duration: 5s\n  drain: 0s\ntargets:\n  base: {TARGET}\n  candidate: {candidate}\n"
        )
    };
    let estimate_of = |candidate: &str| {
        let plan = crate::matrix::parse("m.yaml", &text(candidate), &|_| None).unwrap();
        let run = super::super::resolve(plan, &super::super::RunOptions::default()).unwrap();
        estimate(&run, 10).unwrap()
    };
    let deployed = estimate_of(TARGET);
    assert_eq!(deployed.server, 0, "both sides deployed: no server here");
    let embedded = estimate_of("embedded");
    assert_eq!(embedded.participants, deployed.participants);
    assert_eq!(
        embedded.server,
        embedded.connections() + EMBEDDED_LISTENERS,
        "the embedded candidate's server holds the other end of every connection"
    );
}
