//! Soak: the generator's memory and descriptors stay flat over a long run.
//!
//! `msgperf serve` runs in its own process on 127.0.0.1; this process is the
//! generator (msgperf's engine, the library, on one tokio worker): 2,000
//! participants (cpi 20 ms, so the ramp takes 40 s) that then stay, each
//! sending a message every second, `on_error: never`, for `SOAK_MINUTES`
//! (default 30). Every 10 s it samples its own RSS (`/proc/self/status`) and
//! open descriptors (`/proc/self/fd`) and prints a row; at the end a table
//! and a verdict: after the ramp RSS grows by less than 5% and descriptors
//! stay within the participants plus a constant.
//!
//! `cargo bench --bench soak` (env `SOAK_MINUTES`, `SOAK_PARTICIPANTS`).
//! Exits 1 when the verdict fails.

#[path = "../../tests/it/common/serve.rs"]
#[allow(dead_code)]
mod serve;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use msgperf::load::{self, Identity, Part, Progress, RunControl};
use msgperf::matrix::{OnError, ReplyPolicy, Scenario, StopRules};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How often the generator is sampled.
const EVERY: Duration = Duration::from_secs(10);
/// Descriptors the process holds besides one WebSocket per participant:
/// stdio, the runtime's epoll and wakers, the organizers' WebSockets, the
/// REST pool's idle connections, the server's pipes.
const FD_ALLOWANCE: u64 = 64;
/// The largest RSS growth after the ramp the verdict accepts.
const RSS_GROWTH_LIMIT: f64 = 0.05;

/// One sample of the generator.
#[derive(Debug, Clone, Copy)]
struct Sample {
    t_s: u64,
    participants: u64,
    open_ws: u64,
    sent: u64,
    errors: u64,
    rss_kib: u64,
    fds: u64,
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v}: not a number"))
        })
        .unwrap_or(default)
}

/// This process's resident set, KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// This process's open descriptors.
fn fds() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count() as u64
}

fn scenario(participants: u64, minutes: u64) -> Scenario {
    Scenario {
        id: "soak".into(),
        group: "soak".into(),
        sci: Duration::from_millis(10),
        cpi: Duration::from_millis(20),
        smi: Duration::from_secs(1),
        repetition: 1,
        organizers: 1,
        split: 1,
        stop: StopRules {
            max_duration: Duration::from_secs(minutes * 60),
            max_participants: None,
            on_error: OnError::Never,
            handshake_timeout: Duration::from_secs(10),
            drain: Duration::from_secs(5),
        },
        reply: ReplyPolicy::None,
        arrival: Default::default(),
        hold_at: Some(participants),
    }
}

/// Samples the generator every [`EVERY`] until `done`, printing each row.
fn sample_until(
    done: Arc<AtomicBool>,
    progress: watch::Receiver<Progress>,
    start: Instant,
) -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut next = start;
    while !done.load(Ordering::Acquire) {
        if Instant::now() >= next {
            let p = progress.borrow().clone();
            let s = Sample {
                t_s: start.elapsed().as_secs(),
                participants: p.participants,
                open_ws: p.open_connections,
                sent: p.sent,
                errors: p.errors,
                rss_kib: rss_kib(),
                fds: fds(),
            };
            println!("{}", row(&s));
            samples.push(s);
            next += EVERY;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    samples
}

fn header() -> String {
    format!(
        "{:>6} {:>12} {:>8} {:>10} {:>7} {:>9} {:>6}",
        "t (s)", "participants", "open WS", "sent", "errors", "RSS MiB", "fds"
    )
}

fn row(s: &Sample) -> String {
    format!(
        "{:>6} {:>12} {:>8} {:>10} {:>7} {:>9.1} {:>6}",
        s.t_s,
        s.participants,
        s.open_ws,
        s.sent,
        s.errors,
        s.rss_kib as f64 / 1024.0,
        s.fds
    )
}

/// The verdict over the samples after the ramp (the first sample with every
/// participant created, plus one sample for the last ones to connect; a
/// participant that failed is gone for good with `on_error: never`).
fn verdict(samples: &[Sample], participants: u64) -> bool {
    let ramp_end = samples.iter().position(|s| s.participants >= participants);
    let Some(first) = ramp_end.map(|i| i + 1).filter(|&i| i < samples.len()) else {
        println!("verdict: FAIL: the ramp to {participants} participants never ended");
        return false;
    };
    let after = &samples[first..];
    let base = after[0].rss_kib as f64;
    let max_rss = after.iter().map(|s| s.rss_kib).max().unwrap_or(0) as f64;
    let last_rss = after.last().map_or(0, |s| s.rss_kib) as f64;
    let growth = (max_rss - base) / base;
    let max_fds = after.iter().map(|s| s.fds).max().unwrap_or(0);
    let fd_bound = participants + FD_ALLOWANCE;
    println!(
        "after the ramp (from t = {} s, {} samples): RSS {:.1} MiB at start, {:.1} MiB max (+{:.2}%), {:.1} MiB at end (+{:.2}%); descriptors max {} (participants + {}), bound participants + {FD_ALLOWANCE} = {fd_bound}",
        after[0].t_s,
        after.len(),
        base / 1024.0,
        max_rss / 1024.0,
        growth * 100.0,
        last_rss / 1024.0,
        (last_rss - base) / base * 100.0,
        max_fds,
        max_fds.saturating_sub(participants),
    );
    let rss_ok = growth < RSS_GROWTH_LIMIT;
    let fds_ok = max_fds <= fd_bound;
    println!(
        "verdict: {} (RSS growth {:.2}% {} 5%; descriptors {} {} {fd_bound})",
        if rss_ok && fds_ok { "PASS" } else { "FAIL" },
        growth * 100.0,
        if rss_ok { "<" } else { ">=" },
        max_fds,
        if fds_ok { "<=" } else { ">" },
    );
    rss_ok && fds_ok
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let minutes = env_u64("SOAK_MINUTES", 30);
    let participants = env_u64("SOAK_PARTICIPANTS", 2000);
    let server = serve::Serve::start(env!("CARGO_BIN_EXE_msgperf"));
    let scenario = scenario(participants, minutes);
    println!(
        "soak: {participants} participants (cpi {:?}, then held), smi {:?}, on_error: never, {minutes} min; generator: this process, 1 tokio worker; server: `msgperf serve` process; a sample every {EVERY:?}",
        scenario.cpi, scenario.smi
    );
    let (progress, updates) = watch::channel(Progress::default());
    let control = RunControl {
        interrupt: CancellationToken::new(),
        progress,
        embedded: false,
        part: Part::WHOLE,
        start: None,
        identity: Identity::standalone(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let done = Arc::new(AtomicBool::new(false));
    println!("{}", header());
    let sampler = {
        let done = done.clone();
        let start = Instant::now();
        std::thread::spawn(move || sample_until(done, updates, start))
    };
    let result = runtime.block_on(load::run_scenario(&scenario, &server.target(), control));
    done.store(true, Ordering::Release);
    let samples = sampler.join().expect("the sampler does not panic");
    println!("\n{}", header());
    for s in &samples {
        println!("{}", row(s));
    }
    let json = serde_json::to_vec(&result).expect("results serialize");
    let t = &result.totals;
    println!(
        "result: {} timeline rows ({} bytes of JSON), sent {}, delivered {}, lost {}, errors {} {:?}, p99 message latency {:.1} ms, late ticks {}",
        result.timeline.len(),
        json.len(),
        t.messages_sent,
        t.messages_delivered,
        t.messages_lost,
        t.errors,
        result.errors_by_kind,
        result.latency_ms.message.p99,
        result.generator.late_ticks,
    );
    drop(server);
    if !verdict(&samples, participants) {
        std::process::exit(1);
    }
}
