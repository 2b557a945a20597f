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
        Some(url) => format!("\n\n---\n[Workflow run]({url}) · updated by msgperf\n"),
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
    /// Finds the comment holding `marker` on issue or PR `number`, across all pages.
    pub async fn find_comment(
        &self,
        number: u64,
        marker: &str,
    ) -> Result<Option<(u64, String)>, GitHubError> {
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
                return Ok(Some((c.id, c.html_url.clone())));
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
            Some((id, _)) => (
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
        let huge = "| row | é |\n".repeat(10_000);
        let body = comment_body(&m, &huge, Some("https://x/runs/1"));
        assert!(body.chars().count() <= COMMENT_LIMIT);
        assert!(body.contains("the report is cut here") && body.ends_with("msgperf\n"));
    }
}
