//! The rate timeline as a Mermaid `xychart-beta` block: GitHub renders it in
//! PR comments and job summaries, where image files from an artifact cannot
//! be shown. Two lines (sent/s, delivered/s) with fixed colours named in the
//! caption, since xychart has no legend.

use super::format;
use super::model::TimelineSample;
use std::fmt::{self, Write};

/// Colour of the sent/s line.
pub const SENT_COLOUR: &str = "#2563eb";
/// Colour of the delivered/s line.
pub const DELIVERED_COLOUR: &str = "#16a34a";

/// Writes a fenced ```` ```mermaid ```` block plus a one-line caption.
pub fn timeline_block(s: &mut impl Write, t: &TimelineSample) -> fmt::Result {
    let top = t
        .sent
        .iter()
        .chain(&t.delivered)
        .copied()
        .fold(0.0, f64::max);
    let y_max = nice_ceiling(top);
    let series = |xs: &[f64]| {
        xs.iter()
            .map(|x| format!("{:.0}", x))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let title =
        format!("Messages per second, {} ({})", t.label, short_run(&t.run)).replace('"', "'");
    s.write_str("```mermaid\n---\nconfig:\n  themeVariables:\n    xyChart:\n")?;
    writeln!(
        s,
        "      plotColorPalette: \"{SENT_COLOUR}, {DELIVERED_COLOUR}\""
    )?;
    s.write_str("---\nxychart-beta\n")?;
    writeln!(s, "    title \"{title}\"")?;
    writeln!(
        s,
        "    x-axis \"seconds since start\" 0 --> {}",
        t.duration_s
    )?;
    writeln!(s, "    y-axis \"msg/s\" 0 --> {y_max:.0}")?;
    writeln!(s, "    line [{}]", series(&t.sent))?;
    writeln!(s, "    line [{}]", series(&t.delivered))?;
    s.write_str("```\n\n")?;
    write!(
        s,
        "*Blue: sent/s, green: delivered/s ({}-second means of run `{}`)",
        t.step_s, t.run
    )?;
    if let Some(p) = t.plateau_start_s {
        write!(s, "; plateau from {p} s")?;
    }
    if let Some(e) = t.first_error_s {
        write!(s, "; first error at {}", format::secs(e))?;
    }
    if let Some(after) = &t.after_stop {
        write!(s, "; the chart ends at the stop: {after}")?;
    }
    s.write_str(".*\n")
}

fn short_run(id: &str) -> &str {
    id.rsplit('-').next().unwrap_or(id)
}

/// The smallest 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10^k at or above `x` (at least 10).
pub fn nice_ceiling(x: f64) -> f64 {
    if x.is_nan() || x <= 10.0 {
        return 10.0;
    }
    let mag = 10f64.powf(x.log10().floor());
    [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|&c| c >= x)
        .unwrap_or(10.0 * mag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_is_a_valid_xychart() {
        let t = TimelineSample {
            run: "sci10ms-cpi20ms-smi100ms-r2".into(),
            label: "smi 100 ms".into(),
            step_s: 2,
            duration_s: 6,
            sent: vec![0.0, 1500.4, 4210.0],
            delivered: vec![0.0, 1490.0, 4200.0],
            plateau_start_s: Some(4),
            first_error_s: Some(5.5),
            after_stop: Some("all delivered within 5.7 s of drain".into()),
        };
        let mut b = String::new();
        timeline_block(&mut b, &t).unwrap();
        assert!(b.starts_with("```mermaid\n---\n"));
        assert!(b.contains("\nxychart-beta\n"));
        assert!(b.contains("x-axis \"seconds since start\" 0 --> 6"));
        assert!(b.contains("y-axis \"msg/s\" 0 --> 5000"));
        assert!(b.contains("line [0, 1500, 4210]"));
        assert!(b.contains("title \"Messages per second, smi 100 ms (r2)\""));
        assert!(b.contains("; the chart ends at the stop: all delivered within 5.7 s of drain.*"));
        assert_eq!(nice_ceiling(4210.0), 5000.0);
        assert_eq!(nice_ceiling(1900.0), 2000.0);
        assert_eq!(nice_ceiling(2100.0), 2500.0);
    }
}
