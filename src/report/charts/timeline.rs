//! The rate timeline of a scenario, one panel per run like the published
//! graphs: sent/s and delivered/s on the left axis, active chats on the right
//! axis, the plateau shaded with its sustained rate, the first error
//! marked, and the drain after the stop shaded (sends end there by design).

use super::{font, render, ChartError, ChartFile, PALETTE};
use crate::analysis::run::usable_seconds;
use crate::report::mermaid::nice_ceiling;
use crate::report::model::{Report, ScenarioReport};
use crate::results::RunResult;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Most runs drawn per scenario (one panel each).
pub const MAX_PANELS: usize = 6;
const WIDTH: u32 = 1100;
const PANEL_HEIGHT: u32 = 330;
const TITLE_HEIGHT: u32 = 40;
const LEGEND_HEIGHT: u32 = 26;

const SENT: RGBColor = PALETTE[0];
const DELIVERED: RGBColor = PALETTE[2];
const CHATS: RGBColor = PALETTE[4];
const ERROR: RGBColor = PALETTE[1];
const BAND: RGBAColor = RGBAColor(0, 0, 0, 0.07);
const DRAIN: RGBAColor = RGBAColor(245, 158, 11, 0.16);

/// One run's series.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSeries {
    /// Panel caption, e.g. `r2 · valid · sustained 4,210 msg/s`.
    pub caption: String,
    /// Sent per second.
    pub sent: Vec<f64>,
    /// Delivered per second.
    pub delivered: Vec<f64>,
    /// Active chats at the end of each second.
    pub chats: Vec<f64>,
    /// Plateau `(start_s, end_s, sustained rate)`.
    pub plateau: Option<(u32, u32, f64)>,
    /// First error, seconds since start.
    pub first_error_s: Option<f64>,
    /// The stop, seconds since start, when the drain after it is drawn
    /// (shaded); `None` for files without a drain record, drawn to the stop.
    pub drain_from_s: Option<f64>,
}

/// A scenario's timeline chart.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineChart {
    /// Title above the panels.
    pub title: String,
    /// One entry per run (at most [`MAX_PANELS`]).
    pub runs: Vec<RunSeries>,
}

/// Collects the timeline chart of scenario `s` from the runs' result files.
pub fn timeline_chart(report: &Report, s: &ScenarioReport, results: &[RunResult]) -> TimelineChart {
    let runs = s
        .summary
        .runs
        .iter()
        .take(MAX_PANELS)
        .filter_map(|id| {
            let a = report.runs.iter().find(|r| &r.id == id)?;
            let r = results.iter().find(|r| &r.scenario.id == id)?;
            // With a drain record the drain seconds are drawn (and shaded), so
            // the sent line falling to zero reads as the stop, not a failure.
            let (secs, drain_from_s) = match &r.drain {
                Some(_) => (&r.timeline[..], Some(r.duration_s)),
                None => (usable_seconds(r), None),
            };
            let col = |f: &dyn Fn(&crate::results::Second) -> u64| -> Vec<f64> {
                secs.iter().map(|x| f(x) as f64).collect()
            };
            let mut caption = format!("r{} · {}", a.repetition, a.verdict.as_str());
            if let Some(v) = a.sustained_rate {
                caption.push_str(&format!(
                    " · sustained {} {}/s",
                    crate::report::format::rate(v),
                    a.rate_basis.as_str()
                ));
            }
            Some(RunSeries {
                caption,
                sent: col(&|x| x.sent),
                delivered: col(&|x| x.delivered),
                chats: col(&|x| x.active_chats),
                plateau: a
                    .plateau
                    .as_ref()
                    .zip(a.sustained_rate)
                    .map(|(p, v)| (p.start_s, p.end_s, v)),
                first_error_s: a.first_error.as_ref().map(|e| e.at_s),
                drain_from_s,
            })
        })
        .collect();
    TimelineChart {
        title: format!("Messages per second and active chats: {}", s.label),
        runs,
    }
}

impl TimelineChart {
    /// Pixel size of the PNG (and the SVG's viewport).
    pub fn size(&self) -> (u32, u32) {
        (
            WIDTH,
            TITLE_HEIGHT + LEGEND_HEIGHT + PANEL_HEIGHT * self.runs.len().max(1) as u32,
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
        let (key, root) = root.split_vertically(LEGEND_HEIGHT);
        legend(&key).map_err(|e| e.to_string())?;
        let panels = root.split_evenly((self.runs.len().max(1), 1));
        for (run, area) in self.runs.iter().zip(&panels) {
            draw_panel(area, run).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// One legend for all panels, in a strip under the title, so it hides no data.
fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let entries: [(&str, ShapeStyle, bool); 7] = [
        ("sent/s", SENT.stroke_width(3), false),
        ("delivered/s", DELIVERED.stroke_width(5), false),
        ("active chats (right axis)", CHATS.stroke_width(3), false),
        ("plateau", BAND.filled(), true),
        ("sustained rate (dashed)", BLACK.stroke_width(1), false),
        ("first error", ERROR.stroke_width(3), false),
        ("drain", DRAIN.filled(), true),
    ];
    let mut x = 90;
    for (name, style, boxed) in entries {
        if boxed {
            area.draw(&Rectangle::new([(x, 6), (x + 24, 20)], style))?;
        } else {
            area.draw(&PathElement::new(vec![(x, 13), (x + 24, 13)], style))?;
        }
        area.draw(&Text::new(name, (x + 30, 5), font(14)))?;
        x += 30 + 7 * name.chars().count() as i32 + 22;
    }
    Ok(())
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    run: &RunSeries,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let n = run.sent.len().max(1) as f64;
    let top = run
        .sent
        .iter()
        .chain(&run.delivered)
        .copied()
        .fold(0.0, f64::max);
    let y_max = nice_ceiling(top * 1.05);
    let y2_max = nice_ceiling(run.chats.iter().copied().fold(0.0, f64::max) * 1.05);
    let mut chart = ChartBuilder::on(area)
        .caption(&run.caption, font(16))
        .margin_left(10)
        .margin_right(10)
        .margin_bottom(5)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .right_y_label_area_size(70)
        .build_cartesian_2d(0f64..n, 0f64..y_max)?
        .set_secondary_coord(0f64..n, 0f64..y2_max);
    chart
        .configure_mesh()
        .x_desc("seconds since start")
        .y_desc("messages per second")
        .label_style(font(13))
        .axis_desc_style(font(14))
        .light_line_style(RGBColor(248, 248, 248))
        .bold_line_style(RGBColor(220, 220, 220))
        .x_label_formatter(&|v| crate::report::format::count(*v))
        .y_label_formatter(&|v| crate::report::format::count(*v))
        .draw()?;
    chart
        .configure_secondary_axes()
        .y_desc("active chats")
        .label_style(font(13))
        .axis_desc_style(font(14))
        .y_label_formatter(&|v| crate::report::format::count(*v))
        .draw()?;
    if let Some((a, b, level)) = run.plateau {
        let (a, b) = (f64::from(a), f64::from(b));
        chart.draw_series(std::iter::once(Rectangle::new(
            [(a, 0.0), (b, y_max)],
            BAND.filled(),
        )))?;
        chart.draw_series(DashedLineSeries::new(
            vec![(a, level), (b, level)],
            8,
            5,
            BLACK.stroke_width(1),
        ))?;
    }
    if let Some(from) = run.drain_from_s.filter(|&f| f < n) {
        chart.draw_series(std::iter::once(Rectangle::new(
            [(from, 0.0), (n, y_max)],
            DRAIN.filled(),
        )))?;
    }
    let line = |xs: &[f64]| -> Vec<(f64, f64)> {
        xs.iter()
            .enumerate()
            .map(|(t, &v)| (t as f64 + 0.5, v))
            .collect()
    };
    chart.draw_secondary_series(LineSeries::new(line(&run.chats), CHATS.stroke_width(2)))?;
    // Delivered first and wide, sent on top and narrow: both stay visible
    // where they coincide (the normal case below saturation).
    chart.draw_series(LineSeries::new(
        line(&run.delivered),
        DELIVERED.stroke_width(5),
    ))?;
    chart.draw_series(LineSeries::new(line(&run.sent), SENT.stroke_width(2)))?;
    if let Some(e) = run.first_error_s {
        chart.draw_series(LineSeries::new(
            vec![(e, 0.0), (e, y_max)],
            ERROR.stroke_width(2),
        ))?;
    }
    Ok(())
}
