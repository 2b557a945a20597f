//! What a baseline contributes to a comparison — the sustained rates of each
//! scenario's valid runs — extracted from either a previous report.json or
//! raw result files. Pure: the command layer reads the files.

use super::model::{Report, REPORT_SCHEMA};
use crate::analysis::{self, BaselineScenario};
use crate::results::RunResult;
use serde::Deserialize;

/// The baseline scenarios of a set of result files (analysed the same way as
/// the current runs).
pub fn from_results(runs: &[RunResult]) -> Vec<BaselineScenario> {
    analysis::analyze(runs)
        .scenarios
        .iter()
        .map(BaselineScenario::from)
        .collect()
}

/// The baseline scenarios of a report.json's text; the error says why the
/// text is not a usable report.
pub fn from_report_json(text: &str) -> Result<Vec<BaselineScenario>, String> {
    #[derive(Deserialize)]
    struct Probe {
        schema: Option<u32>,
        scenarios: Option<serde_json::Value>,
    }
    let probe: Probe = serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
    match (probe.schema, probe.scenarios.is_some()) {
        (Some(s), true) if s > REPORT_SCHEMA => {
            return Err(format!(
                "report schema {s} is newer than this msgperf understands ({REPORT_SCHEMA}); upgrade msgperf"
            ))
        }
        (Some(_), true) => {}
        _ => return Err("not a msgperf report.json (no schema and scenarios)".into()),
    }
    let report: Report =
        serde_json::from_str(text).map_err(|e| format!("damaged report.json ({e})"))?;
    Ok(report
        .scenarios
        .iter()
        .map(|s| BaselineScenario::from(&s.summary))
        .collect())
}
