//! The A/B chart (`charts/ab-ratios.svg`): each pair's candidate / base
//! ratio of the sustained rate as a dot, the geometric mean as a line, its
//! confidence interval as a band, and 1.0 (no change) for reference.

use super::{font, render, ChartError, ChartFile, PALETTE};
use crate::report::ab::AbReport;
use plotters::coord::Shift;
use plotters::prelude::*;

/// File stem of the chart.
pub const STEM: &str = "ab-ratios";

/// One dot: its position, pair label and ratio.
struct Dot {
    label: String,
    ratio: f64,
}

/// Renders the chart, or `None` when no pair counts.
pub fn ab_chart(ab: &AbReport) -> Result<Option<ChartFile>, ChartError> {
    let dots: Vec<Dot> = ab
        .paired
        .groups
        .iter()
        .flat_map(|g| {
            let many = ab.paired.groups.len() > 1;
            g.sustained.pairs.iter().map(move |p| Dot {
                label: if many {
                    format!("{} p{}", g.group, p.pair)
                } else {
                    format!("pair {}", p.pair)
                },
                ratio: p.ratio,
            })
        })
        .collect();
    if dots.is_empty() {
        return Ok(None);
    }
    let m = &ab.paired.overall;
    let band = (m.ci_low, m.ci_high, m.ratio);
    let title = "candidate / base sustained rate per pair";
    render(
        STEM,
        title,
        (1000, 480),
        |a| draw(a, &dots, band),
        |a| draw(a, &dots, band),
    )
    .map(Some)
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    dots: &[Dot],
    (lo, hi, mean): (Option<f64>, Option<f64>, Option<f64>),
) -> Result<(), String> {
    let values = dots
        .iter()
        .map(|d| d.ratio)
        .chain([1.0])
        .chain(lo)
        .chain(hi);
    let (min, max) = values.fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    let pad = ((max - min) * 0.15).max(0.02);
    let n = dots.len() as f64;
    let mut chart = ChartBuilder::on(root)
        .caption(
            "candidate / base sustained rate per pair (band: CI of the geometric mean)",
            font(18),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.5f64..n + 0.5, (min - pad)..(max + pad))
        .map_err(|e| e.to_string())?;
    let labels: Vec<String> = dots.iter().map(|d| d.label.clone()).collect();
    chart
        .configure_mesh()
        .y_desc("ratio")
        .label_style(font(13))
        .axis_desc_style(font(14))
        .light_line_style(RGBColor(248, 248, 248))
        .x_labels(dots.len().min(20))
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() > 0.01 || i < 1.0 {
                return String::new();
            }
            labels.get(i as usize - 1).cloned().unwrap_or_default()
        })
        .draw()
        .map_err(|e| e.to_string())?;
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    if let (Some(lo), Some(hi)) = (lo, hi) {
        let fill = RGBColor(0, 114, 178).mix(0.15).filled();
        chart
            .draw_series([Rectangle::new([(0.5, lo), (n + 0.5, hi)], fill)])
            .map_err(err)?
            .label("CI")
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], fill));
    }
    if let Some(g) = mean {
        chart
            .draw_series([PathElement::new(
                vec![(0.5, g), (n + 0.5, g)],
                PALETTE[0].stroke_width(2),
            )])
            .map_err(err)?
            .label("geometric mean")
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], PALETTE[0].stroke_width(2))
            });
    }
    let grey = RGBColor(120, 120, 120);
    chart
        .draw_series([PathElement::new(
            vec![(0.5, 1.0), (n + 0.5, 1.0)],
            grey.stroke_width(1),
        )])
        .map_err(err)?
        .label("1.0 = no change")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], grey.stroke_width(1)));
    chart
        .draw_series(
            dots.iter()
                .enumerate()
                .map(|(i, d)| Circle::new((i as f64 + 1.0, d.ratio), 6, PALETTE[1].filled())),
        )
        .map_err(err)?
        .label("pair ratio")
        .legend(|(x, y)| Circle::new((x + 10, y), 5, PALETTE[1].filled()));
    chart
        .configure_series_labels()
        .label_font(font(13))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(())
}
