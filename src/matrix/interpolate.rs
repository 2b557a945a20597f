//! `${VAR}` interpolation from the environment: of the target's strings in
//! matrix.yaml, and of a hook's readiness probe (one set of rules for both).
//!
//! It runs on values after YAML parsing, not on the raw text: a value holding
//! YAML specials (a password with `: ` or `#`) cannot change the document's
//! structure, quoting works as usual, and line numbers stay those of the file.
//! The price is that only the string values of `target:` are interpolated,
//! which is where credentials and hosts live.

use std::fmt;

/// Why a value could not be interpolated. Never carries the value itself,
/// which may be a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolationError {
    /// `${NAME}` with `NAME` not set in the environment.
    Missing(String),
    /// `${` without a closing `}`, or a name that is not `[A-Za-z_][A-Za-z0-9_]*`.
    Malformed,
}

impl fmt::Display for InterpolationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InterpolationError::Missing(name) => {
                write!(f, "environment variable `{name}` is not set")
            }
            InterpolationError::Malformed => f.write_str(
                "malformed `${...}` reference: it needs a closing `}` and a name made of letters, digits and `_`",
            ),
        }
    }
}

/// Replaces every `${NAME}` in `text` with `env(NAME)`; `$${` stands for a
/// literal `${`, and any other `$` is kept as is.
pub fn interpolate(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, InterpolationError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let tail = &rest[dollar..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(after) = tail.strip_prefix("${") {
            let close = after.find('}').ok_or(InterpolationError::Malformed)?;
            let name = &after[..close];
            if !is_name(name) {
                return Err(InterpolationError::Malformed);
            }
            let value = env(name).ok_or_else(|| InterpolationError::Missing(name.to_string()))?;
            out.push_str(&value);
            rest = &after[close + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// A shell-style variable name.
fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("staging.example".into()),
            "PW" => Some("p@ss: #word ${X}".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn replaces_references() {
        assert_eq!(
            interpolate("ws://${HOST}:8300", &env),
            Ok("ws://staging.example:8300".into())
        );
        assert_eq!(
            interpolate("${HOST}${EMPTY}x", &env),
            Ok("staging.examplex".into())
        );
    }

    #[test]
    fn values_are_not_expanded_again() {
        assert_eq!(interpolate("${PW}", &env), Ok("p@ss: #word ${X}".into()));
    }

    #[test]
    fn escapes_and_lone_dollars_stay_literal() {
        assert_eq!(interpolate("$${HOST}", &env), Ok("${HOST}".into()));
        assert_eq!(interpolate("a$b$", &env), Ok("a$b$".into()));
        assert_eq!(interpolate("$$HOST", &env), Ok("$$HOST".into()));
    }

    #[test]
    fn missing_and_malformed_are_errors() {
        assert_eq!(
            interpolate("x${NOPE}y${HOST}", &env),
            Err(InterpolationError::Missing("NOPE".into()))
        );
        assert_eq!(
            interpolate("${HOST", &env),
            Err(InterpolationError::Malformed)
        );
        assert_eq!(
            interpolate("${1X}", &env),
            Err(InterpolationError::Malformed)
        );
        assert_eq!(interpolate("${}", &env), Err(InterpolationError::Malformed));
        assert_eq!(
            interpolate("${A-b}", &env),
            Err(InterpolationError::Malformed)
        );
    }
}
