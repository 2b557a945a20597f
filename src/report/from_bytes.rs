//! What `msgperf report` does with one file of arbitrary bytes, without the
//! file system: read it as a result file (and as a baseline report.json),
//! analyse it, compare it with itself as the baseline, and render every
//! output. The entry point of the fuzz target `report` and of the corpus
//! replay test.

use std::path::Path;

use super::{baseline, charts, format, history, html, markdown, model, terminal};
use crate::analysis;
use crate::matrix::Gate;
use crate::results::RunResult;

/// Every output `msgperf report` would write for `data` as its only result
/// file, or why it would refuse it. Never panics, whatever the bytes.
///
/// The fuzz target `report` (fuzz/) and the corpus replay test
/// (`tests/it/fuzz_corpus.rs`) call it: keep it public.
pub fn report_from_bytes(data: &[u8]) -> Result<String, String> {
    // `--baseline FILE` reads a report.json first, whatever the file holds.
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = baseline::from_report_json(text);
    }
    let run = RunResult::from_slice(data, Path::new("fuzz.json")).map_err(|e| e.to_string())?;
    let results = if run.split.is_some() {
        vec![analysis::merge::merge_parts(vec![run])]
    } else {
        vec![run]
    };
    let base = model::BaselineInput {
        label: "baseline".into(),
        source: "fuzz.json".into(),
        scenarios: baseline::from_results(&results),
    };
    let report = model::build(
        &results,
        analysis::analyze(&results),
        Some(&base),
        &Gate::default(),
        "2026-01-01T00:00:00Z",
        vec!["fuzz.json".into()],
    );
    let chart_files = charts::render_all(&report, &results).map_err(|e| e.to_string())?;
    let mut out = format::text(|o| markdown::render(o, &report));
    out.push_str(&format::text(|o| {
        html::render(o, &report, &chart_files, None)
    }));
    out.push_str(&format::text(|o| terminal::summary_table(o, &report)));
    out.push_str(&history::to_json_line(&history::line(&report, None, None)));
    out.push_str(&serde_json::to_string(&report).map_err(|e| e.to_string())?);
    Ok(out)
}
