//! Load-generator cost on the ESME scenario (sci 10 ms, cpi 20 ms, smi 100
//! ms, 30 s, `on_error: never`): whole-process CPU µs per message sent (user
//! and kernel), set-up CPU per participant, RSS per participant, late ticks
//! and lateness, beside the `msgperf serve` process's own CPU per message,
//! a bare tokio-tungstenite send (the floor, on 50 connections and on the
//! engine's 1,500) and a naive client of the same
//! scenario, all measured in the same round; plus a 10,000-participant hold
//! for memory and timer health. With `ESME_GO_CLIENT=/path/to/binary` the
//! original Go client runs the same scenario in each round too.
//!
//! `msgperf serve` runs in its own process pinned to one core; every
//! generator runs in a fresh process of its own pinned to the other, so each
//! figure is that process's alone and no side inherits another's heap.
//!
//! A second engine run per round, where participants join exactly the same
//! way but send only their first message (smi 1 h), gives each participant's
//! set-up (two REST calls, a handshake, finding the chat) plus the run's
//! fixed costs; the difference to the full run is what messages alone cost.
//! A third, with a single participant, gives the fixed costs alone (the
//! organizer's `start_chat` every sci, the recorder, timers), so set-up per
//! participant is the second run minus the third.
//!
//! Last, the creation schedule's timer alone (`timers.rs`): how late a tokio
//! interval and `load::Ticker` fire at 2 ms in an idle process; and what one
//! sleeping round trip costs on this host (`wake.rs`), beside the number of
//! times a participant's set-up sleeps.
//!
//! `cargo bench --bench engine` (env `BENCH_RUNS`, default 5; `BENCH_NAIVE=0`,
//! `BENCH_10K=0`, `BENCH_TIMERS=0` and `BENCH_WAKE=0` leave those sides out;
//! `ESME_GO_CLIENT`).
//!
//! `BENCH_BASELINE=/path/to/an/earlier/engine-bench-executable` runs that
//! build's engine side beside this one's in every round, against the same
//! server, and prints the ratio: on a shared VM the same build's CPU per
//! message drifts by a quarter within minutes, so only a baseline measured
//! in the same rounds tells whether a change helped.

mod go_client;
mod naive_client;
mod process;
#[path = "../../tests/it/common/serve.rs"]
#[allow(dead_code)]
mod serve;
mod sides;
mod timers;
mod wake;

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use msgperf::matrix::{Secret, Target};

pub use process::{process_cpu, process_cpu_us, rss_kib};

/// The ESME scenario's schedule.
pub const SCI: Duration = Duration::from_millis(10);
/// Create participant interval.
pub const CPI: Duration = Duration::from_millis(20);
/// Send message interval.
pub const SMI: Duration = Duration::from_millis(100);
/// Length of one run.
pub const DURATION: Duration = Duration::from_secs(30);
/// The core the server is pinned to; generators get core 0.
const SERVER_CORE: usize = 1;

/// One generator run's figures, as a child prints them (`key=value`).
#[derive(Default, Clone)]
pub struct Sample(pub BTreeMap<String, f64>);

impl Sample {
    /// The figure `key` (0 when absent).
    pub fn get(&self, key: &str) -> f64 {
        self.0.get(key).copied().unwrap_or(0.0)
    }
    /// Sets the figure `key`.
    pub fn set(&mut self, key: &str, value: f64) {
        self.0.insert(key.to_string(), value);
    }
    fn line(&self) -> String {
        let fields: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("SAMPLE {}", fields.join(" "))
    }
    fn parse(line: &str) -> Sample {
        let pairs = line.split_whitespace().filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.parse().ok()?))
        });
        Sample(pairs.collect())
    }
    /// User + kernel µs in all.
    pub fn cpu_us(&self) -> f64 {
        self.get("user_us") + self.get("sys_us")
    }
    /// CPU µs per message sent.
    pub fn per_message(&self, us: f64) -> f64 {
        us / self.get("messages").max(1.0)
    }
}

/// The `msgperf serve` process of the benchmark, pinned to [`SERVER_CORE`].
pub struct Server {
    serve: serve::Serve,
    target: Target,
}

impl Server {
    /// Its process's CPU time so far, µs.
    fn cpu_us(&self) -> u64 {
        process::pid_cpu_us(self.serve.pid())
    }
}

fn start_server() -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_msgperf"));
    // SAFETY: pinning only calls sched_setaffinity, which is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            process::pin_to(SERVER_CORE);
            Ok(())
        });
    }
    let serve = serve::Serve::start_command(command, &[]);
    let target = serve.target();
    Server { serve, target }
}

fn env(key: &str) -> String {
    std::env::var(key).unwrap_or_default()
}

/// The target a child process was given.
fn child_target() -> Target {
    Target {
        messenger_ws_url: env("BENCH_WS"),
        organizer_api_url: env("BENCH_ORG"),
        participant_api_url: env("BENCH_PART"),
        event_id: env("BENCH_EVENT").parse().unwrap(),
        organizer_email: env("BENCH_EMAIL"),
        organizer_password: Secret::new(env("BENCH_PASSWORD")),
    }
}

/// Measures one side in a fresh process pinned to core 0, and the server's
/// CPU over the same time (`server_us`).
fn measure(server: &Server, side: &str) -> Sample {
    measure_with(&std::env::current_exe().unwrap(), server, side)
}

/// [`measure`] with the bench executable `exe` (this one, or a baseline's).
fn measure_with(exe: &std::path::Path, server: &Server, side: &str) -> Sample {
    let t = &server.target;
    let server0 = server.cpu_us();
    let out = Command::new(exe)
        .env("BENCH_CHILD", side)
        .env("BENCH_WS", &t.messenger_ws_url)
        .env("BENCH_ORG", &t.organizer_api_url)
        .env("BENCH_PART", &t.participant_api_url)
        .env("BENCH_EVENT", t.event_id.to_string())
        .env("BENCH_EMAIL", &t.organizer_email)
        .env("BENCH_PASSWORD", t.organizer_password.expose())
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("SAMPLE "))
        .unwrap_or_else(|| panic!("{side} printed no sample: {text}"));
    let mut sample = Sample::parse(line);
    sample.set("server_us", (server.cpu_us() - server0) as f64);
    sample
}

/// The engine side of this build and, when given, of the `baseline` build,
/// in an order that alternates by round (AB, BA, …) so that a machine
/// growing slower or faster over the bench favours neither.
fn engine_and_baseline(
    server: &Server,
    baseline: Option<&std::path::Path>,
    round: usize,
) -> (Sample, Option<Sample>) {
    let Some(baseline) = baseline else {
        return (measure(server, "engine"), None);
    };
    if round % 2 == 1 {
        let e = measure(server, "engine");
        (e, Some(measure_with(baseline, server, "engine")))
    } else {
        let base = measure_with(baseline, server, "engine");
        (measure(server, "engine"), Some(base))
    }
}

fn stats(mut v: Vec<f64>) -> String {
    if v.is_empty() {
        return "(not measured)".into();
    }
    v.sort_by(f64::total_cmp);
    format!(
        "min {:>9.2}  median {:>9.2}  max {:>9.2}",
        v[0],
        v[v.len() / 2],
        v[v.len() - 1]
    )
}

fn on(key: &str) -> bool {
    std::env::var(key).map_or(true, |v| v != "0")
}

fn main() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    if let Ok(side) = std::env::var("BENCH_CHILD") {
        process::pin_to(env("BENCH_CORE").parse().unwrap_or(0));
        if side == "wake-echo" {
            return wake::echo();
        }
        let sample = sides::run(&side, &child_target());
        println!("{}", sample.line());
        return;
    }
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let server = start_server();
    println!(
        "ESME scenario: sci {SCI:?}, cpi {CPI:?}, smi {SMI:?}, {DURATION:?}, on_error never; \
         `msgperf serve` pinned to core {SERVER_CORE}, each generator a fresh process pinned to core 0; {runs} rounds"
    );
    let go = go_client::from_env();
    if go.is_none() {
        println!("original Go client: not given (set ESME_GO_CLIENT=/path/to/binary to compare)");
    }
    let baseline = std::env::var_os("BENCH_BASELINE").map(std::path::PathBuf::from);
    if let Some(b) = &baseline {
        println!(
            "baseline: {} (its engine side runs beside this one's, order alternating)",
            b.display()
        );
    }
    let mut table = sides::Table::default();
    for round in 1..=runs {
        let (e, base) = engine_and_baseline(&server, baseline.as_deref(), round);
        let idle = measure(&server, "engine-idle");
        let empty = measure(&server, "engine-empty");
        let floor = measure(&server, "floor");
        let floor_1500 = measure(&server, "floor-1500");
        let naive = on("BENCH_NAIVE").then(|| measure(&server, "naive"));
        let go = go.as_ref().map(|g| g.measure(&server));
        let big = on("BENCH_10K").then(|| measure(&server, "engine-10k"));
        let timers = on("BENCH_TIMERS").then(|| measure(&server, "timers"));
        let wake = on("BENCH_WAKE").then(|| measure(&server, "wake"));
        table.add(
            round,
            &e,
            &idle,
            &empty,
            &floor,
            &floor_1500,
            naive.as_ref(),
            go.as_ref(),
            big.as_ref(),
        );
        if let Some(base) = &base {
            table.add_baseline(&e, base);
        }
        if let Some(t) = &timers {
            table.add_timers(t);
        }
        if let Some(w) = &wake {
            table.add_wake(w, &idle, &empty);
        }
    }
    println!();
    for (label, values) in table.rows() {
        println!("{label:<52}{}", stats(values));
    }
}
