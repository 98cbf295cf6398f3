//! A crate's sources as the layout checks read them: the file modules reached from the crate
//! root through `mod` declarations (with their module paths, so `super::` and `crate::` can be
//! resolved), each as code only: comments and the insides of string and character literals
//! blanked, line breaks kept, so a brace or a `use` in a string never counts. Modules declared
//! under `#[cfg(test)]` (unit tests, fakes) and inline `#[cfg(test)] mod … { … }` blocks are
//! test code and left out.

use std::path::{Path, PathBuf};

/// One file module of a crate.
#[derive(Debug, Clone)]
pub struct Module {
    /// Module path below the crate root (`["cmd", "bind"]`); empty for the root.
    pub path: Vec<String>,
    /// File path relative to the repository root, with `/`.
    pub file: String,
    /// The code only (see the module doc), test blocks blanked too.
    pub code: String,
    /// Child modules declared in this file (not under `#[cfg(test)]`).
    pub children: Vec<String>,
}

impl Module {
    pub fn name(&self) -> String {
        if self.path.is_empty() {
            "crate".into()
        } else {
            self.path.join("::")
        }
    }
}

/// Blank comments and literal contents, keeping line breaks and the quotes themselves.
pub fn code_only(text: &str) -> String {
    let mut l = Blanker {
        b: text.chars().collect(),
        out: String::with_capacity(text.len()),
        i: 0,
    };
    while l.i < l.b.len() {
        let c = l.b[l.i];
        let next = l.at(l.i + 1);
        let after_ident = l.i > 0 && is_ident(l.b[l.i - 1]);
        if c == '/' && next == Some('/') {
            l.line_comment();
        } else if c == '/' && next == Some('*') {
            l.block_comment();
        } else if let Some(hashes) = l.raw_string_start().filter(|_| !after_ident) {
            l.raw_string(hashes);
        } else if c == '"' {
            l.string();
        } else if c == '\'' {
            l.char_or_lifetime();
        } else {
            l.out.push(c);
            l.i += 1;
        }
    }
    l.out
}

pub fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The state of `code_only`: the text, what is written so far and where it reads.
struct Blanker {
    b: Vec<char>,
    out: String,
    i: usize,
}

impl Blanker {
    fn at(&self, i: usize) -> Option<char> {
        self.b.get(i).copied()
    }

    /// Copy or blank one character and move on.
    fn take(&mut self, keep: bool) {
        let c = self.b[self.i];
        self.out.push(if keep || c == '\n' { c } else { ' ' });
        self.i += 1;
    }

    fn line_comment(&mut self) {
        while self.i < self.b.len() && self.b[self.i] != '\n' {
            self.take(false);
        }
    }

    /// `/* … */`, nested ones included.
    fn block_comment(&mut self) {
        let mut depth = 0;
        while self.i < self.b.len() {
            let pair = (self.b[self.i], self.at(self.i + 1));
            if pair == ('/', Some('*')) || pair == ('*', Some('/')) {
                depth += if pair.0 == '/' { 1 } else { -1 };
                self.take(false);
                self.take(false);
                if depth == 0 {
                    return;
                }
            } else {
                self.take(false);
            }
        }
    }

    /// At `r"`, `r#"`, `br"`…: the number of `#`.
    fn raw_string_start(&self) -> Option<usize> {
        let start = match (self.b[self.i], self.at(self.i + 1)) {
            ('r', _) => self.i + 1,
            ('b', Some('r')) => self.i + 2,
            _ => return None,
        };
        let hashes = self.b[start.min(self.b.len())..]
            .iter()
            .take_while(|&&h| h == '#')
            .count();
        (self.at(start + hashes) == Some('"')).then_some(hashes)
    }

    fn raw_string(&mut self, hashes: usize) {
        while self.b[self.i] != '"' {
            self.take(true);
        }
        self.take(true);
        while self.i < self.b.len() {
            let closes = self.b[self.i] == '"'
                && self.b[self.i + 1..].iter().take(hashes).all(|&h| h == '#')
                && self.b.len() > self.i + hashes;
            if closes {
                for _ in 0..=hashes {
                    self.take(true);
                }
                return;
            }
            self.take(false);
        }
    }

    fn string(&mut self) {
        self.take(true);
        while self.i < self.b.len() {
            match self.b[self.i] {
                '\\' => {
                    self.take(false);
                    if self.i < self.b.len() {
                        self.take(false);
                    }
                }
                '"' => return self.take(true),
                _ => self.take(false),
            }
        }
    }

    /// A char literal (`'x'`, `'\n'`, `'\u{1F600}'`) is blanked; a lifetime or label (`'a`)
    /// is kept.
    fn char_or_lifetime(&mut self) {
        let end = if self.at(self.i + 1) == Some('\\') {
            (self.i + 2..self.b.len()).find(|&j| self.b[j] == '\'')
        } else if self.at(self.i + 2) == Some('\'') {
            Some(self.i + 2)
        } else {
            None
        };
        self.take(true);
        if let Some(e) = end {
            while self.i < e {
                self.take(false);
            }
            self.take(true);
        }
    }
}

/// The index of the `}` that closes the `{` at `open` (or the end of the text).
pub fn matching_brace(code: &str, open: usize) -> usize {
    let mut depth = 0usize;
    for (i, c) in code[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return open + i;
                }
            }
            _ => {}
        }
    }
    code.len()
}

/// Whether the attributes just before byte `at` include `#[cfg(test)]`.
fn under_cfg_test(code: &str, at: usize) -> bool {
    let before = code[..at].trim_end();
    let mut rest = before;
    // walk back over attribute lines and `pub`/`pub(crate)`
    loop {
        let line_start = rest.rfind('\n').map_or(0, |i| i + 1);
        let line = rest[line_start..].trim();
        if line.starts_with("#[") {
            if line.replace(' ', "") == "#[cfg(test)]" {
                return true;
            }
            rest = rest[..line_start].trim_end();
        } else {
            return false;
        }
    }
}

/// Blank every inline `#[cfg(test)] mod name { … }` block (keeping line breaks), and return the
/// names of the `mod name;` declarations that are not under `#[cfg(test)]`.
fn strip_test_modules(code: &str) -> (String, Vec<String>) {
    let mut out = code.to_string();
    let mut children = Vec::new();
    let mut search = 0;
    while let Some(found) = find_word(&out, "mod", search) {
        search = found + 3;
        let after = &out[found + 3..];
        let name: String = after
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue;
        }
        let name_end = found + 3 + (after.len() - after.trim_start().len()) + name.len();
        let next = out[name_end..].trim_start().chars().next();
        let line_start = out[..found].rfind('\n').map_or(0, |i| i + 1);
        let test = under_cfg_test(&out, line_start);
        match next {
            Some(';') if !test => children.push(name),
            Some('{') if test => {
                let open = name_end + out[name_end..].find('{').unwrap_or(0);
                let close = matching_brace(&out, open);
                let blanked: String = out[line_start..=close.min(out.len() - 1)]
                    .chars()
                    .map(|c| if c == '\n' { '\n' } else { ' ' })
                    .collect();
                out.replace_range(line_start..=close.min(out.len() - 1), &blanked);
                search = line_start;
            }
            _ => {}
        }
    }
    (out, children)
}

/// The byte index of the next `word` at or after `from` that stands alone (not inside an
/// identifier).
pub fn find_word(code: &str, word: &str, from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(i) = code.get(at..)?.find(word) {
        let i = at + i;
        let before = code[..i].chars().next_back();
        let after = code[i + word.len()..].chars().next();
        if !before.is_some_and(is_ident) && !after.is_some_and(is_ident) {
            return Some(i);
        }
        at = i + word.len();
    }
    None
}

/// Every file module of the crate at `crate_dir` (relative to `root`), from `src/lib.rs` or
/// else `src/main.rs`, in declaration order.
pub fn crate_modules(root: &Path, crate_dir: &str) -> Vec<Module> {
    let src = root.join(crate_dir).join("src");
    let entry = if src.join("lib.rs").exists() {
        src.join("lib.rs")
    } else {
        src.join("main.rs")
    };
    let mut out = Vec::new();
    walk(root, &entry, Vec::new(), true, &mut out);
    out
}

fn walk(root: &Path, file: &Path, path: Vec<String>, owns_dir: bool, out: &mut Vec<Module>) {
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    let (code, children) = strip_test_modules(&code_only(&text));
    let dir: PathBuf = if owns_dir {
        file.parent().expect("a file has a folder").to_path_buf()
    } else {
        file.with_extension("")
    };
    let rel = file
        .strip_prefix(root)
        .unwrap_or(file)
        .to_string_lossy()
        .replace('\\', "/");
    out.push(Module {
        path: path.clone(),
        file: rel,
        code,
        children: children.clone(),
    });
    for c in children {
        let flat = dir.join(format!("{c}.rs"));
        let (child, owns) = if flat.exists() {
            (flat, false)
        } else {
            (dir.join(&c).join("mod.rs"), true)
        };
        let mut p = path.clone();
        p.push(c);
        walk(root, &child, p, owns, out);
    }
}
