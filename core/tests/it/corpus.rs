//! Runs the explain engine over every case of the shared corpus, read where it lies
//! (`MOSAIC_EXPLAIN_CORPUS`, else `<workspace>/../shared/corpus/explain`, else
//! `/work/shared/corpus/explain`), so new cases count without code changes.

use std::path::{Path, PathBuf};

use mosaic_core::explain::{Index, Options, explain};
use serde_json::Value;

fn corpus_dir() -> PathBuf {
    let mut tried = Vec::new();
    let candidates = [
        std::env::var_os("MOSAIC_EXPLAIN_CORPUS").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/explain")),
        Some(PathBuf::from("/work/shared/corpus/explain")),
    ];
    for c in candidates.into_iter().flatten() {
        if c.join("cases").is_dir() {
            return c;
        }
        tried.push(c.display().to_string());
    }
    panic!(
        "explain corpus not found: looked in {}; set MOSAIC_EXPLAIN_CORPUS to the directory holding cases/",
        tried.join(", ")
    );
}

fn read_yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_yaml::from_str(&text)
        .unwrap_or_else(|e| panic!("invalid YAML in {}: {e}", path.display()))
}

/// Checks one case; returns its failures (empty = pass).
fn check_case(dir: &Path) -> Vec<String> {
    let objects = read_yaml(&dir.join("objects.yaml"));
    // A v1 List (the corpus format), a bare array, or a single object.
    let items = match objects {
        Value::Array(items) => items,
        Value::Object(mut map) if map.contains_key("items") => match map.remove("items") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        single => vec![single],
    };
    let expected = read_yaml(&dir.join("expected.yaml"));
    let mut failures = Vec::new();
    // The reference time must be the newest timestamp of the objects, as recorded.
    let source = read_yaml(&dir.join("source.yaml"));
    if let Some(newest) = source
        .get("newest_timestamp_in_objects")
        .and_then(Value::as_str)
    {
        let want = chrono::DateTime::parse_from_rfc3339(newest)
            .map(|t| t.to_utc())
            .ok();
        let got = Index::build(items.clone()).newest_timestamp();
        if want != got {
            failures.push(format!(
                "reference time: source.yaml says {newest}, the engine uses {got:?}"
            ));
        }
    }
    let report = explain(items, &Options::default());
    for exp in expected.as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let s = |k: &str| exp.get(k).and_then(Value::as_str).map(str::to_string);
        let (kind, ns, name) = (
            s("kind").unwrap_or_default(),
            s("namespace"),
            s("name").unwrap_or_default(),
        );
        let on_object: Vec<&str> = report
            .findings
            .iter()
            .filter(|f| f.object.kind == kind && f.object.namespace == ns && f.object.name == name)
            .map(|f| f.slug.as_str())
            .collect();
        let label = format!("{kind} {}/{name}", ns.as_deref().unwrap_or("-"));
        if exp.get("healthy").and_then(Value::as_bool) == Some(true) {
            if !on_object.is_empty() {
                failures.push(format!("{label}: healthy, but reported {on_object:?}"));
            }
            continue;
        }
        let mut ok: Vec<String> = s("slug").into_iter().collect();
        ok.extend(
            exp.get("accept")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string),
        );
        if !on_object.iter().any(|f| ok.iter().any(|o| o == f)) {
            failures.push(format!("{label}: expected {ok:?}, reported {on_object:?}"));
        }
    }
    failures
}

#[test]
fn every_corpus_case_passes() {
    let root = corpus_dir();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(root.join("cases"))
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", root.join("cases").display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(
        !cases.is_empty(),
        "no cases under {}",
        root.join("cases").display()
    );
    let mut failed = Vec::new();
    for case in &cases {
        let failures = check_case(case);
        if !failures.is_empty() {
            let name = case
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            failed.push(format!("{name}:\n  {}", failures.join("\n  ")));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} corpus cases fail:\n{}",
        failed.len(),
        cases.len(),
        failed.join("\n")
    );
}
