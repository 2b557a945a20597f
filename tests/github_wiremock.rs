//! The GitHub client (octocrab underneath) against a wiremock server: the
//! sticky comment's create/update cycle, pagination, permission fallback,
//! retries, GitHub Enterprise base URLs, the comment size limit, the nightly
//! tracking issue and the baseline artifact download.

use std::time::Duration;

use msgperf::github::{comment_body, marker, GitHub, Repo, RetryPolicy, COMMENT_LIMIT};
use serde_json::json;
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

const TOKEN: &str = "ghs_test_token";
const COMMENTS: &str = "/repos/octo/app/issues/7/comments";

fn client(base: &str) -> GitHub {
    GitHub::new(base, TOKEN, Repo::parse("octo/app").unwrap())
        .unwrap()
        .with_retry(RetryPolicy {
            attempts: 3,
            backoff: Duration::from_millis(10),
            max_wait: Duration::from_secs(2),
        })
}

fn comment(id: u64, body: &str) -> serde_json::Value {
    json!({ "id": id, "body": body, "html_url": format!("https://github.test/octo/app/pull/7#issuecomment-{id}") })
}

/// GET of the PR's comments, page 1, with the headers every call must carry.
fn list_page_1() -> MockBuilder {
    Mock::given(method("GET"))
        .and(path(COMMENTS))
        .and(query_param("page", "1"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("user-agent", "octocrab"))
        .and(header("accept", "application/vnd.github+json"))
}

#[tokio::test]
async fn first_run_creates_the_comment() {
    let server = MockServer::start().await;
    let m = marker("perf", "run", "matrix.yaml");
    let body = comment_body(&m, "# Report", Some("https://github.test/run/1"));
    list_page_1()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([comment(1, "hello")])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(COMMENTS))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("content-type", "application/json"))
        .and(body_partial_json(json!({ "body": body })))
        .respond_with(ResponseTemplate::new(201).set_body_json(comment(55, &body)))
        .expect(1)
        .mount(&server)
        .await;
    let out = client(&server.uri())
        .upsert_comment(7, &m, &body)
        .await
        .unwrap();
    assert!(out.created);
    assert_eq!(out.id, 55);
    assert!(out.url.ends_with("#issuecomment-55"));
}

#[tokio::test]
async fn second_run_updates_the_same_comment_and_never_posts_again() {
    let server = MockServer::start().await;
    let m = marker("perf", "run", "matrix.yaml");
    let old = comment_body(&m, "# Old", None);
    let new = comment_body(&m, "# New", None);
    list_page_1()
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([comment(1, "lgtm"), comment(42, &old)])),
        )
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/octo/app/issues/comments/42"))
        .and(body_partial_json(json!({ "body": new })))
        .respond_with(ResponseTemplate::new(200).set_body_json(comment(42, &new)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;
    let out = client(&server.uri())
        .upsert_comment(7, &m, &new)
        .await
        .unwrap();
    assert!(!out.created);
    assert_eq!(out.id, 42);
}

#[tokio::test]
async fn the_marker_is_found_on_page_two() {
    let server = MockServer::start().await;
    let m = marker("perf", "run", "matrix.yaml");
    let page1: Vec<_> = (1..=100).map(|i| comment(i, "noise")).collect();
    let next = format!(
        "<{}{COMMENTS}?per_page=100&page=2>; rel=\"next\", <{}{COMMENTS}?per_page=100&page=2>; rel=\"last\"",
        server.uri(),
        server.uri()
    );
    list_page_1()
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!(page1))
                .insert_header("link", next.as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(COMMENTS))
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([comment(777, &format!("{m}\nold"))])),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/octo/app/issues/comments/777"))
        .respond_with(ResponseTemplate::new(200).set_body_json(comment(777, "new")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;
    let out = client(&server.uri())
        .upsert_comment(7, &m, "new")
        .await
        .unwrap();
    assert_eq!((out.id, out.created), (777, false));
}

#[tokio::test]
async fn a_read_only_token_is_a_permission_error_without_retries() {
    let server = MockServer::start().await;
    list_page_1()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(COMMENTS))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({ "message": "Resource not accessible by integration" })),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server.uri())
        .upsert_comment(7, "<!-- m -->", "body")
        .await
        .unwrap_err();
    assert!(err.is_permission(), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("403") && text.contains("Resource not accessible"),
        "{text}"
    );
    assert!(text.contains("pull-requests: write"), "{text}");
    assert!(!text.contains(TOKEN));
}

#[tokio::test]
async fn server_errors_and_rate_limits_are_retried() {
    let server = MockServer::start().await;
    list_page_1()
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    list_page_1()
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    list_page_1()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(COMMENTS))
        .respond_with(ResponseTemplate::new(201).set_body_json(comment(9, "x")))
        .expect(1)
        .mount(&server)
        .await;
    let out = client(&server.uri())
        .upsert_comment(7, "<!-- m -->", "x")
        .await
        .unwrap();
    assert_eq!(out.id, 9);
}

#[tokio::test]
async fn persistent_server_errors_give_up_after_the_bounded_attempts() {
    let server = MockServer::start().await;
    list_page_1()
        .respond_with(ResponseTemplate::new(503))
        .expect(3)
        .mount(&server)
        .await;
    let err = client(&server.uri())
        .upsert_comment(7, "<!-- m -->", "x")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("503") && !err.is_permission(),
        "{err}"
    );
}

#[tokio::test]
async fn github_enterprise_base_url_prefixes_every_path() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v3{COMMENTS}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v3{COMMENTS}")))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(201).set_body_json(comment(3, "x")))
        .expect(1)
        .mount(&server)
        .await;
    let gh = client(&format!("{}/api/v3/", server.uri()));
    assert_eq!(gh.upsert_comment(7, "<!-- m -->", "x").await.unwrap().id, 3);
}

#[tokio::test]
async fn a_huge_report_is_posted_under_githubs_limit() {
    let server = MockServer::start().await;
    list_page_1()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(COMMENTS))
        .respond_with(ResponseTemplate::new(201).set_body_json(comment(4, "x")))
        .expect(1)
        .mount(&server)
        .await;
    let m = marker("perf", "run", "matrix.yaml");
    let report = "| scenario | rate | änderung |\n".repeat(5_000);
    let body = comment_body(&m, &report, Some("https://github.test/run/1"));
    client(&server.uri())
        .upsert_comment(7, &m, &body)
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    let post = requests
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .unwrap();
    let sent: serde_json::Value = serde_json::from_slice(&post.body).unwrap();
    let sent = sent["body"].as_str().unwrap();
    assert!(
        sent.chars().count() <= COMMENT_LIMIT,
        "{}",
        sent.chars().count()
    );
    assert!(sent.starts_with(&m) && sent.contains("https://github.test/run/1"));
}

#[tokio::test]
async fn nightly_regression_opens_then_updates_one_tracking_issue() {
    let server = MockServer::start().await;
    let m = marker("nightly", "perf", "matrix.yaml");
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/issues"))
        .and(query_param("labels", "msgperf-regression"))
        .and(query_param("state", "open"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/octo/app/issues"))
        .and(body_partial_json(json!({ "labels": ["msgperf-regression"] })))
        .respond_with(ResponseTemplate::new(201).set_body_json(
            json!({ "number": 12, "body": m, "html_url": "https://github.test/octo/app/issues/12" }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let gh = client(&server.uri());
    let first = gh
        .upsert_tracking_issue(&m, &format!("{m}\nday 1"))
        .await
        .unwrap();
    assert_eq!((first.number, first.created), (12, true));

    Mock::given(method("GET"))
        .and(path("/repos/octo/app/issues"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            { "number": 11, "body": m, "html_url": "x", "pull_request": {} },
            { "number": 12, "body": format!("{m}\nday 1"), "html_url": "https://github.test/octo/app/issues/12" }
        ])))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/octo/app/issues/12"))
        .and(body_partial_json(json!({ "body": format!("{m}\nday 2") })))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "number": 12, "html_url": "https://github.test/octo/app/issues/12" }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let second = gh
        .upsert_tracking_issue(&m, &format!("{m}\nday 2"))
        .await
        .unwrap();
    assert_eq!((second.number, second.created), (12, false));
}

#[tokio::test]
async fn baseline_artifact_is_the_newest_from_the_default_branch() {
    use std::io::Write;
    let server = MockServer::start().await;
    let mut zip_bytes = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut zip_bytes);
        w.start_file("report.json", zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(b"{\"schema\":1}").unwrap();
        w.finish().unwrap();
    }
    Mock::given(method("GET"))
        .and(path("/repos/octo/app"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "default_branch": "main" })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/actions/artifacts"))
        .and(query_param("name", "msgperf results"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "total_count": 3, "artifacts": [
                { "id": 1, "expired": false, "workflow_run": { "head_branch": "feature" } },
                { "id": 2, "expired": true, "workflow_run": { "head_branch": "main" } },
                { "id": 3, "expired": false, "workflow_run": { "head_branch": "main" } }
            ]}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/actions/artifacts/3/zip"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/blob/3.zip", server.uri()).as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/blob/3.zip"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(zip_bytes.into_inner()))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let got = client(&server.uri())
        .fetch_artifact("msgperf results", dir.path())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((got.id, got.files), (3, 1));
    assert!(dir.path().join("report.json").is_file());
    let requests = server.received_requests().await.unwrap();
    let blob = requests
        .iter()
        .find(|r| r.url.path() == "/blob/3.zip")
        .unwrap();
    assert!(
        !blob.headers.contains_key("authorization"),
        "the token must not go to the storage host"
    );
}
