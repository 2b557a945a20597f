//! The per-run details of one scenario as a collapsible `<details>` block:
//! plateau, rates, loss, latency and the generator's health, and why a run was
//! not counted. Collapsed so the page stays readable with many scenarios.

use super::format::{self, cell};
use super::markdown::verdict_icon;
use super::model::{Report, RunCloudWatch, ScenarioReport};
use crate::analysis::{ChangeStatus, RunAnalysis};
use std::fmt::Write;

const HEADER: &str = "| run | verdict | plateau | sustained | peak sent/s | peak delivered/s | 1st error | loss | message p50 / p99 | handshake p99 | generator CPU | p99 lateness |\n|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n";

/// The `<details>` block of one scenario (ends with a blank line).
pub fn block(report: &Report, s: &ScenarioReport) -> String {
    let runs: Vec<&RunAnalysis> = s
        .summary
        .runs
        .iter()
        .filter_map(|id| report.runs.iter().find(|r| &r.id == id))
        .collect();
    let mut out = String::from("<details>\n");
    let _ = writeln!(
        out,
        "<summary><b>{}</b> · <code>{}</code> · {} run{}, {} valid</summary>\n",
        html(&s.label),
        html(&s.summary.id),
        runs.len(),
        if runs.len() == 1 { "" } else { "s" },
        s.summary.n_valid()
    );
    out.push_str(HEADER);
    for r in &runs {
        out.push_str(&row(r));
    }
    out.push('\n');
    let mut notes = String::new();
    for r in &runs {
        let rep = format!("r{}", r.repetition);
        if !r.reasons.is_empty() {
            let _ = writeln!(
                notes,
                "- **{rep}** {}: {}",
                r.verdict.as_str(),
                cell(&r.reasons.join("; "), 400)
            );
        }
        if let Some(replies) = &r.replies {
            let rt = &r.latency_ms.round_trip;
            let _ = writeln!(
                notes,
                "- {rep} replies: {} sent, {} received, round trip p50 / p99 {} / {}; the API handled up to {} msg/s (participant messages delivered + replies)",
                replies.sent,
                replies.received,
                format::ms(rt.p50),
                format::ms(rt.p99),
                format::rate(replies.peak_handled)
            );
        }
        if let Some(line) = stages_line(r) {
            let _ = writeln!(notes, "- {rep} {line}");
        }
        if let Some(end) = super::delivery::sentence(r) {
            let _ = writeln!(notes, "- {rep} delivery: {end}");
        }
        for w in &r.warnings {
            let _ = writeln!(notes, "- {rep} note: {}", cell(w, 200));
        }
    }
    let label = report
        .baseline
        .as_ref()
        .map(|b| b.label.as_str())
        .unwrap_or("baseline");
    if let Some(c) = s
        .comparison
        .as_ref()
        .filter(|c| c.status != ChangeStatus::New)
    {
        let _ = writeln!(
            notes,
            "- vs {}: {} (valid runs: {} there, {} now)",
            cell(label, 40),
            cell(&c.note, 200),
            c.baseline_n,
            c.current_n
        );
    }
    if let Some(st) = &s.summary.plateau_to_first_error_s {
        let _ = writeln!(
            notes,
            "- plateau start → first error: {} on average (published runs: about 45 s, the handshake timeout)",
            format::secs(st.mean)
        );
    }
    if !notes.is_empty() {
        out.push_str(&notes);
        out.push('\n');
    }
    out.push_str(&cloudwatch_table(report, &runs));
    out.push_str("</details>\n\n");
    out
}

const CW_HEADER: &str = "| run | metric | stat | average | maximum | at plateau start | at first error |\n|---|---|---|--:|--:|--:|--:|\n";

/// The CloudWatch table of a scenario's runs (empty when none has metrics),
/// with each series' note and each warning below it.
fn cloudwatch_table(report: &Report, runs: &[&RunAnalysis]) -> String {
    let entries: Vec<(&RunAnalysis, &RunCloudWatch)> = runs
        .iter()
        .filter_map(|r| Some((*r, report.cloudwatch.iter().find(|c| c.run == r.id)?)))
        .collect();
    let Some((_, first)) = entries.first() else {
        return String::new();
    };
    let mut out = format!(
        "**CloudWatch** (period {} s; window = run ± one period)\n\n",
        first.metrics.period_s
    );
    let mut notes = String::new();
    let has_rows = entries.iter().any(|(_, c)| !c.metrics.metrics.is_empty());
    if has_rows {
        out.push_str(CW_HEADER);
    }
    let value = |v: Option<f64>| v.map_or("–".to_string(), |v| format::num(v, 2));
    for (r, c) in &entries {
        let rep = format!("r{}", r.repetition);
        for m in &c.metrics.metrics {
            let _ = writeln!(
                out,
                "| {rep} | {} | {} | {} | {} | {} | {} |",
                cell(&m.label, 40),
                cell(
                    if m.stat.is_empty() {
                        "expression"
                    } else {
                        &m.stat
                    },
                    20
                ),
                value(m.average),
                value(m.maximum),
                value(m.at_plateau_start),
                value(m.at_first_error)
            );
            if let Some(note) = &m.note {
                let _ = writeln!(notes, "- {rep} {}: {}", cell(&m.label, 40), cell(note, 300));
            }
        }
        for w in &c.metrics.warnings {
            let _ = writeln!(notes, "- ⚠️ {rep}: {}", cell(w, 400));
        }
    }
    if has_rows {
        out.push('\n');
    }
    if !notes.is_empty() {
        out.push_str(&notes);
        out.push('\n');
    }
    out
}

fn row(r: &RunAnalysis) -> String {
    let dash = || "—".to_string();
    let plateau = r
        .plateau
        .as_ref()
        .map(|p| {
            let mut s = format!("{}–{} s", p.start_s, p.end_s);
            if p.collapsed {
                s.push_str(" ↘");
            }
            s
        })
        .unwrap_or_else(dash);
    let first = r
        .first_error
        .as_ref()
        .map(|e| match e.since_plateau_s {
            Some(d) => format!("{} (+{})", format::secs(e.at_s), format::secs(d)),
            None => format::secs(e.at_s),
        })
        .unwrap_or_else(dash);
    let lat = &r.latency_ms;
    let msg = if lat.message.count > 0 {
        format!(
            "{} / {}",
            format::ms(lat.message.p50),
            format::ms(lat.message.p99)
        )
    } else {
        dash()
    };
    let hs = if lat.handshake.count > 0 {
        format::ms(lat.handshake.p99)
    } else {
        dash()
    };
    let cpu = if r.generator.cores > 0 {
        format!(
            "{}% of {}%",
            format::num(r.generator.cpu_percent, 0),
            r.generator.cores * 100
        )
    } else {
        format!("{}%", format::num(r.generator.cpu_percent, 0))
    };
    format!(
        "| r{} | {} {} | {plateau} | {} | {} | {} | {first} | {} | {msg} | {hs} | {cpu} | {} |\n",
        r.repetition,
        verdict_icon(r.verdict),
        r.verdict.as_str(),
        r.sustained_rate.map(format::rate).unwrap_or_else(dash),
        format::rate(r.peak_sent),
        format::rate(r.peak_delivered),
        r.loss.map(format::percent).unwrap_or_else(dash),
        format::ms(r.generator.p99_send_lateness_ms),
    )
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "&#124;")
}

/// "participants: 1,001 started → 1,001 signed up → … chatting; created at
/// 8.1/s of 50/s planned (sequential)": where participants stopped, and
/// whether creation kept up with cpi. `None` for files without stage counts.
fn stages_line(r: &RunAnalysis) -> Option<String> {
    let s = &r.stages;
    if s.participants_started == 0 && s.organizers_signed_in == 0 {
        return None;
    }
    let n = |x: u64| format::count(x as f64);
    let mut line = format!(
        "participants: {} started → {} signed up → {} chat requested → {} connected → {} chatting; organizers: {} signed in, {} connected",
        n(s.participants_started),
        n(s.signed_up),
        n(s.chat_requested),
        n(s.connected),
        n(s.chatting),
        n(s.organizers_signed_in),
        n(s.organizers_connected)
    );
    if let Some(c) = &r.creation {
        let _ = write!(
            line,
            "; created at {}/s of {}/s planned ({})",
            format::num(c.achieved_per_s, 1),
            format::num(c.planned_per_s, 1),
            c.arrival.as_str()
        );
    }
    Some(line)
}
