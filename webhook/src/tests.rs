//! The crate's layout, checked from its `use` lines: no import cycle between the top-level
//! modules (the roles `intake`, `worker`, `pipeline`, `adapters`, and what they share), the
//! pipeline never imports the adapters (its ports are written in its own types) nor names an
//! adapter crate (bollard, octocrab, reqwest, axum), and `mosaic-core` names no adapter crate
//! at all. Test-only files (unit tests and fakes) are not part of the layout.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ADAPTER_CRATES: [&str; 4] = ["bollard", "octocrab", "reqwest", "axum"];

/// Files that exist only under `#[cfg(test)]`.
const TEST_ONLY: [&str; 3] = ["fakes.rs", "fake_kube.rs", "test_world.rs"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn is_test_only(rel: &str) -> bool {
    let file = rel.rsplit('/').next().unwrap_or(rel);
    file == "tests.rs" || TEST_ONLY.contains(&file)
}

/// The text of a file without its inline unit tests (`#[cfg(test)] mod tests { … }` is last).
fn without_inline_tests(text: &str) -> &str {
    text.find("#[cfg(test)]\nmod tests {")
        .map_or(text, |i| &text[..i])
}

/// The top-level modules and their submodules a text names through `crate::`, including the
/// names inside `crate::{a, b::c}`.
fn crate_paths(text: &str) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in text.match_indices("crate::") {
        let before = text[..i].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue; // `mosaic_crate::`, not this crate
        }
        let rest = &text[i + "crate::".len()..];
        let paths: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group[..group.find('}').unwrap_or(group.len())]
                .split(',')
                .map(str::trim)
                .collect(),
            None => vec![rest],
        };
        for p in paths {
            let top = ident(p);
            let sub = p
                .get(top.len()..)
                .and_then(|r| r.strip_prefix("::"))
                .map(ident)
                .unwrap_or_default();
            if !top.is_empty() {
                found.insert((top, sub));
            }
        }
    }
    found
}

/// Every non-test file of `webhook/src` (relative path), with its text.
fn sources() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(&src)
                .expect("under src")
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&p).expect("read source");
            (rel, text)
        })
        .filter(|(rel, _)| !is_test_only(rel))
        .collect()
}

fn top_module(rel: &str) -> &str {
    rel.split('/').next().unwrap_or(rel).trim_end_matches(".rs")
}

/// A cycle in `edges`, as the modules along it, if there is one.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == n) {
            let mut cycle = path[at..].to_vec();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for next in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(next, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|n| visit(n, edges, &mut Vec::new(), &mut done))
}

#[test]
fn the_top_level_modules_import_each_other_without_a_cycle() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, text) in sources() {
        let from = top_module(&rel);
        if matches!(from, "lib" | "main") {
            continue; // the wiring imports everything
        }
        for (to, sub) in crate_paths(without_inline_tests(&text)) {
            if to == from {
                continue;
            }
            assert!(
                !(from == "pipeline" && to == "adapters"),
                "{rel} imports crate::adapters::{sub}: the pipeline reaches the adapters only through its ports"
            );
            edges.entry(from.to_string()).or_default().insert(to);
        }
    }
    if let Some(cycle) = find_cycle(&edges) {
        panic!(
            "import cycle between top-level modules: {}",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn the_pipeline_names_no_adapter_crate() {
    for (rel, text) in sources().iter().filter(|(r, _)| r.starts_with("pipeline/")) {
        let text = without_inline_tests(text);
        for c in ADAPTER_CRATES {
            assert!(
                !text.contains(&format!("{c}::")),
                "{rel} names the adapter crate {c}"
            );
        }
    }
}

#[test]
fn core_names_no_adapter_crate() {
    let core = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core");
    let mut files = Vec::new();
    rust_files(&core.join("src"), &mut files);
    files.push(core.join("Cargo.toml"));
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read core");
        for c in ADAPTER_CRATES {
            let named = text.contains(&format!("{c}::"))
                || text.lines().any(|l| {
                    l.trim_start().starts_with(&format!("{c} "))
                        || l.trim_start().starts_with(&format!("{c}."))
                });
            assert!(!named, "{} names the adapter crate {c}", f.display());
        }
    }
}

#[test]
fn the_checks_see_imports_in_every_form() {
    let paths = crate_paths(
        "use crate::pipeline::ports::X;\nuse crate::{cluster::claim, metrics};\nuse mosaic_crate::y;",
    );
    let want = [("cluster", "claim"), ("metrics", ""), ("pipeline", "ports")]
        .map(|(a, b)| (a.to_string(), b.to_string()));
    assert_eq!(paths, BTreeSet::from(want));
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("c".into());
    assert_eq!(find_cycle(&edges), None);
    edges.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        find_cycle(&edges),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}
