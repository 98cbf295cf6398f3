//! Label-selector matching: a Service's plain map or a LabelSelector.

use crate::explain::tree::Value;

use crate::explain::value::{arr_at, str_at};

/// Whether `labels` satisfy `selector`. A selector is either a plain map (Service,
/// ReplicationController) or a LabelSelector (`matchLabels` / `matchExpressions`).
/// An empty or null selector matches nothing (the safe reading for explain).
pub fn selector_matches(selector: &Value, labels: &Value) -> bool {
    let Some(sel) = selector.as_object() else {
        return false;
    };
    if sel.is_empty() {
        return false;
    }
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    let is_label_selector = sel.contains_key("matchLabels") || sel.contains_key("matchExpressions");
    if !is_label_selector {
        return sel.iter().all(|(k, v)| label(k) == v.as_str());
    }
    let ml_ok = sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .is_none_or(|m| m.iter().all(|(k, v)| label(k) == v.as_str()));
    let exprs = sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .unwrap_or(&[]);
    ml_ok
        && exprs.iter().all(|e| {
            let key = str_at(e, "key").unwrap_or_default();
            let values: Vec<&str> = arr_at(e, "values")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            match str_at(e, "operator").unwrap_or_default() {
                "In" => label(key).is_some_and(|l| values.contains(&l)),
                "NotIn" => label(key).is_none_or(|l| !values.contains(&l)),
                "Exists" => label(key).is_some(),
                "DoesNotExist" => label(key).is_none(),
                _ => false,
            }
        })
}
