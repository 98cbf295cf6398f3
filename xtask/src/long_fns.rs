//! Functions over `LIMIT` lines in the crates' `src` (test code left out): a long function does
//! several things, and is split by concept. The ones that remain are listed by name in
//! `xtask/long-functions.txt`, with their length; the check fails on a function that is not
//! listed, on a listed one that grew, and on a listed one that is now short or gone (remove its
//! line), so the list only shrinks.

use std::collections::BTreeMap;
use std::path::Path;

use crate::source::{Module, crate_modules, find_word, matching_brace};

/// The most lines a function may have, from its `fn` line to its closing brace.
pub const LIMIT: usize = 80;

/// The crates whose `src` the check reads.
pub const CRATES: [&str; 5] = ["core", "plugin", "webhook", "tests", "xtask"];

/// The allow-list, relative to the repository root.
pub const ALLOW_LIST: &str = "xtask/long-functions.txt";

/// One function: `file::name` and its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongFn {
    pub file: String,
    pub name: String,
    pub first_line: usize,
    pub lines: usize,
}

impl LongFn {
    pub fn key(&self) -> String {
        format!("{}::{}", self.file, self.name)
    }
}

/// Every function of a module's code with its length in lines (signature to closing brace).
pub fn functions(m: &Module) -> Vec<LongFn> {
    let code = &m.code;
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = find_word(code, "fn", at) {
        at = i + 2;
        let rest = &code[i + 2..];
        let name: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue; // `fn(` types, `Fn` bounds are other words
        }
        let Some(open) = body_start(code, i + 2) else {
            continue; // a declaration without a body (trait items, extern)
        };
        let close = matching_brace(code, open);
        let first_line = code[..i].matches('\n').count() + 1;
        let last_line = code[..close].matches('\n').count() + 1;
        out.push(LongFn {
            file: m.file.clone(),
            name,
            first_line,
            lines: last_line - first_line + 1,
        });
    }
    out
}

/// The `{` opening the body of the function whose signature starts at `from`, or `None` when
/// a `;` ends it first. Parentheses, brackets and angle brackets of the signature are skipped.
fn body_start(code: &str, from: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut prev = ' ';
    for (j, c) in code[from..].char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            '<' => depth += 1,
            '>' if prev != '-' && prev != '=' => depth -= 1,
            '{' if depth <= 0 => return Some(from + j),
            ';' if depth <= 0 => return None,
            _ => {}
        }
        if !c.is_whitespace() {
            prev = c;
        }
    }
    None
}

/// The functions over `LIMIT` lines in the crates' `src`, by file and line.
pub fn long_functions(root: &Path) -> Vec<LongFn> {
    let mut out: Vec<LongFn> = CRATES
        .iter()
        .flat_map(|c| crate_modules(root, c))
        .flat_map(|m| functions(&m))
        .filter(|f| f.lines > LIMIT)
        .collect();
    out.sort_by(|a, b| (&a.file, a.first_line).cmp(&(&b.file, b.first_line)));
    out
}

/// The allow-list's entries: `file::name lines`, `#` comments and blank lines ignored.
pub fn parse_allow_list(text: &str) -> Result<BTreeMap<String, usize>, String> {
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (key, lines) = line
            .split_once(' ')
            .ok_or_else(|| format!("{ALLOW_LIST}:{}: want `file::name lines`", n + 1))?;
        let lines: usize = lines
            .trim()
            .parse()
            .map_err(|_| format!("{ALLOW_LIST}:{}: {lines:?} is not a line count", n + 1))?;
        out.insert(key.to_string(), lines);
    }
    Ok(out)
}

/// What is wrong with the long functions against the allow-list: one sentence each.
pub fn problems(found: &[LongFn], allowed: &BTreeMap<String, usize>) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for f in found {
        let key = f.key();
        let longest = seen.entry(key.clone()).or_default();
        *longest = (*longest).max(f.lines);
    }
    for (key, &lines) in &seen {
        match allowed.get(key) {
            None => out.push(format!(
                "{key} has {lines} lines (more than {LIMIT}): split it by concept"
            )),
            Some(&was) if lines > was => out.push(format!(
                "{key} grew from {was} to {lines} lines: split it by concept instead"
            )),
            Some(_) => {}
        }
    }
    for (key, &was) in allowed {
        if !seen.contains_key(key) {
            out.push(format!(
                "{key} (listed with {was} lines) is no longer over {LIMIT} lines: remove its line from {ALLOW_LIST}"
            ));
        }
    }
    out
}

/// The report `cargo xtask long-fns` prints: one line per function, longest first.
pub fn report(found: &[LongFn]) -> String {
    let mut rows: Vec<&LongFn> = found.iter().collect();
    rows.sort_by(|a, b| b.lines.cmp(&a.lines).then(a.key().cmp(&b.key())));
    rows.iter()
        .map(|f| format!("{} {}  # line {}\n", f.key(), f.lines, f.first_line))
        .collect()
}
