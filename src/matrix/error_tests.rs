//! Error texts of `parse` for bad files: each must name the file, line,
//! column and key, say what is wrong and what to do, and never leak a secret.

use super::tests::env;
use super::*;

/// The error for `text`, or fails the test.
fn err(text: &str) -> MatrixError {
    match parse("bad.yaml", text, &env) {
        Ok(plan) => panic!("accepted:\n{text}\n{plan:?}"),
        Err(e) => e,
    }
}

/// Asserts that the error text contains every piece, and returns the text.
fn check(text: &str, pieces: &[&str]) -> String {
    let e = err(text);
    let shown = e.to_string();
    for piece in pieces {
        assert!(shown.contains(piece), "missing {piece:?} in:\n{shown}");
    }
    assert_eq!(e.exit_code(), 2);
    shown
}

const MATRIX: &str = "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [1s]\n";

#[test]
fn typo_key_suggests_the_nearest() {
    let shown = check(
        &format!("{MATRIX}stop:\n  max_duraton: 30s\n"),
        &[
            "bad.yaml, line 6, column 3, key `stop.max_duraton`",
            "unknown key `max_duraton`",
            "did you mean `max_duration`?",
            "6 |   max_duraton: 30s",
            "|   ^^^^^^^^^^^",
        ],
    );
    assert!(shown.contains("hint:"), "{shown}");
}

#[test]
fn unknown_key_without_near_match_lists_allowed_keys() {
    check(
        &format!("{MATRIX}colour: blue\n"),
        &[
            "line 5, column 1",
            "key `colour`",
            "unknown key `colour`",
            "allowed here: target, matrix, repetitions",
        ],
    );
}

#[test]
fn wrong_type_says_what_to_write() {
    check(
        &format!("{MATRIX}repetitions: three\n"),
        &[
            "line 5, column 14",
            "key `repetitions`",
            "`three` is not a whole number",
            "hint: write digits",
        ],
    );
    check(
        "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: 10s\n",
        &[
            "line 4, column 8",
            "key `matrix.smi`",
            "hint: write a list of durations",
        ],
    );
}

#[test]
fn bad_duration_names_the_unit() {
    check(
        &format!("{MATRIX}stop:\n  max_duration: 10 parsecs\n"),
        &[
            "line 6, column 17, key `stop.max_duration`",
            "`10 parsecs` is not a duration",
            "parsecs",
            "hint: write a number and a unit, such as `10ms`",
        ],
    );
    check(
        "matrix:\n  sci: [10ms, 5]\n  cpi: [20ms]\n  smi: [1s]\n",
        &[
            "line 2, column 15",
            "key `matrix.sci[1]`",
            "`5` is not a duration",
        ],
    );
}

#[test]
fn zero_values_are_refused() {
    check(
        "matrix:\n  sci: [0ms]\n  cpi: [20ms]\n  smi: [1s]\n",
        &[
            "line 2, column 9",
            "key `matrix.sci[0]`",
            "must be longer than zero",
        ],
    );
    check(
        &format!("{MATRIX}repetitions: 0\n"),
        &[
            "line 5",
            "key `repetitions`",
            "0 is not allowed",
            "at least 1",
        ],
    );
    check(
        &format!("{MATRIX}organizers: 0\n"),
        &["line 5", "key `organizers`", "0 is not allowed"],
    );
    check(
        &format!("{MATRIX}stop: {{handshake_timeout: 0s}}\n"),
        &["key `stop.handshake_timeout`", "zero"],
    );
}

#[test]
fn empty_list_is_refused() {
    check(
        "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: []\n",
        &[
            "bad.yaml, line 4, column 8",
            "key `matrix.smi`",
            "lists no durations",
            "hint: list at least one duration, such as `smi: [100ms]`",
        ],
    );
}

#[test]
fn missing_variable_names_it_and_says_to_export() {
    let text = "target:\n  messenger_ws_url: ws://h:1\n  organizer_api_url: http://h:2\n  participant_api_url: http://h:3\n  event_id: 1\n  organizer_email: a@b\n  organizer_password: ${NO_SUCH_PASSWORD}\n"
        .to_string()
        + MATRIX;
    let e = err(&text);
    assert!(
        matches!(&e, MatrixError::MissingVariable { variable, .. } if variable == "NO_SUCH_PASSWORD"),
        "{e:?}"
    );
    let shown = e.to_string();
    for piece in [
        "bad.yaml, line 7, column 23, key `target.organizer_password`",
        "environment variable `NO_SUCH_PASSWORD` is not set",
        "export NO_SUCH_PASSWORD=",
        "7 |   organizer_password: ${NO_SUCH_PASSWORD}",
    ] {
        assert!(shown.contains(piece), "missing {piece:?} in:\n{shown}");
    }
}

#[test]
fn unknown_on_error_lists_the_choices() {
    check(
        &format!("{MATRIX}stop:\n  on_error: sometimes\n"),
        &[
            "line 6, column 13, key `stop.on_error`",
            "`sometimes` is not a valid on_error value",
            "`first`",
            "`never`",
            "`1%`",
        ],
    );
    check(
        &format!("{MATRIX}stop:\n  on_error: 150%\n"),
        &["key `stop.on_error`", "outside the range (0%, 100%]"],
    );
    check(
        &format!("{MATRIX}stop:\n  on_error: 0%\n"),
        &["outside the range"],
    );
    check(
        &format!("{MATRIX}stop:\n  on_error: 1\n"),
        &["`1` is not a valid on_error value", "`1%`"],
    );
}

const TARGET: &str = "target:\n  messenger_ws_url: ws://h:1\n  organizer_api_url: http://h:2\n  participant_api_url: http://h:3\n  event_id: 1\n  organizer_email: a@b\n  organizer_password: hunter2\n";

#[test]
fn bad_url_scheme_names_the_expected_ones() {
    let text = TARGET.replace("ws://h:1", "http://h:1") + MATRIX;
    check(
        &text,
        &[
            "line 2, column 21, key `target.messenger_ws_url`",
            "`http://h:1` is not a valid URL here: it needs the scheme ws:// or wss://",
            "hint: write a URL such as `ws://",
        ],
    );
    let text = TARGET.replace("http://h:3", "ftp://user:pw@h:3") + MATRIX;
    let shown = check(
        &text,
        &[
            "line 4",
            "key `target.participant_api_url`",
            "http:// or https://",
            "ftp://***@h:3",
        ],
    );
    // Credentials in a URL are masked in the problem and in the source line.
    assert!(!shown.contains("user:pw"), "{shown}");
}

#[test]
fn missing_target_key_is_named() {
    let text = TARGET.replace("  event_id: 1\n", "") + MATRIX;
    check(
        &text,
        &[
            "key `target.event_id`",
            "required key `event_id` is missing",
            "hint: add `event_id:`",
        ],
    );
}

#[test]
fn missing_matrix_and_empty_file() {
    check(
        "repetitions: 3\n",
        &[
            "bad.yaml",
            "key `matrix`",
            "required key `matrix` is missing",
        ],
    );
    let shown = err("").to_string();
    assert!(shown.starts_with("bad.yaml"), "{shown}");
    assert!(shown.contains("matrix"), "{shown}");
}

#[test]
fn include_errors() {
    check(
        &format!("{MATRIX}  include:\n    - {{ smi: 1s, organisers: 2 }}\n"),
        &[
            "line 6",
            "key `matrix.include[0].organisers`",
            "did you mean `organizers`?",
        ],
    );
    check(
        &format!("{MATRIX}  include:\n    - {{ sci: 5ms }}\n"),
        &[
            "line 6, column 7",
            "key `matrix.include[0]`",
            "does not give cpi, smi",
            "give all of sci, cpi and smi",
        ],
    );
    check(
        &format!("{MATRIX}  exclude:\n    - {{}}\n"),
        &["key `matrix.exclude[0]`", "names no key"],
    );
    check(
        &format!("{MATRIX}  exclude:\n    - {{ organizers: 2 }}\n"),
        &["key `matrix.exclude[0].organizers`", "unknown key"],
    );
    check(
        &format!("{MATRIX}  exclude:\n    - {{ smi: 1s }}\n"),
        &[
            "line 6, column 7",
            "key `matrix.exclude`",
            "no combinations left",
        ],
    );
    check(
        &format!("{MATRIX}  include:\n    - {{ sci: 1ms, cpi: 1ms, smi: 1ms }}\n    - {{ sci: 1ms, cpi: 1ms, smi: 1ms, max_duration: 9s }}\n"),
        &["line 7", "key `matrix.include[1]`", "`sci1ms-cpi1ms-smi1ms`", "give them different organizers"],
    );
}

#[test]
fn huge_matrix_is_refused_before_expansion() {
    check(
        &format!("{MATRIX}repetitions: 4000000000\n"),
        &[
            "key `matrix`",
            "expands to 4000000000 scenarios",
            "limit of 10000",
        ],
    );
}

#[test]
fn gate_values_are_checked() {
    check(
        &format!("{MATRIX}gate: {{alpha: 1.5}}\n"),
        &["key `gate.alpha`", "not between 0 and 1"],
    );
    check(
        &format!("{MATRIX}gate: {{min_change: lots}}\n"),
        &[
            "key `gate.min_change`",
            "`lots` is not a relative change",
            "`5%`",
        ],
    );
    check(
        &format!("{MATRIX}gate: {{fail_on_regression: yes}}\n"),
        &["key `gate.fail_on_regression`", "`true` or `false`"],
    );
}

#[test]
fn yaml_syntax_and_duplicate_keys() {
    check(
        &format!("{MATRIX}repetitions: 3\nrepetitions: 4\n"),
        &["line 6", "key `repetitions`", "given twice"],
    );
    check(
        "matrix:\n  sci: [10ms\n  cpi: [20ms]\n",
        &[
            "bad.yaml, line 3, column 6",
            "hint: this is not valid YAML here",
        ],
    );
    check(
        &format!("{MATRIX}---\nmatrix: {{}}\n"),
        &["line 6", "more than one YAML document"],
    );
}

#[test]
fn embedded_capacity_keys_are_checked() {
    check(
        &format!("{MATRIX}embedded:\n  max_message_per_second: 5\n"),
        &[
            "line 6",
            "key `embedded.max_message_per_second`",
            "did you mean `max_messages_per_second`?",
        ],
    );
}

#[test]
fn secrets_never_appear_in_errors() {
    // Literal password, error elsewhere in the file.
    let e = err(&(TARGET.to_string() + MATRIX + "repetitions: three\n"));
    // Literal password under a misspelt key: the snippet shows that very line.
    let typo = err(&(TARGET.replace("organizer_password", "organizer_pasword") + MATRIX));
    // Password from the environment, error after interpolation.
    let from_env =
        err(&(TARGET.replace("hunter2", "${ORGANIZER_PASSWORD}") + &MATRIX.replace("[1s]", "[]")));
    for e in [e, typo, from_env] {
        let shown = format!("{e}\n{e:?}");
        assert!(!shown.contains("hunter2"), "password leaked:\n{shown}");
        assert!(shown.contains("bad.yaml, line"), "{shown}");
    }
}

#[test]
fn cloudwatch_block_errors_name_the_key() {
    let base = "matrix: { sci: [1s], cpi: [1s], smi: [1s] }\ncloudwatch:\n";
    check(
        &format!("{base}  period: 45s\n  metrics: [{{ label: a, namespace: N, metric: M }}]\n"),
        &[
            "line 3",
            "cloudwatch.period",
            "not a CloudWatch period",
            "multiple of 60s",
        ],
    );
    check(
        &format!("{base}  metrics: []\n"),
        &["cloudwatch.metrics", "lists no metric"],
    );
    check(
        &format!("{base}  metrics:\n    - {{ label: a, namespace: N }}\n"),
        &[
            "line 4",
            "cloudwatch.metrics[0]",
            "either `namespace` and `metric`",
        ],
    );
    check(
        &format!("{base}  metrics:\n    - {{ label: a, namespace: N, metric: M }}\n    - {{ label: a, expression: x }}\n"),
        &["line 5", "cloudwatch.metrics[1]", "used twice"],
    );
    check(
        &format!("{base}  metrics:\n    - {{ label: a, id: M1, namespace: N, metric: M }}\n"),
        &["cloudwatch.metrics[0]", "query id", "lowercase letter"],
    );
    check(
        &format!("{base}  metrcs: []\n"),
        &["cloudwatch.metrcs", "did you mean `metrics`?"],
    );
    check(
        &format!(
            "{base}  wait_for_data: soon\n  metrics: [{{ label: a, namespace: N, metric: M }}]\n"
        ),
        &["cloudwatch.wait_for_data", "not a duration"],
    );
}

#[test]
fn an_unknown_arrival_names_the_choices() {
    check(
        &format!("{MATRIX}arrival: closed\n"),
        &["bad.yaml, line 5", "`arrival`", "rate", "sequential"],
    );
}

/// Regression: `max_duration: 500000000000y` parsed, and `run` panicked
/// ("overflow when adding duration to instant") instead of exiting 2.
#[test]
fn durations_longer_than_a_week_are_refused_before_they_overflow_the_clock() {
    check(
        &format!("{MATRIX}stop:\n  max_duration: 500000000000y\n"),
        &[
            "line 6, column 17, key `stop.max_duration`",
            "longer than the 7 days",
        ],
    );
    check(
        "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [10000y]\n",
        &["line 4", "key `matrix.smi[0]`", "longer than the 7 days"],
    );
    let week = format!("{MATRIX}stop:\n  max_duration: 7days\n  drain: 1week\n");
    assert!(parse("ok.yaml", &week, &env).is_ok());
}

/// Regression: scanner errors (a tab, a second document, an empty file)
/// named no key; they now name the key of their line.
#[test]
fn yaml_errors_before_any_key_name_the_key_of_their_line() {
    check(
        &format!("{MATRIX}stop:\n\tmax_duration: 30s\n"),
        &["line 6", "key `stop.max_duration`"],
    );
    check(
        &format!("{MATRIX}---\n{MATRIX}"),
        &["line 6", "key `matrix`"],
    );
    check("# nothing\n", &["key `matrix`", "the file is empty"]);
}

/// Regression: a file that is not UTF-8 was "cannot read …: stream did not
/// contain valid UTF-8", with no line or key.
#[test]
fn bytes_that_are_not_utf8_name_line_and_key() {
    let mut bytes = format!("{MATRIX}stop:\n  on_error: ").into_bytes();
    bytes.extend_from_slice(b"\xE9\n");
    let e = parse_bytes("bad.yaml", &bytes, &env).unwrap_err();
    let shown = e.to_string();
    assert!(
        shown.contains("bad.yaml, line 6, column 13, key `stop.on_error`"),
        "{shown}"
    );
    assert!(shown.contains("not UTF-8"), "{shown}");
}

/// A file over the size limit is refused where the limit falls.
#[test]
fn a_file_over_the_limit_is_refused_naming_the_line_where_it_falls() {
    let mut text = format!("{MATRIX}stop:\n");
    while text.len() <= MAX_FILE_BYTES {
        text.push_str("  # padding\n");
    }
    let line = 1 + text[..MAX_FILE_BYTES].matches('\n').count();
    let e = parse_bytes("big.yaml", text.as_bytes(), &env).unwrap_err();
    let shown = e.to_string();
    assert!(
        shown.contains(&format!("big.yaml, line {line},")) && shown.contains("key `stop`"),
        "{}",
        &shown[..shown.len().min(500)]
    );
    assert!(shown.contains("larger than 1 MiB"), "{shown:.300}");
}
