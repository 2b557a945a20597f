//! The one sentence a reader takes away ("Capacity: 4,210 msg/s sustained at
//! smi 100 ms, −3.1% vs main (not significant)") and the short phrases for a
//! baseline comparison that the tables reuse.

use super::model::{Report, ScenarioReport};
use super::{first_failure, format};
use crate::analysis::{ChangeStatus, Comparison, Verdict};

/// The scenario the headline is about: the highest mean sustained rate over
/// valid runs; without any, the highest mean peak sent rate; else the first.
pub fn top_scenario(scenarios: &[ScenarioReport]) -> Option<&ScenarioReport> {
    let by = |f: &dyn Fn(&ScenarioReport) -> Option<f64>| {
        scenarios
            .iter()
            .filter_map(|s| f(s).map(|v| (s, v)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(s, _)| s)
    };
    by(&|s| s.summary.sustained.as_ref().map(|x| x.mean))
        .or_else(|| by(&|s| s.summary.peak_sent.as_ref().map(|x| x.mean)))
        .or(scenarios.first())
}

/// Short phrase for a comparison: `−3.1% vs main (not significant)`.
pub fn change_phrase(c: &Comparison, label: &str) -> String {
    let ch = c.change.map(format::change).unwrap_or_else(|| "n/a".into());
    let p = c.welch.as_ref().map(|w| format!("p = {:.3}", w.p_value));
    match c.status {
        ChangeStatus::New => format!("new vs {label}"),
        ChangeStatus::Missing => format!("missing vs {label}"),
        ChangeStatus::Regressed => {
            format!("{ch} vs {label} (regressed, {})", p.unwrap_or_default())
        }
        ChangeStatus::Improved => format!("{ch} vs {label} (improved, {})", p.unwrap_or_default()),
        ChangeStatus::Unchanged if c.significant == Some(true) => {
            format!("{ch} vs {label} (below the minimum change)")
        }
        ChangeStatus::Unchanged => format!("{ch} vs {label} (not significant)"),
        ChangeStatus::Inconclusive => format!("{ch} vs {label} (untested: too few valid runs)"),
    }
}

/// The headline sentence of a report.
pub fn headline(r: &Report) -> String {
    let Some(top) = top_scenario(&r.scenarios) else {
        return "No runs to report.".into();
    };
    if let Some(s) = first_failure::not_started(&r.runs) {
        return s;
    }
    let label = r
        .baseline
        .as_ref()
        .map(|b| b.label.as_str())
        .unwrap_or("baseline");
    let mut s = match &top.summary.sustained {
        Some(st) => {
            let mut s = format!(
                "Capacity: {} msg/s sustained at {}",
                format::rate(st.mean),
                top.label
            );
            if let Some(c) = &top.comparison {
                s.push_str(", ");
                s.push_str(&change_phrase(c, label));
            }
            s
        }
        None => no_capacity(r, top),
    };
    let regressed: Vec<String> = r
        .scenarios
        .iter()
        .filter(|x| !std::ptr::eq(*x, top))
        .filter_map(|x| {
            let c = x.comparison.as_ref()?;
            (c.status == ChangeStatus::Regressed).then(|| match c.change {
                Some(ch) => format!("{} ({})", x.label, format::change(ch)),
                None => x.label.clone(),
            })
        })
        .collect();
    if !regressed.is_empty() {
        let shown: Vec<&str> = regressed.iter().take(3).map(String::as_str).collect();
        let more = regressed.len() - shown.len();
        s.push_str(&format!("; regressed vs {label}: {}", shown.join("; ")));
        if more > 0 {
            s.push_str(&format!(" and {more} more"));
        }
    } else if r.baseline.is_some() && r.scenarios.len() > 1 && !r.regressed {
        s.push_str(&format!(
            "; no regression in {} scenarios",
            r.scenarios.len()
        ));
    }
    if let Some(first) = first_failure::sentence(&r.runs) {
        s.push_str(". ");
        s.push_str(&first);
    }
    s
}

fn no_capacity(r: &Report, top: &ScenarioReport) -> String {
    let count = |v: Verdict| r.runs.iter().filter(|x| x.verdict == v).count();
    let mut parts = Vec::new();
    for v in Verdict::ALL.into_iter().filter(|&v| v != Verdict::Valid) {
        let n = count(v);
        if n > 0 {
            parts.push(format!("{n} {}", v.as_str()));
        }
    }
    let mut s = format!(
        "No valid capacity measurement ({} of {} runs: {})",
        r.runs.len() - count(Verdict::Valid),
        r.runs.len(),
        parts.join(", ")
    );
    if let (Verdict::NoPlateau, Some(p)) = (top.summary.verdict, &top.summary.peak_sent) {
        s.push_str(&format!(
            "; the API took at least {} msg/s at {} without saturating",
            format::rate(p.max),
            top.label
        ));
    }
    s
}
