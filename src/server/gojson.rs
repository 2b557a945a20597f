//! How the real services read JSON, where it shows on the wire: the Go
//! services' `encoding/json` (keys match case-insensitively, unknown keys are
//! ignored, `null` leaves a field at its zero value, a wrong type is an
//! `UnmarshalTypeError` with its own text) and the error texts of Go and of
//! Node's `JSON.parse` for bodies that are not JSON at all.
//!
//! Serde's derive cannot express Go's case-insensitive keys or reproduce its
//! messages, so the server decodes into a [`serde_json::Value`] and reads the
//! fields it knows with these helpers. The hot `send_message` path tries a
//! typed serde decode first and only falls back to this.

use serde_json::{Map, Value};

/// A field of a JSON object the way Go finds it: the exact key if present,
/// else the first key equal to it ignoring ASCII case.
pub(crate) fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// Go's name of a JSON value's kind in an `UnmarshalTypeError`.
fn go_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The Go type a field is decoded into.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum GoType {
    /// `string`
    Str,
    /// `int`
    Int,
    /// `float64`
    Float,
}

impl GoType {
    fn name(self) -> &'static str {
        match self {
            GoType::Str => "string",
            GoType::Int => "int",
            GoType::Float => "float64",
        }
    }

    fn accepts(self, value: &Value) -> bool {
        match self {
            GoType::Str => value.is_string(),
            GoType::Int => value.is_i64() || value.is_u64(),
            GoType::Float => value.is_number(),
        }
    }
}

/// A Go struct being decoded: its type name for error messages and the
/// object it is read from.
pub(crate) struct GoStruct<'a> {
    name: &'static str,
    object: &'a Map<String, Value>,
}

impl<'a> GoStruct<'a> {
    /// Decodes `body` as Go's `json.Unmarshal(body, &name{})` would start to:
    /// syntax errors and non-object documents give Go's error text.
    pub(crate) fn parse(value: &'a Value, name: &'static str) -> Result<GoStruct<'a>, String> {
        match value {
            Value::Object(object) => Ok(GoStruct { name, object }),
            other => Err(format!(
                "json: cannot unmarshal {} into Go value of type main.{name}",
                go_kind(other)
            )),
        }
    }

    /// The field `key` if present and not null, checked against `ty`; a
    /// wrong type gives Go's `UnmarshalTypeError` text.
    pub(crate) fn get(&self, key: &str, ty: GoType) -> Result<Option<&'a Value>, String> {
        match field(self.object, key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) if ty.accepts(v) => Ok(Some(v)),
            Some(v) => Err(format!(
                "json: cannot unmarshal {} into Go struct field {}.{key} of type {}",
                go_kind(v),
                self.name,
                ty.name()
            )),
        }
    }

    /// A string field; `""` when absent or null.
    pub(crate) fn string(&self, key: &str) -> Result<String, String> {
        Ok(self
            .get(key, GoType::Str)?
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    }

    /// An integer field; 0 when absent or null.
    pub(crate) fn int(&self, key: &str) -> Result<i64, String> {
        Ok(self
            .get(key, GoType::Int)?
            .and_then(Value::as_i64)
            .unwrap_or(0))
    }

    /// A float field; `None` when absent or null (the real DTOs use pointers).
    pub(crate) fn float(&self, key: &str) -> Result<Option<f64>, String> {
        Ok(self.get(key, GoType::Float)?.and_then(Value::as_f64))
    }
}

/// Parses a request body as Go does, with Go's text for a body that is not
/// JSON (the Participant API answers it verbatim).
pub(crate) fn parse_go(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| {
        if e.is_eof() {
            "unexpected end of JSON input".to_string()
        } else {
            let at = body
                .get(offset(body, e.line(), e.column()))
                .map_or(' ', |b| char::from(*b));
            format!("invalid character '{at}' looking for beginning of value")
        }
    })
}

/// Parses a request body as Express's JSON body parser does, with Node's
/// `JSON.parse` text for a body that is not JSON.
pub(crate) fn parse_node(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| {
        if e.is_eof() {
            "Unexpected end of JSON input".to_string()
        } else {
            let pos = offset(body, e.line(), e.column());
            let at = body.get(pos).map_or(' ', |b| char::from(*b));
            format!("Unexpected token {at} in JSON at position {pos}")
        }
    })
}

/// The byte offset of serde_json's 1-based line and column (the column
/// points at the offending byte, or one past it).
fn offset(body: &[u8], line: usize, column: usize) -> usize {
    let line_start: usize = body
        .split(|b| *b == b'\n')
        .take(line.saturating_sub(1))
        .map(|l| l.len() + 1)
        .sum();
    (line_start + column).saturating_sub(1).min(body.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_match_case_insensitively_exact_first() {
        let v = json!({"AUTHORIZATION": "a", "Authorization": "b"});
        assert_eq!(
            field(v.as_object().unwrap(), "Authorization"),
            Some(&json!("b"))
        );
        let v = json!({"authorization": "a"});
        assert_eq!(
            field(v.as_object().unwrap(), "Authorization"),
            Some(&json!("a"))
        );
        assert_eq!(field(v.as_object().unwrap(), "other"), None);
    }

    #[test]
    fn type_errors_have_gos_text() {
        let v = json!({"email": 5, "eventId": "1", "lat": null});
        let s = GoStruct::parse(&v, "signUpDTO").unwrap();
        assert_eq!(
            s.string("email").unwrap_err(),
            "json: cannot unmarshal number into Go struct field signUpDTO.email of type string"
        );
        assert_eq!(
            s.int("eventId").unwrap_err(),
            "json: cannot unmarshal string into Go struct field signUpDTO.eventId of type int"
        );
        assert_eq!(s.float("lat").unwrap(), None);
        assert_eq!(s.string("missing").unwrap(), "");
        assert!(GoStruct::parse(&json!([1]), "x").is_err());
    }

    #[test]
    fn syntax_errors_have_go_and_node_texts() {
        assert_eq!(
            parse_go(b"{\"email\":").unwrap_err(),
            "unexpected end of JSON input"
        );
        assert_eq!(
            parse_node(b"{\"email\": ").unwrap_err(),
            "Unexpected end of JSON input"
        );
        assert_eq!(
            parse_go(b"xyz").unwrap_err(),
            "invalid character 'x' looking for beginning of value"
        );
        assert_eq!(
            parse_node(b"{\"a\" x").unwrap_err(),
            "Unexpected token x in JSON at position 5"
        );
    }
}
