//! CloudWatch fetch and publish against a real moto server, through the real
//! AWS SDK and `tests/support/cbor_proxy.py`.
//!
//! Why the proxy: aws-sdk-cloudwatch (>= 1.100) speaks Smithy RPC v2 CBOR only
//! and moto answers CBOR with 404 (getmoto/moto#9195); the proxy translates
//! CBOR <-> AWS JSON 1.0. Its test hooks: `--page-size N` splits
//! GetMetricData answers into pages with a NextToken (moto never paginates),
//! and the access key id `DENIED` (or the namespace `Msgperf/AccessDenied`)
//! gets an `AccessDenied` error.
//!
//! Needs `moto_server` and `python3` with `cbor2`: `pip install 'moto[server]' cbor2`
//! (`.ci/run` installs pinned versions). Each test starts its own moto and
//! proxy on free loopback ports and kills them on drop.

use crate::common;

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use common::builder::{build, Spec};
use msgperf::analysis::analyze_run;
use msgperf::cloudwatch::{self, Connect, StaticKeys};
use msgperf::matrix::{CloudWatchConfig, MetricSource, MetricSpec, PublishConfig};
use msgperf::results::{RunMetrics, RunResult};

const NAMESPACE: &str = "Msgperf/Test";
const INSTANCE: &str = "i-0123456789abcdef0";

/// A child process killed (and reaped) on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// moto on a free port plus the proxy in front of it.
struct Stack {
    _moto: Proc,
    _proxy: Proc,
    endpoint: String,
}

impl Stack {
    fn start(page_size: usize) -> Stack {
        let port = free_port();
        let moto = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start moto_server ({e}); install it with `pip install 'moto[server]' cbor2`")
            });
        let moto = Proc(moto);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/cbor_proxy.py");
        let mut proxy = Command::new("python3")
            .arg(script)
            .args([
                "--port",
                "0",
                "--upstream",
                &format!("http://127.0.0.1:{port}"),
            ])
            .args(["--page-size", &page_size.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start python3 for the CBOR proxy");
        let stdout = proxy.stdout.take().expect("proxy stdout");
        let proxy = Proc(proxy);
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("proxy output");
        let proxy_port = line
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("the CBOR proxy did not start (said {line:?}); it needs `pip install 'moto[server]' cbor2`"))
            .to_string();
        Stack {
            _moto: moto,
            _proxy: proxy,
            endpoint: format!("http://127.0.0.1:{proxy_port}"),
        }
    }

    fn connect(&self, access_key: &str) -> Connect {
        Connect {
            region: Some("eu-central-1".into()),
            endpoint_url: Some(self.endpoint.clone()),
            static_keys: Some(StaticKeys {
                access_key_id: access_key.into(),
                secret_access_key: "test-secret".into(),
            }),
        }
    }

    /// An SDK client for seeding and reading back, through the proxy.
    fn sdk(&self) -> aws_sdk_cloudwatch::Client {
        let conf = aws_sdk_cloudwatch::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-central-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new("test", "test-secret", None, None, "test"))
            .build();
        aws_sdk_cloudwatch::Client::from_conf(conf)
    }
}

/// Whole hour, two hours ago: old enough that every period is complete.
fn base() -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    now - now % 3600 - 7200
}

fn rfc3339(t: i64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(t as u64)).to_string()
}

/// A run from `start` lasting `secs`, with a plateau and a first error.
fn run_at(start: i64, secs: i64) -> RunResult {
    let mut run = build(&Spec::new(100.0, 1, 400.0));
    run.started_at = rfc3339(start).into();
    run.ended_at = rfc3339(start + secs).into();
    run
}

fn config(metrics: Vec<MetricSpec>) -> CloudWatchConfig {
    CloudWatchConfig {
        region: None,
        endpoint_url: None,
        period: Duration::from_secs(60),
        wait_for_data: Duration::ZERO,
        required: false,
        metrics,
        publish: None,
    }
}

fn cpu(namespace: &str, stats: &[&str]) -> MetricSpec {
    MetricSpec {
        label: "messenger-cpu".into(),
        id: "m1".into(),
        source: MetricSource::Metric {
            namespace: namespace.into(),
            metric: "CPUUtilization".into(),
            dimensions: [("InstanceId".to_string(), INSTANCE.to_string())].into(),
            stats: stats.iter().map(|s| s.to_string()).collect(),
        },
    }
}

/// Seeds one value every 10 s from `from` (inclusive) to `to` (exclusive):
/// value = minute index * 10 + (second / 10), so each minute's average and
/// maximum are known.
async fn seed(client: &aws_sdk_cloudwatch::Client, from: i64, to: i64) -> Vec<(i64, f64)> {
    let mut data = Vec::new();
    let mut seeded = Vec::new();
    for t in (from..to).step_by(10) {
        let value = ((t - from) / 60) as f64 * 10.0 + ((t % 60) / 10) as f64;
        seeded.push((t, value));
        data.push(
            MetricDatum::builder()
                .metric_name("CPUUtilization")
                .dimensions(
                    Dimension::builder()
                        .name("InstanceId")
                        .value(INSTANCE)
                        .build(),
                )
                .timestamp(DateTime::from_secs(t))
                .value(value)
                .build(),
        );
    }
    for chunk in data.chunks(500) {
        client
            .put_metric_data()
            .namespace(NAMESPACE)
            .set_metric_data(Some(chunk.to_vec()))
            .send()
            .await
            .expect("PutMetricData through the proxy");
    }
    seeded
}

/// Per-minute (average, maximum) of seeded points, by minute start.
fn per_minute(seeded: &[(i64, f64)], minute: i64) -> (f64, f64) {
    let v: Vec<f64> = seeded
        .iter()
        .filter(|(t, _)| *t >= minute && *t < minute + 60)
        .map(|(_, v)| *v)
        .collect();
    (
        v.iter().sum::<f64>() / v.len() as f64,
        v.iter().copied().fold(f64::MIN, f64::max),
    )
}

async fn check_fetch_equals_seed(page_size: usize) {
    let stack = Stack::start(page_size);
    let b = base();
    // Seed 11:59 .. 12:06; the run is 12:00:30 .. 12:04:10, so the window is
    // 11:59 .. 12:06 and every minute of it has data.
    let seeded = seed(&stack.sdk(), b - 60, b + 360).await;
    let run = run_at(b + 30, 220);
    let cfg = config(vec![cpu(NAMESPACE, &["Average", "Maximum"])]);
    let a = analyze_run(&run);
    let fetched = cloudwatch::fetch_runs(&cfg, &stack.connect("test"), &[(&run, &a)]).await;
    assert!(fetched.errors.is_empty(), "{:?}", fetched.errors);
    let m = &fetched.runs[0];
    assert_eq!(m.window_start, rfc3339(b - 60));
    assert_eq!(m.window_end, rfc3339(b + 360));
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    assert_eq!(m.metrics.len(), 2);
    let (avg, max) = (&m.metrics[0], &m.metrics[1]);
    assert_eq!(
        (avg.stat.as_str(), max.stat.as_str()),
        ("Average", "Maximum")
    );
    let minutes: Vec<i64> = (0..7).map(|i| b - 60 + 60 * i).collect();
    let t_s: Vec<f64> = minutes.iter().map(|t| (t - b - 30) as f64).collect();
    assert_eq!(avg.points.iter().map(|p| p.t_s).collect::<Vec<_>>(), t_s);
    for (i, minute) in minutes.iter().enumerate() {
        let (a, x) = per_minute(&seeded, *minute);
        assert!(
            (avg.points[i].value - a).abs() < 1e-9,
            "minute {i}: {} vs {a}",
            avg.points[i].value
        );
        assert_eq!(max.points[i].value, x, "minute {i}");
    }
    // Over the run: the periods starting 12:00 .. 12:04 overlap 12:00:30 .. 12:04:10.
    let run_avgs: Vec<f64> = (1..6).map(|i| per_minute(&seeded, minutes[i]).0).collect();
    let expected = run_avgs.iter().sum::<f64>() / 5.0;
    assert!((avg.average.unwrap() - expected).abs() < 1e-9);
    assert_eq!(max.maximum, Some(per_minute(&seeded, minutes[5]).1));
    // Reference points: the period holding each instant.
    let marks = cloudwatch::marks_of(&a);
    let plateau = marks.plateau_start_s.expect("the built run has a plateau");
    let minute_of =
        |s: f64| b - 60 + 60 * (((b + 30) as f64 + s - (b - 60) as f64) / 60.0).floor() as i64;
    assert_eq!(
        avg.at_plateau_start,
        Some(per_minute(&seeded, minute_of(plateau)).0)
    );
    let first_error = marks
        .first_error_s
        .expect("the built run has a first error");
    if first_error < 270.0 {
        assert_eq!(
            max.at_first_error,
            Some(per_minute(&seeded, minute_of(first_error)).1)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fetch_returns_what_was_seeded() {
    check_fetch_equals_seed(0).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fetch_follows_next_token_pages() {
    // 2 queries x 7 points = 14 datapoints in pages of 3: five pages, series
    // split across pages.
    check_fetch_equals_seed(3).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_window_gives_notes_and_a_warning() {
    let stack = Stack::start(0);
    let b = base();
    let cfg = config(vec![cpu("Msgperf/Nothing", &["Average"])]);
    let run = run_at(b + 30, 60);
    let a = analyze_run(&run);
    let fetched = cloudwatch::fetch_runs(&cfg, &stack.connect("test"), &[(&run, &a)]).await;
    assert!(fetched.errors.is_empty(), "{:?}", fetched.errors);
    let m = &fetched.runs[0];
    assert_eq!(m.metrics.len(), 1);
    assert!(m.metrics[0].points.is_empty());
    assert_eq!(m.metrics[0].average, None);
    assert!(m.metrics[0]
        .note
        .as_deref()
        .unwrap_or("")
        .contains("no datapoint"));
    assert!(m.warnings[0].contains("unknown metric"), "{:?}", m.warnings);
}

#[tokio::test(flavor = "multi_thread")]
async fn access_denied_is_a_warning_with_a_hint() {
    let stack = Stack::start(0);
    let cfg = config(vec![cpu(NAMESPACE, &["Average"])]);
    let runs = [run_at(base() + 30, 60), run_at(base() + 600, 60)];
    let a: Vec<_> = runs.iter().map(analyze_run).collect();
    let pairs = [(&runs[0], &a[0]), (&runs[1], &a[1])];
    let fetched = cloudwatch::fetch_runs(&cfg, &stack.connect("DENIED"), &pairs).await;
    assert_eq!(fetched.errors.len(), 1, "said once: {:?}", fetched.errors);
    let text = fetched.errors[0].to_string();
    assert!(text.contains("access denied for GetMetricData"), "{text}");
    assert!(text.contains("cloudwatch:GetMetricData"), "{text}");
    assert!(!text.contains("test-secret"), "{text}");
    for m in &fetched.runs {
        assert!(m.metrics.is_empty());
        assert_eq!(m.warnings, std::slice::from_ref(&text));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_puts_the_run_numbers_with_scenario_and_branch() {
    let stack = Stack::start(0);
    let b = base();
    let run = run_at(b + 30, 120);
    let mut cfg = config(vec![cpu(NAMESPACE, &["Average"])]);
    cfg.publish = Some(PublishConfig {
        namespace: "Msgperf/Throughput".into(),
        branch: Some("main".into()),
    });
    let a = analyze_run(&run);
    let n = cloudwatch::publish_runs(&cfg, &stack.connect("test"), &[(&run, &a)], &|_| None)
        .await
        .expect("publish");
    let expected = cloudwatch::datums(&run, &a);
    assert_eq!(n, expected.len());
    assert!(n >= 3, "{expected:?}");
    // Read one back through the SDK.
    let sustained = expected.iter().find(|d| d.name == "PeakRate").unwrap();
    let out = stack
        .sdk()
        .get_metric_statistics()
        .namespace("Msgperf/Throughput")
        .metric_name("PeakRate")
        .dimensions(
            Dimension::builder()
                .name("Scenario")
                .value(&sustained.scenario)
                .build(),
        )
        .dimensions(Dimension::builder().name("Branch").value("main").build())
        .start_time(DateTime::from_secs(sustained.at - 300))
        .end_time(DateTime::from_secs(sustained.at + 300))
        .period(60)
        .statistics(aws_sdk_cloudwatch::types::Statistic::Maximum)
        .send()
        .await
        .expect("GetMetricStatistics");
    let values: Vec<f64> = out
        .datapoints()
        .iter()
        .filter_map(|d| d.maximum())
        .collect();
    assert_eq!(values, [sustained.value]);
}

/// Environment variable that makes this test binary run the no-credentials
/// check in a child process with a clean environment.
const CHILD: &str = "MSGPERF_CW_NO_CREDENTIALS_CHILD";

#[test]
fn no_credentials_is_a_bounded_warning() {
    // The child gets no AWS variables, an empty HOME (no profile), and an
    // instance-metadata endpoint that accepts connections but never answers:
    // without the bound, the credential chain would wait on it.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let imds = format!("http://{}", silent.local_addr().unwrap());
    let home = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "cloudwatch_moto::no_credentials_child",
            "--ignored",
            "--nocapture",
        ])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_REGION", "eu-central-1")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds)
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env(CHILD, "1")
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    drop(silent);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "{text}");
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "run by no_credentials_is_a_bounded_warning with a clean environment"]
async fn no_credentials_child() {
    assert_eq!(
        std::env::var(CHILD).as_deref(),
        Ok("1"),
        "run via no_credentials_is_a_bounded_warning"
    );
    let cfg = config(vec![cpu(NAMESPACE, &["Average"])]);
    let started = Instant::now();
    let run = run_at(base(), 60);
    let a = analyze_run(&run);
    let fetched = cloudwatch::fetch_runs(&cfg, &Connect::default(), &[(&run, &a)]).await;
    let elapsed = started.elapsed();
    println!("no-credentials fetch took {elapsed:?}");
    assert!(
        elapsed <= cloudwatch::CREDENTIALS_TIMEOUT + Duration::from_secs(3),
        "{elapsed:?}"
    );
    assert_eq!(fetched.errors.len(), 1);
    let text = fetched.errors[0].to_string();
    assert!(text.contains("no AWS credentials"), "{text}");
    assert!(text.contains("configure-aws-credentials"), "{text}");
    assert_eq!(fetched.runs[0].warnings, [text]);
}

/// A matrix file whose `cloudwatch:` block points at the proxy.
fn cloudwatch_matrix(stack: &Stack, dir: &Path, extra: &str) -> PathBuf {
    let matrix = dir.join("matrix.yaml");
    let yaml = format!(
        "matrix: {{ sci: [100ms], cpi: [100ms], smi: [500ms] }}\nstop: {{ max_duration: 2s, drain: 0s }}\ncloudwatch:\n  region: eu-central-1\n  endpoint_url: {}\n  wait_for_data: 0s\n{extra}  metrics:\n    - {{ label: messenger-cpu, namespace: {NAMESPACE}, metric: CPUUtilization, dimensions: {{ InstanceId: {INSTANCE} }}, stats: [Average, Maximum] }}\n",
        stack.endpoint
    );
    std::fs::write(&matrix, yaml).unwrap();
    matrix
}

/// msgperf with `args`, credentials from the environment (the default chain).
fn msgperf(access_key: &str, args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_msgperf"))
        .args(args)
        .env("CI", "true")
        .env("AWS_ACCESS_KEY_ID", access_key)
        .env("AWS_SECRET_ACCESS_KEY", "test-secret")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_REGION")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// The first run's CloudWatch metrics in a report.json, and report.md.
fn report_cloudwatch(report: &Path) -> (Option<RunMetrics>, String) {
    let md = std::fs::read_to_string(report.join("report.md")).unwrap_or_default();
    let json = std::fs::read_to_string(report.join("report.json")).unwrap_or_default();
    let metrics = serde_json::from_str::<msgperf::report::Report>(&json)
        .ok()
        .and_then(|r| r.cloudwatch.into_iter().next())
        .map(|c| c.metrics);
    (metrics, md)
}

/// `msgperf run` end to end: embedded server, a 2 s run, the `cloudwatch:`
/// block pointing at the proxy. Returns (exit code, stderr, result file,
/// the report's CloudWatch metrics of the run, report.md).
fn msgperf_run(
    stack: &Stack,
    access_key: &str,
    extra: &str,
) -> (Option<i32>, String, RunResult, Option<RunMetrics>, String) {
    let dir = tempfile::tempdir().unwrap();
    let matrix = cloudwatch_matrix(stack, dir.path(), extra);
    let (results, report) = (dir.path().join("results"), dir.path().join("report"));
    let (code, stderr) = msgperf(
        access_key,
        &[
            "run".as_ref(),
            "--matrix".as_ref(),
            matrix.as_os_str(),
            "--out".as_ref(),
            results.as_os_str(),
            "--report-dir".as_ref(),
            report.as_os_str(),
        ],
    );
    let run = msgperf::results::read_dir(&results).unwrap();
    let (metrics, md) = report_cloudwatch(&report);
    let run = run.into_iter().next().expect("one result");
    (code, stderr, run, metrics, md)
}

#[tokio::test(flavor = "multi_thread")]
async fn msgperf_run_puts_the_window_in_the_report_through_the_report_step() {
    let stack = Stack::start(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let seeded = seed(&stack.sdk(), now - now % 60 - 120, now - now % 60 + 240).await;
    let (code, stderr, run, cw, md) = msgperf_run(
        &stack,
        "test",
        "  publish: { namespace: Msgperf/Throughput, branch: e2e }\n",
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("published"), "{stderr}");
    assert!(run.cloudwatch.is_none(), "the result file is not rewritten");
    let cw = cw.expect("cloudwatch in report.json");
    assert!(cw.warnings.is_empty(), "{:?}", cw.warnings);
    assert_eq!(cw.metrics.len(), 2);
    let start = run.started_at.epoch_s().unwrap();
    let first = (start / 60.0).floor() as i64 * 60 - 60;
    assert!((cw.metrics[0].points[0].t_s - (first as f64 - start)).abs() < 1e-6);
    assert_eq!(cw.metrics[1].points[0].value, per_minute(&seeded, first).1);
    assert!(md.contains("**CloudWatch** (period 60 s"), "{md}");
    assert!(md.contains("| r1 | messenger-cpu | Maximum |"), "{md}");
}

#[tokio::test(flavor = "multi_thread")]
async fn msgperf_run_keeps_its_exit_code_on_access_denied_unless_required() {
    let stack = Stack::start(0);
    let (code, stderr, _, cw, md) = msgperf_run(&stack, "DENIED", "");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("access denied for GetMetricData"),
        "{stderr}"
    );
    assert!(!stderr.contains("test-secret"), "{stderr}");
    let cw = cw.expect("warnings in report.json");
    assert!(
        cw.warnings[0].contains("access denied"),
        "{:?}",
        cw.warnings
    );
    assert!(md.contains("⚠️ r1: CloudWatch: access denied"), "{md}");
    let (code, stderr, _, _, _) = msgperf_run(&stack, "DENIED", "  required: true\n");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("cloudwatch.required is true"), "{stderr}");
}

/// `msgperf report --cloudwatch` over result files from elsewhere (a
/// downloaded artifact): the report has each run's window as seeded, the
/// result files stay as they were, and without the flag there is none.
#[tokio::test(flavor = "multi_thread")]
async fn msgperf_report_cloudwatch_enriches_downloaded_results() {
    let stack = Stack::start(0);
    let b = base();
    let seeded = seed(&stack.sdk(), b - 60, b + 360).await;
    let dir = tempfile::tempdir().unwrap();
    let matrix = cloudwatch_matrix(&stack, dir.path(), "");
    let results = dir.path().join("artifact");
    std::fs::create_dir(&results).unwrap();
    let file = run_at(b + 30, 220).write_to_dir(&results).unwrap();
    let before = std::fs::read(&file).unwrap();
    let report = |out: &str, flags: &[&str]| {
        let out = dir.path().join(out);
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "report".as_ref(),
            "--results".as_ref(),
            results.as_os_str(),
            "--matrix".as_ref(),
            matrix.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ];
        args.extend(flags.iter().map(std::ffi::OsStr::new));
        let (code, stderr) = msgperf("test", &args);
        assert_eq!(code, Some(0), "{stderr}");
        report_cloudwatch(&out)
    };
    let (cw, md) = report("with", &["--cloudwatch"]);
    let cw = cw.expect("cloudwatch in report.json");
    assert!(cw.warnings.is_empty(), "{:?}", cw.warnings);
    assert_eq!(cw.window_start, rfc3339(b - 60));
    let max = &cw.metrics[1];
    assert_eq!(max.points[1].value, per_minute(&seeded, b).1);
    assert!(md.contains("**CloudWatch** (period 60 s"), "{md}");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "the result file is unchanged"
    );
    let (cw, md) = report("without", &[]);
    assert!(cw.is_none() && !md.contains("**CloudWatch**"), "{md}");
    // --cloudwatch with a matrix file that has no `cloudwatch:` block: exit 2.
    let bare = dir.path().join("bare.yaml");
    std::fs::write(
        &bare,
        "matrix: { sci: [10ms], cpi: [20ms], smi: [100ms] }\n",
    )
    .unwrap();
    let (code, stderr) = msgperf(
        "test",
        &[
            "report".as_ref(),
            "--results".as_ref(),
            results.as_os_str(),
            "--matrix".as_ref(),
            bare.as_os_str(),
            "--cloudwatch".as_ref(),
            "--out".as_ref(),
            dir.path().join("bare").as_os_str(),
        ],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no `cloudwatch:` block"), "{stderr}");
}
