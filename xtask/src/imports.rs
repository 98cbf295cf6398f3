//! Which module of a crate names which, read from the code: `crate::`, `super::`, `self::` and
//! child-module paths, `use` groups (`a::{b, c::{d}}`) included, each resolved to the file
//! module it reaches. Test code is not read (see `source`). The crate root is left out as a
//! source: it declares and wires every module.

use std::collections::{BTreeMap, BTreeSet};

use crate::source::{Module, is_ident};

/// The module graph: from each module (by `a::b` name) to those it names.
pub type Graph = BTreeMap<String, BTreeSet<String>>;

/// Every path written in `code`, with its `use` groups expanded (`a::{b, c}` gives `a::b` and
/// `a::c`). Only paths of two segments or more.
pub fn paths(code: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts = is_ident(chars[i])
            && !chars[i].is_ascii_digit()
            && (i == 0 || {
                let p = chars[i - 1];
                !is_ident(p) && p != ':' && p != '.' && p != '\''
            });
        if starts {
            let (found, end) = parse_path(&chars, i);
            out.extend(found.into_iter().filter(|p| p.len() > 1));
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

fn skip_ws(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    i
}

/// The paths of the path starting at `i` (a `use` tree), and where it ends.
fn parse_path(chars: &[char], mut i: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix = Vec::new();
    loop {
        let start = i;
        while i < chars.len() && is_ident(chars[i]) {
            i += 1;
        }
        if i == start {
            return (vec![prefix], i);
        }
        prefix.push(chars[start..i].iter().collect::<String>());
        let j = skip_ws(chars, i);
        if !(chars.get(j) == Some(&':') && chars.get(j + 1) == Some(&':')) {
            return (vec![prefix], i);
        }
        i = skip_ws(chars, j + 2);
        if chars.get(i) == Some(&'{') {
            let mut out = Vec::new();
            i += 1;
            loop {
                i = skip_ws(chars, i);
                match chars.get(i) {
                    None => return (out, i),
                    Some('}') => return (out, i + 1),
                    Some(',') => i += 1,
                    Some(_) => {
                        let (inner, end) = parse_path(chars, i);
                        for p in inner {
                            let mut full = prefix.clone();
                            full.extend(p);
                            out.push(full);
                        }
                        i = if end > i { end } else { i + 1 };
                    }
                }
            }
        }
    }
}

/// The module path a written path starts from in module `m`, resolved: `crate::`, `super::`,
/// `self::` or one of `m`'s child modules; `None` for anything else (other crates, locals).
fn absolute(m: &Module, path: &[String]) -> Option<Vec<String>> {
    let mut segs = path.iter().peekable();
    let mut base: Vec<String> = match segs.peek().map(|s| s.as_str()) {
        Some("crate") => {
            segs.next();
            Vec::new()
        }
        Some("super") | Some("self") => {
            let mut b = m.path.clone();
            while let Some(s) = segs.peek() {
                match s.as_str() {
                    "super" => {
                        b.pop()?;
                    }
                    "self" => {}
                    _ => break,
                }
                segs.next();
            }
            b
        }
        Some(first) if m.children.iter().any(|c| c == first) => m.path.clone(),
        _ => return None,
    };
    base.extend(segs.filter(|s| s.as_str() != "self").cloned());
    Some(base)
}

/// The module graph of a crate's modules (file modules; the root left out as a source, and
/// names that reach only the root are left out as targets).
pub fn graph(modules: &[Module]) -> Graph {
    let known: BTreeSet<Vec<String>> = modules.iter().map(|m| m.path.clone()).collect();
    let mut g = Graph::new();
    for m in modules.iter().filter(|m| !m.path.is_empty()) {
        let from = m.name();
        let entry = g.entry(from.clone()).or_default();
        for p in paths(&m.code) {
            let Some(abs) = absolute(m, &p) else { continue };
            let target = (0..=abs.len())
                .rev()
                .map(|n| abs[..n].to_vec())
                .find(|prefix| known.contains(prefix))
                .unwrap_or_default();
            if target.is_empty() || target == m.path {
                continue;
            }
            entry.insert(target.join("::"));
        }
    }
    g
}

/// A cycle in `g`, as the modules along it (the first repeated at the end), if there is one.
pub fn find_cycle(g: &Graph) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &Graph,
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
        for next in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(next, g, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    g.keys()
        .find_map(|n| visit(n, g, &mut Vec::new(), &mut done))
}

/// The crates `modules` name by path or in `use` lines, of those in `crates`.
pub fn named_crates(modules: &[Module], crates: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for m in modules {
        for p in paths(&m.code) {
            if let Some(c) = crates.iter().find(|c| p[0] == **c) {
                out.push((m.file.clone(), c.to_string()));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}
