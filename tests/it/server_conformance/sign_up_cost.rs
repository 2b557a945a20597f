//! The `sign_up_cost` knob: sign-ups queue for a pool of workers, and those
//! that would outlive the Participant API's 3 s database timeout answer
//! `500 database error` and store nothing (PROTOCOL.md §4). Also how the knob
//! is set: matrix.yaml's `embedded:` block and `msgperf serve --sign-up-cost`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use msgperf::cli::{Cli, Command as Sub};
use msgperf::server::{Capacity, ServerConfig, SIGN_UP_TIMEOUT};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::server_conformance::support::{server_with, sign_up, Api};

const COST: Duration = Duration::from_millis(250);
/// Two workers finish 2 sign-ups per 250 ms: 22 surely within 3 s (11
/// rounds), at most 24 (12 rounds end on the deadline), the rest late.
const WORKERS: usize = 2;
const AT_ONCE: usize = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ups_beyond_the_pool_fail_with_database_error_and_store_nothing() {
    let s = server_with(ServerConfig {
        capacity: Capacity {
            sign_up_cost: Some(COST),
            ..Capacity::default()
        },
        sign_up_workers: WORKERS,
        ..ServerConfig::default()
    })
    .await;
    let api = Api::new(&s);
    let emails: Vec<String> = (0..AT_ONCE)
        .map(|i| format!("burst{i}@example.com"))
        .collect();
    let t = Instant::now();
    let answers = futures_util::future::join_all(emails.iter().map(|e| async {
        let resp = api.sign_up_raw(&sign_up(e)).await;
        let status = resp.status();
        (status, resp.json::<Value>().await.unwrap())
    }))
    .await;
    let elapsed = t.elapsed();
    let database_error =
        json!({"statusCode": 500, "message": "database error", "error": "Internal Server Error"});
    let mut ok = 0;
    let mut failed = Vec::new();
    for ((status, body), email) in answers.iter().zip(&emails) {
        match *status {
            StatusCode::CREATED => ok += 1,
            StatusCode::INTERNAL_SERVER_ERROR => {
                assert_eq!(*body, database_error);
                failed.push(email);
            }
            other => panic!("{email}: {other} {body}"),
        }
    }
    let per_deadline = WORKERS * (SIGN_UP_TIMEOUT.as_millis() / COST.as_millis()) as usize;
    assert!((1..=per_deadline).contains(&ok), "{ok} succeeded");
    assert!(
        failed.len() >= AT_ONCE - per_deadline,
        "{} failed",
        failed.len()
    );
    // The queue really was worked off two at a time.
    assert!(elapsed >= COST * (AT_ONCE / WORKERS) as u32, "{elapsed:?}");
    let stats = s.stats();
    assert_eq!(stats["participants"], ok as u64);
    assert_eq!(stats["sign_ups_timed_out"], failed.len() as u64);
    // Nothing was stored for a failed one: its e-mail is free, and an idle
    // pool signs it up within the timeout.
    let resp = api.sign_up_raw(&sign_up(failed[0])).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn without_the_knob_sign_ups_are_immediate() {
    let s = server_with(ServerConfig::default()).await;
    let api = Api::new(&s);
    let t = Instant::now();
    for _ in 0..5 {
        api.participant().await;
    }
    assert!(t.elapsed() < COST, "{:?}", t.elapsed());
}

#[test]
fn the_knob_parses_from_the_embedded_block_and_the_serve_flag() {
    let c: Capacity = serde_saphyr::from_str("sign_up_cost: 250ms\nmax_connections: 10\n").unwrap();
    assert_eq!(c.sign_up_cost, Some(COST));
    assert_eq!(c.max_connections, Some(10));
    assert_eq!(
        serde_saphyr::from_str::<Capacity>("{}")
            .unwrap()
            .sign_up_cost,
        None
    );
    assert!(serde_saphyr::from_str::<Capacity>("sign_up_costs: 250ms\n").is_err());
    assert!(serde_saphyr::from_str::<Capacity>("sign_up_cost: soon\n").is_err());

    let cli = Cli::try_parse_from(["msgperf", "serve", "--sign-up-cost", "250ms"]).unwrap();
    let Sub::Serve(args) = cli.command else {
        panic!("not serve");
    };
    assert_eq!(args.sign_up_cost, Some(COST));
    assert!(Cli::try_parse_from(["msgperf", "serve", "--sign-up-cost", "x"]).is_err());
}

/// `msgperf serve --sign-up-cost 400ms`: the real binary's sign-ups take it.
#[tokio::test]
async fn serve_passes_the_flag_to_the_server() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_msgperf"))
        .args(["serve", "--organizer-port", "0", "--participant-port", "0"])
        .args(["--messenger-port", "0", "--sign-up-cost", "400ms"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("participant_api_url: ").map(str::to_string))
        .expect("the banner names the Participant API");
    // Keep reading: `serve` fails on a stdout closed before its banner ends.
    let drain = std::thread::spawn(move || lines.for_each(drop));
    let t = Instant::now();
    let resp = reqwest::Client::new()
        .post(format!("{url}/auth/sign-up"))
        .json(&sign_up("serve@example.com"))
        .send()
        .await;
    let elapsed = t.elapsed();
    child.kill().unwrap();
    child.wait().unwrap();
    drain.join().unwrap();
    assert_eq!(resp.unwrap().status(), StatusCode::CREATED);
    assert!(elapsed >= Duration::from_millis(400), "{elapsed:?}");
}
