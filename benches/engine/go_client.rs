//! The original ESME load client (Go, gorilla/websocket), when given as
//! `ESME_GO_CLIENT=/path/to/binary`: it reads `config.json` from its working
//! directory, takes `-sci -cpi -smi` in ms, and runs until killed. It prints
//! no counts, so what it sent is read off the server's own counters.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use super::{process, Sample, Server, CPI, DURATION, SCI, SMI};

/// The Go client to compare with.
pub struct GoClient {
    binary: PathBuf,
}

/// The client named by `ESME_GO_CLIENT`, if any.
pub fn from_env() -> Option<GoClient> {
    let binary = PathBuf::from(std::env::var_os("ESME_GO_CLIENT")?);
    Some(GoClient { binary })
}

/// The server's cumulative counter `name` (`GET /__msgperf/stats`).
fn server_counter(server: &Server, name: &str) -> f64 {
    let text = http_get(&format!(
        "{}/__msgperf/stats",
        server.target.organizer_api_url
    ));
    let stats: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    stats[name].as_f64().unwrap_or(0.0)
}

impl GoClient {
    /// Runs the client for the scenario's duration, pinned to core 0, and
    /// measures its CPU and peak memory, and the server's counts of its work.
    pub fn measure(&self, server: &Server) -> Sample {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let t = &server.target;
        let config = serde_json::json!({
            "event_id": t.event_id,
            "messenger_ws_url": t.messenger_ws_url,
            "organizer_api_url": t.organizer_api_url,
            "organizer_email": t.organizer_email.replace("{n}", "1"),
            "organizer_password": t.organizer_password.expose(),
            "participant_api_url": t.participant_api_url,
        });
        std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
        let before = counts(server);
        let server0 = server.cpu_us();
        let ms = |d: std::time::Duration| d.as_millis().to_string();
        let mut command = Command::new(&self.binary);
        command
            .current_dir(dir.path())
            .args(["-sci", &ms(SCI), "-cpi", &ms(CPI), "-smi", &ms(SMI)])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: pinning only calls sched_setaffinity, which is async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                process::pin_to(0);
                Ok(())
            });
        }
        let mut child = command.spawn().expect("ESME_GO_CLIENT starts");
        let start = Instant::now();
        let mut peak_kib = 0.0f64;
        while start.elapsed() < DURATION {
            std::thread::sleep(std::time::Duration::from_millis(500));
            peak_kib = peak_kib.max(process::rss_kib_of(&child.id().to_string()) as f64);
        }
        let cpu = process::pid_cpu_us(child.id()) as f64;
        let _ = child.kill();
        let _ = child.wait();
        let after = counts(server);
        let mut s = Sample::default();
        let participants = after.0 - before.0;
        // Every chat's problem description is stored as a message too.
        let messages = (after.1 - before.1) - (after.2 - before.2);
        s.set("user_us", cpu);
        s.set("messages", messages);
        s.set("participants", participants);
        s.set("kib_per_participant", peak_kib / participants.max(1.0));
        s.set("server_us", (server.cpu_us() - server0) as f64);
        s
    }
}

/// (participants signed up, messages stored, chats started) so far.
fn counts(server: &Server) -> (f64, f64, f64) {
    (
        server_counter(server, "participants"),
        server_counter(server, "messages_stored"),
        server_counter(server, "chats_started"),
    )
}

/// The body of a plain `GET` of an `http://host:port/path` URL ("" on failure).
fn http_get(url: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let Ok(mut tcp) = std::net::TcpStream::connect(host) else {
        return String::new();
    };
    let request = format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    let mut answer = String::new();
    if tcp.write_all(request.as_bytes()).is_err() || tcp.read_to_string(&mut answer).is_err() {
        return String::new();
    }
    answer
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, body)| body.to_string())
}
