//! The published analysis as a scatter plot: per run, the peak sent rate
//! against the active chats at the first error (a handshake timeout in the
//! published runs), coloured by send message interval. Filled circles are
//! runs whose first error was a handshake timeout, triangles other first
//! errors; hollow marks are runs that did not measure the API (generator-bound,
//! inconclusive, interrupted).

use super::{font, render, ChartError, ChartFile, PALETTE};
use crate::report::format;
use crate::report::mermaid::nice_ceiling;
use crate::report::model::Report;
use crate::results::ErrorKind;
use plotters::coord::Shift;
use plotters::prelude::*;

const SIZE: (u32, u32) = (1000, 650);

/// Renders `charts/published.{svg,png}`.
pub fn published_chart(report: &Report) -> Result<ChartFile, ChartError> {
    let title = "Peak sent rate vs active chats at the first error";
    render(
        "published",
        title,
        SIZE,
        |a| draw(a, report),
        |a| draw(a, report),
    )
}

fn smi_values(report: &Report) -> Vec<f64> {
    let mut v: Vec<f64> = report.published.iter().map(|p| p.smi_ms).collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v.dedup();
    v
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, report: &Report) -> Result<(), String> {
    inner(root, report).map_err(|e| e.to_string())
}

fn inner<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    report: &Report,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let pts = &report.published;
    let x_max = nice_ceiling(
        pts.iter()
            .map(|p| p.active_chats as f64)
            .fold(0.0, f64::max)
            * 1.1,
    );
    let y_max = nice_ceiling(pts.iter().map(|p| p.peak_sent).fold(0.0, f64::max) * 1.1);
    let mut chart = ChartBuilder::on(root)
        .caption(
            "Peak sent rate vs active chats at the first error (one point per run)",
            font(20),
        )
        .margin(15)
        .margin_right(40)
        .x_label_area_size(45)
        .y_label_area_size(75)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)?;
    chart
        .configure_mesh()
        .x_desc("active chats at the first error")
        .y_desc("peak messages sent per second")
        .label_style(font(13))
        .axis_desc_style(font(15))
        .light_line_style(RGBColor(248, 248, 248))
        .bold_line_style(RGBColor(215, 215, 215))
        .x_label_formatter(&|v| format::count(*v))
        .y_label_formatter(&|v| format::count(*v))
        .draw()?;
    for (i, smi) in smi_values(report).into_iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let group: Vec<_> = pts.iter().filter(|p| p.smi_ms == smi).collect();
        chart
            .draw_series(group.iter().map(|p| {
                let at = (p.active_chats as f64, p.peak_sent);
                let style = if p.verdict.measured_api() {
                    colour.filled()
                } else {
                    colour.stroke_width(2)
                };
                if p.error_kind == ErrorKind::HandshakeTimeout {
                    Circle::new(at, 6, style).into_dyn()
                } else {
                    TriangleMarker::new(at, 8, style).into_dyn()
                }
            }))?
            .label(format!("smi {}", format::interval(smi)))
            .legend(move |(x, y)| Circle::new((x + 10, y), 6, colour.filled()));
    }
    let grey = RGBColor(110, 110, 110);
    if pts
        .iter()
        .any(|p| p.error_kind != ErrorKind::HandshakeTimeout)
    {
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
            .label("first error other than a handshake timeout")
            .legend(move |(x, y)| TriangleMarker::new((x + 10, y), 8, grey.filled()));
    }
    if pts.iter().any(|p| !p.verdict.measured_api()) {
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
            .label("hollow: run not counted (e.g. generator-bound)")
            .legend(move |(x, y)| Circle::new((x + 10, y), 6, grey.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(190, 190, 190))
        .label_font(font(14))
        .draw()?;
    Ok(())
}
