//! Split load end to end: two parts of one scenario, each a real `msgperf
//! run` process, load one embedded server on 127.0.0.1 from a common start,
//! and `msgperf report` merges them into one run whose totals are the sum of
//! the parts, and which the server's own counters confirm. A second test runs
//! two parts in-process with clocks 300 ms apart and checks that the merge
//! sees the skew.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use msgperf::analysis::merge_parts;
use msgperf::load::{self, Clock, Part, Progress, RunControl};
use msgperf::matrix::{self, Slice};
use msgperf::report::read_results;
use msgperf::results::{self, Outcome};
use msgperf::run;
use msgperf::server::{self, ServerConfig};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Load tests share two cores: one at a time.
use crate::common::LOAD as SERIAL;

fn matrix_for(info: &server::ServerInfo) -> String {
    format!(
        "target:\n  messenger_ws_url: {}\n  organizer_api_url: {}\n  participant_api_url: {}\n  event_id: {}\n  organizer_email: \"{}\"\n  organizer_password: \"${{SPLIT_TEST_PASSWORD}}\"\nmatrix:\n  sci: [5ms]\n  cpi: [20ms]\n  smi: [100ms]\n  include:\n    - {{ smi: 100ms, split: 2 }}\norganizers: 2\nstop:\n  max_duration: 4s\n  drain: 1s\n  on_error: never\n",
        info.messenger_ws_url,
        info.organizer_api_url,
        info.participant_api_url,
        info.event_id,
        info.organizer_email,
    )
}

#[test]
fn two_split_parts_against_one_server_merge_into_summed_totals() {
    let _serial = SERIAL.blocking_lock();
    let server = server::start_on_own_runtime(ServerConfig::default(), 1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let matrix = dir.path().join("matrix.yaml");
    std::fs::write(&matrix, matrix_for(server.info())).unwrap();
    // Whole seconds, as `msgperf expand` gives it, far enough ahead for both
    // processes to start on a busy machine.
    let start = SystemTime::now() + Duration::from_secs(4);
    let start_at = humantime::format_rfc3339_seconds(start).to_string();
    let spawn = |part: &str, out: &Path| {
        Command::new(env!("CARGO_BIN_EXE_msgperf"))
            .env("CI", "true")
            .env_remove("GITHUB_ACTIONS")
            .env("SPLIT_TEST_PASSWORD", &server.info().organizer_password)
            .args(["run", "--part", part, "--start-at", &start_at, "--matrix"])
            .arg(&matrix)
            .arg("--out")
            .arg(out)
            .arg("--report-dir")
            .arg(out.join("report"))
            .output()
            .unwrap()
    };
    let (d1, d2) = (dir.path().join("p1"), dir.path().join("p2"));
    let begun = Instant::now();
    let (o1, o2) = std::thread::scope(|s| {
        let a = s.spawn(|| spawn("1/2", &d1));
        let b = s.spawn(|| spawn("2/2", &d2));
        (a.join().unwrap(), b.join().unwrap())
    });
    for o in [&o1, &o2] {
        assert!(
            o.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert!(begun.elapsed() < Duration::from_secs(30));
    let id = "sci5ms-cpi20ms-smi100ms-r1";
    let p1 = results::RunResult::read(&d1.join(format!("{id}.part1of2.json"))).unwrap();
    let p2 = results::RunResult::read(&d2.join(format!("{id}.part2of2.json"))).unwrap();
    for (p, n) in [(&p1, 1), (&p2, 2)] {
        let split = p.split.as_ref().unwrap();
        assert_eq!((split.part, split.parts), (n, 2));
        assert_eq!(
            p.started_at.as_str().get(..19),
            start_at.get(..19),
            "started at the common instant"
        );
        assert!(p.totals.messages_sent > 50, "part {n}: {:?}", p.totals);
        assert_eq!(p.outcome, Outcome::Completed);
    }
    // Participant ids interleave: part 1 has the even ones, part 2 the odd.
    assert!(p1.totals.participants.abs_diff(p2.totals.participants) <= 1);

    let merged = read_results(&[d1.clone(), d2.clone()]).unwrap();
    assert_eq!(merged.len(), 1);
    let m = &merged[0];
    assert_eq!(m.split.as_ref().unwrap().merged_parts, [1, 2]);
    let sent = p1.totals.messages_sent + p2.totals.messages_sent;
    assert_eq!(m.totals.messages_sent, sent);
    assert_eq!(
        m.totals.messages_delivered,
        p1.totals.messages_delivered + p2.totals.messages_delivered
    );
    assert_eq!(m.timeline.iter().map(|s| s.sent).sum::<u64>(), sent);
    assert_eq!(
        m.timeline.iter().map(|s| s.delivered).sum::<u64>(),
        m.totals.messages_delivered
    );
    // The server saw exactly the summed load (it also stores each chat's
    // problem description as a message).
    let stats = server.stats();
    assert_eq!(stats["messages_stored"] - stats["chats_started"], sent);
    // Participants created in the last instant may not have signed up.
    assert!(
        m.totals.participants - stats["participants"] <= 2,
        "{stats:?}"
    );
    assert!(
        m.totals.messages_delivered * 100 >= sent * 95,
        "an unloaded server delivers nearly everything: {:?}",
        m.totals
    );

    // `msgperf report` over both artifact directories (as a glob) makes one report.
    let out = dir.path().join("report");
    let rep = Command::new(env!("CARGO_BIN_EXE_msgperf"))
        .current_dir(dir.path())
        .env("SPLIT_TEST_PASSWORD", &server.info().organizer_password)
        .args(["report", "--results", "p*", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        rep.status.success(),
        "{}",
        String::from_utf8_lossy(&rep.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["runs"].as_array().unwrap().len(), 1);
    let notes = report["split_notes"][0].as_str().unwrap();
    assert!(notes.contains("merged from 2 of 2 runners"), "{notes}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("### Split load"), "{md}");
}

#[test]
fn parts_with_skewed_clocks_are_merged_and_the_skew_is_flagged() {
    let _serial = SERIAL.blocking_lock();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(skewed_parts());
}

async fn skewed_parts() {
    let server = server::start(ServerConfig::default()).await.unwrap();
    let target = run::target_of(server.info());
    let plan = matrix::parse(
        "inline.yaml",
        "matrix:\n  sci: [5ms]\n  cpi: [20ms]\n  smi: [50ms]\norganizers: 2\nsplit: 2\nstop:\n  max_duration: 3s\n  drain: 1s\n  on_error: never\n",
        &|_| None,
    )
    .unwrap();
    let scenario = &plan.scenarios[0];
    // Both runners start "at" the same wall-clock instant, but part 2's clock
    // runs 300 ms ahead, so by true time it starts 300 ms earlier.
    let wall = SystemTime::now() + Duration::from_secs(1);
    let t0 = Instant::now() + Duration::from_secs(1);
    let skew = Duration::from_millis(300);
    let control = |index: u32, start: Instant| {
        let (progress, _) = watch::channel(Progress::default());
        RunControl {
            interrupt: CancellationToken::new(),
            progress,
            embedded: false,
            part: Part(Slice { index, count: 2 }),
            start: Some(Clock {
                start,
                started_at: wall,
            }),
            identity: load::Identity {
                plan: load::PlanId(0x5b117),
                scenario: 0,
                shard: Slice::WHOLE,
                part: Slice { index, count: 2 },
                attempt: 1,
            },
        }
    };
    let (a, b) = tokio::join!(
        load::run_scenario(scenario, &target, control(1, t0)),
        load::run_scenario(scenario, &target, control(2, t0 - skew)),
    );
    let one_way = |r: &results::RunResult, from: usize| {
        r.split.as_ref().unwrap().min_one_way_ms[from].expect("messages crossed parts")
    };
    // Part 1 sees part 2's messages "before" they were sent; part 2 sees
    // part 1's 300 ms late.
    assert!(one_way(&a, 1) < -200.0, "{}", one_way(&a, 1));
    assert!(one_way(&b, 0) > 200.0, "{}", one_way(&b, 0));
    let sent = a.totals.messages_sent + b.totals.messages_sent;
    let m = merge_parts(vec![a, b]);
    assert_eq!(m.totals.messages_sent, sent);
    let split = m.split.unwrap();
    let estimate = split.max_skew_ms.unwrap();
    assert!((250.0..350.0).contains(&estimate), "{estimate}");
    assert!(
        split
            .notes
            .iter()
            .any(|n| n.contains("part 1's clock is about") && n.contains("behind part 2's")),
        "{:?}",
        split.notes
    );
    server.shutdown().await;
}
