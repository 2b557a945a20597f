//! `run --scenario ID`: picking scenarios of a plan by id or group id.
//!
//! Kept apart from parsing because it works on a finished [`Plan`] and its
//! error is about the command line, not the file.

use super::{MatrixError, Plan, Scenario};

/// The scenarios named by `ids`, in plan order and without duplicates. An id
/// is a scenario id (`sci10ms-cpi20ms-smi100ms-r2`) or a group id
/// (`sci10ms-cpi20ms-smi100ms`, all its repetitions); no ids selects the whole
/// plan. An unknown id is an error that lists the valid ones.
pub fn select(plan: &Plan, ids: &[String]) -> Result<Vec<Scenario>, MatrixError> {
    let named = |s: &Scenario, id: &str| s.id == id || s.group == id;
    if let Some(unknown) = ids
        .iter()
        .find(|id| !plan.scenarios.iter().any(|s| named(s, id)))
    {
        return Err(MatrixError::UnknownScenario {
            id: unknown.clone(),
            valid: plan.scenarios.iter().map(|s| s.id.clone()).collect(),
        });
    }
    Ok(plan
        .scenarios
        .iter()
        .filter(|s| ids.is_empty() || ids.iter().any(|id| named(s, id)))
        .cloned()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::parse;

    fn plan() -> Plan {
        let text = "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms, 1s]\nrepetitions: 2\n";
        match parse("m.yaml", text, &|_| None) {
            Ok(plan) => plan,
            Err(e) => panic!("{e}"),
        }
    }

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn selected(ids: &[String]) -> Vec<String> {
        match select(&plan(), ids) {
            Ok(s) => s.into_iter().map(|s| s.id).collect(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn no_ids_select_everything() {
        assert_eq!(selected(&[]).len(), 4);
    }

    #[test]
    fn scenario_and_group_ids_select_in_plan_order_without_duplicates() {
        let got = selected(&ids(&[
            "sci10ms-cpi20ms-smi1s-r2",
            "sci10ms-cpi20ms-smi100ms",
            "sci10ms-cpi20ms-smi100ms-r1",
        ]));
        assert_eq!(
            got,
            [
                "sci10ms-cpi20ms-smi100ms-r1",
                "sci10ms-cpi20ms-smi100ms-r2",
                "sci10ms-cpi20ms-smi1s-r2",
            ]
        );
    }

    #[test]
    fn unknown_id_lists_valid_ones() {
        let err = match select(&plan(), &ids(&["sci10ms-cpi20ms-smi1s-r3"])) {
            Ok(_) => panic!("unknown id accepted"),
            Err(e) => e,
        };
        assert_eq!(err.exit_code(), 2);
        let text = err.to_string();
        assert!(
            text.contains("unknown scenario `sci10ms-cpi20ms-smi1s-r3`"),
            "{text}"
        );
        assert!(text.contains("did you mean"), "{text}");
        assert!(
            text.contains("sci10ms-cpi20ms-smi100ms  (or sci10ms-cpi20ms-smi100ms-r1 .. sci10ms-cpi20ms-smi100ms-r2)"),
            "{text}"
        );
        assert!(text.contains("sci10ms-cpi20ms-smi1s  ("), "{text}");
    }
}
