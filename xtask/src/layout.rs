//! The layout rules `cargo xtask check` enforces, read from the sources:
//! - the plugin's modules import each other without a cycle (commands on top of the pure
//!   helpers they share, never back);
//! - the webhook's top-level modules (its roles `intake`, `worker`, `pipeline`, `adapters`, and
//!   what they share) import each other without a cycle, and the pipeline reaches the adapters
//!   only through its ports: it imports no adapter module and names no adapter crate;
//! - `mosaic-core` names no adapter crate (HTTP, Docker, GitHub clients, servers, runtimes):
//!   it stays pure;
//! - no function in `src` is over 80 lines unless `xtask/long-functions.txt` lists it.

use std::path::Path;

use crate::imports::{Graph, find_cycle, graph, named_crates};
use crate::long_fns::{self, ALLOW_LIST};
use crate::source::{Module, crate_modules};

/// Crates that reach the outside world; `mosaic-core` names none of them.
pub const ADAPTER_CRATES: [&str; 7] = [
    "bollard", "octocrab", "reqwest", "axum", "hyper", "tokio", "tower",
];

/// Imports between the plugin's modules that close a cycle and remain until their owner
/// untangles them: (from, to). The check fails when one is gone, so the list only shrinks.
pub const PLUGIN_KNOWN_CYCLE_EDGES: [(&str, &str); 0] = [];

/// A cycle between the plugin's modules, or a known edge that is gone, as sentences.
pub fn plugin_cycles(root: &Path) -> Vec<String> {
    let mut g = graph(&crate_modules(root, "plugin"));
    let mut out = Vec::new();
    for (from, to) in PLUGIN_KNOWN_CYCLE_EDGES {
        if !g.get_mut(from).is_some_and(|targets| targets.remove(to)) {
            out.push(format!(
                "{from} no longer imports {to}: remove it from PLUGIN_KNOWN_CYCLE_EDGES in xtask/src/layout.rs"
            ));
        }
    }
    if let Some(c) = find_cycle(&g) {
        out.push(format!(
            "import cycle between the plugin's modules: {} (a command builds on the helpers it shares, never the reverse)",
            c.join(" -> ")
        ));
    }
    out
}

/// The crates the webhook's adapters wrap; its pipeline names none of them (its ports are
/// written in its own types).
pub const WEBHOOK_ADAPTER_CRATES: [&str; 4] = ["bollard", "octocrab", "reqwest", "axum"];

/// The webhook's modules graphed by their top-level module (`pipeline::rollout::watch` counts as
/// `pipeline`), the crate root (which wires them all) left out.
pub fn top_level(g: &Graph) -> Graph {
    let top = |m: &str| m.split("::").next().unwrap_or(m).to_string();
    let mut out = Graph::new();
    for (from, targets) in g {
        let entry = out.entry(top(from)).or_default();
        entry.extend(targets.iter().map(|t| top(t)).filter(|t| *t != top(from)));
    }
    out
}

/// The webhook's layout broken in `modules`, as sentences: the pipeline importing an adapter
/// module or naming an adapter crate, a cycle between the top-level modules.
pub fn webhook_problems(modules: &[Module]) -> Vec<String> {
    let full = graph(modules);
    let mut out: Vec<String> = full
        .iter()
        .filter(|(from, targets)| {
            from.split("::").next() == Some("pipeline")
                && targets.iter().any(|t| t.split("::").next() == Some("adapters"))
        })
        .map(|(from, _)| {
            format!("{from} imports crate::adapters: the pipeline reaches the adapters only through its ports")
        })
        .collect();
    let pipeline: Vec<Module> = modules
        .iter()
        .filter(|m| m.path.first().is_some_and(|p| p == "pipeline"))
        .cloned()
        .collect();
    for (file, c) in named_crates(&pipeline, &WEBHOOK_ADAPTER_CRATES) {
        out.push(format!(
            "{file} names the adapter crate {c}: the pipeline's ports are written in its own types"
        ));
    }
    if let Some(c) = find_cycle(&top_level(&full)) {
        out.push(format!(
            "import cycle between the webhook's top-level modules: {}",
            c.join(" -> ")
        ));
    }
    out
}

/// Each adapter crate core names, in its sources or as a dependency.
pub fn core_adapters(root: &Path) -> Vec<String> {
    let mut out: Vec<String> = named_crates(&crate_modules(root, "core"), &ADAPTER_CRATES)
        .into_iter()
        .map(|(file, c)| format!("{file} names the adapter crate {c}: core does no IO"))
        .collect();
    let manifest = std::fs::read_to_string(root.join("core/Cargo.toml")).unwrap_or_default();
    for line in manifest.lines() {
        let dep = line.split(['=', '.', ' ']).next().unwrap_or("").trim();
        if ADAPTER_CRATES.contains(&dep) {
            out.push(format!(
                "core/Cargo.toml depends on the adapter crate {dep}"
            ));
        }
    }
    out
}

/// Long functions against the allow-list.
pub fn long_function_problems(root: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(root.join(ALLOW_LIST)).unwrap_or_default();
    match long_fns::parse_allow_list(&text) {
        Ok(allowed) => long_fns::problems(&long_fns::long_functions(root), &allowed),
        Err(e) => vec![e],
    }
}

/// Every broken rule, one sentence each.
pub fn problems(root: &Path) -> Vec<String> {
    let mut out = plugin_cycles(root);
    out.extend(webhook_problems(&crate_modules(root, "webhook")));
    out.extend(core_adapters(root));
    out.extend(long_function_problems(root));
    out
}
