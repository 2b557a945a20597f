//! The creation schedule's timer on its own: `msgperf::load::Ticker` on a
//! tokio interval (`Ticker::on_tokio`, its fallback) against its own thread
//! (`Ticker::start`, a thread that sleeps to each instant), both at
//! the 2 ms cpi of the 10,000-participant hold, in a process that does
//! nothing else, pinned to core 0 like every generator.
//!
//! It shows how late each timer fires when nothing delays it: what is left
//! is the timer's own resolution. A tick at least one period late is a late
//! tick in a run's result (and the next one is skipped).

use std::time::{Duration, Instant};

use msgperf::load::Ticker;

use super::Sample;

/// The 10,000-participant hold's cpi.
const PERIOD: Duration = Duration::from_millis(2);
/// Ticks per timer: 5 s each.
const TICKS: usize = 2_500;

/// How a ticker is started: on tokio's timer or on its own thread.
type StartTicker = fn(Instant, Duration) -> Ticker;

/// Lateness of both timers, p50 / p99 / max µs and the share of late ticks.
pub async fn measure() -> Sample {
    let mut s = Sample::default();
    let timers: [(&str, StartTicker); 2] = [("tokio", Ticker::on_tokio), ("ticker", Ticker::start)];
    for (name, start) in timers {
        let mut ticker = start(Instant::now(), PERIOD);
        let mut late = Vec::with_capacity(TICKS);
        for _ in 0..TICKS {
            let due = ticker.tick().await;
            late.push(since(due));
        }
        record(&mut s, name, late);
    }
    s
}

fn since(due: Instant) -> u64 {
    Instant::now().saturating_duration_since(due).as_micros() as u64
}

fn record(s: &mut Sample, timer: &str, mut late: Vec<u64>) {
    late.sort_unstable();
    let at = |q: f64| late[((late.len() - 1) as f64 * q).round() as usize] as f64;
    s.set(&format!("{timer}_p50_us"), at(0.5));
    s.set(&format!("{timer}_p99_us"), at(0.99));
    s.set(&format!("{timer}_max_us"), at(1.0));
    let period = PERIOD.as_micros() as u64;
    let missed = late.iter().filter(|&&l| l >= period).count();
    s.set(
        &format!("{timer}_late_percent"),
        100.0 * missed as f64 / late.len() as f64,
    );
}
