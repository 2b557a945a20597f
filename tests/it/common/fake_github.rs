//! A stateful stand-in for the parts of GitHub's REST API the nightly uses,
//! on wiremock: the repository (its default branch), artifacts (listed by
//! name, newest first, and downloaded as zip), and issues (listed by label
//! and state, opened, edited, commented on, closed). Every request must carry
//! the token and, with a body, be JSON with the fields GitHub requires; any
//! other request is answered 404 and recorded as unexpected. The test plays
//! the workflow's upload step with [`FakeGitHub::upload`].

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// One stored artifact.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// Its id.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// The run that uploaded it.
    pub run_id: u64,
    /// The commit of that run.
    pub sha: String,
    /// Upload time.
    pub created_at: String,
    /// The zip's bytes.
    pub zip: Vec<u8>,
}

/// One issue.
#[derive(Debug, Clone)]
pub struct Issue {
    /// Its number.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// `open` or `closed`.
    pub state: String,
    /// Labels.
    pub labels: Vec<String>,
    /// Comments, in order.
    pub comments: Vec<String>,
    /// How many times its body was edited.
    pub edits: usize,
}

/// What the fake holds.
#[derive(Debug, Default)]
pub struct State {
    /// Artifacts, oldest first.
    pub artifacts: Vec<Artifact>,
    /// Issues, by number order.
    pub issues: Vec<Issue>,
    /// Requests it did not expect.
    pub unexpected: Vec<String>,
}

/// The fake and its server.
pub struct FakeGitHub {
    /// The mock server (its `uri()` is the API URL).
    pub server: MockServer,
    /// The shared state.
    pub state: Arc<Mutex<State>>,
}

struct Handler {
    state: Arc<Mutex<State>>,
    token: String,
}

impl FakeGitHub {
    /// Starts the fake for repository `octo/app`, accepting `token`.
    pub async fn start(token: &str) -> FakeGitHub {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State::default()));
        Mock::given(wiremock::matchers::any())
            .respond_with(Handler {
                state: state.clone(),
                token: format!("Bearer {token}"),
            })
            .mount(&server)
            .await;
        FakeGitHub { server, state }
    }

    /// Stores the files of `dir` as artifact `name` of run `run_id`.
    pub fn upload(&self, name: &str, dir: &Path, run_id: u64, sha: &str, created_at: &str) {
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            for f in std::fs::read_dir(dir).unwrap() {
                let f = f.unwrap().path();
                let opts = zip::write::SimpleFileOptions::default();
                w.start_file(f.file_name().unwrap().to_str().unwrap(), opts)
                    .unwrap();
                w.write_all(&std::fs::read(&f).unwrap()).unwrap();
            }
            w.finish().unwrap();
        }
        let mut s = self.state.lock().unwrap();
        let id = 1000 + s.artifacts.len() as u64;
        s.artifacts.push(Artifact {
            id,
            name: name.into(),
            run_id,
            sha: sha.into(),
            created_at: created_at.into(),
            zip: buf.into_inner(),
        });
    }
}

fn body_json(req: &Request) -> Option<Value> {
    serde_json::from_slice(&req.body).ok()
}

impl Handler {
    fn issue_json(i: &Issue) -> Value {
        json!({
            "number": i.number, "title": i.title, "body": i.body, "state": i.state,
            "labels": i.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>(),
            "html_url": format!("https://github.test/octo/app/issues/{}", i.number),
        })
    }

    fn answer(&self, req: &Request, s: &mut State) -> Option<ResponseTemplate> {
        let path = req.url.path();
        let query = |k: &str| {
            req.url
                .query_pairs()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.into_owned())
        };
        let method = req.method.as_str();
        let rest = path.strip_prefix("/repos/octo/app")?;
        let ok = |v: Value| Some(ResponseTemplate::new(200).set_body_json(v));
        match (method, rest) {
            ("GET", "") => ok(json!({ "default_branch": "main" })),
            ("GET", "/actions/artifacts") => {
                let name = query("name")?;
                let list: Vec<Value> = s.artifacts.iter().rev().filter(|a| a.name == name).map(|a| json!({
                    "id": a.id, "name": a.name, "expired": false, "created_at": a.created_at,
                    "workflow_run": { "id": a.run_id, "head_branch": "main", "head_sha": a.sha },
                })).collect();
                ok(json!({ "total_count": list.len(), "artifacts": list }))
            }
            ("GET", p) if p.starts_with("/actions/artifacts/") && p.ends_with("/zip") => {
                let id: u64 = p
                    .trim_start_matches("/actions/artifacts/")
                    .trim_end_matches("/zip")
                    .parse()
                    .ok()?;
                let a = s.artifacts.iter().find(|a| a.id == id)?;
                Some(ResponseTemplate::new(200).set_body_bytes(a.zip.clone()))
            }
            ("GET", "/issues") => {
                let label = query("labels")?;
                let state = query("state")?;
                let list: Vec<Value> = s
                    .issues
                    .iter()
                    .filter(|i| i.state == state && i.labels.contains(&label))
                    .map(Self::issue_json)
                    .collect();
                ok(Value::Array(list))
            }
            ("POST", "/issues") => {
                let b = body_json(req)?;
                let issue = Issue {
                    number: 12 + s.issues.len() as u64,
                    title: b["title"].as_str()?.into(),
                    body: b["body"].as_str()?.into(),
                    state: "open".into(),
                    labels: b["labels"]
                        .as_array()?
                        .iter()
                        .filter_map(|l| l.as_str().map(String::from))
                        .collect(),
                    comments: Vec::new(),
                    edits: 0,
                };
                let v = Self::issue_json(&issue);
                s.issues.push(issue);
                Some(ResponseTemplate::new(201).set_body_json(v))
            }
            ("PATCH", p) if p.starts_with("/issues/") => {
                let n: u64 = p.trim_start_matches("/issues/").parse().ok()?;
                let b = body_json(req)?;
                let i = s.issues.iter_mut().find(|i| i.number == n)?;
                if let Some(body) = b["body"].as_str() {
                    i.body = body.into();
                    i.edits += 1;
                }
                if let Some(state) = b["state"].as_str() {
                    i.state = state.into();
                }
                ok(Self::issue_json(i))
            }
            ("POST", p) if p.starts_with("/issues/") && p.ends_with("/comments") => {
                let n: u64 = p
                    .trim_start_matches("/issues/")
                    .trim_end_matches("/comments")
                    .parse()
                    .ok()?;
                let b = body_json(req)?;
                let i = s.issues.iter_mut().find(|i| i.number == n)?;
                i.comments.push(b["body"].as_str()?.into());
                Some(
                    ResponseTemplate::new(201)
                        .set_body_json(json!({ "id": 1, "html_url": "https://github.test/c" })),
                )
            }
            _ => None,
        }
    }
}

impl Respond for Handler {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut s = self.state.lock().unwrap();
        let what = format!("{} {}", req.method, req.url);
        let authorized = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            == Some(self.token.as_str());
        if !authorized {
            s.unexpected.push(format!("{what} without the token"));
            return ResponseTemplate::new(401).set_body_json(json!({"message": "Bad credentials"}));
        }
        match self.answer(req, &mut s) {
            Some(r) => r,
            None => {
                s.unexpected.push(what);
                ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"}))
            }
        }
    }
}
