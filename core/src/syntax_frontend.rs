//! BuildKit's `# syntax=` parser directive: which frontend image a Dockerfile asks BuildKit to
//! run, and whether the builder allows it (`--syntax-frontends`, an allow-list of image
//! references pinned by digest; empty by default: any `# syntax=` is refused). A frontend is
//! code BuildKit pulls and runs with the engine's rights, chosen by the repository; the classic
//! builder ignores the directive.
//!
//! The directive is read as BuildKit reads parser directives: only in the lines before the
//! first instruction, comment that is not a directive, or blank line; `#` then optional
//! blanks, a case-insensitive name, optional blanks, `=`, the value (blanks around it
//! trimmed); no line continuation. A UTF-8 byte order mark before it is skipped.

/// Directive names BuildKit knows; any other `# name=value` line ends the directives.
const KNOWN: &[&str] = &["syntax", "escape", "check"];

/// The `# syntax=` directive of a Dockerfile: its value and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syntax {
    pub frontend: String,
    pub line: usize,
}

/// The frontend `dockerfile` asks for, if any.
pub fn syntax_directive(dockerfile: &[u8]) -> Option<Syntax> {
    let text = dockerfile
        .strip_prefix(b"\xef\xbb\xbf")
        .unwrap_or(dockerfile);
    let text = String::from_utf8_lossy(text);
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.trim_end_matches('\r').trim_matches([' ', '\t']);
        let Some(rest) = line.strip_prefix('#') else {
            return None; // an instruction or a blank line: no more directives
        };
        let Some((name, value)) = rest.split_once('=') else {
            return None; // a comment
        };
        let name = name.trim_matches([' ', '\t']);
        if name.is_empty() || name.contains([' ', '\t']) {
            return None; // a comment that happens to hold `=`
        }
        let name = name.to_ascii_lowercase();
        if !KNOWN.contains(&name.as_str()) {
            return None; // an unknown directive is a comment, and ends the directives
        }
        if name == "syntax" {
            return Some(Syntax {
                frontend: value.trim_matches([' ', '\t']).to_string(),
                line: i + 1,
            });
        }
    }
    None
}

/// Why a Dockerfile's frontend is refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error(
    "the Dockerfile asks BuildKit for frontend {frontend:?} (`# syntax=` on line {line}), which this builder does not run ({allowed}); remove that line, or have the operator add the frontend, pinned by digest, to --syntax-frontends"
)]
pub struct Refused {
    pub frontend: String,
    pub line: usize,
    pub allowed: String,
}

/// Allow `dockerfile` when it names no frontend, or one of `allowed` exactly.
pub fn check(dockerfile: &[u8], allowed: &[String]) -> Result<(), Refused> {
    let Some(s) = syntax_directive(dockerfile) else {
        return Ok(());
    };
    if allowed.contains(&s.frontend) {
        return Ok(());
    }
    Err(Refused {
        frontend: s.frontend,
        line: s.line,
        allowed: if allowed.is_empty() {
            "--syntax-frontends allows none".into()
        } else {
            format!("--syntax-frontends allows {}", allowed.join(", "))
        },
    })
}

/// Is `reference` pinned by digest (`name@sha256:<64 hex>`)? The allow-list takes no others.
pub fn pinned(reference: &str) -> bool {
    reference
        .rsplit_once("@sha256:")
        .is_some_and(|(name, hex)| {
            !name.is_empty() && hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
        })
}

#[cfg(test)]
mod tests;
