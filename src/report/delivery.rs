//! What the report says about the end of a run: how many messages were
//! queued at the stop, whether they arrived (late), were still arriving when
//! the drain bound ended the wait, or never arrived.
//!
//! It exists so a saturated API that queues is not read as one that loses
//! messages: "17,050 messages queued at stop; all delivered within 5.7 s of
//! drain" is a finding about latency, "228 never arrived" one about loss.

use super::format;
use crate::analysis::RunAnalysis;
use crate::results::DrainEnd;
use std::fmt::Write;

/// Most scenario lines of the "Delivery after the stop" section; the rest
/// are in report.json.
const MAX_LINES: usize = 20;

/// One sentence about run `r`'s end, or `None` when there is nothing to say:
/// nothing was queued at the stop and nothing is missing, or the file
/// predates the drain record.
pub fn sentence(r: &RunAnalysis) -> Option<String> {
    let d = &r.delivery;
    let drain = d.drain.as_ref()?;
    if d.backlog_at_stop == 0 && d.undelivered_at_drain_end == 0 && r.messages_lost == 0 {
        return None;
    }
    let n = |x: u64| format::count(x as f64);
    let mut s = if d.backlog_at_stop > 0 {
        format!("{} messages queued at stop", n(d.backlog_at_stop))
    } else {
        "nothing queued at stop".to_string()
    };
    if d.undelivered_at_drain_end > 0 {
        if d.delivered_late > 0 {
            let _ = write!(s, "; {} delivered late", n(d.delivered_late));
        }
        let left = n(d.undelivered_at_drain_end);
        let _ = match drain.end {
            DrainEnd::Skipped => write!(
                s,
                "; {left} not delivered when the run was interrupted (no drain; not judged)"
            ),
            DrainEnd::Interrupted => write!(
                s,
                "; {left} not delivered when a signal ended the drain after {} (not judged)",
                format::secs(drain.drain_s)
            ),
            _ => write!(
                s,
                "; {left} not delivered by the end of the {} drain (still arriving)",
                format::interval(drain.bound_s * 1000.0)
            ),
        };
    } else if r.messages_lost > 0 {
        if d.delivered_late > 0 {
            let _ = write!(s, "; {} delivered late", n(d.delivered_late));
        }
        let _ = write!(
            s,
            "; {} never arrived (lost: no delivery for {} before the drain ended)",
            n(r.messages_lost),
            format::secs(drain.quiet_s)
        );
    } else {
        let within = drain.last_delivery_s.unwrap_or(drain.drain_s);
        let _ = write!(
            s,
            "; all delivered within {} of drain",
            format::secs(within)
        );
    }
    Some(s)
}

/// The "Delivery after the stop" section of report.md: one line per scenario
/// with a run that had something queued or missing at its end (empty when none).
pub fn section(report: &super::Report) -> String {
    let mut lines = Vec::new();
    for s in &report.scenarios {
        let said: Vec<String> = s
            .summary
            .runs
            .iter()
            .filter_map(|id| report.runs.iter().find(|r| &r.id == id))
            .filter_map(|r| sentence(r).map(|t| format!("r{}: {t}", r.repetition)))
            .collect();
        if !said.is_empty() {
            lines.push(format!(
                "- **{}**: {}",
                format::cell(&s.label, 80),
                said.join("; ")
            ));
        }
    }
    if lines.is_empty() {
        return String::new();
    }
    let mut out = String::from("### Delivery after the stop\n\n");
    for line in lines.iter().take(MAX_LINES) {
        out.push_str(line);
        out.push('\n');
    }
    if lines.len() > MAX_LINES {
        let _ = writeln!(out, "- … {} more in report.json", lines.len() - MAX_LINES);
    }
    out.push_str(
        "\n*Queued at stop: sent, not yet delivered when the stop rule held. Delivered late: \
         arrived during the drain. Still arriving: the drain bound (`stop.drain`) ended the wait \
         while deliveries kept coming: not loss. Lost: never arrived although deliveries had stopped.*\n\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::analyze_run;
    use crate::results::{DrainInfo, RunResult};

    fn run(backlog: u64, late: u64, lost: u64, undelivered: u64, end: DrainEnd) -> RunAnalysis {
        let mut r: RunResult = crate::results::tests::sample();
        r.totals.messages_sent = 20_000;
        r.totals.backlog_at_stop = backlog;
        r.totals.messages_delivered_late = late;
        r.totals.messages_lost = lost;
        r.totals.messages_undelivered_at_drain_end = undelivered;
        r.drain = Some(DrainInfo {
            end,
            drain_s: 5.75,
            bound_s: 30.0,
            quiet_s: 2.0,
            last_delivery_s: Some(5.7),
        });
        analyze_run(&r)
    }

    #[test]
    fn a_backlog_that_cleared_says_so() {
        let r = run(17_050, 17_050, 0, 0, DrainEnd::AllDelivered);
        assert_eq!(
            sentence(&r).unwrap(),
            "17,050 messages queued at stop; all delivered within 5.7 s of drain"
        );
    }

    #[test]
    fn the_bound_is_still_arriving_and_quiet_is_loss() {
        let r = run(17_050, 12_000, 0, 5_050, DrainEnd::Bound);
        let s = sentence(&r).unwrap();
        assert!(
            s.ends_with("12,000 delivered late; 5,050 not delivered by the end of the 30 s drain (still arriving)"),
            "{s}"
        );
        assert!(!s.contains("lost"), "{s}");
        let r = run(1_000, 0, 1_000, 0, DrainEnd::Quiet);
        let s = sentence(&r).unwrap();
        assert!(s.contains("1,000 never arrived (lost"), "{s}");
    }

    #[test]
    fn nothing_queued_nothing_missing_or_an_old_file_says_nothing() {
        assert_eq!(sentence(&run(0, 0, 0, 0, DrainEnd::AllDelivered)), None);
        let mut old = run(500, 0, 500, 0, DrainEnd::Quiet);
        old.delivery.drain = None;
        assert_eq!(sentence(&old), None);
    }
}
