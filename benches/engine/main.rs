//! Load-generator cost: CPU µs per message sent and memory per participant of
//! the msgperf engine, against a naive tokio-tungstenite client of the same
//! scenario measured in the same run (default buffers, `format!` and serde per
//! message, like most hand-written load clients).
//!
//! The staging server runs as a separate `msgperf serve` process on 127.0.0.1,
//! so this process's CPU and memory are the generator's alone.
//!
//! A third engine run where participants join the same way but send only
//! their first message (smi 1 h) gives each participant's set-up (two REST
//! calls, a handshake, finding the chat) plus the run's fixed cost; the
//! difference to the full run is the cost of messages alone, split into user
//! and kernel time (on loopback the kernel part includes the server's
//! receive path, which the sending core runs).
//!
//! `cargo bench --bench engine` (env `BENCH_RUNS`, default 5).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use msgperf::load::{self, Progress, RunControl};
use msgperf::matrix::{OnError, ReplyPolicy, Scenario, Secret, StopRules, Target};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The measured scenario: a steady ramp to `PARTICIPANTS` sending every `SMI`.
const CPI: Duration = Duration::from_millis(5);
const SMI: Duration = Duration::from_millis(50);
const DURATION: Duration = Duration::from_secs(6);
/// Longer than the run: each participant sends only the message of its first tick.
const IDLE_SMI: Duration = Duration::from_secs(3600);

struct Server {
    child: Child,
    target: Target,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server() -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_msgperf"))
        .args([
            "serve",
            "--organizer-port",
            "0",
            "--participant-port",
            "0",
            "--messenger-port",
            "0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::from(
            std::fs::File::create(std::env::temp_dir().join("msgperf-bench-serve.log")).unwrap(),
        ))
        .spawn()
        .expect("msgperf serve starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut get = |key: &str| -> String {
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(value) = line.strip_prefix(&format!("{key}: ")) {
                return value.trim().trim_matches('"').to_string();
            }
        }
        panic!("serve did not print {key}")
    };
    let target = Target {
        messenger_ws_url: get("messenger_ws_url"),
        organizer_api_url: get("organizer_api_url"),
        participant_api_url: get("participant_api_url"),
        event_id: get("event_id").parse().unwrap(),
        organizer_email: get("organizer_email"),
        organizer_password: Secret::new(get("organizer_password")),
    };
    // Keep reading its stdout so the server never writes into a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Server { child, target }
}

fn scenario(smi: Duration) -> Scenario {
    Scenario {
        id: "bench".into(),
        group: "bench".into(),
        sci: Duration::from_millis(2),
        cpi: CPI,
        smi,
        repetition: 1,
        organizers: 1,
        split: 1,
        stop: StopRules {
            max_duration: DURATION,
            max_participants: None,
            on_error: OnError::Never,
            handshake_timeout: Duration::from_secs(10),
            drain: Duration::from_millis(500),
        },
        reply: ReplyPolicy::None,
        arrival: Default::default(),
        hold_at: None,
    }
}

/// This process's (user, kernel) CPU time so far, µs.
fn process_cpu() -> (u64, u64) {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let u = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    (us(u.ru_utime), us(u.ru_stime))
}

fn process_cpu_us() -> u64 {
    let (user, sys) = process_cpu();
    user + sys
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// One measurement: CPU µs per message sent and peak RSS growth per participant.
struct Sample {
    us_per_message: f64,
    kib_per_participant: f64,
    messages: u64,
    delivered: u64,
    participants: u64,
    /// User-space share of the CPU time, µs in all.
    user_us: f64,
}

impl Sample {
    fn cpu_us(&self) -> f64 {
        self.us_per_message * self.messages as f64
    }
}

async fn engine(target: &Target, smi: Duration) -> Sample {
    let rss0 = rss_kib();
    let (user0, sys0) = process_cpu();
    let (progress, mut updates) = watch::channel(Progress::default());
    let peak = Arc::new(AtomicU64::new(rss0));
    let watcher = {
        let peak = peak.clone();
        tokio::spawn(async move {
            while updates.changed().await.is_ok() {
                peak.fetch_max(rss_kib(), Ordering::Relaxed);
            }
        })
    };
    let control = RunControl {
        interrupt: CancellationToken::new(),
        progress,
        embedded: false,
        part: load::Part::WHOLE,
        start: None,
        identity: load::Identity::standalone(),
    };
    let r = load::run_scenario(&scenario(smi), target, control).await;
    let _ = watcher.await;
    let (user, sys) = process_cpu();
    let cpu = (user - user0) + (sys - sys0);
    Sample {
        us_per_message: cpu as f64 / r.totals.messages_sent.max(1) as f64,
        kib_per_participant: (peak.load(Ordering::Relaxed) - rss0) as f64
            / r.totals.participants.max(1) as f64,
        messages: r.totals.messages_sent,
        delivered: r.totals.messages_delivered,
        participants: r.totals.participants,
        user_us: (user - user0) as f64,
    }
}

mod naive_client;

fn stats(mut v: Vec<f64>) -> String {
    v.sort_by(f64::total_cmp);
    format!(
        "min {:>7.2}  median {:>7.2}  max {:>7.2}",
        v[0],
        v[v.len() / 2],
        v[v.len() - 1]
    )
}

/// Runs one side in this process and prints its sample as one line.
fn child(side: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let target = Target {
        messenger_ws_url: env("BENCH_WS"),
        organizer_api_url: env("BENCH_ORG"),
        participant_api_url: env("BENCH_PART"),
        event_id: env("BENCH_EVENT").parse().unwrap(),
        organizer_email: env("BENCH_EMAIL"),
        organizer_password: Secret::new(env("BENCH_PASSWORD")),
    };
    let s = match side {
        "engine" => rt.block_on(engine(&target, SMI)),
        // Same participants, one message each: set-up and fixed costs only.
        "engine-idle" => rt.block_on(engine(&target, IDLE_SMI)),
        "floor" => Sample {
            us_per_message: rt.block_on(naive_client::floor(&target, 50, 100)),
            kib_per_participant: 0.0,
            messages: 5000,
            delivered: 0,
            participants: 50,
            user_us: 0.0,
        },
        _ => rt.block_on(naive_client::run(&target, CPI, SMI, DURATION)),
    };
    println!(
        "SAMPLE {} {} {} {} {} {}",
        s.us_per_message, s.kib_per_participant, s.messages, s.delivered, s.participants, s.user_us
    );
}

fn env(key: &str) -> String {
    std::env::var(key).unwrap_or_default()
}

/// Measures one side in a fresh process, so neither inherits the other's heap.
fn measure(server: &Server, side: &str) -> Sample {
    let t = &server.target;
    let out = Command::new(std::env::current_exe().unwrap())
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
    let v: Vec<f64> = line
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    Sample {
        us_per_message: v[0],
        kib_per_participant: v[1],
        messages: v[2] as u64,
        delivered: v[3] as u64,
        participants: v[4] as u64,
        user_us: v[5],
    }
}

fn main() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    if let Ok(side) = std::env::var("BENCH_CHILD") {
        return child(&side);
    }
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let server = start_server();
    println!(
        "scenario: cpi {:?}, smi {:?}, {:?} per run; generator: 1 tokio worker in its own process; server: `msgperf serve` process; {runs} runs each",
        CPI, SMI, DURATION
    );
    let (mut engine_cpu, mut naive_cpu, mut engine_mem, mut naive_mem, mut ratio) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut floor_cpu, mut over_floor) = (vec![], vec![]);
    let (mut marginal, mut setup) = (vec![], vec![]);
    let (mut marginal_user, mut marginal_sys) = (vec![], vec![]);
    let (mut engine_user, mut naive_user) = (vec![], vec![]);
    for i in 0..runs {
        // Alternate the order so drift of the machine does not favour one side.
        let (e, n) = if i % 2 == 0 {
            let e = measure(&server, "engine");
            (e, measure(&server, "naive"))
        } else {
            let n = measure(&server, "naive");
            (measure(&server, "engine"), n)
        };
        println!(
            "run {}: engine {:.2} µs/msg {:.1} KiB/participant ({} sent, {} delivered) | naive {:.2} µs/msg {:.1} KiB/participant ({} sent)",
            i + 1, e.us_per_message, e.kib_per_participant, e.messages, e.delivered,
            n.us_per_message, n.kib_per_participant, n.messages
        );
        let f = measure(&server, "floor");
        println!(
            "       floor: a bare tokio-tungstenite send {:.2} µs",
            f.us_per_message
        );
        // Messages alone: the full run minus one where participants join the
        // same way but send once.
        let i = measure(&server, "engine-idle");
        let extra = (e.messages as f64 - i.messages as f64).max(1.0);
        let a = (e.cpu_us() - i.cpu_us()) / extra;
        let a_user = (e.user_us - i.user_us) / extra;
        let b = i.cpu_us() / i.participants.max(1) as f64;
        println!(
            "       engine, one message per participant: {} participants, {:.0} µs each (set-up and fixed costs); per message without them {:.2} µs ({:.2} user, {:.2} kernel)",
            i.participants, b, a, a_user, a - a_user
        );
        marginal.push(a);
        marginal_user.push(a_user);
        marginal_sys.push(a - a_user);
        setup.push(b);
        floor_cpu.push(f.us_per_message);
        over_floor.push(e.us_per_message / f.us_per_message);
        ratio.push(e.us_per_message / n.us_per_message);
        engine_cpu.push(e.us_per_message);
        engine_user.push(e.user_us / e.messages.max(1) as f64);
        naive_user.push(n.user_us / n.messages.max(1) as f64);
        naive_cpu.push(n.us_per_message);
        engine_mem.push(e.kib_per_participant);
        naive_mem.push(n.kib_per_participant);
    }
    let marginal_over_floor = marginal
        .iter()
        .zip(&floor_cpu)
        .map(|(m, f)| m / f)
        .collect();
    println!();
    for (label, values) in [
        ("engine CPU µs per message sent", engine_cpu),
        ("naive  CPU µs per message sent", naive_cpu),
        ("engine user-space µs per message", engine_user),
        ("naive  user-space µs per message", naive_user),
        ("engine/naive CPU ratio", ratio),
        ("engine µs per message, set-up apart", marginal),
        ("  of which user space", marginal_user),
        ("  of which kernel", marginal_sys),
        ("engine set-up CPU µs per participant", setup),
        ("floor: bare send CPU µs", floor_cpu),
        ("engine per message / bare send", over_floor),
        ("  set-up apart / bare send", marginal_over_floor),
        ("engine RSS KiB per participant", engine_mem),
        ("naive  RSS KiB per participant", naive_mem),
    ] {
        println!("{label:<38}{}", stats(values));
    }
}
