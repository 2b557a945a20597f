//! The generators a child process runs, and the table of a whole benchmark.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use msgperf::load::{self, Progress, RunControl};
use msgperf::matrix::{OnError, ReplyPolicy, Scenario, StopRules, Target};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{naive_client, process, Sample, CPI, DURATION, SCI, SMI};

/// Longer than the run: each participant sends only the message of its first tick.
const IDLE_SMI: Duration = Duration::from_secs(3600);
/// The memory run: participants held at this count (issue 13's scale).
const BIG_PARTICIPANTS: u64 = 10_000;

fn scenario(sci: Duration, cpi: Duration, smi: Duration, organizers: u32) -> Scenario {
    Scenario {
        id: "bench".into(),
        group: "bench".into(),
        sci,
        cpi,
        smi,
        repetition: 1,
        organizers,
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

/// Runs `side` on one tokio worker in this process and measures it.
pub fn run(side: &str, target: &Target) -> Sample {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    match side {
        "engine" => rt.block_on(engine(target, scenario(SCI, CPI, SMI, 1))),
        // Same participants, one message each: set-up and fixed costs only.
        "engine-idle" => rt.block_on(engine(target, scenario(SCI, CPI, IDLE_SMI, 1))),
        // One participant: the run's fixed costs (organizer, recorder, timers).
        "engine-empty" => rt.block_on(engine(target, scenario(SCI, IDLE_SMI, IDLE_SMI, 1))),
        "engine-10k" => {
            // cpi 2 ms reaches 10,000 in 20 s; the hold keeps them chatting.
            let ms = Duration::from_millis;
            let mut s = scenario(ms(2), ms(2), ms(1000), 4);
            s.hold_at = Some(BIG_PARTICIPANTS);
            rt.block_on(engine(target, s))
        }
        "floor" | "floor-1500" => {
            let (connections, each) = if side == "floor" {
                (50, 100)
            } else {
                (1500, 10)
            };
            let mut s = Sample::default();
            s.set(
                "us_per_message",
                rt.block_on(naive_client::floor(target, connections, each)),
            );
            s
        }
        "naive" => rt.block_on(naive_client::run(target, CPI, SMI, DURATION)),
        "timers" => rt.block_on(super::timers::measure()),
        "wake" => super::wake::measure(),
        other => panic!("unknown side {other}"),
    }
}

/// One engine run of `scenario`: CPU, peak RSS growth, the result's counts
/// and the generator's own lateness figures.
async fn engine(target: &Target, scenario: Scenario) -> Sample {
    let rss0 = process::rss_kib();
    let (user0, sys0) = process::process_cpu();
    let switches0 = process::context_switches();
    let (progress, mut updates) = watch::channel(Progress::default());
    let peak = Arc::new(AtomicU64::new(rss0));
    let watcher = {
        let peak = peak.clone();
        tokio::spawn(async move {
            while updates.changed().await.is_ok() {
                peak.fetch_max(process::rss_kib(), Ordering::Relaxed);
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
    let r = load::run_scenario(&scenario, target, control).await;
    let _ = watcher.await;
    let (user, sys) = process::process_cpu();
    let mut s = Sample::default();
    let participants = r.totals.participants.max(1) as f64;
    s.set("user_us", (user - user0) as f64);
    s.set("sys_us", (sys - sys0) as f64);
    s.set("messages", r.totals.messages_sent as f64);
    s.set("delivered", r.totals.messages_delivered as f64);
    s.set("participants", r.totals.participants as f64);
    s.set("errors", r.totals.errors as f64);
    s.set(
        "kib_per_participant",
        (peak.load(Ordering::Relaxed) - rss0) as f64 / participants,
    );
    s.set("late_ticks", r.generator.late_ticks as f64);
    s.set("p99_send_ms", r.generator.p99_send_lateness_ms);
    s.set("max_send_ms", r.generator.max_send_lateness_ms);
    s.set("p99_creation_ms", r.generator.p99_creation_lateness_ms);
    s.set("max_creation_ms", r.generator.max_creation_lateness_ms);
    s.set("cpu_percent", r.generator.cpu_percent);
    s.set("message_p50_ms", r.latency_ms.message.p50);
    s.set("message_p99_ms", r.latency_ms.message.p99);
    let (voluntary, involuntary) = process::context_switches();
    s.set("voluntary_switches", (voluntary - switches0.0) as f64);
    s.set("involuntary_switches", (involuntary - switches0.1) as f64);
    s
}

/// A figure per participant of set-up: what the one-message run (`idle`)
/// has of it beyond the one-participant run (`empty`), divided by the
/// participants it added.
fn per_joined(idle: &Sample, empty: &Sample, figure: impl Fn(&Sample) -> f64) -> f64 {
    let joined = (idle.get("participants") - empty.get("participants")).max(1.0);
    (figure(idle) - figure(empty)) / joined
}

/// Every figure of every round, by row.
#[derive(Default)]
pub struct Table {
    rows: Vec<(String, Vec<f64>)>,
}

impl Table {
    fn push(&mut self, label: &str, value: f64) {
        match self.rows.iter_mut().find(|(l, _)| l == label) {
            Some((_, values)) => values.push(value),
            None => self.rows.push((label.to_string(), vec![value])),
        }
    }

    /// The rows, in the order they were first filled.
    pub fn rows(self) -> Vec<(String, Vec<f64>)> {
        self.rows
    }

    /// Adds this build's engine side `e` beside the baseline build's `base`
    /// of the same round (`BENCH_BASELINE`) and prints their line. The ratio
    /// "over the server's" divides each by the server CPU of its own run:
    /// the server does the same work for both, so the machine's drift
    /// between the two runs cancels out.
    pub fn add_baseline(&mut self, e: &Sample, base: &Sample) {
        let (this, that) = (e.per_message(e.cpu_us()), base.per_message(base.cpu_us()));
        let per_server = |s: &Sample| s.cpu_us() / s.get("server_us").max(1.0);
        println!(
            "         baseline {that:.2} µs/msg ({:.0} sent), this build {this:.2}",
            base.get("messages")
        );
        self.push("baseline engine CPU µs / message (BENCH_BASELINE)", that);
        self.push("this build / baseline", this / that.max(1e-9));
        self.push(
            "this build / baseline, each over its server's CPU",
            per_server(e) / per_server(base).max(1e-9),
        );
    }

    /// Adds the timers side of one round (`timers.rs`) and prints its line.
    pub fn add_timers(&mut self, t: &Sample) {
        println!(
            "         2 ms timer, idle: tokio p50 {:.0} µs, p99 {:.0} µs, {:.1}% late; ticker p50 {:.0} µs, p99 {:.0} µs, {:.1}% late",
            t.get("tokio_p50_us"), t.get("tokio_p99_us"), t.get("tokio_late_percent"),
            t.get("ticker_p50_us"), t.get("ticker_p99_us"), t.get("ticker_late_percent"),
        );
        for (timer, who) in [("tokio", "tokio interval"), ("ticker", "load::Ticker")] {
            for (figure, key) in [("p50", "p50_us"), ("p99", "p99_us"), ("max", "max_us")] {
                let label = format!("2 ms idle timer, {who}: {figure} lateness µs");
                self.push(&label, t.get(&format!("{timer}_{key}")));
            }
            let label = format!("2 ms idle timer, {who}: % of ticks late");
            self.push(&label, t.get(&format!("{timer}_late_percent")));
        }
    }

    /// Adds the wake side of one round (`wake.rs`) and prints its line,
    /// with the sleeps of a participant's set-up (`idle` minus `empty`, per
    /// participant) and what they would cost at that price.
    pub fn add_wake(&mut self, w: &Sample, idle: &Sample, empty: &Sample) {
        let sleeps = per_joined(idle, empty, |s| s.get("voluntary_switches"));
        let setup = per_joined(idle, empty, Sample::cpu_us);
        let cross = w.get("cross_us");
        println!(
            "         round trip, 1 byte: {cross:.1} µs of CPU across cores ({:.1} µs wall), {:.1} µs on one core; set-up sleeps {sleeps:.1} times per participant",
            w.get("cross_wall_us"), w.get("same_us"),
        );
        self.push("round trip across cores: CPU µs, this side", cross);
        self.push("  … the echo side's CPU µs", w.get("cross_echo_us"));
        self.push("  … wall µs", w.get("cross_wall_us"));
        self.push(
            "round trip on one core: CPU µs, this side",
            w.get("same_us"),
        );
        self.push("set-up: the generator's sleeps / participant", sleeps);
        self.push(
            "set-up CPU / (sleeps × round trip across cores)",
            setup / (sleeps * cross).max(1e-9),
        );
    }

    /// Adds one round and prints its line.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        round: usize,
        e: &Sample,
        idle: &Sample,
        empty: &Sample,
        floor: &Sample,
        floor_1500: &Sample,
        naive: Option<&Sample>,
        go: Option<&Sample>,
        big: Option<&Sample>,
    ) {
        let per_msg = e.per_message(e.cpu_us());
        let floor_us = floor.get("us_per_message");
        let setup = per_joined(idle, empty, Sample::cpu_us);
        let setup_user = per_joined(idle, empty, |s| s.get("user_us"));
        let extra = (e.get("messages") - idle.get("messages")).max(1.0);
        let marginal = (e.cpu_us() - idle.cpu_us()) / extra;
        let marginal_user = (e.get("user_us") - idle.get("user_us")) / extra;
        println!(
            "round {round}: engine {per_msg:.2} µs/msg ({:.0} participants, {:.0} sent, {:.0} delivered, {:.0} errors), \
             set-up {setup:.0} µs/participant, floor {floor_us:.2} µs, server {:.2} µs/msg",
            e.get("participants"), e.get("messages"), e.get("delivered"), e.get("errors"),
            e.per_message(e.get("server_us")),
        );
        self.push("engine CPU µs / message sent (whole process)", per_msg);
        self.push("  … of which user", e.per_message(e.get("user_us")));
        self.push("  … of which kernel", e.per_message(e.get("sys_us")));
        self.push("engine set-up CPU µs / participant", setup);
        self.push("  … set-up, user", setup_user);
        self.push("  … set-up, kernel", setup - setup_user);
        self.push(
            "engine fixed CPU of a 30 s run, ms",
            empty.cpu_us() / 1000.0,
        );
        self.push("engine µs / message, set-up apart", marginal);
        self.push("  … per message, user", marginal_user);
        self.push("  … per message, kernel", marginal - marginal_user);
        self.push(
            "  … the generator's sleeps / message",
            (e.get("voluntary_switches") - idle.get("voluntary_switches")) / extra,
        );
        self.push("engine RSS KiB / participant", e.get("kib_per_participant"));
        self.push("engine late ticks", e.get("late_ticks"));
        self.push("engine p99 send lateness ms", e.get("p99_send_ms"));
        self.push("engine p99 creation lateness ms", e.get("p99_creation_ms"));
        self.push(
            "server CPU µs / message (msgperf serve)",
            e.per_message(e.get("server_us")),
        );
        self.push(
            "server / engine CPU per message",
            e.get("server_us") / e.cpu_us().max(1.0),
        );
        self.push("floor: bare send CPU µs", floor_us);
        self.push("engine / floor", per_msg / floor_us.max(1e-9));
        let floor_1500 = floor_1500.get("us_per_message");
        self.push("floor at 1,500 connections (10 sends each)", floor_1500);
        self.push("engine / floor at 1,500", per_msg / floor_1500.max(1e-9));
        self.push(
            "engine per message, set-up apart / floor at 1,500",
            marginal / floor_1500.max(1e-9),
        );
        if let Some(n) = naive {
            let naive_per_msg = n.per_message(n.cpu_us());
            println!(
                "         naive client {naive_per_msg:.2} µs/msg ({:.0} sent)",
                n.get("messages")
            );
            self.push("naive client CPU µs / message", naive_per_msg);
            self.push(
                "naive client RSS KiB / participant",
                n.get("kib_per_participant"),
            );
            self.push("engine / naive client", per_msg / naive_per_msg.max(1e-9));
        }
        if let Some(g) = go {
            let go_per_msg = g.per_message(g.cpu_us());
            println!(
                "         Go client {go_per_msg:.2} µs/msg ({:.0} sent)",
                g.get("messages")
            );
            self.push("Go client CPU µs / message", go_per_msg);
            self.push(
                "Go client RSS KiB / participant",
                g.get("kib_per_participant"),
            );
            self.push("Go client / engine", go_per_msg / per_msg.max(1e-9));
        }
        if let Some(b) = big {
            println!(
                "         10k hold: {:.0} participants, {:.2} KiB each, {:.0} late ticks, p99 creation lateness {:.2} ms, {:.0}% of a core",
                b.get("participants"), b.get("kib_per_participant"), b.get("late_ticks"),
                b.get("p99_creation_ms"), b.get("cpu_percent")
            );
            self.push("10k hold: participants", b.get("participants"));
            self.push(
                "10k hold: RSS KiB / participant",
                b.get("kib_per_participant"),
            );
            self.push("10k hold: late ticks", b.get("late_ticks"));
            self.push(
                "10k hold: p99 creation lateness ms",
                b.get("p99_creation_ms"),
            );
            self.push(
                "10k hold: max creation lateness ms",
                b.get("max_creation_ms"),
            );
            self.push("10k hold: p99 send lateness ms", b.get("p99_send_ms"));
            self.push("10k hold: generator % of a core", b.get("cpu_percent"));
        }
    }
}
