//! Reading what cannot be read: the fields the rules rely on (times, conditions,
//! container statuses) checked for their type, so malformed input is reported with
//! its path instead of passing silently as healthy. The rest is still analysed.

use crate::explain::tree::Value;

use super::value::{get, looks_like_time, parse_time};

/// The unreadable fields of one object, as `path: what is wrong`.
pub fn unreadable(v: &Value, kind: &str) -> Vec<String> {
    let mut out = Vec::new();
    time(v, "metadata.creationTimestamp", &mut out);
    time(v, "metadata.deletionTimestamp", &mut out);
    let Some(status) = get(v, "status") else {
        return out;
    };
    if !status.is_object() {
        out.push(format!("status: {}, expected an object", type_of(status)));
        return out;
    }
    time(v, "status.startTime", &mut out);
    for (i, c) in list(v, "status.conditions", &mut out).iter().enumerate() {
        let at = format!("status.conditions[{i}]");
        if !c.is_object() {
            out.push(format!("{at}: {}, expected an object", type_of(c)));
            continue;
        }
        for k in ["lastTransitionTime", "lastUpdateTime", "lastHeartbeatTime"] {
            time_in(c, k, &at, &mut out);
        }
    }
    if kind == "Pod" {
        for key in ["initContainerStatuses", "containerStatuses"] {
            let path = format!("status.{key}");
            for (i, cs) in list(v, &path, &mut out).iter().enumerate() {
                let at = format!("{path}[{i}]");
                if !cs.is_object() {
                    out.push(format!("{at}: {}, expected an object", type_of(cs)));
                    continue;
                }
                if let Some(r) = cs.get("restartCount").filter(|r| !r.is_i64()) {
                    out.push(format!(
                        "{at}.restartCount: {}, expected an integer",
                        type_of(r)
                    ));
                }
                for st in ["state", "lastState"] {
                    for phase in ["running", "terminated"] {
                        let Some(p) = cs.get(st).and_then(|s| s.get(phase)) else {
                            continue;
                        };
                        let here = format!("{at}.{st}.{phase}");
                        for k in ["startedAt", "finishedAt"] {
                            time_in(p, k, &here, &mut out);
                        }
                        if let Some(c) = p.get("exitCode").filter(|c| !c.is_i64()) {
                            out.push(format!(
                                "{here}.exitCode: {}, expected an integer",
                                type_of(c)
                            ));
                        }
                    }
                }
            }
        }
    }
    out
}

fn list<'a>(v: &'a Value, path: &str, out: &mut Vec<String>) -> &'a [Value] {
    match get(v, path) {
        None | Some(Value::Null) => &[],
        Some(Value::Array(a)) => a,
        Some(other) => {
            out.push(format!("{path}: {}, expected a list", type_of(other)));
            &[]
        }
    }
}

fn time(v: &Value, path: &str, out: &mut Vec<String>) {
    check_time(get(v, path), path, out);
}

fn time_in(v: &Value, key: &str, at: &str, out: &mut Vec<String>) {
    check_time(v.get(key), &format!("{at}.{key}"), out);
}

fn check_time(t: Option<&Value>, path: &str, out: &mut Vec<String>) {
    match t {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if looks_like_time(s) && parse_time(s).is_some() => {}
        Some(Value::String(s)) => {
            let shown: String = s.chars().take(40).collect();
            out.push(format!("{path}: {shown:?} is not an RFC 3339 time"));
        }
        Some(other) => out.push(format!(
            "{path}: {}, expected an RFC 3339 time",
            type_of(other)
        )),
    }
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    /// `json!`, read into the engine's compact tree.
    macro_rules! tree {
        ($($t:tt)+) => {
            crate::explain::tree::Value::from(serde_json::json!($($t)+))
        };
    }

    #[test]
    fn wrong_types_and_bad_times_name_their_path() {
        let pod = tree!({"kind": "Pod", "metadata": {"name": "p", "creationTimestamp": "yesterday"},
            "status": {"phase": "Running", "conditions": "Ready",
                "containerStatuses": [{"name": "app", "restartCount": "3",
                    "state": {"terminated": {"exitCode": "1", "finishedAt": "2024-13-45T99:00:00Z"}}}]}});
        assert_eq!(
            unreadable(&pod, "Pod"),
            [
                "metadata.creationTimestamp: \"yesterday\" is not an RFC 3339 time",
                "status.conditions: a string, expected a list",
                "status.containerStatuses[0].restartCount: a string, expected an integer",
                "status.containerStatuses[0].state.terminated.finishedAt: \"2024-13-45T99:00:00Z\" is not an RFC 3339 time",
                "status.containerStatuses[0].state.terminated.exitCode: a string, expected an integer",
            ]
        );
    }

    #[test]
    fn well_formed_objects_have_nothing_unreadable() {
        let pod = tree!({"kind": "Pod", "metadata": {"name": "p", "creationTimestamp": "2024-05-01T10:00:00Z"},
            "status": {"phase": "Running", "startTime": "2024-05-01T10:00:00Z",
                "conditions": [{"type": "Ready", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2024-05-01T10:00:05Z"}],
                "containerStatuses": [{"name": "app", "restartCount": 0, "state": {"running": {"startedAt": "2024-05-01T10:00:02Z"}}, "lastState": {}}]}});
        assert!(unreadable(&pod, "Pod").is_empty());
    }
}
