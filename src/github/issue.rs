//! The nightly tracking issue: when a scheduled run regresses there is no PR
//! to comment on, so one open issue (found by its label and hidden marker) is
//! created or updated instead of the failure going unseen.

use http::Method;
use serde::Deserialize;

use super::{encode_query, GitHub, GitHubError};

/// Label of the tracking issue.
pub const TRACKING_LABEL: &str = "msgperf-regression";
/// Title of a new tracking issue.
pub const TRACKING_TITLE: &str = "msgperf: nightly performance regression";
/// Issues per page when searching (GitHub's maximum).
const PER_PAGE: usize = 100;
/// Pages searched at most.
const MAX_PAGES: u32 = 20;

#[derive(Debug, Deserialize)]
struct Issue {
    number: u64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    html_url: String,
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
}

/// What [`GitHub::upsert_tracking_issue`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueOutcome {
    /// The issue number.
    pub number: u64,
    /// Its `html_url`.
    pub url: String,
    /// True when a new issue was opened.
    pub created: bool,
}

/// An open tracking issue, as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedIssue {
    /// The issue number.
    pub number: u64,
    /// Its body (the previous nights' trend is read from it).
    pub body: String,
    /// Its `html_url`.
    pub url: String,
}

impl GitHub {
    /// Closes tracking issue `number` as completed, after a comment saying why.
    pub async fn close_tracking_issue(
        &self,
        number: u64,
        comment: &str,
    ) -> Result<(), GitHubError> {
        let path = format!("{}/issues/{number}/comments", self.repo.path());
        self.send(
            Method::POST,
            &path,
            Some(&serde_json::json!({ "body": comment })),
        )
        .await?;
        let path = format!("{}/issues/{number}", self.repo.path());
        let close = serde_json::json!({ "state": "closed", "state_reason": "completed" });
        self.send(Method::PATCH, &path, Some(&close)).await?;
        Ok(())
    }

    /// Updates the open issue labelled [`TRACKING_LABEL`] whose body holds
    /// `marker`, or opens one. `body` should start with the marker.
    pub async fn upsert_tracking_issue(
        &self,
        marker: &str,
        body: &str,
    ) -> Result<IssueOutcome, GitHubError> {
        let found = self.find_tracking_issue(marker).await?.map(|i| i.number);
        let (method, path, payload) = match &found {
            Some(n) => (
                Method::PATCH,
                format!("{}/issues/{n}", self.repo.path()),
                serde_json::json!({ "body": body }),
            ),
            None => (
                Method::POST,
                format!("{}/issues", self.repo.path()),
                serde_json::json!({
                    "title": TRACKING_TITLE,
                    "body": body,
                    "labels": [TRACKING_LABEL],
                }),
            ),
        };
        let answer = self.send(method, &path, Some(&payload)).await?;
        let issue: Issue = answer.json(&path)?;
        Ok(IssueOutcome {
            number: issue.number,
            url: issue.html_url,
            created: found.is_none(),
        })
    }

    /// The open issue labelled [`TRACKING_LABEL`] whose body holds `marker`.
    pub async fn find_tracking_issue(
        &self,
        marker: &str,
    ) -> Result<Option<TrackedIssue>, GitHubError> {
        for page in 1..=MAX_PAGES {
            let path = format!(
                "{}/issues?state=open&labels={}&per_page={PER_PAGE}&page={page}",
                self.repo.path(),
                encode_query(TRACKING_LABEL)
            );
            let answer = self.send(Method::GET, &path, None).await?;
            let issues: Vec<Issue> = answer.json(&path)?;
            let hit = issues.iter().find(|i| {
                i.pull_request.is_none() && i.body.as_deref().is_some_and(|b| b.contains(marker))
            });
            if let Some(i) = hit {
                return Ok(Some(TrackedIssue {
                    number: i.number,
                    body: i.body.clone().unwrap_or_default(),
                    url: i.html_url.clone(),
                }));
            }
            if !answer.has_next_page() || issues.is_empty() {
                break;
            }
        }
        Ok(None)
    }
}
