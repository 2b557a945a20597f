//! One hook at a time, without a load run: exit codes, output, masking,
//! timeouts that kill the whole process group, readiness probes.

use super::*;

fn hook(run: &str, timeout_ms: u64, wait_for: Option<&str>) -> Hook {
    Hook {
        run: run.into(),
        timeout: Duration::from_millis(timeout_ms),
        wait_for: wait_for.map(str::to_string),
        pass_password: false,
    }
}

async fn run_plain(h: &Hook) -> HookRecord {
    let env = vec![("MSGPERF_SCENARIO_ID".to_string(), "s-r1".to_string())];
    run(
        HookPhase::BeforeEach,
        h,
        &env,
        &Masker::new("hunter2-pw", &env),
        &CancellationToken::new(),
    )
    .await
}

#[tokio::test]
async fn exit_status_output_and_environment_are_recorded_with_secrets_masked() {
    let r = run_plain(&hook(
        "echo \"id=$MSGPERF_SCENARIO_ID\"; echo 'pw hunter2-pw' >&2; exit 3",
        5000,
        None,
    ))
    .await;
    assert!(!r.ok);
    assert_eq!(r.exit_status, Some(3));
    assert_eq!(r.error.as_deref(), Some("exited with status 3"));
    assert!(r.output.contains("id=s-r1"), "{}", r.output);
    assert!(r.output.contains("pw ***"), "{}", r.output);
    assert!(!r.output.contains("hunter2"), "{}", r.output);
    let ok = run_plain(&hook("true", 5000, None)).await;
    assert!(ok.ok && ok.error.is_none() && ok.exit_status == Some(0));
}

#[tokio::test]
async fn secret_looking_variables_are_masked_in_command_and_output() {
    let env = vec![("DEPLOY_TOKEN".to_string(), "tok-abcdef".to_string())];
    let h = hook("echo tok-abcdef", 5000, None);
    let r = run(
        HookPhase::AfterAll,
        &h,
        &env,
        &Masker::new("", &env),
        &CancellationToken::new(),
    )
    .await;
    assert_eq!(r.command, "echo ***");
    assert_eq!(r.output.trim(), "***");
}

#[tokio::test]
async fn only_the_last_4_kib_of_output_are_kept() {
    let r = run_plain(&hook(
        "i=0; while [ $i -lt 300 ]; do echo \"line $i of padding padding padding\"; i=$((i+1)); done; echo END",
        10_000,
        None,
    ))
    .await;
    assert!(r.ok, "{r:?}");
    assert!(r.output.len() <= OUTPUT_TAIL, "{}", r.output.len());
    assert!(r.output.len() > OUTPUT_TAIL - 100, "{}", r.output.len());
    assert!(r.output.trim_end().ends_with("END"));
    assert!(!r.output.contains("line 0 of"));
}

#[tokio::test]
async fn a_hook_past_its_timeout_is_killed_with_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("child.pid");
    let started = Instant::now();
    let r = run_plain(&hook(
        &format!(
            "sleep 30 & echo $! > {}; echo waiting; wait",
            pidfile.display()
        ),
        // Long enough for a busy machine to start the shell and print.
        2000,
        None,
    ))
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert!(!r.ok);
    assert_eq!(r.exit_status, None);
    let error = r.error.unwrap();
    assert!(error.contains("timed out after 2s"), "{error}");
    assert!(r.output.contains("waiting"), "{}", r.output);
    // The background `sleep` was in the hook's process group: it is gone too.
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Gone, or a zombie waiting for a reaper that is not us.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .trim_start()
        .chars()
        .next();
    let alive = !matches!(state, None | Some('Z') | Some('X'));
    assert!(!alive, "child {pid} survived the timeout");
}

#[tokio::test]
async fn an_interrupt_kills_a_running_hook_promptly() {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let r = run(
        HookPhase::BeforeEach,
        &hook("sleep 30", 60_000, None),
        &[],
        &Masker::default(),
        &token,
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(r.error.unwrap().contains("interrupted"));
}

#[tokio::test]
async fn a_probe_that_never_answers_times_out_clearly() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let r = run_plain(&hook("true", 800, Some(&format!("tcp://127.0.0.1:{port}")))).await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert!(!r.ok);
    assert_eq!(r.exit_status, Some(0));
    let error = r.error.unwrap();
    assert!(error.contains(&format!("readiness probe tcp://127.0.0.1:{port} did not succeed within the hook's timeout of 800ms")), "{error}");
    assert!(error.contains("connect"), "{error}");
}

/// Answers every HTTP request with `status`, and counts them.
async fn http_server(status: &'static str) -> (String, Arc<std::sync::atomic::AtomicU32>) {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/health", listener.local_addr().unwrap());
    let hits = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let reply =
                format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = s.write_all(reply.as_bytes()).await;
        }
    });
    (url, hits)
}

#[tokio::test]
async fn an_http_probe_waits_for_2xx() {
    let (up, _) = http_server("204 No Content").await;
    let r = run_plain(&hook("true", 3000, Some(&up))).await;
    assert!(r.ok, "{r:?}");
    let (down, hits) = http_server("503 Service Unavailable").await;
    let r = run_plain(&hook("true", 1000, Some(&down))).await;
    assert!(!r.ok);
    assert!(r.error.unwrap().contains("last: HTTP 503"));
    assert!(
        hits.load(std::sync::atomic::Ordering::SeqCst) >= 2,
        "polled more than once"
    );
}

#[tokio::test]
async fn probe_variables_come_from_the_hook_environment() {
    let (up, _) = http_server("200 OK").await;
    let env = vec![(
        "MSGPERF_ORGANIZER_API_URL".to_string(),
        up.trim_end_matches("/health").to_string(),
    )];
    let h = hook("true", 3000, Some("${MSGPERF_ORGANIZER_API_URL}/health"));
    let r = run(
        HookPhase::BeforeAll,
        &h,
        &env,
        &Masker::default(),
        &CancellationToken::new(),
    )
    .await;
    assert!(r.ok, "{r:?}");
    let missing = hook("true", 3000, Some("${NO_SUCH_MSGPERF_VAR}/x"));
    let r = run(
        HookPhase::BeforeAll,
        &missing,
        &env,
        &Masker::default(),
        &CancellationToken::new(),
    )
    .await;
    assert!(r.error.unwrap().contains("NO_SUCH_MSGPERF_VAR"));
}
