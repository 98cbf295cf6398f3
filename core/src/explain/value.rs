//! Small accessors over raw `serde_json::Value` Kubernetes objects: dotted paths,
//! conditions and timestamps. Dumps are partial, so every accessor tolerates absence.

use crate::explain::tree::Value;
use chrono::{DateTime, Utc};

/// The value at a dotted path (`status.phase`), or `None` when any step is missing.
pub fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for key in path.split('.') {
        cur = cur.as_object()?.get(key)?;
    }
    Some(cur)
}

/// The string at a dotted path.
pub fn str_at<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    get(v, path)?.as_str()
}

/// The string at a dotted path, with empty strings treated as absent.
pub fn nonempty_at<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    str_at(v, path).filter(|s| !s.is_empty())
}

/// The integer at a dotted path.
pub fn i64_at(v: &Value, path: &str) -> Option<i64> {
    get(v, path)?.as_i64()
}

/// The boolean at a dotted path.
pub fn bool_at(v: &Value, path: &str) -> Option<bool> {
    get(v, path)?.as_bool()
}

/// The array at a dotted path; empty when absent or not an array.
pub fn arr_at<'a>(v: &'a Value, path: &str) -> &'a [Value] {
    get(v, path).and_then(Value::as_array).unwrap_or(&[])
}

/// `status.conditions[type=<ty>]`.
pub fn condition<'a>(v: &'a Value, ty: &str) -> Option<&'a Value> {
    arr_at(v, "status.conditions")
        .iter()
        .find(|c| str_at(c, "type") == Some(ty))
}

/// Parses an RFC 3339 timestamp as Kubernetes writes it.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The timestamp at a dotted path.
pub fn time_at(v: &Value, path: &str) -> Option<DateTime<Utc>> {
    parse_time(str_at(v, path)?)
}

/// Cheap pre-check before parsing: `YYYY-MM-DDTHH:MM:SS...`.
pub fn looks_like_time(s: &str) -> bool {
    let b = s.as_bytes();
    (20..=40).contains(&b.len())
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[..4].iter().all(u8::is_ascii_digit)
}

/// The newest RFC 3339 timestamp anywhere inside `v`.
pub fn newest_time(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) if looks_like_time(s) => parse_time(s),
        Value::Array(items) => items.iter().filter_map(newest_time).max(),
        Value::Object(map) => map.values().filter_map(newest_time).max(),
        _ => None,
    }
}

/// The newest timestamp of one Kubernetes object, skipping the parts that hold no
/// event times (`spec`, labels, annotations) to keep large dumps fast.
pub fn newest_object_time(obj: &Value) -> Option<DateTime<Utc>> {
    let Value::Object(map) = obj else {
        return newest_time(obj);
    };
    map.iter()
        .filter_map(|(k, v)| match (k, v) {
            ("spec", _) => None,
            ("metadata", Value::Object(meta)) => meta
                .iter()
                .filter(|(mk, _)| !matches!(*mk, "labels" | "annotations"))
                .filter_map(|(_, mv)| newest_time(mv))
                .max(),
            _ => newest_time(v),
        })
        .max()
}

/// A human duration: `45s`, `12m`, `3h20m`, `2d4h`.
pub fn human_duration(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => {
            let m = (s % 3600) / 60;
            if m == 0 {
                format!("{}h", s / 3600)
            } else {
                format!("{}h{}m", s / 3600, m)
            }
        }
        _ => {
            let h = (s % 86400) / 3600;
            if h == 0 {
                format!("{}d", s / 86400)
            } else {
                format!("{}d{}h", s / 86400, h)
            }
        }
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
    fn paths_and_conditions() {
        let v = tree!({"status": {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}]}});
        assert_eq!(str_at(&v, "status.phase"), Some("Pending"));
        assert_eq!(str_at(&v, "status.missing"), None);
        assert_eq!(arr_at(&v, "status.phase").len(), 0);
        assert_eq!(
            str_at(condition(&v, "Ready").unwrap(), "status"),
            Some("False")
        );
        assert!(condition(&v, "PodScheduled").is_none());
    }

    #[test]
    fn newest_time_scans_everything() {
        let v = tree!({"a": "2021-07-18T07:14:38Z", "b": [{"c": "2021-07-19T00:00:08.123456Z"}], "d": "2021-not-a-time-at-all"});
        assert_eq!(
            newest_time(&v).unwrap().to_rfc3339(),
            "2021-07-19T00:00:08.123456+00:00"
        );
    }

    #[test]
    fn object_time_skips_spec_and_annotations() {
        let v = tree!({"metadata": {"creationTimestamp": "2021-07-18T07:14:38Z",
            "annotations": {"restartedAt": "2030-01-01T00:00:00Z"}},
            "spec": {"x": "2030-01-01T00:00:00Z"}, "status": {"startTime": "2021-07-18T08:00:00Z"}});
        assert_eq!(
            newest_object_time(&v).unwrap().to_rfc3339(),
            "2021-07-18T08:00:00+00:00"
        );
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(chrono::Duration::seconds(59)), "59s");
        assert_eq!(
            human_duration(chrono::Duration::seconds(3600 * 4 + 45 * 60)),
            "4h45m"
        );
        assert_eq!(human_duration(chrono::Duration::seconds(86400 * 2)), "2d");
    }
}
