use serde_json::json;

use super::{Map, Value};

fn sample() -> serde_json::Value {
    json!({"kind": "Pod", "metadata": {"name": "web-1", "labels": {"b": "2", "a": "1"}},
        "spec": {"containers": [{"name": "app", "ports": [{"containerPort": 8080}]}]},
        "status": {"ready": true, "restartCount": -3, "ratio": 0.5, "gone": null}})
}

#[test]
fn converts_both_ways_and_reads_alike() {
    let json = sample();
    let tree = Value::from(json.clone());
    assert_eq!(tree.to_json(), json);
    assert_eq!(tree.to_string(), json.to_string());
    assert_eq!(tree["metadata"]["name"], "web-1");
    assert_eq!(
        tree.pointer("/spec/containers/0/ports/0/containerPort")
            .and_then(Value::as_i64),
        Some(8080)
    );
    assert_eq!(tree.pointer("/spec/containers/1"), None);
    assert_eq!(tree["status"]["restartCount"].as_i64(), Some(-3));
    assert_eq!(tree["status"]["ratio"].as_f64(), Some(0.5));
    assert!(tree["status"]["gone"].is_null() && tree["status"]["missing"].is_null());
    let labels: Vec<&str> = tree["metadata"]["labels"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(labels, ["a", "b"], "keys in order, as serde_json's map");
}

#[test]
fn parses_json_text_directly_keeping_the_last_of_a_repeated_key() {
    let tree: Value =
        serde_json::from_str(r#"{"b": 1, "a": {"x": [1, "two", false]}, "b": 3}"#).unwrap();
    assert_eq!(tree["b"].as_i64(), Some(3));
    assert_eq!(tree.as_object().map(Map::len), Some(2));
    assert_eq!(tree["a"]["x"][1], "two");
    let via_json = Value::from(
        serde_json::from_str::<serde_json::Value>(
            r#"{"b": 1, "a": {"x": [1, "two", false]}, "b": 3}"#,
        )
        .unwrap(),
    );
    assert_eq!(tree, via_json);
}

#[test]
fn inserts_and_removes_keep_keys_sorted() {
    let mut tree = Value::from(json!({"b": 1, "d": 2}));
    let m = tree.as_object_mut().unwrap();
    m.insert("c", Value::Bool(true));
    m.insert("a", Value::Null);
    m.insert("d", Value::from(json!("x")));
    m.remove("b");
    assert_eq!(tree.to_json(), json!({"a": null, "c": true, "d": "x"}));
}

#[test]
fn is_smaller_than_serde_json() {
    // The point of the type: a value is three words, a mapping one boxed slice.
    assert_eq!(std::mem::size_of::<Value>(), 24);
    assert!(std::mem::size_of::<Value>() < std::mem::size_of::<serde_json::Value>());
}

#[test]
fn a_parse_error_inside_nested_values_leaves_the_next_parse_whole() {
    // The reader's scratch stacks are shared by nested values and by later parses: an
    // error deep inside a mapping and an array must leave nothing behind.
    let bad = r#"{"a": {"b": [1, 2, {"c": 3, "d": }]}, "e": 4}"#;
    assert!(serde_json::from_str::<Value>(bad).is_err());
    assert_eq!(super::ENTRIES.with_borrow(Vec::len), 0);
    assert_eq!(super::ITEMS.with_borrow(Vec::len), 0);
    let text = r#"{"z": [1, {"y": 2, "x": [3]}], "a": {"k": "v"}, "a": 5}"#;
    let tree: Value = serde_json::from_str(text).unwrap();
    let via_json = Value::from(serde_json::from_str::<serde_json::Value>(text).unwrap());
    assert_eq!(tree, via_json);
    assert_eq!(
        tree.to_json(),
        json!({"a": 5, "z": [1, {"x": [3], "y": 2}]})
    );
}
