//! Everything that talks to GitHub: the REST client (the only user of
//! octocrab in msgperf), the sticky PR comment, the nightly tracking issue,
//! baseline artifacts, and the Actions runner's files and workflow commands.
//!
//! The client takes the API base URL (`GITHUB_API_URL`, so GitHub Enterprise
//! works and tests point it at a mock server) and sends every request through
//! [`GitHub::send`], which retries server errors and rate limits a bounded
//! number of times and turns every other failure into a [`GitHubError`] that
//! says what to do. Requests are built by hand on octocrab's transport (auth,
//! base URL, TLS) so the retry logic can read status and headers.

pub(crate) mod artifact;
pub(crate) mod commands;
pub(crate) mod comment;
pub(crate) mod issue;
pub(crate) mod permission;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use octocrab::Octocrab;

pub use comment::{comment_body, failed_start_body, marker, CommentOutcome, COMMENT_LIMIT};
pub use permission::permission_for;

/// `owner/name` of a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    /// The owner (user or organization).
    pub owner: String,
    /// The repository name.
    pub name: String,
}

impl Repo {
    /// Parses `owner/name` (the form of `GITHUB_REPOSITORY`).
    pub fn parse(s: &str) -> Result<Repo, GitHubError> {
        match s.split_once('/') {
            Some((o, n)) if !o.is_empty() && !n.is_empty() && !n.contains('/') => Ok(Repo {
                owner: o.into(),
                name: n.into(),
            }),
            _ => Err(GitHubError::Config(format!(
                "GITHUB_REPOSITORY is {s:?}: expected owner/name (the runner sets it; set it by hand outside Actions)"
            ))),
        }
    }

    /// `/repos/owner/name`, the prefix of every repository endpoint.
    pub fn path(&self) -> String {
        format!("/repos/{}/{}", self.owner, self.name)
    }
}

/// How often and how long to retry 5xx answers and rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// First back-off after a server error; doubled each time.
    pub backoff: Duration,
    /// Longest wait for a rate limit to reset; longer ones fail at once.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            backoff: Duration::from_secs(1),
            max_wait: Duration::from_secs(60),
        }
    }
}

/// Why a GitHub call failed; every message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    /// Missing or malformed settings.
    #[error("{0}")]
    Config(String),
    /// The API answered with an error status.
    #[error("GitHub API {method} {path} answered {status}: {message}{}", hint(*status, method, path))]
    Status {
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
        /// The status code.
        status: u16,
        /// GitHub's `message`, or the start of the body.
        message: String,
    },
    /// No answer (network, TLS, timeout).
    #[error(
        "GitHub API {method} {path}: {source} (check GITHUB_API_URL and the runner's network)"
    )]
    Transport {
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
        /// The cause (boxed: octocrab's error is large).
        source: Box<octocrab::Error>,
    },
    /// The answer was not what the endpoint documents.
    #[error(
        "GitHub API {path}: unexpected answer: {message} (is GITHUB_API_URL a GitHub REST API?)"
    )]
    Decode {
        /// The request path.
        path: String,
        /// What was wrong.
        message: String,
    },
}

fn hint(status: u16, method: &Method, path: &str) -> String {
    match status {
        401 => " (the token is missing or invalid: pass `github-token`)".into(),
        403 | 404 => format!(
            " (the token lacks permission for this call: grant {} in the workflow's `permissions:`, or this is a fork's read-only token)",
            permission_for(method, path)
        ),
        422 => " (GitHub rejected the content)".into(),
        429 => " (rate limited: try again later)".into(),
        s if s >= 500 => " (GitHub is having trouble: re-run the job)".into(),
        _ => String::new(),
    }
}

impl GitHubError {
    /// A 403 or 404: the token may not write here (a fork PR's read-only token).
    pub fn is_permission(&self) -> bool {
        matches!(
            self,
            GitHubError::Status {
                status: 403 | 404,
                ..
            }
        )
    }
}

/// A completed answer: status, headers and the whole body.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON of type `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, GitHubError> {
        serde_json::from_slice(&self.body).map_err(|e| GitHubError::Decode {
            path: path.into(),
            message: e.to_string(),
        })
    }

    /// Whether the `Link` header has a `rel="next"` page.
    pub fn has_next_page(&self) -> bool {
        self.headers
            .get_all(http::header::LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("rel=\"next\""))
    }
}

/// A GitHub REST client for one repository.
#[derive(Debug, Clone)]
pub struct GitHub {
    octo: Octocrab,
    /// The repository commented on.
    pub repo: Repo,
    retry: RetryPolicy,
}

impl GitHub {
    /// A client for `api_url` (e.g. `https://api.github.com` or
    /// `https://ghe.example/api/v3`) authenticated with `token`.
    pub fn new(api_url: &str, token: &str, repo: Repo) -> Result<GitHub, GitHubError> {
        let bad = |e: &dyn std::fmt::Display| {
            GitHubError::Config(format!(
                "GITHUB_API_URL {api_url:?}: {e} (expected e.g. https://api.github.com)"
            ))
        };
        let mut builder = Octocrab::builder()
            .base_uri(api_url.trim_end_matches('/'))
            .map_err(|e| bad(&e))?
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(60)));
        if !token.is_empty() {
            builder = builder.personal_token(token.to_string());
        }
        let octo = builder.build().map_err(|e| bad(&e))?;
        Ok(GitHub {
            octo,
            repo,
            retry: RetryPolicy::default(),
        })
    }

    /// Replaces the retry policy (tests use short waits).
    pub fn with_retry(mut self, retry: RetryPolicy) -> GitHub {
        self.retry = retry;
        self
    }

    /// Sends a request (path relative to the API base, with query) and returns
    /// a 2xx/3xx answer; retries 5xx and rate limits per the [`RetryPolicy`].
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, GitHubError> {
        let mut attempt = 1;
        loop {
            let result = self.send_once(method.clone(), path, body).await;
            let wait = match &result {
                Ok(a) if a.status.is_success() || a.status.is_redirection() => return result,
                Ok(a) => retry_wait(a, attempt, &self.retry),
                Err(_) => Some(self.retry.backoff * 2u32.saturating_pow(attempt - 1)),
            };
            match wait {
                Some(wait) if attempt < self.retry.attempts => {
                    tracing::warn!(%method, path, attempt, ?wait, "GitHub API: retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                _ => return result.and_then(|a| Err(status_error(&method, path, &a))),
            }
        }
    }

    async fn send_once(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, GitHubError> {
        let transport = |source| GitHubError::Transport {
            method: method.clone(),
            path: path.into(),
            source: Box::new(source),
        };
        let builder = http::Request::builder()
            .method(method.clone())
            .uri(path)
            .header(http::header::ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28");
        let request = self.octo.build_request(builder, body).map_err(transport)?;
        let response = self.octo.execute(request).await.map_err(transport)?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(transport)?.to_bytes();
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}

/// How long to wait before retrying this answer, or `None` to give up now.
fn retry_wait(a: &Answer, attempt: u32, policy: &RetryPolicy) -> Option<Duration> {
    let header = |name: &str| {
        a.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let status = a.status.as_u16();
    if status >= 500 {
        return Some(policy.backoff * 2u32.saturating_pow(attempt - 1));
    }
    if status != 403 && status != 429 {
        return None;
    }
    let wait = if let Some(secs) = header("retry-after") {
        Duration::from_secs(secs)
    } else if header("x-ratelimit-remaining") == Some(0) || status == 429 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        match header("x-ratelimit-reset") {
            Some(reset) => Duration::from_secs(reset.saturating_sub(now) + 1),
            None if status == 429 => policy.backoff * 2u32.saturating_pow(attempt - 1),
            None => return None,
        }
    } else {
        // A plain 403: no permission, which waiting does not fix.
        return None;
    };
    (wait <= policy.max_wait).then_some(wait)
}

fn status_error(method: &Method, path: &str, a: &Answer) -> GitHubError {
    let message = serde_json::from_slice::<serde_json::Value>(&a.body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(String::from))
        .unwrap_or_else(|| String::from_utf8_lossy(&a.body).chars().take(200).collect());
    GitHubError::Status {
        method: method.clone(),
        path: path.into(),
        status: a.status.as_u16(),
        message,
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
pub fn encode_query(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, headers: &[(&'static str, &str)]) -> Answer {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, v.parse().unwrap());
        }
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: map,
            body: Bytes::new(),
        }
    }

    #[test]
    fn retries_server_errors_and_rate_limits_but_not_permission_errors() {
        let p = RetryPolicy::default();
        assert_eq!(
            retry_wait(&answer(502, &[]), 2, &p),
            Some(Duration::from_secs(2))
        );
        assert_eq!(retry_wait(&answer(403, &[]), 1, &p), None);
        assert_eq!(retry_wait(&answer(404, &[]), 1, &p), None);
        assert_eq!(
            retry_wait(&answer(403, &[("retry-after", "3")]), 1, &p),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_wait(&answer(429, &[("retry-after", "600")]), 1, &p),
            None
        );
        let soon = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 5;
        let limited = answer(
            403,
            &[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", &soon.to_string()),
            ],
        );
        let wait = retry_wait(&limited, 1, &p).unwrap();
        assert!(wait >= Duration::from_secs(4) && wait <= Duration::from_secs(7));
    }

    #[test]
    fn parses_repos_and_encodes_queries() {
        assert_eq!(Repo::parse("o/r").unwrap().path(), "/repos/o/r");
        assert!(Repo::parse("o").is_err() && Repo::parse("o/r/x").is_err());
        assert_eq!(encode_query("perf results/1"), "perf%20results%2F1");
    }
}
