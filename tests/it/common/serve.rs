//! A real `msgperf serve` process on 127.0.0.1 (free ports), the shared
//! target of scaled-out tests: every runner process or workflow job loads the
//! same server, as they would load a staging deployment.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;

/// The target keys `msgperf serve` prints, and the running process.
pub struct Serve {
    child: Child,
    /// Reads the server's stderr as it comes (a long run must never find
    /// the pipe full); joined by [`Serve::stop`] for the counters.
    stderr: Option<JoinHandle<String>>,
    /// `key: value` lines of the banner (`messenger_ws_url`, ..., `organizer_password`).
    pub target: BTreeMap<String, String>,
}

impl Serve {
    /// Starts `msgperf serve` (the binary `bin`) on free ports and reads its banner.
    pub fn start(bin: &str) -> Serve {
        Serve::start_with(bin, &[])
    }

    /// Like [`Serve::start`], with more `serve` options (capacity limits).
    pub fn start_with(bin: &str, args: &[&str]) -> Serve {
        Serve::start_command(Command::new(bin), args)
    }

    /// Like [`Serve::start_with`], from a `command` of the `msgperf` binary
    /// that the caller prepared (the engine bench pins it to a core).
    pub fn start_command(mut command: Command, args: &[&str]) -> Serve {
        let mut child = command
            .args(["serve", "--organizer-port", "0", "--participant-port", "0"])
            .args(["--messenger-port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("msgperf serve starts");
        let stdout = child.stdout.take().expect("piped");
        // Read on until the server ends: a closed pipe would fail its next write.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut target = BTreeMap::new();
        for line in rx.iter() {
            if let Some((k, v)) = line.split_once(": ").filter(|_| !line.starts_with('#')) {
                target.insert(k.to_string(), v.trim_matches('"').to_string());
            }
            if line.starts_with("organizer_password") {
                break;
            }
        }
        assert_eq!(
            target.len(),
            6,
            "the banner has the six target keys: {target:?}"
        );
        let stderr = child.stderr.take().map(|mut pipe| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = pipe.read_to_string(&mut text);
                text
            })
        });
        Serve {
            child,
            stderr,
            target,
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A banner value.
    pub fn get(&self, key: &str) -> &str {
        &self.target[key]
    }

    /// The server as the load engine's [`msgperf::matrix::Target`].
    pub fn target(&self) -> msgperf::matrix::Target {
        msgperf::matrix::Target {
            messenger_ws_url: self.get("messenger_ws_url").into(),
            organizer_api_url: self.get("organizer_api_url").into(),
            participant_api_url: self.get("participant_api_url").into(),
            event_id: self.get("event_id").parse().expect("event_id is a number"),
            organizer_email: self.get("organizer_email").into(),
            organizer_password: msgperf::matrix::Secret::new(self.get("organizer_password")),
        }
    }

    /// The `target:` block of a matrix file for this server, with the password
    /// read from `${password_var}` (as a real matrix would).
    pub fn target_yaml(&self, password_var: &str) -> String {
        format!(
            "target:\n  messenger_ws_url: {}\n  organizer_api_url: {}\n  participant_api_url: {}\n  event_id: {}\n  organizer_email: \"{}\"\n  organizer_password: \"${{{password_var}}}\"\n",
            self.get("messenger_ws_url"),
            self.get("organizer_api_url"),
            self.get("participant_api_url"),
            self.get("event_id"),
            self.get("organizer_email"),
        )
    }

    /// Stops the server with SIGTERM and returns the counters it prints.
    pub fn stop(mut self) -> BTreeMap<String, u64> {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -TERM {pid}");
        let _ = self.child.wait();
        let err = self
            .stderr
            .take()
            .map(|reader| reader.join().expect("the stderr reader does not panic"))
            .unwrap_or_default();
        // `stopped; {"key": n, ...}`: the Debug form of a map of strings to
        // numbers is JSON.
        let json = err
            .lines()
            .find_map(|l| l.strip_prefix("stopped; "))
            .unwrap_or_else(|| panic!("no counters in the server's stderr: {err}"));
        serde_json::from_str(json).expect("the counters parse")
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        // Only this test's own child, by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
