//! The GitHub client (octocrab underneath) against a wiremock server: the
//! sticky comment's create/update cycle, pagination, permission fallback,
//! retries, GitHub Enterprise base URLs and the comment size limit
//! (tests/it/github_nightly_wiremock.rs has the nightly side).

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

/// The PR has no comment yet (the first page of comments is empty).
async fn no_comments_yet(server: &MockServer) {
    list_page_1()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(server)
        .await;
}

/// Fails the test (on the server's drop) if anything is POSTed: the comment
/// must be updated in place, never created a second time. Shared with the
/// action's tests.
pub(crate) async fn no_posts(server: &MockServer) {
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(server)
        .await;
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
    no_posts(&server).await;
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
    no_posts(&server).await;
    let out = client(&server.uri())
        .upsert_comment(7, &m, "new")
        .await
        .unwrap();
    assert_eq!((out.id, out.created), (777, false));
}

#[tokio::test]
async fn a_read_only_token_is_a_permission_error_without_retries() {
    let server = MockServer::start().await;
    no_comments_yet(&server).await;
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
    no_comments_yet(&server).await;
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
