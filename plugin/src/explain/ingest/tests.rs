use super::*;
use serde_json::Value;

fn kinds_of(objs: &[Value]) -> Vec<String> {
    objs.iter()
        .map(|o| o["kind"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn single_json_object() {
    let objs = parse_text(
        "p.json",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"}}"#,
    )
    .unwrap();
    assert_eq!(kinds_of(&objs), ["Pod"]);
}

#[test]
fn v1_list_and_typed_list_items_get_kind() {
    let text = r#"{"apiVersion":"v1","kind":"PodList","items":[{"metadata":{"name":"a"}},{"kind":"Pod","apiVersion":"v1","metadata":{"name":"b"}}]}"#;
    let objs = parse_text("pods.json", text).unwrap();
    assert_eq!(kinds_of(&objs), ["Pod", "Pod"]);
    assert_eq!(objs[0]["apiVersion"], "v1");
    let list = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: d}\n- apiVersion: v1\n  kind: Service\n  metadata: {name: s}\n";
    assert_eq!(
        kinds_of(&parse_text("l.yaml", list).unwrap()),
        ["Deployment", "Service"]
    );
}

#[test]
fn multi_document_yaml_skips_empty_documents() {
    let text = "---\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: Node\nmetadata: {name: n}\n";
    assert_eq!(
        kinds_of(&parse_text("m.yaml", text).unwrap()),
        ["Pod", "Node"]
    );
}

#[test]
fn concatenated_json_with_dump_logs() {
    let text = "{\"kind\":\"NodeList\",\"apiVersion\":\"v1\",\"items\":[{\"metadata\":{\"name\":\"n\"}}]}\n\
                {\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"items\":[]}\n\
                ==== START logs for container app of pod default/a ====\n\
                {not json at all\n\
                ==== END logs for container app of pod default/a ====\n\
                {\"kind\":\"EventList\",\"apiVersion\":\"v1\",\"items\":[{\"metadata\":{\"name\":\"e\"}}]}\n";
    let objs = parse_text("dump.txt", text).unwrap();
    assert_eq!(kinds_of(&objs), ["Node", "Event"]);
}

#[test]
fn invalid_yaml_names_file_and_line() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n   bad: indent\n";
    let err = parse_text("broken.yaml", text).unwrap_err().to_string();
    assert!(err.starts_with("broken.yaml line 5 "), "{err}");
    assert!(err.contains("invalid YAML"), "{err}");
}

#[test]
fn invalid_json_names_file_and_line() {
    let text = "{\n  \"kind\": \"Pod\",\n  \"metadata\": {\"name\": \"a\",}\n}\n";
    let err = parse_text("broken.json", text).unwrap_err().to_string();
    assert!(err.starts_with("broken.json line 3 "), "{err}");
    assert!(err.contains("invalid JSON"), "{err}");
    assert!(
        !err.contains("at line"),
        "position must not be repeated: {err}"
    );
}

#[test]
fn line_numbers_survive_stripped_logs() {
    let text = "{\"kind\":\"PodList\",\"items\":[]}\n==== START logs for container a of pod x/y ====\nlog\n==== END logs for container a of pod x/y ====\n{oops}\n";
    let err = parse_text("dump", text).unwrap_err().to_string();
    assert!(err.starts_with("dump line 5 "), "{err}");
}

#[test]
fn scalar_document_is_rejected() {
    let err = parse_text("s.yaml", "just a string\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("s.yaml document 1") && err.contains("found a string"),
        "{err}"
    );
}

#[test]
fn empty_text_has_no_objects() {
    assert!(
        parse_text("e.yaml", "  \n# only a comment\n")
            .unwrap()
            .is_empty()
    );
    assert!(parse_text("e.yaml", "").unwrap().is_empty());
}

#[test]
fn read_path_errors_and_directories() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.yaml");
    let err = read_path(&missing).unwrap_err().to_string();
    assert!(
        err.contains("nope.yaml") && err.contains("no such file or directory"),
        "{err}"
    );

    // A cluster-info dump --output-directory layout.
    std::fs::write(
        dir.path().join("nodes.json"),
        r#"{"kind":"NodeList","apiVersion":"v1","items":[{"metadata":{"name":"n"}}]}"#,
    )
    .unwrap();
    let ns = dir.path().join("default");
    std::fs::create_dir_all(ns.join("pod-a")).unwrap();
    std::fs::write(
        ns.join("pods.json"),
        r#"{"kind":"PodList","apiVersion":"v1","items":[{"metadata":{"name":"a"}}]}"#,
    )
    .unwrap();
    std::fs::write(
        ns.join("events.json"),
        r#"{"kind":"EventList","apiVersion":"v1","items":[]}"#,
    )
    .unwrap();
    std::fs::write(
        ns.join("pod-a").join("logs.txt"),
        "plain log text { not json",
    )
    .unwrap();
    let objs = read_path(dir.path()).unwrap();
    let mut kinds = kinds_of(&objs);
    kinds.sort();
    assert_eq!(kinds, ["Node", "Pod"]);

    let empty = tempfile::tempdir().unwrap();
    let err = read_path(empty.path()).unwrap_err().to_string();
    assert!(err.contains("no Kubernetes objects found"), "{err}");

    let bad = dir.path().join("default").join("services.json");
    std::fs::write(&bad, "{\"kind\": ").unwrap();
    let err = read_path(dir.path()).unwrap_err().to_string();
    assert!(err.contains("services.json line 1"), "{err}");
}

#[test]
fn stdin_empty_and_invalid_utf8() {
    let err = read_stdin(&b""[..]).unwrap_err().to_string();
    assert!(
        err.starts_with("<stdin>: no Kubernetes objects found"),
        "{err}"
    );
    let err = read_stdin(&[0xff, 0xfe, 0x00][..]).unwrap_err().to_string();
    assert!(
        err.contains("<stdin>") && err.contains("not UTF-8"),
        "{err}"
    );
    let objs = read_stdin(&b"kind: Pod\nmetadata: {name: a}\n"[..]).unwrap();
    assert_eq!(kinds_of(&objs), ["Pod"]);
}
