//! Runs serde-saphyr over matrix.yaml and turns its errors into [`Diagnostic`]s.
//!
//! serde-saphyr knows the line and column of an error but not the key path, so
//! the deserializer is wrapped in `serde_path_to_error`; together they give
//! "line 3, column 3, key `stop.max_duraton`". The wording of each message is
//! ours: the problem in the user's terms and a hint saying what to write.

use serde::Deserialize;
use serde_path_to_error::{Path, Segment};
use serde_saphyr::{
    Error as YamlError, ExternalMessageSource, MessageFormatter, UserMessageFormatter,
};

use super::error::{nearest, sanitize, MatrixError, Source};
use super::file::key_path;
use super::raw::HINT_MARK;

/// Deserializes the whole document, or says precisely what is wrong with it.
pub(crate) fn decode<'a, T: Deserialize<'a>>(src: Source<'a>) -> Result<T, MatrixError> {
    let mut options = serde_saphyr::Options::default();
    // We render our own snippet (with secrets masked); `yes` must not be a bool.
    options.with_snippet = false;
    options.strict_booleans = true;
    let mut path: Option<Path> = None;
    serde_saphyr::with_deserializer_from_str_with_options(src.text, options, |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            path = Some(e.path().clone());
            e.into_inner()
        })
    })
    .map_err(|e| convert(src, &e, path.as_ref()))
}

/// The dotted key of a serde path, without the `value` segments that
/// `Spanned` wrappers add and the `?` of non-string keys.
fn key_of(path: &Path) -> String {
    let mut key = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Map { key: k } if k != "value" => {
                if !key.is_empty() {
                    key.push('.');
                }
                key.push_str(k);
            }
            Segment::Seq { index } => key.push_str(&format!("[{index}]")),
            _ => {}
        }
    }
    key
}

/// The last plain key of a dotted path (`matrix.include[1].smi` -> `smi`).
fn leaf(key: &str) -> &str {
    let last = key.rsplit('.').next().unwrap_or(key);
    last.split('[').next().unwrap_or(last)
}

/// Appends `child` to a dotted key.
fn join(key: &str, child: &str) -> String {
    if key.is_empty() {
        child.to_string()
    } else {
        format!("{key}.{child}")
    }
}

/// What a valid value of `key` looks like, for "wrong type" hints.
pub(crate) fn expected_value(key: &str) -> &'static str {
    match key {
        "sci" | "cpi" | "smi" => {
            "a list of durations such as `[10ms, 1s]` (a single duration inside include/exclude)"
        }
        "include" | "exclude" => {
            "a list of mappings such as `- { sci: 5ms, cpi: 20ms, smi: 50ms }`"
        }
        "repetitions" | "organizers" | "split" => "a whole number of at least 1, such as `3`",
        "max_participants" | "max_messages_per_second" | "max_connections" | "send_queue"
        | "drop_one_in" => "a whole number such as `5000`",
        "max_duration"
        | "handshake_timeout"
        | "drain"
        | "handshake_delay_per_connection"
        | "sign_up_cost"
        | "reorder_up_to"
        | "period"
        | "wait_for_data" => {
            "a duration such as `30s` (a number and a unit)"
        }
        "on_error" => "`first`, `never` or an error budget such as `1%`",
        "messenger_ws_url" => "a `ws://` or `wss://` URL such as `ws://staging.example:8300`",
        "organizer_api_url" | "participant_api_url" => {
            "an `http://` or `https://` URL such as `http://staging.example:8000`"
        }
        "event_id" => "a whole number such as `1`, or `${EVENT_ID}`",
        "organizer_email" => {
            "an e-mail address (`{n}` becomes the organizer's number), or `${ORGANIZER_EMAIL}`"
        }
        "organizer_password" => "a string, best `${ORGANIZER_PASSWORD}`",
        "min_change" => "a percentage such as `5%` or a fraction such as `0.05`",
        "alpha" => "a fraction between 0 and 1, such as `0.05`",
        "fail_on_regression" | "required" | "pass_password" => "`true` or `false`",
        "metrics" => "a list of mappings such as `- { label: cpu, namespace: AWS/EC2, metric: CPUUtilization, stats: [Average] }`",
        "stats" => "a list of statistics such as `[Average, Maximum]`",
        "dimensions" => "a mapping such as `{ InstanceId: i-0123456789abcdef0 }`",
        "hooks" => "a mapping with before_all, before_each, after_each and/or after_all",
        "before_all" | "before_each" | "after_each" | "after_all" => {
            "a shell command, or a mapping such as `{ run: ./reset.sh, timeout: 2m, wait_for: http://staging:8300/health }`"
        }
        "run" => "a shell command such as `./reset.sh`",
        "timeout" | "cooldown" => "a duration such as `5m` (a number and a unit)",
        "wait_for" => "an HTTP URL such as `http://staging:8300/health`, or `tcp://host:port`",
        "on_hook_failure" => "`skip` or `abort`",
        "organizer" => "a mapping such as `{ reply: every }`",
        "reply" => "`every`, `none` or a share such as `\"10%\"`",
        "target" | "matrix" | "stop" | "embedded" | "gate" | "cloudwatch" | "publish" => {
            "a mapping of keys; see the comments in the published matrix.yaml"
        }
        _ => "a value as described in the comments of the published matrix.yaml",
    }
}

/// The key of line `line` (from the indentation of the lines up to it) when
/// it lies inside `key`, the deepest key serde reached; otherwise `key`.
fn key_at_line(text: &str, line: u64, key: String) -> String {
    let Ok(line) = usize::try_from(line) else {
        return key;
    };
    let end = text
        .match_indices('\n')
        .nth(line.saturating_sub(1))
        .map_or(text.len(), |(i, _)| i);
    let found = key_path(&text[..end]);
    let inside = key.is_empty() || found.starts_with(&format!("{key}."));
    if line > 0 && inside && !found.is_empty() {
        found
    } else {
        key
    }
}

/// Builds the diagnostic for one serde-saphyr error.
fn convert(src: Source, err: &YamlError, path: Option<&Path>) -> MatrixError {
    let (line, column, width) = err
        .location()
        .map(|l| (l.line(), l.column(), l.span().len()))
        .unwrap_or((0, 0, 0));
    let mut key = path.map(key_of).unwrap_or_default();
    let inner = err.without_snippet();
    let (problem, hint) = match inner {
        YamlError::SerdeUnknownField {
            field, expected, ..
        } => {
            if leaf(&key) != field.as_str() {
                key = join(&key, field);
            }
            let allowed = expected.join(", ");
            let hint = match nearest(field, expected.iter().copied()) {
                Some(near) => format!("did you mean `{near}`? Keys allowed here: {allowed}"),
                None => format!("remove it or use one of the keys allowed here: {allowed}"),
            };
            (format!("unknown key `{field}`"), hint)
        }
        YamlError::SerdeMissingField { field, .. } => {
            key = join(&key, field);
            (
                format!("required key `{field}` is missing"),
                format!("add `{field}:` with {}", expected_value(field)),
            )
        }
        YamlError::DuplicateMappingKey { key: Some(k), .. } => {
            key = join(&key, k);
            (
                format!("key `{k}` is given twice"),
                "keep only one of them".to_string(),
            )
        }
        YamlError::Message { msg, .. } => match msg.split_once(HINT_MARK) {
            Some((problem, hint)) => (problem.to_string(), hint.to_string()),
            None => (msg.clone(), format!("write {}", expected_value(leaf(&key)))),
        },
        YamlError::Eof { .. } if key.is_empty() => {
            key = "matrix".into();
            (
            "the file is empty".to_string(),
            "start from the published matrix.yaml; at least `matrix:` with sci, cpi and smi is needed".to_string(),
            )
        }
        YamlError::MultipleDocuments { .. } => {
            key = key_at_line(src.text, line, key);
            (
                "the file holds more than one YAML document".to_string(),
                "keep one document: remove the `---` line and what follows, or merge the two"
                    .to_string(),
            )
        }
        other => {
            // Scanner and parser errors stop before serde sees the key.
            key = key_at_line(src.text, line, key);
            let mut message = UserMessageFormatter.format_message(other).into_owned();
            if message.contains("recursion limit") {
                message = format!(
                    "{message}: lists and mappings nested deeper than any matrix file needs"
                );
            }
            let syntax = matches!(
                other,
                YamlError::ExternalMessage { source, .. }
                    if matches!(**source, ExternalMessageSource::Parser(_))
            );
            let hint = if key.is_empty() || syntax {
                "this is not valid YAML here: check the indentation, the colons, and that every `[` and `{` is closed".to_string()
            } else {
                format!("write {}", expected_value(leaf(&key)))
            };
            (message, hint)
        }
    };
    let diagnostic = src.diagnostic((line, column, width), key, sanitize(&problem), hint);
    MatrixError::Syntax(diagnostic)
}
