//! The plain-text table of all runs that `msgperf run` prints at the end.

use crate::results::RunResult;
use std::fmt::{self, Write};

/// Writes one line per run: participants, chats, peak sent/s, peak
/// delivered/s, p99 message latency and the first error.
pub fn render(out: &mut impl Write, results: &[RunResult]) -> fmt::Result {
    let header = [
        "scenario",
        "outcome",
        "participants",
        "chats",
        "peak sent/s",
        "peak delivered/s",
        "p99 ms",
        "lost",
        "backlog at stop",
        "drain",
        "first error",
    ];
    let rows: Vec<[String; 11]> = results
        .iter()
        .map(|r| {
            let peak = |f: fn(&crate::results::Second) -> u64| {
                r.timeline.iter().map(f).max().unwrap_or(0).to_string()
            };
            let part = r.split.as_ref().filter(|s| s.part > 0);
            [
                match part {
                    Some(s) => format!("{} (part {}/{})", r.scenario.id, s.part, s.parts),
                    None => r.scenario.id.clone(),
                },
                format!("{:?}", r.outcome).to_lowercase(),
                r.totals.participants.to_string(),
                r.totals.chats.to_string(),
                peak(|s| s.sent),
                peak(|s| s.delivered),
                format!("{:.1}", r.latency_ms.message.p99),
                // A part's organizers also receive the other parts' messages:
                // loss is known only once `msgperf report` merges the parts.
                match part {
                    Some(_) => "-".to_string(),
                    None => r.totals.messages_lost.to_string(),
                },
                match part {
                    Some(_) => "-".to_string(),
                    None => r.totals.backlog_at_stop.to_string(),
                },
                drain_cell(r),
                match (&r.skipped_reason, &r.first_error) {
                    (Some(why), _) => format!("skipped: {}", short(why)),
                    (None, Some(e)) => format!("{} at {:.1}s", e.kind.as_str(), e.at_s),
                    (None, None) => "-".to_string(),
                },
            ]
        })
        .collect();
    let mut table = vec![header.map(String::from)];
    table.extend(rows);
    // Text columns left, numbers right.
    out.write_str(&crate::report::format::aligned_table(&table, |i| {
        (2..9).contains(&i)
    }))?;
    if results
        .iter()
        .any(|r| r.split.as_ref().is_some_and(|s| s.part > 0))
    {
        out.write_str("split parts: loss and the whole run's rates come from `msgperf report` over every part's results\n")?;
    }
    Ok(())
}

/// How long the drain took and why it ended, e.g. `5.7s all_delivered`, with
/// what was still arriving when the bound ended it.
fn drain_cell(r: &RunResult) -> String {
    let Some(d) = &r.drain else {
        return "-".to_string();
    };
    let mut cell = format!("{:.1}s {}", d.drain_s, d.end.as_str());
    let left = r.totals.messages_undelivered_at_drain_end;
    if left > 0 {
        cell.push_str(&format!(" ({left} still arriving)"));
    }
    cell
}

/// The first line of `text`, at most 60 characters.
fn short(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(60) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{ErrorKind, FirstError, Second};

    #[test]
    fn one_aligned_line_per_run_with_peaks_and_first_error() {
        let mut r = crate::results::tests::sample();
        r.timeline = vec![
            Second {
                sent: 10,
                delivered: 7,
                ..Second::default()
            },
            Second {
                sent: 1234,
                delivered: 1200,
                ..Second::default()
            },
        ];
        r.first_error = Some(FirstError {
            at_s: 12.34,
            kind: ErrorKind::HandshakeTimeout,
            message: String::new(),
            worker: Default::default(),
            active_chats: 0,
            participants: 0,
            step: None,
            service: None,
            http_status: None,
        });
        let text = crate::report::format::text(|out| render(out, &[r.clone(), r]));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(
            lines[1].contains("1234") && lines[1].contains("1200"),
            "{text}"
        );
        assert!(lines[1].ends_with("handshake_timeout at 12.3s"), "{text}");
        // Numbers are right-aligned: the peak column ends at the same place in
        // the header and the rows.
        let end = |l: &str| l.find("peak sent/s").map(|i| i + "peak sent/s".len());
        let header_end = end(lines[0]).unwrap();
        assert_eq!(&lines[1][header_end - 4..header_end], "1234", "{text}");
    }

    #[test]
    fn backlog_and_drain_are_shown_and_still_arriving_is_not_loss() {
        let mut r = crate::results::tests::sample();
        r.totals.backlog_at_stop = 17050;
        r.totals.messages_undelivered_at_drain_end = 420;
        r.drain = Some(crate::results::DrainInfo {
            end: crate::results::DrainEnd::Bound,
            drain_s: 30.02,
            bound_s: 30.0,
            quiet_s: 2.0,
            last_delivery_s: Some(30.0),
        });
        let text = crate::report::format::text(|out| render(out, &[r]));
        let cells: Vec<&str> = text
            .lines()
            .nth(1)
            .unwrap()
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        assert_eq!(
            cells[7..10],
            ["0", "17050", "30.0s bound (420 still arriving)"],
            "{text}"
        );
    }
}
