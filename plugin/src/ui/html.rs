//! HTML output for the UI: escaping of every string that goes into a page, and the page
//! frame (head, navigation, the embedded stylesheet and script by URL, never inline, so the
//! Content-Security-Policy can forbid inline code).

use std::fmt::Write as _;

/// Escape text for an HTML element body or a quoted attribute value. Control characters
/// (terminal escapes included) are shown as visible `^[`-style text, never passed through.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    push_esc(&mut out, s);
    out
}

/// [`esc`] into an existing buffer.
pub fn push_esc(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\x1b' => out.push_str("^["),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {
                let _ = write!(out, "^{}", char::from(((c as u32) & 0x1f) as u8 + b'@'));
            }
            c => out.push(c),
        }
    }
}

/// Escape one URL path segment (names are DNS labels, but nothing is trusted).
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A GitHub link for a repository path (`OWNER/NAME`) and a suffix; `None` when the
/// repository name is not of that shape, so nothing odd ever becomes an `href`.
pub fn github_url(repo: &str, suffix: &str) -> Option<String> {
    let ok = |p: &str| {
        !p.is_empty()
            && p != "."
            && p != ".."
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
    };
    let (owner, name) = repo.split_once('/')?;
    (ok(owner) && ok(name)).then(|| format!("https://github.com/{owner}/{name}{suffix}"))
}

/// A command line shown for copying.
pub fn cli(cmd: &str) -> String {
    format!(
        "<p class=\"cli\">Command line: <code>{}</code></p>",
        esc(cmd)
    )
}

/// The whole page around `body`. `csrf` goes into a meta tag the script reads.
pub fn page(title: &str, scope: &str, csrf: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"csrf\" content=\"{csrf}\"><title>{title} · Mosaic</title>\
<link rel=\"stylesheet\" href=\"/assets/app.css\"><script src=\"/assets/app.js\" defer></script></head>\
<body><header><nav aria-label=\"Mosaic\"><a href=\"/\" class=\"brand\">Mosaic</a> \
<a href=\"/\">Overview</a> <a href=\"/explain\">Explain</a><span class=\"scope\">{scope}</span></nav>\
<p id=\"live\" class=\"live\" role=\"status\" aria-live=\"polite\">connecting…</p></header>\
<main>{body}</main></body></html>\n",
        csrf = esc(csrf),
        title = esc(title),
        scope = esc(scope),
    )
}
