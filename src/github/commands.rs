//! GitHub Actions workflow commands and files: `::add-mask::`, annotations,
//! `$GITHUB_OUTPUT` (with a random heredoc delimiter, so a value can never end
//! its own block) and `$GITHUB_STEP_SUMMARY`.
//!
//! The escaping follows the runner's rules: in a message `%`, `\r` and `\n`
//! become `%25`, `%0D`, `%0A`; in a property value `:` and `,` are escaped as
//! well (`%3A`, `%2C`). Formatting is pure (returns `String`) so tests pin it;
//! the `emit_*` functions print to stdout, where the runner reads commands.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Escapes a workflow command's message (the part after `::`).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value (`title=...`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// `::add-mask::VALUE`, one command per line of a multi-line secret (the runner
/// masks line by line). Empty values produce nothing: masking "" would hide nothing.
pub fn add_mask(value: &str) -> String {
    value
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .map(|l| format!("::add-mask::{}\n", escape_data(l)))
        .collect()
}

/// Severity of an annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `::error` — shown red on the run and the PR.
    Error,
    /// `::warning`.
    Warning,
    /// `::notice`.
    Notice,
}

/// An annotation command, e.g. `::error title=Regression::sci10ms ... dropped`.
pub fn annotation(level: Level, title: Option<&str>, message: &str) -> String {
    let name = match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Notice => "notice",
    };
    let props = title
        .map(|t| format!(" title={}", escape_property(t)))
        .unwrap_or_default();
    format!("::{name}{props}::{}\n", escape_data(message))
}

/// Prints `::add-mask::` for a secret to stdout and flushes, before anything else.
pub fn emit_mask(value: &str) {
    emit(&add_mask(value));
}

/// Prints an annotation to stdout.
pub fn emit_annotation(level: Level, title: Option<&str>, message: &str) {
    emit(&annotation(level, title, message));
}

fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Why writing an Actions file failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source} (the runner sets GITHUB_OUTPUT and GITHUB_STEP_SUMMARY to writable files; unset them outside Actions)")]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// The cause.
    pub source: std::io::Error,
}

/// One `name<<DELIM\nvalue\nDELIM\n` block of `$GITHUB_OUTPUT`, with a delimiter
/// that does not occur in the value.
pub fn output_block(name: &str, value: &str) -> String {
    let mut delimiter = random_delimiter();
    while value.contains(&delimiter) {
        delimiter = random_delimiter();
    }
    format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

/// `ghadelimiter_` and 32 random hex digits (the form the runner's toolkit uses).
pub fn random_delimiter() -> String {
    let mut bytes = [0u8; 16];
    // A failing OS RNG is exceptional; a fixed fallback is still checked against the value.
    if getrandom::fill(&mut bytes).is_err() {
        bytes = *b"msgperf-fallback";
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("ghadelimiter_{hex}")
}

/// Appends outputs to the `$GITHUB_OUTPUT` file.
pub fn write_outputs(path: &Path, outputs: &[(&str, String)]) -> Result<(), FileError> {
    let text: String = outputs.iter().map(|(k, v)| output_block(k, v)).collect();
    append(path, &text)
}

/// Appends markdown to the `$GITHUB_STEP_SUMMARY` file.
pub fn append_summary(path: &Path, markdown: &str) -> Result<(), FileError> {
    let mut text = markdown.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    append(path, &text)
}

fn append(path: &Path, text: &str) -> Result<(), FileError> {
    let fail = |source| FileError {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(fail)?;
    f.write_all(text.as_bytes()).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_data_and_properties() {
        assert_eq!(escape_data("50% a\r\nb"), "50%25 a%0D%0Ab");
        assert_eq!(escape_property("a: b, c%"), "a%3A b%2C c%25");
        assert_eq!(
            annotation(Level::Error, Some("Regression: x, y"), "drop\n5%"),
            "::error title=Regression%3A x%2C y::drop%0A5%25\n"
        );
        assert_eq!(annotation(Level::Warning, None, "w"), "::warning::w\n");
    }

    #[test]
    fn masks_each_line_and_skips_empty() {
        assert_eq!(add_mask(""), "");
        assert_eq!(
            add_mask("p%w\nsecond"),
            "::add-mask::p%25w\n::add-mask::second\n"
        );
    }

    #[test]
    fn output_blocks_use_fresh_delimiters_absent_from_the_value() {
        let block = output_block("report", "line 1\nline 2");
        let first = block.lines().next().unwrap();
        let delim = first.strip_prefix("report<<").unwrap();
        assert!(delim.starts_with("ghadelimiter_") && delim.len() == 13 + 32);
        assert_eq!(block, format!("report<<{delim}\nline 1\nline 2\n{delim}\n"));
        assert_ne!(random_delimiter(), random_delimiter());
    }

    #[test]
    fn files_are_appended() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        write_outputs(&out, &[("a", "1".into())]).unwrap();
        write_outputs(&out, &[("b", "2".into())]).unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.starts_with("a<<ghadelimiter_") && text.contains("\nb<<ghadelimiter_"));
        let summary = dir.path().join("summary");
        append_summary(&summary, "# one").unwrap();
        append_summary(&summary, "two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&summary).unwrap(), "# one\ntwo\n");
    }
}
