//! The sticky PR comment: one per workflow/job/matrix cell, found again by a
//! hidden marker (`<!-- msgperf: workflow/job/matrix -->`) on any page of the
//! PR's comments and updated in place, so a PR shows one current report
//! rather than one per push.

use http::Method;
use serde::Deserialize;

use super::{GitHub, GitHubError};

/// GitHub's limit on a comment body, in characters.
pub const COMMENT_LIMIT: usize = 65_536;
/// Comments per page when searching for the marker (GitHub's maximum).
const PER_PAGE: usize = 100;
/// Pages searched at most (10,000 comments).
const MAX_PAGES: u32 = 100;

/// The hidden marker that identifies this job's comment.
pub fn marker(workflow: &str, job: &str, matrix: &str) -> String {
    // `--` would end the HTML comment early.
    let clean = |s: &str| s.replace("--", "-");
    format!(
        "<!-- msgperf: {}/{}/{} -->",
        clean(workflow),
        clean(job),
        clean(matrix)
    )
}

/// The comment's body: marker, the report, a link to the run; cut to
/// [`COMMENT_LIMIT`] characters with a note if the report is longer.
pub fn comment_body(marker: &str, report_md: &str, run_url: Option<&str>) -> String {
    let foot = match run_url {
        Some(url) => format!(
            "\n\n---\n[Workflow run]({url}) · the whole report as one page, report.html, is in the report artifact on the [run's artifacts]({url}#artifacts) · updated by msgperf\n"
        ),
        None => "\n\n---\nupdated by msgperf\n".to_string(),
    };
    let head = format!("{marker}\n");
    let room = COMMENT_LIMIT - head.chars().count() - foot.chars().count();
    let report = if report_md.chars().count() <= room {
        report_md.to_string()
    } else {
        let note =
            "\n\n…the report is cut here; the whole report is in the job summary and artifact.";
        let keep = room - note.chars().count();
        let cut: String = report_md.chars().take(keep).collect();
        // Cut at a line break so no table row or link is left half open.
        let cut = match cut.rfind('\n') {
            Some(i) => cut[..i].to_string(),
            None => cut,
        };
        format!("{cut}{note}")
    };
    format!("{head}{report}{foot}")
}

/// Opens the last good report kept in a comment of a run that could not start.
const LAST_GOOD_OPEN: &str = "<!-- msgperf: last good report -->";
/// Closes it.
const LAST_GOOD_CLOSE: &str = "<!-- msgperf: end of last good report -->";

/// The comment of a run that could not start: what to fix, and the figures of
/// the last good report (from `previous`, this job's comment so far) kept
/// below, marked stale, instead of being replaced by an empty table.
pub fn failed_start_body(
    marker: &str,
    message: &str,
    previous: Option<&str>,
    run_url: Option<&str>,
) -> String {
    let mut report = format!(
        "## msgperf: the test could not start\n\n**{message}**\n\nNothing was measured by this run.\n"
    );
    match previous.and_then(|p| last_good(marker, p)) {
        Some(good) => report.push_str(&format!(
            "The figures below are from the **last good report** and are **stale**: they do not measure this commit.\n\n<details><summary>Last good report (stale)</summary>\n\n{LAST_GOOD_OPEN}\n{good}\n{LAST_GOOD_CLOSE}\n\n</details>"
        )),
        None => report.push_str("There is no earlier report of this job to show."),
    }
    comment_body(marker, &report, run_url)
}

/// The report inside a previous comment: the kept last good report of an
/// earlier failed start, else the whole report between marker and footer.
fn last_good(marker: &str, previous: &str) -> Option<String> {
    if let Some((_, rest)) = previous.split_once(LAST_GOOD_OPEN) {
        let (good, _) = rest.split_once(LAST_GOOD_CLOSE)?;
        return Some(good.trim().to_string());
    }
    let body = previous.split_once(marker).map_or(previous, |(_, b)| b);
    let body = body.rsplit_once("\n\n---\n").map_or(body, |(b, _)| b);
    let body = body.trim();
    (!body.is_empty()).then(|| body.to_string())
}

/// What [`GitHub::upsert_comment`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentOutcome {
    /// The comment's id.
    pub id: u64,
    /// Its `html_url`.
    pub url: String,
    /// True when a new comment was created, false when one was updated.
    pub created: bool,
}

#[derive(Debug, Deserialize)]
struct Comment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    html_url: String,
}

impl GitHub {
    /// Finds the comment holding `marker` on issue or PR `number`, across
    /// all pages: its id, URL and body.
    pub async fn find_comment(
        &self,
        number: u64,
        marker: &str,
    ) -> Result<Option<(u64, String, String)>, GitHubError> {
        for page in 1..=MAX_PAGES {
            let path = format!(
                "{}/issues/{number}/comments?per_page={PER_PAGE}&page={page}",
                self.repo.path()
            );
            let answer = self.send(Method::GET, &path, None).await?;
            let comments: Vec<Comment> = answer.json(&path)?;
            if let Some(c) = comments
                .iter()
                .find(|c| c.body.as_deref().is_some_and(|b| b.contains(marker)))
            {
                return Ok(Some((
                    c.id,
                    c.html_url.clone(),
                    c.body.clone().unwrap_or_default(),
                )));
            }
            if !answer.has_next_page() || comments.is_empty() {
                break;
            }
        }
        Ok(None)
    }

    /// The open pull request whose head is commit `sha`, if any (for
    /// `comment: always` on push and manual runs).
    pub async fn open_pr_of_commit(&self, sha: &str) -> Result<Option<u64>, GitHubError> {
        #[derive(Deserialize)]
        struct Pull {
            number: u64,
            state: String,
        }
        let path = format!("{}/commits/{sha}/pulls", self.repo.path());
        let pulls: Vec<Pull> = self.send(Method::GET, &path, None).await?.json(&path)?;
        Ok(pulls
            .into_iter()
            .find(|p| p.state == "open")
            .map(|p| p.number))
    }

    /// Updates this job's comment on PR `number` (found by `marker`), or creates it.
    pub async fn upsert_comment(
        &self,
        number: u64,
        marker: &str,
        body: &str,
    ) -> Result<CommentOutcome, GitHubError> {
        let payload = serde_json::json!({ "body": body });
        let (path, method, created) = match self.find_comment(number, marker).await? {
            Some((id, _, _)) => (
                format!("{}/issues/comments/{id}", self.repo.path()),
                Method::PATCH,
                false,
            ),
            None => (
                format!("{}/issues/{number}/comments", self.repo.path()),
                Method::POST,
                true,
            ),
        };
        let answer = self.send(method, &path, Some(&payload)).await?;
        let c: Comment = answer.json(&path)?;
        Ok(CommentOutcome {
            id: c.id,
            url: c.html_url,
            created,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_cannot_close_the_html_comment() {
        assert_eq!(
            marker("perf", "run", "a--b"),
            "<!-- msgperf: perf/run/a-b -->"
        );
    }

    #[test]
    fn body_has_marker_report_and_link_within_the_limit() {
        let m = marker("w", "j", "");
        let body = comment_body(&m, "# Report", Some("https://x/runs/1"));
        assert!(body.starts_with(&m) && body.contains("# Report"));
        assert!(body.contains("[Workflow run](https://x/runs/1)"));
        assert!(body.contains("report.html, is in the report artifact on the [run's artifacts](https://x/runs/1#artifacts)"));
        let huge = "| row | é |\n".repeat(10_000);
        let body = comment_body(&m, &huge, Some("https://x/runs/1"));
        assert!(body.chars().count() <= COMMENT_LIMIT);
        assert!(body.contains("the report is cut here") && body.ends_with("msgperf\n"));
    }

    #[test]
    fn a_failed_start_keeps_the_last_good_report_marked_stale() {
        let m = marker("w", "j", "");
        let good = comment_body(&m, "## Report\n| 3,000 msg/s |", Some("https://x/runs/1"));
        let failed =
            failed_start_body(&m, "sign-in refused", Some(&good), Some("https://x/runs/2"));
        assert!(failed.starts_with(&m), "{failed}");
        assert!(
            failed.contains("**sign-in refused**") && failed.contains("stale"),
            "{failed}"
        );
        assert!(failed.contains("| 3,000 msg/s |"), "{failed}");
        assert!(
            failed.contains("https://x/runs/2") && !failed.contains("runs/1"),
            "{failed}"
        );
        // A second failure keeps the same good report, once.
        let again = failed_start_body(&m, "still refused", Some(&failed), None);
        assert_eq!(again.matches("| 3,000 msg/s |").count(), 1, "{again}");
        assert!(!again.contains("sign-in refused"), "{again}");
        let first = failed_start_body(&m, "down", None, None);
        assert!(first.contains("no earlier report"), "{first}");
    }
}
