//! Fakes shared by the crate's unit tests: pods, container statuses and events shaped as the
//! API server returns them, and runners for one explain rule or the whole engine.

use serde_json::{Value, json};

use crate::explain::finding::Finding;
use crate::explain::index::Index;
use crate::explain::rules::{Ctx, all};
use crate::explain::{Options, explain};

/// Runs only the rule `slug` over `objects` (reference time = newest timestamp).
pub fn run(slug: &str, objects: Vec<Value>) -> Vec<Finding> {
    let ix = Index::build(objects);
    let ctx = Ctx::new(&ix, &Options::default());
    let rule = all()
        .iter()
        .find(|r| r.slug == slug)
        .unwrap_or_else(|| panic!("no rule {slug}"));
    ix.objects()
        .iter()
        .filter(|o| rule.kinds.contains(&o.kind.as_str()))
        .flat_map(|o| (rule.check)(o, &ix, &ctx))
        .collect()
}

/// The slugs the whole engine reports.
pub fn slugs(objects: Vec<Value>) -> Vec<String> {
    explain(objects, &Options::default())
        .findings
        .into_iter()
        .map(|f| f.slug)
        .collect()
}

/// A pod in namespace `ns` created at 10:00, with `spec` and `status` merged in.
pub fn pod(name: &str, spec: Value, status: Value) -> Value {
    let mut spec = spec;
    if spec.get("containers").is_none() {
        spec["containers"] = json!([{"name": "app", "image": "example/app:1"}]);
    }
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}"),
                     "creationTimestamp": "2024-05-01T10:00:00Z"},
        "spec": spec,
        "status": status,
    })
}

/// A Warning event about pod `name`.
pub fn event(pod: &str, reason: &str, message: &str, count: i64, last: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("{pod}.{reason}"), "namespace": "ns"},
        "involvedObject": {"kind": "Pod", "name": pod, "namespace": "ns", "uid": format!("uid-{pod}")},
        "reason": reason, "message": message, "count": count, "type": "Warning",
        "firstTimestamp": "2024-05-01T10:00:00Z", "lastTimestamp": last,
    })
}

/// A container status `app` in the given state.
pub fn cs(name: &str, state: Value, last: Value, restarts: i64, ready: bool) -> Value {
    json!({"name": name, "state": state, "lastState": last, "restartCount": restarts, "ready": ready,
           "image": "example/app:1"})
}

/// Pod `p` running container `app` again after `restarts` restarts, its last run `last`
/// (a `terminated` state) and `spec` merged in.
pub fn running(restarts: i64, last: Value, spec: Value) -> Value {
    pod(
        "p",
        spec,
        json!({"phase": "Running", "containerStatuses": [
        cs("app", json!({"running": {"startedAt": "2024-05-01T10:00:00Z"}}), json!({"terminated": last}), restarts, true)]}),
    )
}
