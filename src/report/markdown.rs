//! report.md: the answer for people, rendered from a [`Report`] as GitHub
//! markdown (PR comment, job summary, artifact).
//!
//! GitHub refuses comments over 65,536 characters, so the page stays under
//! [`MARKDOWN_BUDGET`] however many scenarios there are. It summarises rather
//! than truncates: every table is whole rows only, rows are chosen by
//! importance (regressions, improvements, runs that did not count, new ones,
//! then the rest) within a share of the budget, and a sentence says how many
//! were left to report.json.

use super::details;
use super::format::{self, cell};
use super::headline::change_phrase;
use super::mermaid;
use super::model::{Report, ScenarioReport};
use crate::analysis::{ChangeStatus, RunAnalysis, Verdict};
use std::fmt::{self, Write};

/// Hard limit on report.md's length in characters (GitHub's comment limit is 65,536).
pub const MARKDOWN_BUDGET: usize = 60_000;
/// Share of the remaining budget the scenario table may take when it does not fit whole.
const TABLE_SHARE: f64 = 0.55;
/// Share of what is left after it that the first-error table may take.
const ERRORS_SHARE: f64 = 0.4;
/// Room kept for the notes about omitted rows.
const MARGIN: usize = 1_500;

/// Writes report.md within [`MARKDOWN_BUDGET`].
pub fn render(out: &mut impl fmt::Write, report: &Report) -> fmt::Result {
    render_within(out, report, MARKDOWN_BUDGET)
}

/// Writes report.md within `budget` characters (Unicode scalar values). Its
/// sections are measured before they are written (what fits decides which
/// rows are left out), so each is built as text first.
pub fn render_within(out: &mut impl fmt::Write, report: &Report, budget: usize) -> fmt::Result {
    let label = baseline_label(report);
    let head = head(report);
    let mut timeline = String::new();
    if let Some(t) = &report.timeline {
        timeline.push_str("### Rate timeline\n\n");
        mermaid::timeline_block(&mut timeline, t)?;
        timeline.push('\n');
    }
    let foot = footer(report);
    let split = split_section(report);
    let ab = super::ab::markdown(report.ab.as_ref());
    let delivery = super::delivery::section(report);
    let fixed = chars(&head)
        + chars(&ab)
        + chars(&timeline)
        + chars(&foot)
        + chars(&split)
        + chars(&delivery)
        + MARGIN;
    let mut left = budget.saturating_sub(fixed);

    let prio: Vec<u8> = report.scenarios.iter().map(priority).collect();
    let rows: Vec<(u8, String)> = report
        .scenarios
        .iter()
        .zip(&prio)
        .map(|(s, &p)| (p, scenario_row(s, &label)))
        .collect();
    let table = fit_table(
        &scenario_header(&label),
        &rows,
        share(left, TABLE_SHARE),
        "scenarios",
    );
    left = left.saturating_sub(chars(&table));

    let err_rows: Vec<(u8, String)> = report
        .runs
        .iter()
        .filter(|r| r.first_error.is_some())
        .map(|r| (run_priority(report, r), error_row(r)))
        .collect();
    let errors = if err_rows.is_empty() {
        String::new()
    } else {
        let t = fit_table(ERRORS_HEADER, &err_rows, share(left, ERRORS_SHARE), "runs");
        format!("### First error of each run\n\n{t}")
    };
    left = left.saturating_sub(chars(&errors));

    let blocks: Vec<(u8, String)> = report
        .scenarios
        .iter()
        .zip(&prio)
        .map(|(s, &p)| (p, details::block(report, s)))
        .collect();
    let details = fit_blocks(&blocks, left);

    for part in [
        head.as_str(),
        &ab,
        "### Scenarios\n\n",
        &table,
        &legend(report),
        &missing(report, &label),
        &delivery,
        &split,
        &timeline,
        &errors,
        &details,
        &foot,
    ] {
        out.write_str(part)?;
    }
    Ok(())
}

/// Most split-load lines shown; the rest are in report.json.
const SPLIT_LINES: usize = 20;

/// Which runs were merged from split parts and what the merge noticed.
fn split_section(report: &Report) -> String {
    if report.split_notes.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "### Split load

",
    );
    for line in report.split_notes.iter().take(SPLIT_LINES) {
        s.push_str(&format!("- {line}\n"));
    }
    if report.split_notes.len() > SPLIT_LINES {
        s.push_str(&format!(
            "- … {} more in report.json\n",
            report.split_notes.len() - SPLIT_LINES
        ));
    }
    s.push('\n');
    s
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn share(left: usize, f: f64) -> usize {
    (left as f64 * f) as usize
}

fn baseline_label(r: &Report) -> String {
    r.baseline
        .as_ref()
        .map(|b| b.label.clone())
        .unwrap_or_else(|| "baseline".into())
}

/// Lower is more important: what a reader must see first.
fn priority(s: &ScenarioReport) -> u8 {
    match s.comparison.as_ref().map(|c| c.status) {
        Some(ChangeStatus::Regressed) => 0,
        Some(ChangeStatus::Improved) => 1,
        _ if s.summary.verdict != Verdict::Valid || s.summary.n_valid() < s.summary.n_runs() => 2,
        Some(ChangeStatus::Inconclusive) | Some(ChangeStatus::New) => 3,
        _ => 4,
    }
}

fn run_priority(r: &Report, run: &RunAnalysis) -> u8 {
    r.scenarios
        .iter()
        .find(|s| s.summary.id == run.group)
        .map(priority)
        .unwrap_or(4)
}

/// Picks whole rows by priority within `cap` characters, keeps them in their
/// original order and says how many were left out.
fn fit_table(header: &str, rows: &[(u8, String)], cap: usize, what: &str) -> String {
    let (kept, omitted) = pick(rows, cap.saturating_sub(chars(header)));
    let mut s = header.to_string();
    for i in kept {
        s.push_str(&rows[i].1);
    }
    s.push('\n');
    if omitted > 0 {
        let _ = writeln!(
            s,
            "*{omitted} more {what} not shown to keep this page short; all are in `report.json`.*\n"
        );
    }
    s
}

fn fit_blocks(blocks: &[(u8, String)], cap: usize) -> String {
    if blocks.is_empty() {
        return String::new();
    }
    let title = "### Run details\n\n";
    let (kept, omitted) = pick(blocks, cap.saturating_sub(chars(title)));
    let mut s = title.to_string();
    for i in kept {
        s.push_str(&blocks[i].1);
    }
    if omitted > 0 {
        let _ = writeln!(
            s,
            "*Details of {omitted} more scenarios are in `report.json`.*\n"
        );
    }
    s
}

/// Indexes (in original order) of the rows that fit in `cap`, best priority
/// first, and the number left out.
fn pick(rows: &[(u8, String)], cap: usize) -> (Vec<usize>, usize) {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| rows[i].0);
    let mut used = 0;
    let mut kept = Vec::new();
    for i in order {
        let n = chars(&rows[i].1);
        if used + n <= cap {
            used += n;
            kept.push(i);
        }
    }
    kept.sort_unstable();
    let omitted = rows.len() - kept.len();
    (kept, omitted)
}

fn head(r: &Report) -> String {
    let mut s = String::from("## msgperf capacity report\n\n");
    let _ = writeln!(s, "**{}**\n", r.headline);
    let mut counts: Vec<String> = Vec::new();
    for v in Verdict::ALL {
        let n = r.runs.iter().filter(|x| x.verdict == v).count();
        if n > 0 {
            counts.push(format!("{n} {}", v.as_str()));
        }
    }
    let _ = write!(
        s,
        "{} scenario{} · {} run{}: {}",
        r.scenarios.len(),
        plural(r.scenarios.len()),
        r.runs.len(),
        plural(r.runs.len()),
        counts.join(", ")
    );
    match &r.baseline {
        Some(b) => {
            let n = match &r.ab {
                // An A/B job's gate is the paired verdict's.
                Some(ab) => super::ab::regressions(ab),
                None => r
                    .scenarios
                    .iter()
                    .filter(|x| {
                        x.comparison
                            .as_ref()
                            .is_some_and(|c| c.status == ChangeStatus::Regressed)
                    })
                    .count(),
            };
            let gate = match (n, r.gate_failed) {
                (0, _) => "✅ passed".to_string(),
                (n, true) => format!("❌ failed ({n} regression{})", plural(n)),
                (n, false) => format!("⚠️ {n} regression{} (not enforced)", plural(n)),
            };
            let _ = writeln!(s, " · vs **{}** · gate: {gate}\n", cell(&b.label, 60));
        }
        None => s.push_str(" · no baseline\n\n"),
    }
    s
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn scenario_header(label: &str) -> String {
    format!(
        "| scenario | runs | sustained msg/s (±95% CI) | peak sent/s | chats at 1st error | p99 latency | loss | verdict | vs {} |\n|---|--:|--:|--:|--:|--:|--:|---|---|\n",
        cell(label, 40)
    )
}

fn scenario_row(s: &ScenarioReport, label: &str) -> String {
    let m = &s.summary;
    let runs = if m.n_valid() == m.n_runs() {
        m.n_runs().to_string()
    } else {
        format!("{} ({} valid)", m.n_runs(), m.n_valid())
    };
    let sustained = match &m.sustained {
        Some(st) => match st.ci_half_width() {
            Some(h) => format!("{} ± {}", format::rate(st.mean), format::rate(h)),
            None => format::rate(st.mean),
        },
        None => "—".into(),
    };
    let opt = |v: Option<String>| v.unwrap_or_else(|| "—".into());
    format!(
        "| {} | {runs} | {sustained} | {} | {} | {} | {} | {} | {} |\n",
        cell(&s.label, 80),
        opt(m.peak_sent.as_ref().map(|p| format::rate(p.mean))),
        opt(m
            .chats_at_first_error
            .as_ref()
            .map(|p| format::count(p.mean))),
        opt(m
            .p99_message_latency_ms
            .as_ref()
            .map(|p| format::ms(p.mean))),
        opt(m.loss.map(format::percent)),
        verdict_cell(s),
        change_cell(s, label),
    )
}

/// `✅ valid`, or the scenario verdict with the other runs' verdicts.
pub fn verdict_cell(s: &ScenarioReport) -> String {
    let v = s.summary.verdict;
    let others: Vec<String> = s
        .summary
        .verdicts
        .iter()
        .filter(|(k, _)| **k != v)
        .map(|(k, n)| format!("{n} {}", k.as_str()))
        .collect();
    let mut out = format!("{} {}", verdict_icon(v), v.as_str());
    if !others.is_empty() {
        let _ = write!(out, " ({})", others.join(", "));
    }
    out
}

/// The icon of a verdict.
pub fn verdict_icon(v: Verdict) -> &'static str {
    match v {
        Verdict::Valid => "✅",
        Verdict::GeneratorBound => "⚠️",
        Verdict::NoPlateau => "📈",
        Verdict::Inconclusive => "❔",
        Verdict::TooShort => "⏱️",
        Verdict::Interrupted => "⏹️",
        Verdict::Skipped => "⏭️",
        Verdict::Failed => "🛑",
        Verdict::SetupBound => "🚧",
        Verdict::Collapsed => "💥",
    }
}

fn change_cell(s: &ScenarioReport, label: &str) -> String {
    let Some(c) = &s.comparison else {
        return "—".into();
    };
    let icon = match c.status {
        ChangeStatus::Regressed => "🔴",
        ChangeStatus::Improved => "🟢",
        ChangeStatus::Unchanged => "⚪",
        ChangeStatus::Inconclusive => "🟡",
        ChangeStatus::New => "🆕",
        ChangeStatus::Missing => "➖",
    };
    let phrase = change_phrase(c, label);
    let short = phrase.replacen(&format!(" vs {label}"), "", 1);
    format!("{icon} {}", cell(&short, 80))
}

fn legend(r: &Report) -> String {
    let basis = r
        .scenarios
        .first()
        .map(|s| s.summary.rate_basis.as_str())
        .unwrap_or("delivered");
    format!(
        "*Sustained: median {basis}/s on the plateau, mean over valid runs ± 95% CI half-width (Student t). Peak: highest sent/s in one second. Regression: change ≤ −{}% with p < {} (Welch's t-test). Rules: `docs/report.md`.*\n\n",
        format::num(r.gate.min_change * 100.0, 0),
        r.gate.alpha
    )
}

fn missing(r: &Report, label: &str) -> String {
    if r.missing.is_empty() {
        return String::new();
    }
    let names: Vec<String> = r
        .missing
        .iter()
        .take(20)
        .map(|c| format!("`{}`", cell(&c.id, 80)))
        .collect();
    let more = r.missing.len().saturating_sub(names.len());
    let mut s = format!(
        "➖ In {} but not run now: {}",
        cell(label, 40),
        names.join(", ")
    );
    if more > 0 {
        let _ = write!(s, " and {more} more");
    }
    s.push_str(".\n\n");
    s
}

const ERRORS_HEADER: &str = "| run | at | kind | after plateau start | active chats | participants | peak sent/s | message |\n|---|--:|---|--:|--:|--:|--:|---|\n";

fn error_row(r: &RunAnalysis) -> String {
    let e = r.first_error.as_ref().expect("filtered on first_error");
    let since = e
        .since_plateau_s
        .map(|s| format!("{}{}", if s >= 0.0 { "+" } else { "" }, format::secs(s)))
        .unwrap_or_else(|| "—".into());
    format!(
        "| `{}` | {} | `{}` | {since} | {} | {} | {} | {} |\n",
        cell(&r.id, 80),
        format::secs(e.at_s),
        e.kind.as_str(),
        format::count(e.active_chats as f64),
        format::count(e.participants as f64),
        format::rate(r.peak_sent),
        cell(&e.message, 100)
    )
}

fn footer(r: &Report) -> String {
    let charts = if r.charts.is_empty() {
        String::new()
    } else {
        format!(" · {} charts in `charts/`", r.charts.len())
    };
    format!(
        "<sub>msgperf {} · {} · `report.json` schema {}{charts}</sub>\n",
        cell(&r.msgperf_version, 20),
        cell(&r.generated_at, 40),
        r.schema
    )
}
