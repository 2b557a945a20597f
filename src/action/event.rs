//! What triggered the workflow, from the runner's environment: the event name,
//! the PR number from the event payload, the repository, API URL and a link
//! to the run. Pure over an environment lookup and the payload's text.

/// The triggering event, as far as the action cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `pull_request` or `pull_request_target`, with the PR number.
    PullRequest(u64),
    /// `schedule`: the nightly run.
    Schedule,
    /// Anything else (`workflow_dispatch`, `push`, …, or not in Actions).
    Other(String),
}

/// The runner's context for this job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The event.
    pub event: Event,
    /// `owner/name` (`GITHUB_REPOSITORY`), if set.
    pub repository: Option<String>,
    /// REST API base (`GITHUB_API_URL`, GitHub Enterprise's `/api/v3`).
    pub api_url: String,
    /// Link to this workflow run, if the server URL, repository and run id are set.
    pub run_url: Option<String>,
    /// `GITHUB_WORKFLOW`.
    pub workflow: String,
    /// `GITHUB_JOB`.
    pub job: String,
    /// `GITHUB_SHA`.
    pub sha: Option<String>,
    /// `GITHUB_RUN_ATTEMPT` (1 when unset or not a number).
    pub run_attempt: u32,
}

/// Why the event could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The payload file could not be read.
    #[error("cannot read GITHUB_EVENT_PATH {path}: {source} (the runner writes it; unset GITHUB_EVENT_NAME outside Actions)")]
    Read {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The payload is not what a pull_request event carries.
    #[error("GITHUB_EVENT_PATH {path}: {message} (expected a {event} event payload)")]
    Payload {
        /// The path.
        path: String,
        /// The event name.
        event: String,
        /// What was wrong.
        message: String,
    },
}

/// Reads the context from `env`, reading the event payload file when the
/// event is a pull request.
pub fn detect(env: &dyn Fn(&str) -> Option<String>) -> Result<Context, EventError> {
    let var = |k: &str| env(k).filter(|v| !v.is_empty());
    let name = var("GITHUB_EVENT_NAME").unwrap_or_default();
    let event = match name.as_str() {
        "pull_request" | "pull_request_target" => {
            let path = var("GITHUB_EVENT_PATH").unwrap_or_default();
            let text = std::fs::read_to_string(&path).map_err(|source| EventError::Read {
                path: path.clone(),
                source,
            })?;
            let number = pr_number(&text).map_err(|message| EventError::Payload {
                path,
                event: name.clone(),
                message,
            })?;
            Event::PullRequest(number)
        }
        "schedule" => Event::Schedule,
        other => Event::Other(other.to_string()),
    };
    let repository = var("GITHUB_REPOSITORY");
    let run_url = match (var("GITHUB_SERVER_URL"), &repository, var("GITHUB_RUN_ID")) {
        (Some(server), Some(repo), Some(id)) => Some(format!(
            "{}/{repo}/actions/runs/{id}",
            server.trim_end_matches('/')
        )),
        _ => None,
    };
    Ok(Context {
        event,
        repository,
        api_url: var("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into()),
        run_url,
        workflow: var("GITHUB_WORKFLOW").unwrap_or_else(|| "msgperf".into()),
        job: var("GITHUB_JOB").unwrap_or_else(|| "perf".into()),
        sha: var("GITHUB_SHA"),
        run_attempt: var("GITHUB_RUN_ATTEMPT")
            .and_then(|a| a.trim().parse().ok())
            .unwrap_or(1),
    })
}

/// The PR number of a pull_request payload (`pull_request.number`, else `number`).
pub fn pr_number(payload: &str) -> Result<u64, String> {
    let v: serde_json::Value =
        serde_json::from_str(payload).map_err(|e| format!("not JSON: {e}"))?;
    v.pointer("/pull_request/number")
        .or_else(|| v.get("number"))
        .and_then(|n| n.as_u64())
        .ok_or_else(|| "no pull_request.number in it".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn pull_request_events_carry_the_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("event.json");
        std::fs::write(
            &path,
            r#"{"action":"labeled","number":7,"pull_request":{"number":42}}"#,
        )
        .unwrap();
        let p = path.to_str().unwrap();
        for name in ["pull_request", "pull_request_target"] {
            let ctx = detect(&env(&[
                ("GITHUB_EVENT_NAME", name),
                ("GITHUB_EVENT_PATH", p),
            ]))
            .unwrap();
            assert_eq!(ctx.event, Event::PullRequest(42));
        }
        std::fs::write(&path, "{}").unwrap();
        let err = detect(&env(&[
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_EVENT_PATH", p),
        ]));
        assert!(err.unwrap_err().to_string().contains("pull_request.number"));
    }

    #[test]
    fn other_events_have_no_pr_and_context_has_defaults() {
        let ctx = detect(&env(&[("GITHUB_EVENT_NAME", "schedule")])).unwrap();
        assert_eq!(ctx.event, Event::Schedule);
        assert_eq!(ctx.api_url, "https://api.github.com");
        assert_eq!(ctx.run_url, None);
        let ctx = detect(&env(&[
            ("GITHUB_EVENT_NAME", "workflow_dispatch"),
            ("GITHUB_API_URL", "https://ghe.example/api/v3"),
            ("GITHUB_SERVER_URL", "https://ghe.example/"),
            ("GITHUB_REPOSITORY", "o/r"),
            ("GITHUB_RUN_ID", "99"),
        ]))
        .unwrap();
        assert_eq!(ctx.event, Event::Other("workflow_dispatch".into()));
        assert_eq!(ctx.api_url, "https://ghe.example/api/v3");
        assert_eq!(
            ctx.run_url.as_deref(),
            Some("https://ghe.example/o/r/actions/runs/99")
        );
    }
}
