//! The nightly's bookkeeping, so a slow decline never ratchets the baseline
//! down: which baseline a report compared against (artifact, run, commit,
//! date), what tonight means for the tracking issue, and the issue's body
//! with the trend since the last good night.
//!
//! A regressed night uploads as `<artifact-name>-regressed`
//! ([`super::publish::upload_name`]), so the baseline stays the last good
//! night and every regressed night is compared against it and updates the
//! issue. A night that is no longer regressed closes the issue and becomes
//! the baseline; `accept-baseline: true` makes a regressed night the
//! baseline on purpose and closes the issue too.

use super::event::Context;
use crate::analysis::{ChangeStatus, Comparison};
use crate::github::artifact::FetchedArtifact;
use crate::report::format;
use crate::report::headline::{change_phrase, top_scenario};
use crate::report::Report;

/// Where the trend table of the issue body starts.
pub const TREND_START: &str = "<!-- msgperf: trend -->";
/// Where it ends.
pub const TREND_END: &str = "<!-- msgperf: end of trend -->";

/// The baseline a report compared against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaselineOrigin {
    /// The artifact's name, or the path given.
    pub name: String,
    /// The workflow run that uploaded it.
    pub run_id: Option<u64>,
    /// That run's web page.
    pub run_url: Option<String>,
    /// The commit that run tested.
    pub commit: Option<String>,
    /// When it was uploaded (RFC 3339).
    pub date: Option<String>,
}

impl BaselineOrigin {
    /// The artifact `name` as fetched; `this_run_url` (this workflow run's
    /// page) gives the URL of the run that uploaded it.
    pub fn from_artifact(name: &str, a: &FetchedArtifact, this_run_url: Option<&str>) -> Self {
        let run_url = match (this_run_url.and_then(|u| u.rsplit_once('/')), a.run_id) {
            (Some((base, _)), Some(id)) => Some(format!("{base}/{id}")),
            _ => None,
        };
        BaselineOrigin {
            name: name.to_string(),
            run_id: a.run_id,
            run_url,
            commit: a.commit.clone(),
            date: a.created_at.clone(),
        }
    }

    /// A baseline given as a path.
    pub fn path(path: &std::path::Path) -> Self {
        BaselineOrigin {
            name: path.display().to_string(),
            run_id: None,
            run_url: None,
            commit: None,
            date: None,
        }
    }

    /// "artifact `msgperf-results` of run [101](url), commit `abc1234`, 2026-11-28T03:17:00Z".
    pub fn describe(&self) -> String {
        let mut out = format!("`{}`", self.name);
        match (self.run_id, &self.run_url) {
            (Some(id), Some(url)) => out.push_str(&format!(" of run [{id}]({url})")),
            (Some(id), None) => out.push_str(&format!(" of run {id}")),
            _ => {}
        }
        if let Some(c) = &self.commit {
            out.push_str(&format!(", commit `{}`", short(c)));
        }
        if let Some(d) = &self.date {
            out.push_str(&format!(", {d}"));
        }
        out
    }

    /// The line the job summary and the PR comment start with.
    pub fn line(&self) -> String {
        format!("**Compared against:** {}\n\n", self.describe())
    }
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(7)]
}

/// What tonight means for the tracking issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Night {
    /// Regressed against the last good night: open or update the issue.
    Regressed,
    /// Not regressed: close an open issue; tonight is the new baseline.
    Good,
    /// Regressed, but a maintainer accepted it as the new baseline
    /// (`accept-baseline: true`): close an open issue.
    Accepted,
}

impl Night {
    /// Tonight, from whether it regressed and whether it was accepted.
    pub fn of(regressed: bool, accept_baseline: bool) -> Night {
        match (regressed, accept_baseline) {
            (true, false) => Night::Regressed,
            (true, true) => Night::Accepted,
            (false, _) => Night::Good,
        }
    }
}

/// Tonight's row of the trend table: date, run, commit, and the scenario
/// that regressed most (the top scenario when none did) with its sustained
/// rate and its change against the baseline.
pub fn trend_row(report: &Report, ctx: &Context) -> String {
    let date = report
        .generated_at
        .get(..10)
        .unwrap_or(&report.generated_at);
    let run = match (
        &ctx.run_url,
        ctx.run_url.as_deref().and_then(|u| u.rsplit('/').next()),
    ) {
        (Some(url), Some(id)) => format!("[{id}]({url})"),
        _ => "–".into(),
    };
    let commit = ctx
        .sha
        .as_deref()
        .map_or("–".into(), |c| format!("`{}`", short(c)));
    let worst = report
        .scenarios
        .iter()
        .filter_map(|s| s.comparison.as_ref().map(|c| (s, c)))
        .filter(|(_, c)| c.status == ChangeStatus::Regressed)
        .min_by(|a, b| {
            let ch = |c: &Comparison| c.change.unwrap_or(0.0);
            ch(a.1).total_cmp(&ch(b.1))
        })
        .map(|(s, _)| s);
    let top = worst.or_else(|| top_scenario(&report.scenarios));
    let rate = top
        .and_then(|s| s.summary.sustained.as_ref())
        .map_or("no valid run".into(), |x| format::num(x.mean, 0));
    let label = report
        .baseline
        .as_ref()
        .map_or("baseline", |b| b.label.as_str());
    let change = top
        .and_then(|s| s.comparison.as_ref())
        .map_or("–".into(), |c| change_phrase(c, label));
    let scenario = top.map_or("–".into(), |s| s.label.clone());
    format!("| {date} | {run} | {commit} | {scenario} | {rate} | {change} |")
}

/// The trend rows kept in a previous issue body.
pub fn previous_rows(body: &str) -> Vec<String> {
    let Some((_, rest)) = body.split_once(TREND_START) else {
        return Vec::new();
    };
    let table = rest.split_once(TREND_END).map_or(rest, |(t, _)| t);
    table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| night |"))
        .map(str::to_string)
        .collect()
}

/// The tracking issue's body tonight: the baseline (the last good night),
/// the trend of every regressed night since, and tonight's report.
pub fn issue_body(
    marker: &str,
    origin: Option<&BaselineOrigin>,
    previous: Option<&str>,
    row: &str,
    report_md: &str,
) -> String {
    let mut rows = previous.map(previous_rows).unwrap_or_default();
    rows.push(row.to_string());
    let nights = rows.len();
    let baseline = origin.map_or("no baseline artifact".into(), BaselineOrigin::describe);
    format!(
        "{marker}\n## Nightly regression: {nights} night{} since the last good night\n\n\
The baseline stays the last good night, {baseline}, until a night is no longer regressed \
against it (this issue then closes) or a maintainer runs the nightly by hand with \
`accept-baseline: true`.\n\n### Trend since the last good night\n\n{TREND_START}\n\
| night | run | commit | scenario | sustained msg/s | vs the last good night |\n\
|---|---|---|---|---|---|\n{}\n{TREND_END}\n\n### Tonight's report\n\n{report_md}",
        if nights == 1 { "" } else { "s" },
        rows.join("\n")
    )
}

/// The comment that closes the issue.
pub fn close_comment(night: Night, row: &str, origin: Option<&BaselineOrigin>) -> String {
    let baseline = origin.map_or("the baseline".into(), BaselineOrigin::describe);
    let why = match night {
        Night::Accepted => "Accepted as the new baseline by hand (`accept-baseline: true`)",
        _ => "Recovered: tonight is no longer regressed against",
    };
    format!(
        "{why} {baseline}; tonight's results are the new baseline.\n\n\
| night | run | commit | scenario | sustained msg/s | vs the last good night |\n\
|---|---|---|---|---|---|\n{row}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trend_grows_by_one_row_a_night() {
        let first = issue_body("<!-- m -->", None, None, "| 2026-11-29 | a |", "report");
        assert!(first.contains("1 night since"));
        let second = issue_body("<!-- m -->", None, Some(&first), "| 2026-11-30 | b |", "r2");
        assert_eq!(
            previous_rows(&second),
            ["| 2026-11-29 | a |", "| 2026-11-30 | b |"]
        );
        assert!(second.contains("2 nights since") && second.ends_with("r2"));
    }

    #[test]
    fn a_night_is_regressed_good_or_accepted() {
        assert_eq!(Night::of(true, false), Night::Regressed);
        assert_eq!(Night::of(true, true), Night::Accepted);
        assert_eq!(Night::of(false, true), Night::Good);
    }

    #[test]
    fn the_origin_names_run_commit_and_date() {
        let a = FetchedArtifact {
            id: 9,
            files: 3,
            run_id: Some(101),
            commit: Some("abcdef0123".into()),
            created_at: Some("2026-11-28T03:17:00Z".into()),
        };
        let o = BaselineOrigin::from_artifact(
            "msgperf-results",
            &a,
            Some("https://g/o/r/actions/runs/102"),
        );
        assert_eq!(
            o.describe(),
            "`msgperf-results` of run [101](https://g/o/r/actions/runs/101), commit `abcdef0`, 2026-11-28T03:17:00Z"
        );
    }
}
