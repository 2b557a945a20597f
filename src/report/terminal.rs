//! A compact plain-text table of the scenarios for the terminal and CI logs:
//! aligned columns, no markdown, no colour codes.

use super::format;
use super::headline::change_phrase;
use super::model::Report;
use std::fmt::{self, Write};

/// Most scenario rows printed; the rest are counted in a last line.
pub const MAX_ROWS: usize = 50;

/// Writes the headline and one aligned row per scenario.
pub fn summary_table(out: &mut impl Write, r: &Report) -> fmt::Result {
    let label = r
        .baseline
        .as_ref()
        .map(|b| b.label.clone())
        .unwrap_or_else(|| "baseline".into());
    let mut rows: Vec<[String; 7]> = vec![[
        "scenario".into(),
        "runs".into(),
        "sustained msg/s".into(),
        "peak sent/s".into(),
        "chats@1st err".into(),
        "verdict".into(),
        format!("vs {label}"),
    ]];
    for s in r.scenarios.iter().take(MAX_ROWS) {
        let m = &s.summary;
        let dash = || "-".to_string();
        rows.push([
            s.label.clone(),
            format!("{}/{}", m.n_valid(), m.n_runs()),
            m.sustained
                .as_ref()
                .map(|st| match st.ci_half_width() {
                    Some(h) => format!("{} ± {}", format::rate(st.mean), format::rate(h)),
                    None => format::rate(st.mean),
                })
                .unwrap_or_else(dash),
            m.peak_sent
                .as_ref()
                .map(|p| format::rate(p.mean))
                .unwrap_or_else(dash),
            m.chats_at_first_error
                .as_ref()
                .map(|p| format::count(p.mean))
                .unwrap_or_else(dash),
            m.verdict.as_str().to_string(),
            s.comparison
                .as_ref()
                .map(|c| change_phrase(c, &label).replacen(&format!(" vs {label}"), "", 1))
                .unwrap_or_else(dash),
        ]);
    }
    write!(out, "{}\n\n", r.headline)?;
    out.write_str(&format::aligned_table(&rows, |i| (1..=4).contains(&i)))?;
    if r.scenarios.len() > MAX_ROWS {
        writeln!(
            out,
            "... and {} more scenarios (see report.md)",
            r.scenarios.len() - MAX_ROWS
        )?;
    }
    for c in &r.missing {
        writeln!(out, "missing vs {label}: {}", c.id)?;
    }
    Ok(())
}
