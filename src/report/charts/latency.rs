//! Latency percentiles per scenario as a dot plot on a log axis: one row per
//! scenario, p50, p90 and p99 marked and joined, in two panels — message
//! latency (participant send → organizer receive) and WebSocket handshake.
//! Values are means over the runs that measured the API.

use super::{font, render, ChartError, ChartFile, PALETTE};
use crate::analysis::RunAnalysis;
use crate::report::format;
use crate::report::model::Report;
use crate::results::Percentiles;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Most scenarios drawn (rows), in report order.
pub const MAX_ROWS: usize = 40;
const ROW_HEIGHT: u32 = 30;
const LEGEND_HEIGHT: u32 = 28;
/// Colours of p50, p90, p99.
const COLOURS: [RGBColor; 3] = [PALETTE[2], PALETTE[0], PALETTE[1]];
const NAMES: [&str; 3] = ["p50", "p90", "p99"];

/// One row: a scenario's label and its mean percentiles per panel.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyRow {
    /// Scenario label.
    pub label: String,
    /// Message latency `[p50, p90, p99]`, ms.
    pub message: Option<[f64; 3]>,
    /// Handshake latency `[p50, p90, p99]`, ms.
    pub handshake: Option<[f64; 3]>,
}

/// The rows of the latency chart.
pub fn latency_rows(report: &Report) -> Vec<LatencyRow> {
    report
        .scenarios
        .iter()
        .take(MAX_ROWS)
        .map(|s| {
            let runs: Vec<&RunAnalysis> = report
                .runs
                .iter()
                .filter(|r| r.group == s.summary.id)
                .collect();
            let counted: Vec<&RunAnalysis> = runs
                .iter()
                .copied()
                .filter(|r| r.verdict.measured_api())
                .collect();
            let use_runs = if counted.is_empty() { runs } else { counted };
            LatencyRow {
                label: s.label.clone(),
                message: mean_percentiles(use_runs.iter().map(|r| &r.latency_ms.message)),
                handshake: mean_percentiles(use_runs.iter().map(|r| &r.latency_ms.handshake)),
            }
        })
        .collect()
}

fn mean_percentiles<'a>(ps: impl Iterator<Item = &'a Percentiles>) -> Option<[f64; 3]> {
    let ps: Vec<&Percentiles> = ps.filter(|p| p.count > 0).collect();
    if ps.is_empty() {
        return None;
    }
    let m =
        |f: &dyn Fn(&Percentiles) -> f64| ps.iter().map(|p| f(p)).sum::<f64>() / ps.len() as f64;
    Some([m(&|p| p.p50), m(&|p| p.p90), m(&|p| p.p99)])
}

/// Renders `charts/latency.{svg,png}`; `None` when no run has latencies.
pub fn latency_chart(report: &Report) -> Result<Option<ChartFile>, ChartError> {
    let rows = latency_rows(report);
    if rows
        .iter()
        .all(|r| r.message.is_none() && r.handshake.is_none())
    {
        return Ok(None);
    }
    let size = (1200, 150 + LEGEND_HEIGHT + ROW_HEIGHT * rows.len() as u32);
    let title = "Latency percentiles per scenario";
    render(
        "latency",
        title,
        size,
        |a| draw(a, &rows),
        |a| draw(a, &rows),
    )
    .map(Some)
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    rows: &[LatencyRow],
) -> Result<(), String> {
    let root = root
        .titled("Latency percentiles per scenario (ms, log scale)", font(20))
        .map_err(|e| e.to_string())?;
    let (key, root) = root.split_vertically(LEGEND_HEIGHT);
    legend(&key).map_err(|e| e.to_string())?;
    let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
    panel(&left, rows, "message: send → organizer receive", |r| {
        r.message
    })
    .map_err(|e| e.to_string())?;
    panel(&right, rows, "WebSocket handshake", |r| r.handshake).map_err(|e| e.to_string())?;
    Ok(())
}

/// One legend for both panels, in a strip under the title, so it never hides a mark.
fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let x0 = area.dim_in_pixel().0 as i32 / 2 - 150;
    for (k, (colour, name)) in COLOURS.into_iter().zip(NAMES).enumerate() {
        let x = x0 + 100 * k as i32;
        area.draw(&Circle::new((x, 12), 6, colour.filled()))?;
        area.draw(&Text::new(name, (x + 12, 4), font(14)))?;
    }
    let x = x0 + 300;
    area.draw(&PathElement::new(
        vec![(x, 12), (x + 20, 12)],
        RGBColor(150, 150, 150).stroke_width(2),
    ))?;
    area.draw(&Text::new("p50 to p99", (x + 26, 4), font(14)))?;
    Ok(())
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    rows: &[LatencyRow],
    caption: &str,
    pick: impl Fn(&LatencyRow) -> Option<[f64; 3]>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let values: Vec<f64> = rows
        .iter()
        .filter_map(&pick)
        .flatten()
        .filter(|v| *v > 0.0)
        .collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(0.0, f64::max);
    let (lo, hi) = if values.is_empty() {
        (0.1, 10.0)
    } else {
        ((lo / 2.0).max(0.01), hi * 2.0)
    };
    let n = rows.len();
    let label_width = rows
        .iter()
        .map(|r| r.label.chars().count())
        .max()
        .unwrap_or(4) as u32
        * 8
        + 10;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, font(16))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(label_width.clamp(60, 260))
        .build_cartesian_2d((lo..hi).log_scale(), -0.5f64..n as f64 - 0.5)?;
    let labels: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
    chart
        .configure_mesh()
        .x_desc("milliseconds")
        .label_style(font(13))
        .axis_desc_style(font(14))
        .light_line_style(RGBColor(248, 248, 248))
        .bold_line_style(RGBColor(215, 215, 215))
        .y_labels(n.max(1))
        .y_label_formatter(&|y| {
            let i = y.round();
            if (y - i).abs() > 0.01 || i < 0.0 {
                return String::new();
            }
            labels
                .get(n.saturating_sub(1 + i as usize))
                .cloned()
                .unwrap_or_default()
        })
        .x_label_formatter(&|v| format::num(*v, if *v < 10.0 { 1 } else { 0 }))
        .draw()?;
    let y_of = |i: usize| (n - 1 - i) as f64;
    chart.draw_series(rows.iter().enumerate().filter_map(|(i, r)| {
        let [a, _, c] = pick(r)?;
        Some(PathElement::new(
            vec![(a.max(lo), y_of(i)), (c.max(lo), y_of(i))],
            RGBColor(150, 150, 150).stroke_width(2),
        ))
    }))?;
    for (k, colour) in COLOURS.into_iter().enumerate() {
        chart.draw_series(rows.iter().enumerate().filter_map(|(i, r)| {
            let v = pick(r)?[k];
            Some(Circle::new((v.max(lo), y_of(i)), 6, colour.filled()))
        }))?;
    }
    Ok(())
}
