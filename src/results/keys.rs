//! Maps keyed by closed sets (`errors_by_kind` by [`super::ErrorKind`],
//! report.json's `verdicts` by the analysis' verdict) written with the same
//! key order as when they were keyed by text: the enums are ordered by
//! their serialized name, not by declaration. Reading drops keys this build
//! does not know, so a file from a newer msgperf that added a kind still
//! reads (its errors stay counted in the totals).

use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// A closed set whose order is the order of its names in files.
pub trait ByName {
    /// The name written to files.
    fn name(&self) -> &'static str;
}

/// Implements `Ord`/`PartialOrd` by [`ByName::name`] for a closed set, so a
/// `BTreeMap` keyed by it serializes its keys in name order.
macro_rules! order_by_name {
    ($t:ty) => {
        impl Ord for $t {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                $crate::results::ByName::name(self).cmp($crate::results::ByName::name(other))
            }
        }
        impl PartialOrd for $t {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }
    };
}
pub(crate) use order_by_name;

/// Reads a map keyed by a closed set, leaving out the keys it does not know.
pub fn lenient_keys<'de, D, K, V>(d: D) -> Result<BTreeMap<K, V>, D::Error>
where
    D: Deserializer<'de>,
    K: Ord + for<'a> Deserialize<'a>,
    V: Deserialize<'de>,
{
    let raw = BTreeMap::<String, V>::deserialize(d)?;
    Ok(raw
        .into_iter()
        .filter_map(|(k, v)| {
            let key = K::deserialize(
                serde::de::value::StrDeserializer::<serde::de::value::Error>::new(&k),
            )
            .ok()?;
            Some((key, v))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use crate::results::ErrorKind;
    use std::collections::BTreeMap;

    #[test]
    fn kinds_are_ordered_by_name_and_unknown_ones_are_left_out() {
        #[derive(serde::Deserialize, serde::Serialize)]
        struct M {
            #[serde(deserialize_with = "super::lenient_keys")]
            m: BTreeMap<ErrorKind, u64>,
        }
        let text = r#"{"m":{"timeout":1,"a_new_kind":7,"connect_refused":2,"no_chat":3,"handshake_timeout":4}}"#;
        let m: M = serde_json::from_str(text).unwrap();
        assert_eq!(m.m.len(), 4);
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"m":{"connect_refused":2,"handshake_timeout":4,"no_chat":3,"timeout":1}}"#
        );
    }
}
