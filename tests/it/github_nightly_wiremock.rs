//! The nightly side of the GitHub client against wiremock: the tracking
//! issue found by label and marker, the baseline artifact download, and the
//! commit-to-PR lookup behind `comment: always`.

use std::time::Duration;

use msgperf::github::{marker, GitHub, Repo, RetryPolicy};
use serde_json::json;
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(base: &str) -> GitHub {
    GitHub::new(base, "ghs_test_token", Repo::parse("octo/app").unwrap())
        .unwrap()
        .with_retry(RetryPolicy {
            attempts: 3,
            backoff: Duration::from_millis(10),
            max_wait: Duration::from_secs(2),
        })
}

#[tokio::test]
async fn the_open_pr_of_a_commit_is_found_for_comment_always() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/commits/abc123/pulls"))
        .and(header("authorization", "Bearer ghs_test_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            { "number": 3, "state": "closed" },
            { "number": 8, "state": "open" }
        ])))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        client(&server.uri())
            .open_pr_of_commit("abc123")
            .await
            .unwrap(),
        Some(8)
    );
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
