//! The repository's scaled-out workflow and `msgperf expand --format github`
//! must fit together: actionlint (in .ci/run) checks the workflow's syntax
//! and expressions, and this test checks what actionlint cannot see inside
//! `fromJSON(...)`: every `matrix.<key>` the job matrix uses is in every
//! generated entry, and the values reach the action's inputs and parse there.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use msgperf::action::{ActionConfig, Inputs};
use msgperf::matrix::Slice;
use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

/// Every `matrix.<key>` in a job's text.
fn matrix_keys(job: &Value) -> BTreeSet<String> {
    let text = job.to_string();
    text.match_indices("matrix.")
        .map(|(i, m)| {
            text[i + m.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                .collect::<String>()
        })
        .filter(|k| !k.is_empty())
        .collect()
}

fn expand(matrix: &Path, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_msgperf"))
        .args(["expand", "--format", "github", "--matrix"])
        .arg(matrix)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    // `echo "matrix=$json" >> $GITHUB_OUTPUT` needs a single line.
    assert_eq!(text.trim_end().lines().count(), 1, "{text}");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn the_workflow_consumes_what_expand_generates() {
    let wf = yaml(".github/workflows/scale-out.yml");
    let jobs = &wf["jobs"];
    let plan_step = jobs["expand"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "plan")
        .expect("expand job has the plan step");
    let script = plan_step["run"].as_str().unwrap();
    assert!(script.contains("msgperf expand") && script.contains("--format github"));
    assert!(script.contains("matrix=$matrix") && script.contains("GITHUB_OUTPUT"));
    assert_eq!(
        jobs["expand"]["outputs"]["matrix"],
        "${{ steps.plan.outputs.matrix }}"
    );
    let run = &jobs["run"];
    assert_eq!(
        run["strategy"]["matrix"],
        "${{ fromJSON(needs.expand.outputs.matrix) }}"
    );
    let used = matrix_keys(run);
    assert!(used.contains("shard") && used.contains("part"), "{used:?}");
    let step = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["uses"] == "./")
        .expect("the run job uses the action");
    let with = step["with"].as_object().unwrap();

    // The published matrix (embedded target) sharded, and a split plan.
    let dir = tempfile::tempdir().unwrap();
    let split_matrix = dir.path().join("split.yaml");
    std::fs::write(
        &split_matrix,
        "target:\n  messenger_ws_url: wss://m.example\n  organizer_api_url: https://o.example\n  participant_api_url: https://p.example\n  event_id: 1\n  organizer_email: o{n}@example.com\n  organizer_password: pw\nmatrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms, 1s]\nrepetitions: 2\n",
    )
    .unwrap();
    let cases = [
        expand(&root().join("matrix.yaml"), &["--shards", "3"]),
        expand(&split_matrix, &["--shards", "2", "--split", "3"]),
    ];
    for generated in &cases {
        let obj = generated.as_object().unwrap();
        assert_eq!(obj.keys().collect::<Vec<_>>(), ["include"]);
        let include = obj["include"].as_array().unwrap();
        assert!(!include.is_empty() && include.len() <= 256);
        for entry in include {
            for key in &used {
                assert!(
                    entry[key].is_string(),
                    "matrix.{key} is used by the workflow but missing in {entry}"
                );
            }
            // The values the workflow passes to the action parse there.
            let env = |name: &str| -> Option<String> {
                let input = name.strip_prefix("INPUT_")?.to_ascii_lowercase();
                let expr = with.get(&input)?.as_str()?.to_string();
                let key = expr
                    .strip_prefix("${{ matrix.")?
                    .strip_suffix(" }}")?
                    .to_string();
                Some(entry[key.as_str()].as_str()?.to_string())
            };
            let cfg = ActionConfig::from_inputs(&Inputs::new(&env))
                .unwrap_or_else(|e| panic!("{entry} does not parse as action inputs: {e}"));
            assert_eq!(
                cfg.shard,
                Slice::parse(entry["shard"].as_str().unwrap(), "shard").unwrap()
            );
            assert_eq!(
                cfg.part,
                Slice::parse(entry["part"].as_str().unwrap(), "part").unwrap()
            );
            assert_eq!(
                cfg.start_at.is_some(),
                !entry["start_at"].as_str().unwrap().is_empty()
            );
            assert_eq!(
                cfg.plan_id.map(|p| p.to_string()).as_deref(),
                entry["plan_id"].as_str(),
                "every job gets the plan's id"
            );
        }
    }
    // The split plan: 2 shards × 3 parts, one common start.
    let split = cases[1]["include"].as_array().unwrap();
    assert_eq!(split.len(), 6);
    let starts: BTreeSet<&str> = split
        .iter()
        .map(|e| e["start_at"].as_str().unwrap())
        .collect();
    assert_eq!(starts.len(), 1);
}

#[test]
fn perf_and_nightly_run_the_scaled_out_workflow() {
    for path in [
        ".github/workflows/perf.yml",
        ".github/workflows/nightly.yml",
    ] {
        let wf = yaml(path);
        let uses: Vec<&str> = wf["jobs"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|j| j["uses"].as_str())
            .collect();
        assert_eq!(uses, ["./.github/workflows/scale-out.yml"], "{path}");
    }
}

/// The action step of `job` in scale-out.yml: its `with:` block.
fn action_with(wf: &Value, job: &str) -> serde_json::Map<String, Value> {
    wf["jobs"][job]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["uses"] == "./")
        .unwrap_or_else(|| panic!("the {job} job uses the action"))["with"]
        .as_object()
        .unwrap()
        .clone()
}

/// The target reaches every job that runs load: scale-out.yml declares the
/// target inputs and the password secret, hands them to the run jobs'
/// action, and every input it declares is used; its callers pass them.
#[test]
fn the_target_and_its_secret_reach_every_run_job() {
    const TARGET: [&str; 5] = [
        "messenger-ws-url",
        "organizer-api-url",
        "participant-api-url",
        "event-id",
        "organizer-email",
    ];
    let wf = yaml(".github/workflows/scale-out.yml");
    let call = &wf["on"]["workflow_call"];
    let declared: BTreeSet<String> = call["inputs"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let text = std::fs::read_to_string(root().join(".github/workflows/scale-out.yml")).unwrap();
    for input in &declared {
        assert!(
            text.contains(&format!("inputs.{input} }}}}")),
            "input {input} is declared but never used"
        );
    }
    assert!(call["secrets"]["organizer-password"].is_object());
    let run = action_with(&wf, "run");
    for input in TARGET.iter().chain(&["matrix", "cloudwatch", "aws-region"]) {
        assert!(
            declared.contains(*input),
            "scale-out.yml lacks input {input}"
        );
        assert_eq!(
            run[*input],
            format!("${{{{ inputs.{input} }}}}"),
            "run job: {input}"
        );
    }
    assert_eq!(
        run["organizer-password"],
        "${{ secrets.organizer-password }}"
    );
    assert_eq!(run["plan-id"], "${{ matrix.plan_id }}");
    let report = action_with(&wf, "report");
    for input in [
        "matrix",
        "comment",
        "baseline",
        "fail-on-regression",
        "artifact-name",
    ] {
        assert_eq!(
            report[input],
            format!("${{{{ inputs.{input} }}}}"),
            "report job: {input}"
        );
    }
    // act has no strategy.job-index; matrix.key names the artifacts instead.
    assert!(!text.contains("strategy.job-index }}"));
    // After a failed part the report still runs on what the others uploaded
    // (act cannot show this: it does not start a job whose needs failed).
    let report_if = wf["jobs"]["report"]["if"].as_str().unwrap();
    assert!(report_if.contains("!cancelled()") && !report_if.contains("success()"));
    let upload = wf["jobs"]["run"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Upload this job's results")
        .unwrap();
    assert_eq!(upload["if"], "${{ !cancelled() }}");

    for path in [
        ".github/workflows/perf.yml",
        ".github/workflows/nightly.yml",
    ] {
        let caller = &yaml(path)["jobs"]["perf"];
        for input in TARGET {
            assert!(
                caller["with"][input]
                    .as_str()
                    .is_some_and(|v| v.contains("vars.")),
                "{path} does not pass {input}"
            );
        }
        assert!(
            caller["secrets"]["organizer-password"]
                .as_str()
                .is_some_and(|v| v.contains("secrets.")),
            "{path} does not pass the password"
        );
    }
}
