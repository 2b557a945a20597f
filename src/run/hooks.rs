//! Running one hook of matrix.yaml: a shell command in its own process group,
//! bounded by its timeout, then an optional readiness probe, with the end of
//! its output kept (secrets masked) for the result file and the log.
//!
//! The published procedure restarted the API and emptied it before every
//! repetition; a hook is how a plan does that against a real deployment. A
//! hook may start children (`ssh`, `aws ...`): on a timeout or a signal the
//! whole process group is killed, not just the shell.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

use crate::matrix::{interpolate, Hook, HookPhase, InterpolationError};
use crate::results::HookRecord;

/// Bytes of output kept per hook.
pub const OUTPUT_TAIL: usize = 4096;
/// Pause between two tries of a readiness probe.
pub const PROBE_EVERY: Duration = Duration::from_millis(250);
/// How long output is still read after the shell exited (children that keep
/// the pipe open, such as a server started with `&`, are not waited for).
const OUTPUT_GRACE: Duration = Duration::from_millis(300);
/// Shortest value of a secret-looking environment variable that is masked:
/// shorter ones (`1`, `yes`) would mask ordinary words all over the output.
const MIN_SECRET_LEN: usize = 4;

/// Replaces secret values with `***` in text shown or stored.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    secrets: Vec<String>,
}

impl Masker {
    /// Masks `password` and every value of an environment variable (of this
    /// process or given to the hook) whose name contains PASSWORD, TOKEN,
    /// SECRET or KEY.
    pub fn new(password: &str, env: &[(String, String)]) -> Masker {
        let process: Vec<(String, String)> = std::env::vars().collect();
        let named = process
            .iter()
            .chain(env)
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .filter(|(k, _)| {
                let k = k.to_ascii_uppercase();
                ["PASSWORD", "TOKEN", "SECRET", "KEY"]
                    .iter()
                    .any(|w| k.contains(w))
            })
            .map(|(_, v)| v);
        let mut secrets: Vec<String> = std::iter::once(password)
            .filter(|p| !p.is_empty())
            .chain(named.filter(|v| v.len() >= MIN_SECRET_LEN))
            .map(str::to_string)
            .collect();
        // Longest first, so a secret containing another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Masker { secrets }
    }

    /// `text` with every secret replaced by `***`.
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "***");
            }
        }
        out
    }
}

/// The last bytes written by a hook (stdout and stderr interleaved).
#[derive(Default)]
struct Tail(Vec<u8>);

impl Tail {
    /// Keeps twice [`OUTPUT_TAIL`], so that a secret cut by the limit is still
    /// whole when masking; [`finish`] trims after masking.
    fn push(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
        let keep = 2 * OUTPUT_TAIL;
        if self.0.len() > keep {
            self.0.drain(..self.0.len() - keep);
        }
    }
}

/// Masked text of a tail, at most [`OUTPUT_TAIL`] bytes, cut at a character boundary.
fn finish(tail: &[u8], masker: &Masker) -> String {
    let text = masker.mask(&String::from_utf8_lossy(tail));
    if text.len() <= OUTPUT_TAIL {
        return text;
    }
    let mut cut = text.len() - OUTPUT_TAIL;
    while !text.is_char_boundary(cut) {
        cut += 1;
    }
    text[cut..].to_string()
}

async fn collect(mut pipe: impl AsyncRead + Unpin, tail: Arc<Mutex<Tail>>) {
    let mut buf = [0u8; 2048];
    while let Ok(n @ 1..) = pipe.read(&mut buf).await {
        if let Ok(mut t) = tail.lock() {
            t.push(&buf[..n]);
        }
    }
}

/// Kills the hook's whole process group (it is its own leader).
fn kill_group(pid: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: kill(2) with a negative pid signals that process group; no memory is touched.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = pid;
}

/// Runs `hook` with `env` added to the environment; never fails: what went
/// wrong is in the record (`ok` false, `error` set). `interrupt` kills it.
pub async fn run(
    phase: HookPhase,
    hook: &Hook,
    env: &[(String, String)],
    masker: &Masker,
    interrupt: &CancellationToken,
) -> HookRecord {
    let start = Instant::now();
    let deadline = tokio::time::Instant::from_std(start) + hook.timeout;
    let mut record = HookRecord {
        phase,
        command: masker.mask(&hook.run),
        ok: false,
        exit_status: None,
        duration_s: 0.0,
        error: None,
        output: String::new(),
    };
    let tail = Arc::new(Mutex::new(Tail::default()));
    let error = match command(hook, env, &tail, deadline, interrupt).await {
        Ok(code) => {
            record.exit_status = Some(code);
            if code != 0 {
                Some(format!("exited with status {code}"))
            } else if let Some(probe) = &hook.wait_for {
                wait_for(probe, env, deadline, hook.timeout, interrupt)
                    .await
                    .err()
            } else {
                None
            }
        }
        Err(e) => Some(e),
    };
    record.ok = error.is_none();
    record.error = error.map(|e| masker.mask(&e));
    record.duration_s = (start.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    let bytes = tail.lock().map(|t| t.0.clone()).unwrap_or_default();
    record.output = finish(&bytes, masker);
    record
}

/// The command's exit code, or why it has none.
async fn command(
    hook: &Hook,
    env: &[(String, String)],
    tail: &Arc<Mutex<Tail>>,
    deadline: tokio::time::Instant,
    interrupt: &CancellationToken,
) -> Result<i32, String> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(&hook.run)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("could not start `sh -c`: {e}; is a POSIX shell installed?"))?;
    let pid = child.id();
    let mut readers = tokio::task::JoinSet::new();
    if let Some(out) = child.stdout.take() {
        readers.spawn(collect(out, tail.clone()));
    }
    if let Some(err) = child.stderr.take() {
        readers.spawn(collect(err, tail.clone()));
    }
    let outcome = tokio::select! {
        status = child.wait() => status.map_err(|e| format!("waiting for the hook failed: {e}")),
        _ = tokio::time::sleep_until(deadline) => Err(format!(
            "timed out after {}: killed with its process group",
            humantime::format_duration(hook.timeout)
        )),
        _ = interrupt.cancelled() => Err("interrupted by a signal: killed with its process group".to_string()),
    };
    if outcome.is_err() {
        kill_group(pid);
        let _ = child.wait().await;
    }
    // Read what is left; a child that still holds the pipe is not waited for.
    let _ = tokio::time::timeout(OUTPUT_GRACE, async {
        while readers.join_next().await.is_some() {}
    })
    .await;
    readers.abort_all();
    let status = outcome?;
    Ok(status.code().unwrap_or_else(|| {
        // Killed by a signal: the shell convention 128 + signal number.
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            128 + status.signal().unwrap_or(0)
        }
        #[cfg(not(unix))]
        {
            1
        }
    }))
}

/// `${NAME}` in a probe, from the hook's environment or the process's, by
/// matrix.yaml's interpolation rules.
fn expand(probe: &str, env: &[(String, String)]) -> Result<String, String> {
    let lookup = |name: &str| {
        env.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(name).ok())
    };
    interpolate(probe, &lookup).map_err(|e| match e {
        InterpolationError::Missing(name) => {
            format!("readiness probe `{probe}` uses ${{{name}}}, which is not set")
        }
        InterpolationError::Malformed => format!("readiness probe `{probe}`: {e}"),
    })
}

/// Polls `probe` (HTTP GET until 2xx, or `tcp://host:port` until it connects) until `deadline`.
async fn wait_for(
    probe: &str,
    env: &[(String, String)],
    deadline: tokio::time::Instant,
    timeout: Duration,
    interrupt: &CancellationToken,
) -> Result<(), String> {
    let url = expand(probe, env)?;
    let tcp = url.strip_prefix("tcp://").map(str::to_string).filter(|a| {
        a.rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    });
    let http = url.starts_with("http://") || url.starts_with("https://");
    if tcp.is_none() && !http {
        return Err(format!(
            "readiness probe `{url}` is neither an http(s):// URL nor tcp://host:port"
        ));
    }
    let client = reqwest::Client::new();
    let mut last = String::from("no answer yet");
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return Err(format!(
                "readiness probe {url} did not succeed within the hook's timeout of {} (last: {last})",
                humantime::format_duration(timeout)
            ));
        }
        let attempt = left.min(Duration::from_secs(5));
        let answer = async {
            match &tcp {
                Some(addr) => tokio::net::TcpStream::connect(addr.as_str())
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("connect: {e}")),
                None => match client.get(&url).timeout(attempt).send().await {
                    Ok(r) if r.status().is_success() => Ok(()),
                    Ok(r) => Err(format!("HTTP {}", r.status())),
                    Err(e) => Err(format!("request: {e}")),
                },
            }
        };
        tokio::select! {
            r = tokio::time::timeout(attempt, answer) => match r {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(e)) => last = e,
                Err(_) => last = format!("no answer within {}", humantime::format_duration(attempt)),
            },
            _ = interrupt.cancelled() => return Err("interrupted by a signal while waiting for the readiness probe".into()),
        }
        tokio::select! {
            _ = tokio::time::sleep(PROBE_EVERY.min(left)) => {}
            _ = interrupt.cancelled() => return Err("interrupted by a signal while waiting for the readiness probe".into()),
        }
    }
}

#[cfg(test)]
#[path = "hooks_tests.rs"]
mod tests;
