//! autoscaling/v1 HPAs: their conditions and current metrics, kept in annotations,
//! copied to where the v2 fields are read.

use crate::explain::tree::Value;

use crate::explain::value;

/// An autoscaling/v1 HPA keeps its conditions and current metrics in the annotations
/// `autoscaling.alpha.kubernetes.io/conditions` and `.../current-metrics` (JSON text);
/// they are copied to `status.conditions` / `status.currentMetrics`, where the v2
/// fields are read, unless those are already present. Unparseable text is left alone.
pub(crate) fn hpa_v1_annotations(v: &mut Value) {
    for (annotation, field) in [
        ("autoscaling.alpha.kubernetes.io/conditions", "conditions"),
        (
            "autoscaling.alpha.kubernetes.io/current-metrics",
            "currentMetrics",
        ),
    ] {
        let Some(parsed) = value::get(v, "metadata.annotations")
            .and_then(|a| a.get(annotation))
            .and_then(Value::as_str)
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
            .filter(Value::is_array)
        else {
            continue;
        };
        let Some(obj) = v.as_object_mut() else {
            return;
        };
        if !obj.contains_key("status") {
            obj.insert("status", Value::Object(Default::default()));
        }
        if let Some(st) = obj.get_mut("status").and_then(Value::as_object_mut)
            && !st.contains_key(field)
        {
            st.insert(field, parsed);
        }
    }
}
