use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::imports::{Graph, find_cycle, graph, paths};
use crate::layout;
use crate::long_fns::{LIMIT, LongFn, functions, parse_allow_list, problems};
use crate::source::{Module, code_only, crate_modules};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn module(path: &[&str], children: &[&str], text: &str) -> Module {
    Module {
        path: path.iter().map(|s| s.to_string()).collect(),
        file: format!("src/{}.rs", path.join("/")),
        code: code_only(text),
        children: children.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn the_repository_keeps_its_layout_rules() {
    let broken = layout::problems(&root());
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn the_plugin_is_read_through_its_mod_declarations() {
    let modules = crate_modules(&root(), "plugin");
    let names: Vec<String> = modules.iter().map(Module::name).collect();
    for want in [
        "crate",
        "cmd",
        "cmd::bind",
        "cmd::bind::auto",
        "explain::scope",
        "ui::pages",
    ] {
        assert!(names.contains(&want.to_string()), "{want} in {names:?}");
    }
    // `#[cfg(test)] mod testing;` and the `x/tests.rs` files are test code.
    assert!(!names.iter().any(|n| n == "testing" || n.ends_with("tests")));
    let g = graph(&modules);
    // `super::parse_deployment_target`
    assert!(g["cmd::bind"].contains("cmd"), "{:?}", g["cmd::bind"]);
}

#[test]
fn comments_and_literals_are_blanked_line_by_line() {
    let text = "let a = \"{ use crate::x; }\"; // crate::y {\n/* fn z() { */ let c = '{';\nlet r = r#\"\"}\"#; 'a: loop {}\n";
    let code = code_only(text);
    assert_eq!(code.lines().count(), text.lines().count());
    assert!(!code.contains("crate::"), "{code}");
    assert_eq!(code.matches('{').count(), 1, "{code}");
    assert_eq!(code.matches('}').count(), 1, "{code}");
    assert!(
        code.contains("'a: loop"),
        "a label is no char literal: {code}"
    );
}

#[test]
fn paths_expand_use_groups() {
    let found = paths("use crate::{a, b::{c, d::self}};\nlet x = super::e::f(y::z);");
    let want: Vec<Vec<String>> = [
        "crate::a",
        "crate::b::c",
        "crate::b::d::self",
        "super::e::f",
        "y::z",
    ]
    .iter()
    .map(|p| p.split("::").map(str::to_string).collect())
    .collect();
    assert_eq!(found, want);
}

#[test]
fn imports_resolve_to_file_modules() {
    let modules = vec![
        module(&[], &["cmd", "output"], "pub mod cmd; pub mod output;"),
        module(&["cmd"], &["bind", "auto"], "use crate::output::Table;"),
        module(
            &["cmd", "bind"],
            &[],
            "use super::auto::run; fn f() { super::helper(); }",
        ),
        module(&["cmd", "auto"], &[], "use super::{bind::X, helper};"),
        module(&["output"], &[], "use std::io;"),
    ];
    let g = graph(&modules);
    assert_eq!(
        g["cmd::bind"].iter().collect::<Vec<_>>(),
        ["cmd", "cmd::auto"]
    );
    assert_eq!(
        find_cycle(&g),
        Some(vec![
            "cmd::auto".into(),
            "cmd::bind".into(),
            "cmd::auto".into()
        ])
    );
    let mut acyclic: Graph = g.clone();
    acyclic.get_mut("cmd::auto").unwrap().remove("cmd::bind");
    assert_eq!(find_cycle(&acyclic), None);
}

#[test]
fn functions_are_measured_from_fn_to_closing_brace_without_test_code() {
    let body = "    x();\n".repeat(LIMIT);
    let text = format!(
        "trait T {{ fn decl(&self) -> Result<(), E>; }}\nfn short(a: impl Fn() -> u8) -> Vec<u8> {{\n    vec![]\n}}\npub fn long() {{\n{body}}}\n#[cfg(test)]\nmod tests {{\n    fn in_tests() {{\n{body}    }}\n}}\n"
    );
    let dir = std::env::temp_dir().join(format!("xtask-test-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("c/src")).unwrap();
    std::fs::write(dir.join("c/src/lib.rs"), text).unwrap();
    let modules = crate_modules(&dir, "c");
    std::fs::remove_dir_all(&dir).unwrap();
    let found: Vec<(String, usize)> = functions(&modules[0])
        .into_iter()
        .map(|f| (f.name, f.lines))
        .collect();
    assert_eq!(
        found,
        [("short".to_string(), 3), ("long".to_string(), LIMIT + 2)]
    );
}

#[test]
fn the_allow_list_only_shrinks() {
    let allowed = parse_allow_list("# comment\na.rs::old 90\nb.rs::gone 100 # split\n").unwrap();
    assert_eq!(allowed.len(), 2);
    let f = |name: &str, lines| LongFn {
        file: if name == "old" { "a.rs" } else { "c.rs" }.into(),
        name: name.into(),
        first_line: 1,
        lines,
    };
    let found = [f("old", 95), f("new", 81)];
    let p = problems(&found, &allowed);
    assert_eq!(p.len(), 3, "{p:?}");
    assert!(p[0].starts_with("a.rs::old grew from 90 to 95"), "{p:?}");
    assert!(p[1].starts_with("c.rs::new has 81 lines"), "{p:?}");
    assert!(
        p[2].contains("b.rs::gone") && p[2].contains("remove its line"),
        "{p:?}"
    );
    assert!(problems(&[f("old", 90)], &BTreeMap::from([("a.rs::old".into(), 90)])).is_empty());
    assert!(parse_allow_list("a.rs::x ninety").is_err());
}

#[test]
fn the_webhook_is_read_and_graphed_by_its_roles() {
    let modules = crate_modules(&root(), "webhook");
    let names: Vec<String> = modules.iter().map(Module::name).collect();
    for want in ["intake::server", "pipeline::ports", "adapters::registry"] {
        assert!(names.contains(&want.to_string()), "{want} in {names:?}");
    }
    assert!(
        !names
            .iter()
            .any(|n| n.ends_with("fakes") || n.ends_with("tests"))
    );
    let g = layout::top_level(&graph(&modules));
    assert!(g["adapters"].contains("pipeline"), "{:?}", g["adapters"]);
    assert!(g.values().all(|targets| !targets.contains("crate")));
}

#[test]
fn the_webhook_rules_catch_a_cycle_and_the_pipeline_on_the_adapters() {
    let crate_root = module(
        &[],
        &["adapters", "pipeline", "worker"],
        "mod adapters; mod pipeline; mod worker;",
    );
    let adapters = module(&["adapters"], &[], "use crate::pipeline::ports::Port;");
    let ports = module(&["pipeline", "ports"], &[], "pub trait Port {}");
    let pipeline = |code: &str| module(&["pipeline"], &["ports"], code);
    let worker = |code: &str| module(&["worker"], &[], code);
    let layout = |p: &str, w: &str| {
        layout::webhook_problems(&[
            crate_root.clone(),
            adapters.clone(),
            pipeline(p),
            ports.clone(),
            worker(w),
        ])
    };
    assert!(
        layout("mod ports;", "use crate::pipeline::run;").is_empty(),
        "{:?}",
        layout("mod ports;", "use crate::pipeline::run;")
    );
    let on_adapters = layout("use crate::adapters::docker::Engine;", "");
    assert_eq!(on_adapters.len(), 2, "{on_adapters:?}");
    assert!(
        on_adapters[0].starts_with("pipeline imports crate::adapters"),
        "{on_adapters:?}"
    );
    assert!(on_adapters[1].contains("import cycle"), "{on_adapters:?}");
    let named = layout("fn f(c: reqwest::Client) {}", "");
    assert_eq!(named.len(), 1, "{named:?}");
    assert!(
        named[0].contains("names the adapter crate reqwest"),
        "{named:?}"
    );
    let cycle = layout("use crate::worker::Parked;", "use crate::pipeline::run;");
    assert_eq!(
        cycle,
        ["import cycle between the webhook's top-level modules: pipeline -> worker -> pipeline"]
    );
}

#[test]
fn the_repository_pins_every_manifest_image_by_digest() {
    let broken = crate::pins::problems(&root().join("manifests")).unwrap();
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn a_tag_only_image_a_bad_lock_or_a_stale_webhook_tag_is_reported() {
    let d = format!("sha256:{}", "ab".repeat(32));
    let problems = |lock: &str| {
        let dir = std::env::temp_dir().join(format!("xtask-pins-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("w.yaml"),
            format!("      - image: docker:28-dind\n        image: r.io/w:1@{d}\n"),
        )
        .unwrap();
        std::fs::write(dir.join("images.lock"), lock).unwrap();
        let broken = crate::pins::problems(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        broken
    };
    let broken = problems(&format!(
        "webhook r.io/w:0.0.0-old@{d}\nengine docker:28-dind@{d}\n"
    ));
    assert_eq!(broken.len(), 2, "{broken:#?}");
    assert!(broken[0].ends_with(
        "w.yaml:1: image \"docker:28-dind\" has no @sha256:<64 hex> digest (pin it in manifests/images.lock, then `cargo xtask gen`)"
    ));
    assert!(broken[1].contains(&format!(
        "the webhook image r.io/w:0.0.0-old@{d} is not tagged {}",
        env!("CARGO_PKG_VERSION")
    )));
    let version = env!("CARGO_PKG_VERSION");
    let broken = problems(&format!(
        "webhook r.io/w:{version}@{d}\nengine docker:28-dind\n"
    ));
    assert_eq!(broken.len(), 2, "{broken:#?}");
    assert!(
        broken[1].ends_with("images.lock line 2: \"engine docker:28-dind\" is not `ROLE REPOSITORY:TAG@sha256:<64 hex>`"),
        "{}",
        broken[1]
    );
}
