//! Showing a long run as it happens: a progress bar on a terminal, a status
//! line every few seconds in CI logs, `::group::` folds in GitHub Actions.

use std::io::IsTerminal;
use std::time::{Duration, SystemTime};

use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::watch;

use crate::load::Progress;
use crate::matrix::Scenario;
use crate::results::{HookRecord, RunResult};

/// How progress is shown, chosen once from the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// An indicatif bar on a terminal.
    Bar,
    /// A plain status line every [`CI_LINE_EVERY`] (CI logs, pipes).
    Lines {
        /// Wrap each scenario in `::group::`/`::endgroup::`.
        github: bool,
    },
}

/// Interval of status lines in CI logs.
pub const CI_LINE_EVERY: Duration = Duration::from_secs(5);

impl Style {
    /// Bar on a terminal unless `CI` is set; lines otherwise; folds under GitHub Actions.
    pub fn detect() -> Style {
        let github = std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true");
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
        if !ci && !github && std::io::stderr().is_terminal() {
            Style::Bar
        } else {
            Style::Lines { github }
        }
    }
}

/// Shows one scenario's progress until `updates` closes; returns when it does.
pub async fn follow(
    style: Style,
    scenario: &Scenario,
    index: usize,
    count: usize,
    mut updates: watch::Receiver<Progress>,
) {
    let title = format!("[{}/{count}] {}", index + 1, scenario.id);
    match style {
        Style::Bar => {
            let bar = ProgressBar::new(scenario.stop.max_duration.as_secs().max(1));
            bar.set_style(
                ProgressStyle::with_template("{prefix} [{bar:24}] {pos}/{len}s {msg}")
                    .expect("static template")
                    .progress_chars("=> "),
            );
            bar.set_prefix(title);
            while updates.changed().await.is_ok() {
                let p = updates.borrow_and_update().clone();
                bar.set_position(p.elapsed_s);
                bar.set_message(status(&p));
            }
            bar.finish_and_clear();
        }
        Style::Lines { github } => {
            if github {
                eprintln!("::group::{title}");
            } else {
                eprintln!("{title}");
            }
            let mut last_line = 0;
            while updates.changed().await.is_ok() {
                let p = updates.borrow_and_update().clone();
                if p.elapsed_s >= last_line + CI_LINE_EVERY.as_secs() {
                    last_line = p.elapsed_s;
                    eprintln!("  {:>4}s  {}", p.elapsed_s, status(&p));
                }
            }
        }
    }
}

/// Closes a scenario's output with its outcome.
pub fn finished(style: Style, result: &RunResult, path: &std::path::Path) {
    let error = match (&result.skipped_reason, &result.first_error) {
        (Some(why), _) => format!(": {why}"),
        (None, Some(e)) => format!(", first error at {:.1}s: {}", e.at_s, e.kind.as_str()),
        (None, None) => String::new(),
    };
    eprintln!(
        "  {} {:?} after {:.1}s ({}){error} -> {}",
        result.scenario.id,
        result.outcome,
        result.duration_s,
        result.stop_reason,
        path.display()
    );
    if style == (Style::Lines { github: true }) {
        eprintln!("::endgroup::");
    }
}

fn status(p: &Progress) -> String {
    let replies = if p.replies_per_s > 0 {
        format!("  replies {}/s", p.replies_per_s)
    } else {
        String::new()
    };
    format!(
        "sent {}/s  delivered {}/s{replies}  participants {}  chats {}  connections {}  errors {}",
        p.sent_per_s, p.delivered_per_s, p.participants, p.chats, p.open_connections, p.errors
    )
}

/// Shows a finished hook: one status line, and its output under a fold in
/// GitHub Actions, indented in other logs, only on failure on a terminal.
pub fn hook(style: Style, scenario: Option<&str>, record: &HookRecord) {
    let what = match scenario {
        Some(id) => format!("hook {} ({id})", record.phase),
        None => format!("hook {}", record.phase),
    };
    let status = match &record.error {
        None => format!("ok in {:.1}s", record.duration_s),
        Some(e) => format!("FAILED after {:.1}s: {e}", record.duration_s),
    };
    let output = record.output.trim_end();
    match style {
        Style::Lines { github: true } if !output.is_empty() => {
            eprintln!("::group::{what}: {status}");
            eprintln!("{output}");
            eprintln!("::endgroup::");
        }
        Style::Lines { .. } => {
            eprintln!("{what}: {status}");
            for line in output.lines() {
                eprintln!("    | {line}");
            }
        }
        Style::Bar => {
            eprintln!("{what}: {status}");
            if !record.ok {
                for line in output.lines() {
                    eprintln!("    | {line}");
                }
            }
        }
    }
}

/// Waits out the cooldown before run `next` (0-based) of `count`, showing
/// it; returns early when `interrupt` fires.
pub async fn cooldown(
    style: Style,
    pause: Duration,
    next: usize,
    count: usize,
    interrupt: &tokio_util::sync::CancellationToken,
) {
    let title = format!(
        "cooldown {} before [{}/{count}]",
        humantime::format_duration(pause),
        next + 1
    );
    let sleep = async {
        match style {
            Style::Bar => {
                let bar = ProgressBar::new(pause.as_secs().max(1));
                bar.set_style(
                    ProgressStyle::with_template("{prefix} [{bar:24}] {pos}/{len}s")
                        .expect("static template")
                        .progress_chars("=> "),
                );
                bar.set_prefix(title);
                let end = tokio::time::Instant::now() + pause;
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                while tokio::time::Instant::now() < end {
                    tokio::select! {
                        _ = tick.tick() => bar.set_position(pause.as_secs().saturating_sub(end.saturating_duration_since(tokio::time::Instant::now()).as_secs())),
                        _ = tokio::time::sleep_until(end) => {}
                    }
                }
                bar.finish_and_clear();
            }
            Style::Lines { .. } => {
                eprintln!("{title}");
                tokio::time::sleep(pause).await;
            }
        }
    };
    tokio::select! {
        _ = sleep => {}
        _ = interrupt.cancelled() => {}
    }
}

/// Waits for the common start of a split part's run, saying so at once and
/// then every [`CI_LINE_EVERY`]; returns early on `interrupt`. When `start`
/// is `None` the instant `at` has passed: it says the part starts late (its
/// load then does not add up with the other parts' for the first seconds;
/// the report flags it).
pub async fn wait_for_start(
    style: Style,
    scenario: &Scenario,
    at: SystemTime,
    start: Option<std::time::Instant>,
    interrupt: &tokio_util::sync::CancellationToken,
) {
    let when = humantime::format_rfc3339_seconds(at);
    let Some(start) = start else {
        let by = SystemTime::now().duration_since(at).unwrap_or_default();
        let line = format!(
            "{}: the common start {when} passed {:.1} s ago; starting now (late)",
            scenario.id,
            by.as_secs_f64()
        );
        match style {
            Style::Lines { github: true } => println!("::warning title=Late start::{line}"),
            _ => eprintln!("{line}"),
        }
        return;
    };
    let start = tokio::time::Instant::from_std(start);
    let mut every = tokio::time::interval(CI_LINE_EVERY);
    loop {
        let left = start.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return;
        }
        tokio::select! {
            _ = every.tick() => eprintln!(
                "{}: waiting {:.0} s for the common start {when}",
                scenario.id,
                left.as_secs_f64().ceil()
            ),
            _ = tokio::time::sleep_until(start) => return,
            _ = interrupt.cancelled() => return,
        }
    }
}
