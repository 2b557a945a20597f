//! The CloudWatch chart of a scenario: for its first run with CloudWatch data,
//! one panel per metric label with the message rate (sent/s, left axis) and
//! the server metric's statistics (right axis) over the same seconds, so a
//! rising CPU or network curve can be read against the rate's plateau.
//!
//! A series with fewer than two points over the window is not drawn (a single
//! 5-minute datapoint is no curve); the panel caption says so instead.

use super::{font, render, ChartError, ChartFile, PALETTE};
use crate::analysis::run::usable_seconds;
use crate::report::mermaid::nice_ceiling;
use crate::report::model::{Report, ScenarioReport};
use crate::results::{MetricSeries, RunResult};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Most metric panels per chart.
pub const MAX_METRIC_PANELS: usize = 6;
const WIDTH: u32 = 1100;
const PANEL_HEIGHT: u32 = 300;
const TITLE_HEIGHT: u32 = 40;

/// One panel: a metric label's statistics against the rate.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPanel {
    /// Caption: the label, and a note when a series is too sparse to draw.
    pub caption: String,
    /// `(stat, points (t_s, value))` of each statistic with at least two points.
    pub series: Vec<(String, Vec<(f64, f64)>)>,
    /// The CloudWatch period, seconds (points are drawn mid-period).
    pub period_s: f64,
}

/// A scenario's CloudWatch chart.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudWatchChart {
    /// Title above the panels.
    pub title: String,
    /// Sent per second of the run.
    pub sent: Vec<f64>,
    /// The panels (empty: nothing to draw).
    pub panels: Vec<MetricPanel>,
}

/// The chart of scenario `s`, from its first run whose result holds metrics.
pub fn cloudwatch_chart(s: &ScenarioReport, results: &[RunResult]) -> Option<CloudWatchChart> {
    let run = s.summary.runs.iter().find_map(|id| {
        results.iter().find(|r| {
            &r.scenario.id == id && r.cloudwatch.as_ref().is_some_and(|c| !c.metrics.is_empty())
        })
    })?;
    let cw = run.cloudwatch.as_ref()?;
    let mut labels: Vec<&str> = Vec::new();
    for m in &cw.metrics {
        if !labels.contains(&m.label.as_str()) {
            labels.push(&m.label);
        }
    }
    let panels = labels
        .into_iter()
        .take(MAX_METRIC_PANELS)
        .map(|label| {
            let of_label: Vec<&MetricSeries> =
                cw.metrics.iter().filter(|m| m.label == label).collect();
            let mut caption = label.to_string();
            let mut series = Vec::new();
            for m in of_label {
                let name = if m.stat.is_empty() {
                    "value"
                } else {
                    m.stat.as_str()
                };
                if m.points.len() >= 2 {
                    series.push((
                        name.to_string(),
                        m.points.iter().map(|p| (p.t_s, p.value)).collect(),
                    ));
                } else {
                    caption.push_str(&format!(
                        " · {name}: {} point{} in the window, not drawn",
                        m.points.len(),
                        if m.points.len() == 1 { "" } else { "s" }
                    ));
                }
            }
            MetricPanel {
                caption,
                series,
                period_s: f64::from(cw.period_s.max(1)),
            }
        })
        .collect();
    Some(CloudWatchChart {
        title: format!(
            "CloudWatch metrics against sent/s: {} (run r{})",
            s.label, run.scenario.repetition
        ),
        sent: usable_seconds(run).iter().map(|x| x.sent as f64).collect(),
        panels,
    })
}

impl CloudWatchChart {
    /// Pixel size.
    pub fn size(&self) -> (u32, u32) {
        (
            WIDTH,
            TITLE_HEIGHT + PANEL_HEIGHT * self.panels.len().max(1) as u32,
        )
    }

    /// Renders both formats.
    pub fn render(&self, stem: &str) -> Result<ChartFile, ChartError> {
        render(
            stem,
            &self.title,
            self.size(),
            |a| self.draw(a),
            |a| self.draw(a),
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let root = root
            .titled(&self.title, font(22))
            .map_err(|e| e.to_string())?;
        let areas = root.split_evenly((self.panels.len().max(1), 1));
        for (panel, area) in self.panels.iter().zip(&areas) {
            self.draw_panel(area, panel).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        panel: &MetricPanel,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let half = panel.period_s / 2.0;
        let xs = panel
            .series
            .iter()
            .flat_map(|(_, p)| p.iter().map(|(t, _)| t + half));
        let x_min = xs.clone().fold(0.0, f64::min).floor();
        let x_max = xs.fold(self.sent.len().max(1) as f64, f64::max).ceil();
        let y_max = nice_ceiling(self.sent.iter().copied().fold(0.0, f64::max) * 1.05);
        let top = panel
            .series
            .iter()
            .flat_map(|(_, p)| p.iter().map(|(_, v)| *v))
            .fold(0.0, f64::max);
        let y2_max = nice_ceiling(top * 1.05);
        let mut chart = ChartBuilder::on(area)
            .caption(&panel.caption, font(16))
            .margin_left(10)
            .margin_right(10)
            .margin_bottom(5)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .right_y_label_area_size(70)
            .build_cartesian_2d(x_min..x_max, 0f64..y_max)?
            .set_secondary_coord(x_min..x_max, 0f64..y2_max);
        chart
            .configure_mesh()
            .x_desc("seconds since run start")
            .y_desc("sent per second")
            .label_style(font(13))
            .axis_desc_style(font(14))
            .light_line_style(RGBColor(248, 248, 248))
            .bold_line_style(RGBColor(220, 220, 220))
            .x_label_formatter(&|v| crate::report::format::count(*v))
            .y_label_formatter(&|v| crate::report::format::count(*v))
            .draw()?;
        chart
            .configure_secondary_axes()
            .y_desc(panel.caption.split(" · ").next().unwrap_or(""))
            .label_style(font(13))
            .axis_desc_style(font(14))
            .draw()?;
        chart
            .draw_series(LineSeries::new(
                self.sent
                    .iter()
                    .enumerate()
                    .map(|(t, &v)| (t as f64 + 0.5, v)),
                PALETTE[0].stroke_width(2),
            ))?
            .label("sent/s (left axis)")
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], PALETTE[0].stroke_width(3))
            });
        for (i, (stat, points)) in panel.series.iter().enumerate() {
            let color = PALETTE[(i + 1) % PALETTE.len()];
            let at = |&(t, v): &(f64, f64)| (t + half, v);
            chart
                .draw_secondary_series(LineSeries::new(
                    points.iter().map(at),
                    color.stroke_width(3),
                ))?
                .label(format!("{stat} (right axis)"))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
                });
            chart.draw_secondary_series(
                points.iter().map(|p| Circle::new(at(p), 4, color.filled())),
            )?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(font(13))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .draw()?;
        Ok(())
    }
}

/// Charts of every scenario that has CloudWatch data.
pub fn cloudwatch_charts(
    report: &Report,
    results: &[RunResult],
) -> Result<Vec<ChartFile>, ChartError> {
    let mut out = Vec::new();
    for s in report.scenarios.iter().take(super::MAX_TIMELINE_CHARTS) {
        if let Some(chart) = cloudwatch_chart(s, results).filter(|c| !c.panels.is_empty()) {
            out.push(chart.render(&format!("cloudwatch-{}", super::file_stem(&s.summary.id)))?);
        }
    }
    Ok(out)
}
