//! Errors of the matrix module, written for the person editing matrix.yaml.
//!
//! Every problem with the file becomes a [`Diagnostic`]: file, line, column, the
//! dotted key, what is wrong, what to do, and the source line with a caret. The
//! source line is masked for secret-looking keys (`password`, `secret`,
//! `token`), so an error never prints a password that was written into the file,
//! even under a misspelt key.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Where a problem is in matrix.yaml and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// File name as given to [`super::parse`] (e.g. `matrix.yaml`).
    pub file: String,
    /// 1-based line; 0 when unknown.
    pub line: u64,
    /// 1-based column in characters; 0 when unknown.
    pub column: u64,
    /// Dotted key path such as `stop.max_duration` or `matrix.include[1].smi`
    /// (0-based list index); empty when the problem is the whole file.
    pub key: String,
    /// What is wrong.
    pub problem: String,
    /// What to do about it.
    pub hint: String,
    /// The offending source line with a caret under the column (secrets masked).
    pub snippet: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if self.line > 0 {
            write!(f, ", line {}, column {}", self.line, self.column)?;
        }
        if !self.key.is_empty() {
            write!(f, ", key `{}`", self.key)?;
        }
        write!(f, ": {}", self.problem)?;
        if let Some(snippet) = &self.snippet {
            write!(f, "\n{snippet}")?;
        }
        if !self.hint.is_empty() {
            write!(f, "\n  hint: {}", self.hint)?;
        }
        Ok(())
    }
}

/// Why a matrix file could not become a [`super::Plan`], or why a scenario
/// selection failed. Every variant is a usage error: see [`MatrixError::exit_code`].
#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    /// The file could not be read.
    #[error("cannot read {}: {source}\n  hint: check the path, its permissions, and that it is UTF-8 text", path.display())]
    Read {
        /// The path that was tried.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
    /// Not valid YAML, an unknown or missing key, or a value of the wrong type.
    #[error("{0}")]
    Syntax(Box<Diagnostic>),
    /// Well-formed, but a value is not allowed (zero duration, bad URL scheme, ...).
    #[error("{0}")]
    Invalid(Box<Diagnostic>),
    /// A `${VAR}` names an environment variable that is not set.
    #[error("{diagnostic}")]
    MissingVariable {
        /// The variable's name.
        variable: String,
        /// Where it is referenced.
        diagnostic: Box<Diagnostic>,
    },
    /// `run --scenario ID` named an id that is not in the plan.
    #[error("{}", unknown_scenario_text(.id, .valid))]
    UnknownScenario {
        /// The id as given.
        id: String,
        /// Every valid scenario id, in plan order.
        valid: Vec<String>,
    },
}

impl MatrixError {
    /// Process exit code for this error: 2, a usage error (1 is reserved for a
    /// failed regression gate).
    pub fn exit_code(&self) -> i32 {
        2
    }

    /// The located diagnostic, for errors that point into the file.
    pub fn diagnostic(&self) -> Option<&Diagnostic> {
        match self {
            MatrixError::Syntax(d) | MatrixError::Invalid(d) => Some(d),
            MatrixError::MissingVariable { diagnostic, .. } => Some(diagnostic),
            MatrixError::Read { .. } | MatrixError::UnknownScenario { .. } => None,
        }
    }
}

/// Lists the valid ids compactly: one line per group with its repetition range.
fn unknown_scenario_text(id: &str, valid: &[String]) -> String {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for full in valid {
        let (group, rep) = full.rsplit_once("-r").unwrap_or((full.as_str(), ""));
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, reps)) => reps.push(rep),
            None => groups.push((group, vec![rep])),
        }
    }
    let mut text = format!("unknown scenario `{id}`");
    let candidates = valid
        .iter()
        .map(String::as_str)
        .chain(groups.iter().map(|(g, _)| *g));
    if let Some(near) = nearest(id, candidates) {
        text.push_str(&format!("; did you mean `{near}`?"));
    }
    text.push_str("\n  valid ids:");
    for (group, reps) in &groups {
        match (reps.first(), reps.last()) {
            (Some(first), Some(last)) if reps.len() > 1 => text.push_str(&format!(
                "\n    {group}  (or {group}-r{first} .. {group}-r{last})"
            )),
            (Some(only), _) => text.push_str(&format!("\n    {group}  (or {group}-r{only})")),
            _ => text.push_str(&format!("\n    {group}")),
        }
    }
    text.push_str(
        "\n  hint: pass a scenario id to run one repetition, or a group id (without `-rN`) to run all its repetitions",
    );
    text
}

/// The candidate closest to `word` by edit distance, if it is close enough to
/// be a plausible typo (at most a third of the word's length, at least 1;
/// a swap of two neighbours counts as one edit).
pub(crate) fn nearest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (strsim::osa_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The file being parsed: its name for messages and its text for snippets.
#[derive(Clone, Copy)]
pub(crate) struct Source<'a> {
    /// File name for messages.
    pub name: &'a str,
    /// Whole text, for snippets.
    pub text: &'a str,
}

impl Source<'_> {
    /// A diagnostic at `line`/`column` (1-based; 0 = unknown) underlining
    /// `width` characters.
    pub fn diagnostic(
        &self,
        (line, column, width): (u64, u64, u64),
        key: impl Into<String>,
        problem: impl Into<String>,
        hint: impl Into<String>,
    ) -> Box<Diagnostic> {
        // Boxed: errors stay small on the `Ok` path (clippy::result_large_err).
        Box::new(Diagnostic {
            file: self.name.to_string(),
            line,
            column,
            key: key.into(),
            problem: problem.into(),
            hint: hint.into(),
            snippet: self.snippet(line, column, width),
        })
    }

    /// `  N | source line` plus a caret line, or `None` when the position is unknown.
    fn snippet(&self, line: u64, column: u64, width: u64) -> Option<String> {
        let index = usize::try_from(line.checked_sub(1)?).ok()?;
        let raw = self.text.lines().nth(index)?;
        let shown = sanitize(&mask_secret(raw));
        let col = usize::try_from(column.max(1) - 1).unwrap_or(0);
        // Copy tabs from the line so the caret lines up in any terminal.
        let pad: String = raw
            .chars()
            .take(col)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let room = raw.chars().count().saturating_sub(col).max(1);
        let carets = usize::try_from(width).unwrap_or(1).clamp(1, room);
        let gutter = " ".repeat(line.to_string().len());
        Some(format!(
            "{gutter} |\n{line} | {shown}\n{gutter} | {pad}{}",
            "^".repeat(carets)
        ))
    }
}

/// Masks what may be secret on one source line: the `user:password@` part of
/// URLs, and the value of a secret-looking key unless it is only a `${VAR}`
/// reference (which is not secret).
pub(crate) fn mask_secret(line: &str) -> String {
    let line = &mask_url_credentials(line);
    let lower = line.to_ascii_lowercase();
    // Deliberately broad (`pas` also catches `pasword`): masking too much costs
    // nothing, printing a password costs a rotation.
    let Some(word) = ["pas", "pwd", "secret", "token"]
        .iter()
        .filter_map(|w| lower.find(w))
        .min()
    else {
        return line.to_string();
    };
    let Some(colon) = line[word..].find(':').map(|i| word + i) else {
        return line.to_string();
    };
    let value = line[colon + 1..].trim();
    let unquoted = value.trim_matches(|c| c == '"' || c == '\'');
    let reference = unquoted.starts_with("${")
        && unquoted.ends_with('}')
        && unquoted[2..unquoted.len() - 1]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if value.is_empty() || reference {
        line.to_string()
    } else {
        format!("{} ***", &line[..=colon])
    }
}

/// Replaces `scheme://user:password@` with `scheme://***@` everywhere in `text`.
pub(crate) fn mask_url_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("://") {
        let (head, tail) = rest.split_at(start + 3);
        out.push_str(head);
        // The authority ends at the first `/`, whitespace or quote.
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(at) => {
                out.push_str("***");
                rest = &tail[at..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// Replaces control characters (a stray `\r`, escape sequences) so a snippet
/// cannot garble the terminal.
pub(crate) fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_finds_typos_only() {
        let keys = ["max_duration", "max_participants", "drain"];
        assert_eq!(nearest("max_duraton", keys), Some("max_duration"));
        assert_eq!(nearest("drian", keys), Some("drain"));
        assert_eq!(nearest("colour", keys), None);
    }

    #[test]
    fn snippet_has_line_and_caret_under_column() {
        let src = Source {
            name: "m.yaml",
            text: "stop:\n  max_duraton: 30s\n",
        };
        let d = src.diagnostic((2, 3, 11), "stop.max_duraton", "bad", "fix");
        let snippet = d.snippet.clone().unwrap_or_default();
        assert!(snippet.contains("2 |   max_duraton: 30s"), "{snippet}");
        assert!(snippet.ends_with("|   ^^^^^^^^^^^"), "{snippet}");
        let text = d.to_string();
        assert!(text.starts_with("m.yaml, line 2, column 3, key `stop.max_duraton`: bad"));
        assert!(text.ends_with("hint: fix"));
    }

    #[test]
    fn snippet_absent_for_unknown_position() {
        let src = Source {
            name: "m",
            text: "a: 1",
        };
        assert!(src.diagnostic((0, 0, 0), "", "p", "h").snippet.is_none());
        assert!(src.diagnostic((9, 1, 1), "", "p", "h").snippet.is_none());
    }

    #[test]
    fn secrets_are_masked_but_references_are_not() {
        assert_eq!(
            mask_secret("  organizer_password: hunter2"),
            "  organizer_password: ***"
        );
        assert_eq!(
            mask_secret("  organizer_pasword: \"hunter2\" # x"),
            "  organizer_pasword: ***"
        );
        assert_eq!(mask_secret("  api_token: abc"), "  api_token: ***");
        assert_eq!(
            mask_secret("  organizer_password: ${ORGANIZER_PASSWORD}"),
            "  organizer_password: ${ORGANIZER_PASSWORD}"
        );
        assert_eq!(
            mask_secret("target: {organizer_password: x, event_id: 1}"),
            "target: {organizer_password: ***"
        );
        assert_eq!(mask_secret("  smi: [1s]"), "  smi: [1s]");
        assert_eq!(
            mask_secret("  url: https://me:pw@h:1/x?a=b@c  # u@v"),
            "  url: https://***@h:1/x?a=b@c  # u@v"
        );
        assert_eq!(
            mask_secret("a: ws://h:1 http://u@h"),
            "a: ws://h:1 http://***@h"
        );
    }

    #[test]
    fn unknown_scenario_lists_groups_and_suggests() {
        let valid: Vec<String> = ["a-r1", "a-r2", "sci10ms-cpi20ms-smi1s-r1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let text = unknown_scenario_text("sci10ms-cpi20ms-smi1s-r2", &valid);
        assert!(
            text.contains("did you mean `sci10ms-cpi20ms-smi1s-r1`?"),
            "{text}"
        );
        assert!(text.contains("a  (or a-r1 .. a-r2)"), "{text}");
        assert!(text.contains("hint:"), "{text}");
    }
}
