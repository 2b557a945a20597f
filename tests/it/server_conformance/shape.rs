//! Comparing what our server sent with what the real system sent in a
//! transcript: the same fields with the same JSON types, recursively; the
//! values of fields that do not depend on the run (texts, flags, the seeded
//! accounts and events, positions) equal; ids and times only by type.

use std::collections::HashMap;

use serde_json::Value;

/// Fields whose values must be equal, not only of the same type: none of
/// them is an id or a time, and the replay uses the recorded e-mails, phone
/// numbers, events and descriptions.
const EXACT: [&str; 18] = [
    "type",
    "message",
    "content",
    "ended",
    "fromOrganizer",
    "agencyId",
    "eventId",
    "latStart",
    "lngStart",
    "lat",
    "lng",
    "email",
    "phoneNumber",
    "firstName",
    "lastName",
    "role",
    "statusCode",
    "error",
];

/// Recorded chat ids and ours, bound as `new_chat` frames arrive.
#[derive(Default)]
pub struct IdMap {
    ours: HashMap<String, String>,
}

impl IdMap {
    /// Binds a recorded chat id to ours (the first binding stays).
    pub fn bind(&mut self, recorded: &str, ours: &str) {
        self.ours
            .entry(recorded.to_string())
            .or_insert_with(|| ours.to_string());
    }

    /// `text` with every bound recorded id replaced by ours: what we send
    /// where the recording sent a chat id, and what our server must answer
    /// where the real one named it (e.g. "you have no access to chat <id>").
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (recorded, ours) in &self.ours {
            out = out.replace(recorded.as_str(), ours);
        }
        out
    }

    /// A recorded value with the ids replaced, for exact comparisons.
    fn value(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.apply(s)),
            Value::Array(items) => Value::Array(items.iter().map(|i| self.value(i)).collect()),
            other => other.clone(),
        }
    }

    /// Whether a recorded chat id is bound.
    fn knows(&self, recorded: &str) -> bool {
        self.ours.contains_key(recorded)
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Whether `ours` has the shape of `recorded` (see the module docs); the
/// error names the path where they differ.
pub fn same_shape(path: &str, recorded: &Value, ours: &Value, ids: &IdMap) -> Result<(), String> {
    match (recorded, ours) {
        (Value::Object(r), Value::Object(o)) => {
            let mut rk: Vec<&String> = r.keys().collect();
            let mut ok: Vec<&String> = o.keys().collect();
            rk.sort();
            ok.sort();
            if rk != ok {
                return Err(format!("{path}: fields {rk:?} recorded, {ok:?} ours"));
            }
            for (key, rv) in r {
                let p = format!("{path}.{key}");
                let ov = &o[key];
                let exact = EXACT.contains(&key.as_str())
                    || (key == "chatId" && rv.as_str().is_some_and(|id| ids.knows(id)));
                if exact && ids.value(rv) != *ov {
                    return Err(format!("{p}: {rv} recorded, {ov} ours"));
                }
                same_shape(&p, rv, ov, ids)?;
            }
            Ok(())
        }
        (Value::Array(r), Value::Array(o)) => same_items(path, r, o, ids),
        _ if kind(recorded) == kind(ours) => Ok(()),
        _ => Err(format!(
            "{path}: a {} recorded ({recorded}), a {} ours ({ours})",
            kind(recorded),
            kind(ours)
        )),
    }
}

/// Arrays: as many items, each recorded item matching a distinct item of
/// ours in any order (the real server orders chats started in the same
/// millisecond by start, ours may see different milliseconds).
fn same_items(path: &str, recorded: &[Value], ours: &[Value], ids: &IdMap) -> Result<(), String> {
    if recorded.len() != ours.len() {
        return Err(format!(
            "{path}: {} items recorded, {} ours",
            recorded.len(),
            ours.len()
        ));
    }
    let mut free: Vec<&Value> = ours.iter().collect();
    for (i, r) in recorded.iter().enumerate() {
        let p = format!("{path}[{i}]");
        match free.iter().position(|o| same_shape(&p, r, o, ids).is_ok()) {
            Some(at) => {
                free.swap_remove(at);
            }
            None => {
                let why = same_shape(&p, r, free[0], ids).unwrap_err();
                return Err(format!("{p}: no item of ours matches; e.g. {why}"));
            }
        }
    }
    Ok(())
}
