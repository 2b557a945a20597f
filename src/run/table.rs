//! The plain-text table of all runs that `msgperf run` prints at the end.

use crate::results::RunResult;

/// One line per run: participants, chats, peak sent/s, peak delivered/s, p99
/// message latency and the first error.
pub fn render(results: &[RunResult]) -> String {
    let header = [
        "scenario",
        "outcome",
        "participants",
        "chats",
        "peak sent/s",
        "peak delivered/s",
        "p99 ms",
        "lost",
        "first error",
    ];
    let rows: Vec<[String; 9]> = results
        .iter()
        .map(|r| {
            let peak = |f: fn(&crate::results::Second) -> u64| {
                r.timeline.iter().map(f).max().unwrap_or(0).to_string()
            };
            [
                r.scenario.id.clone(),
                format!("{:?}", r.outcome).to_lowercase(),
                r.totals.participants.to_string(),
                r.totals.chats.to_string(),
                peak(|s| s.sent),
                peak(|s| s.delivered),
                format!("{:.1}", r.latency_ms.message.p99),
                r.totals.messages_lost.to_string(),
                r.first_error.as_ref().map_or_else(
                    || "-".to_string(),
                    |e| format!("{} at {:.1}s", e.kind.as_str(), e.at_s),
                ),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (c, w))| {
                // Text columns left, numbers right.
                if i < 2 || i == 8 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(&header.map(String::from));
    line(&widths.map(|w| "-".repeat(w)));
    for row in &rows {
        line(row);
    }
    out
}
