//! What one sleeping round trip costs on this host, with no load generator
//! in it: a 1-byte ping-pong over loopback TCP between this process (pinned
//! to core 0, like every generator) and an echo process, pinned first to
//! the other core (as `msgperf serve` is) and then to the same one.
//!
//! Each side blocks in `read` until the other's byte arrives, so every round
//! trip puts this process to sleep once and wakes it once: the price the
//! generator pays for each request it has to wait for (a participant's
//! set-up is a chain of them). The CPU is this process's own (`getrusage`),
//! divided by the round trips; the echo's is read from `/proc`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use super::{process, Sample};

/// Round trips measured per placement (after [`WARM_UP`]).
const ROUND_TRIPS: u32 = 20_000;
/// Round trips first left out: connection and caches settle.
const WARM_UP: u32 = 500;

/// The round trip on both placements: `cross_*` with the echo on core 1,
/// `same_*` with it on core 0.
pub fn measure() -> Sample {
    let mut s = Sample::default();
    for (name, core) in [("cross", 1), ("same", 0)] {
        if name == "cross" && process::cores() < 2 {
            continue;
        }
        round_trips(&mut s, name, core);
    }
    s
}

/// One placement: `{name}_us` (this process's CPU per round trip),
/// `{name}_echo_us`, `{name}_wall_us` and `{name}_switches` (voluntary
/// context switches of this process per round trip).
fn round_trips(s: &mut Sample, name: &str, core: usize) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut echo = spawn_echo(&listener, core);
    let (mut socket, _) = listener.accept().unwrap();
    socket.set_nodelay(true).unwrap();
    let mut byte = [0u8; 1];
    let mut trip = |socket: &mut TcpStream| {
        socket.write_all(&byte).unwrap();
        socket.read_exact(&mut byte).unwrap();
    };
    for _ in 0..WARM_UP {
        trip(&mut socket);
    }
    let echo_cpu0 = process::pid_cpu_us(echo.id());
    let (cpu0, switches0) = (process::process_cpu_us(), process::context_switches().0);
    let t = Instant::now();
    for _ in 0..ROUND_TRIPS {
        trip(&mut socket);
    }
    let wall = t.elapsed();
    let (cpu, switches) = (process::process_cpu_us(), process::context_switches().0);
    let echo_cpu = process::pid_cpu_us(echo.id());
    drop(socket);
    let _ = echo.wait();
    let n = f64::from(ROUND_TRIPS);
    s.set(&format!("{name}_us"), (cpu - cpu0) as f64 / n);
    s.set(
        &format!("{name}_echo_us"),
        (echo_cpu - echo_cpu0) as f64 / n,
    );
    s.set(&format!("{name}_wall_us"), wall.as_micros() as f64 / n);
    s.set(
        &format!("{name}_switches"),
        (switches - switches0) as f64 / n,
    );
}

/// The echo process: this executable again, as `BENCH_CHILD=wake-echo`.
fn spawn_echo(listener: &TcpListener, core: usize) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .env("BENCH_CHILD", "wake-echo")
        .env("BENCH_CORE", core.to_string())
        .env(
            "BENCH_ECHO_ADDR",
            listener.local_addr().unwrap().to_string(),
        )
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

/// The echo side: sends every byte back until the other side closes.
pub fn echo() {
    let addr = std::env::var("BENCH_ECHO_ADDR").unwrap();
    let mut socket = TcpStream::connect(addr).unwrap();
    socket.set_nodelay(true).unwrap();
    let mut byte = [0u8; 1];
    while socket.read_exact(&mut byte).is_ok() {
        if socket.write_all(&byte).is_err() {
            break;
        }
    }
}
