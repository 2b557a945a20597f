//! Reading matrix.yaml's bytes: at most [`MAX_BYTES`], and UTF-8 text.
//!
//! A file past the limit (`--matrix` naming a log, a data file or
//! `/dev/zero`) is refused after reading the limit, instead of being read
//! whole into memory. Bytes that are not UTF-8 become a
//! [`Diagnostic`](super::Diagnostic) at their line and column, under the key
//! whose value holds them, like every other problem with the file (reading
//! with `read_to_string` only said "stream did not contain valid UTF-8").

use std::io::Read;
use std::path::Path;

use super::error::{MatrixError, Source};

/// The largest matrix file read: a real plan is a few KB.
pub const MAX_BYTES: usize = 1 << 20;

/// Reads at most [`MAX_BYTES`] + 1 bytes of `path` (one more tells a file
/// over the limit).
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, MatrixError> {
    let fail = |source| MatrixError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(fail)?;
    let mut bytes = Vec::new();
    file.take(MAX_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(fail)?;
    Ok(bytes)
}

/// The text of `bytes`, or a syntax error where the file passes
/// [`MAX_BYTES`] or at the first byte that is not UTF-8.
pub(crate) fn text<'a>(name: &str, bytes: &'a [u8]) -> Result<&'a str, MatrixError> {
    if bytes.len() > MAX_BYTES {
        return Err(error_at(
            name,
            bytes,
            MAX_BYTES,
            format!("the file is larger than {} MiB; msgperf stopped reading it here", MAX_BYTES >> 20),
            "a matrix file is a few KB: check that --matrix names the plan and not a log or data file, or split the plan into several files",
        ));
    }
    let error = match std::str::from_utf8(bytes) {
        Ok(text) => return Ok(text),
        Err(e) => e,
    };
    let at = error.valid_up_to();
    Err(error_at(
        name,
        bytes,
        at,
        format!(
            "the file is not UTF-8 text: byte 0x{:02X} cannot start a character here",
            bytes[at]
        ),
        "save matrix.yaml as UTF-8 (in an editor: \"save with encoding\", UTF-8)",
    ))
}

/// A syntax error at byte `at` of `bytes`, under the key of its line.
fn error_at(name: &str, bytes: &[u8], at: usize, problem: String, hint: &str) -> MatrixError {
    let line_start = bytes[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count();
    let column = 1 + String::from_utf8_lossy(&bytes[line_start..at])
        .chars()
        .count();
    let line_end = bytes[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| at + i);
    // Up to the end of the bad line, readable, for the key path and the snippet.
    let text = String::from_utf8_lossy(&bytes[..line_end]);
    let src = Source { name, text: &text };
    let diagnostic = src.diagnostic(
        (line as u64, column as u64, 1),
        key_path(&text),
        problem,
        hint,
    );
    MatrixError::Syntax(diagnostic)
}

/// The dotted key of the last line of `text`, from the indentation of the
/// `key:` lines before it (list items are entered without their index).
/// Best effort: the YAML is not parsed, since it could not be read.
pub(crate) fn key_path(text: &str) -> String {
    let mut stack: Vec<(usize, &str)> = Vec::new();
    for raw in text.lines() {
        let trimmed = raw.trim_start_matches([' ', '\t']);
        let mut indent = raw.len() - trimmed.len();
        let mut rest = trimmed;
        while let Some(item) = rest.strip_prefix("- ") {
            indent += 2;
            rest = item.trim_start_matches(' ');
        }
        let Some((key, _)) = rest.split_once(':') else {
            continue;
        };
        let plain = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
        if key.is_empty() || rest.starts_with('#') || !key.chars().all(plain) {
            continue;
        }
        while stack.last().is_some_and(|&(i, _)| i >= indent) {
            stack.pop();
        }
        stack.push((indent, key));
    }
    let keys: Vec<&str> = stack.iter().map(|&(_, k)| k).collect();
    keys.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_passes_and_bad_bytes_name_line_column_and_key() {
        assert_eq!(text("m.yaml", b"a: 1\n").unwrap(), "a: 1\n");
        let bytes = b"matrix:\n  sci: [10ms]\nstop:\n  max_duration: 3\xffs\n";
        let e = text("m.yaml", bytes).unwrap_err();
        let d = e.diagnostic().unwrap();
        assert_eq!((d.line, d.column), (4, 18));
        assert_eq!(d.key, "stop.max_duration");
        assert!(d.problem.contains("0xFF"), "{}", d.problem);
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn key_paths_follow_indentation_and_list_items() {
        assert_eq!(key_path("a:\n  b:\n    c: x"), "a.b.c");
        assert_eq!(key_path("a:\n  b: 1\nc: x"), "c");
        assert_eq!(
            key_path("matrix:\n  include:\n    - smi: x"),
            "matrix.include.smi"
        );
        assert_eq!(key_path("# only: a comment"), "");
    }
}
