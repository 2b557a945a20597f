//! Charts as files (charts/*.svg and *.png): per scenario the rate timeline
//! with active chats on a second axis (like the published graphs), the
//! published analysis scatter, latency percentiles, and CloudWatch metrics
//! against the message rate, and an A/B job's per-pair ratios.
//!
//! Drawn with plotters without default features: the SVG and bitmap backends
//! and ab_glyph text with the DejaVu Sans font embedded in the binary, so no
//! system fonts or C libraries are needed on a CI runner. PNGs are encoded with
//! the pure-Rust `png` crate. Every function here renders to memory; writing
//! the files is the command layer's job.

mod ab;
mod cloudwatch;
mod latency;
mod scatter;
mod timeline;

pub use ab::ab_chart;
pub use cloudwatch::{cloudwatch_chart, cloudwatch_charts, CloudWatchChart, MetricPanel};
pub use latency::latency_chart;
pub use scatter::published_chart;
pub use timeline::{timeline_chart, RunSeries, TimelineChart, MAX_PANELS};

use super::model::Report;
use crate::results::RunResult;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::sync::Once;

/// The embedded font (DejaVu Sans, see `assets/fonts/LICENSE-DejaVu.txt`).
pub const FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
/// Font family name the charts use; [`FONT`] is registered under it.
pub const FAMILY: &str = "sans-serif";
/// Most scenarios that get their own timeline chart (the rest are in report.json only).
pub const MAX_TIMELINE_CHARTS: usize = 40;

/// A chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("could not draw chart {chart}: {message}")]
pub struct ChartError {
    /// Which chart.
    pub chart: String,
    /// What plotters or the PNG encoder said.
    pub message: String,
}

/// One chart in both formats.
#[derive(Debug, Clone)]
pub struct ChartFile {
    /// File stem, e.g. `rate-sci10ms-cpi20ms-smi100ms` (write `<stem>.svg`/`.png`).
    pub stem: String,
    /// What it shows, for people.
    pub title: String,
    /// The SVG document.
    pub svg: String,
    /// The PNG file's bytes.
    pub png: Vec<u8>,
}

/// Registers [`FONT`] with plotters once per process.
pub fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is a known-good TTF compiled in; failure would be a build defect.
        if plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_err() {
            panic!("embedded DejaVu Sans font is not a valid TrueType font");
        }
    });
}

/// Renders chart `stem` ("what it shows": `title`) to an SVG string and a
/// PNG of `size` pixels; `svg` and `bitmap` are the same generic drawing
/// function instantiated per backend.
pub(crate) fn render<F, G>(
    stem: &str,
    title: &str,
    size: (u32, u32),
    svg: F,
    bitmap: G,
) -> Result<ChartFile, ChartError>
where
    F: Fn(&DrawingArea<SVGBackend, Shift>) -> Result<(), String>,
    G: Fn(&DrawingArea<BitMapBackend, Shift>) -> Result<(), String>,
{
    register_font();
    let err = |message: String| ChartError {
        chart: stem.to_string(),
        message,
    };
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        svg(&root).map_err(err)?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        bitmap(&root).map_err(err)?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    let png = encode_png(&rgb, size).map_err(err)?;
    Ok(ChartFile {
        stem: stem.to_string(),
        title: title.to_string(),
        svg: text,
        png,
    })
}

/// Encodes 8-bit RGB pixels as a PNG.
pub fn encode_png(rgb: &[u8], (w, h): (u32, u32)) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(rgb).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

/// A text style in the embedded font.
pub(crate) fn font(size: u32) -> TextStyle<'static> {
    (FAMILY, f64::from(size)).into_font().into()
}

/// A file-name-safe version of a scenario id.
pub fn file_stem(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Every chart of a report: one timeline per scenario (at most
/// [`MAX_TIMELINE_CHARTS`]), the published analysis and the latency chart.
pub fn render_all(report: &Report, results: &[RunResult]) -> Result<Vec<ChartFile>, ChartError> {
    let mut out = Vec::new();
    for s in report.scenarios.iter().take(MAX_TIMELINE_CHARTS) {
        let chart = timeline_chart(report, s, results);
        if chart.runs.is_empty() {
            continue;
        }
        out.push(chart.render(&format!("rate-{}", file_stem(&s.summary.id)))?);
    }
    out.extend(cloudwatch_charts(report, results)?);
    if !report.published.is_empty() {
        out.push(published_chart(report)?);
    }
    if let Some(l) = latency_chart(report)? {
        out.push(l);
    }
    if let Some(c) = report.ab.as_ref().map(ab_chart).transpose()?.flatten() {
        out.push(c);
    }
    Ok(out)
}

/// Distinct, colour-blind-friendly series colours (Okabe–Ito).
pub(crate) const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
];
