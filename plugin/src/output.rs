//! Output the kubectl way: `-o` formats, tab-aligned tables with uppercase
//! headers, human ages, terminal-safe cells and colour only where allowed.

use std::io::IsTerminal;

use clap::ValueEnum;
use serde::Serialize;

use crate::error::Error;

/// `-o/--output` for list-like commands.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Table with extra columns.
    Wide,
    Json,
    Yaml,
    /// `kind/name` per line.
    Name,
}

/// `-o/--output` for commands that print objects, not tables.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectFormat {
    Json,
    Yaml,
}

impl From<ObjectFormat> for Format {
    fn from(f: ObjectFormat) -> Self {
        match f {
            ObjectFormat::Json => Format::Json,
            ObjectFormat::Yaml => Format::Yaml,
        }
    }
}

/// A kubectl-style table: columns padded to the widest cell plus 3 spaces.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table whose first row is the (uppercased) headers, unless `no_headers`.
    pub fn new(headers: &[&str], no_headers: bool) -> Self {
        let mut t = Self::default();
        if !no_headers {
            t.rows
                .push(headers.iter().map(|h| h.to_uppercase()).collect());
        }
        t
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows
            .push(cells.into_iter().map(|c| escape_terminal(&c)).collect());
    }

    /// Render with no trailing spaces.
    pub fn render(&self) -> String {
        let cols = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..cols)
            .map(|i| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|c| c.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for r in &self.rows {
            let mut line = String::new();
            for (i, c) in r.iter().enumerate() {
                line.push_str(c);
                if i + 1 < r.len() {
                    let pad = widths[i].max(c.chars().count()) - c.chars().count() + 3;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Replace control characters so object data cannot drive the terminal (kubectl does the same).
pub fn escape_terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\x1b' => out.push_str("^["),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// A build log made inert for a terminal, its lines kept: newlines and tabs stay, a `\r\n`
/// line end becomes `\n`; every other control character is shown instead of obeyed: ESC (so no
/// CSI or OSC sequence, colour, cursor move, title or hyperlink) as `^[`, the other C0 controls
/// and DEL in caret notation (`^G` for BEL, `^M` for a lone carriage return, which would let a
/// line overwrite itself), C1 controls (`\u{9b}`, the one-byte CSI) and the bidirectional
/// overrides (which can make text read in another order than it runs) as `\u{…}`.
pub fn escape_log(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' => out.push(c),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\x7f' => out.push_str("^?"),
            c if (c as u32) < 0x20 => {
                out.push('^');
                out.push(char::from(b'@' + c as u8));
            }
            c if c.is_control() || is_bidi_control(c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// The Unicode bidirectional embedding, override and isolate controls.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}')
}

/// kubectl's human duration (`k8s.io/apimachinery/pkg/util/duration.HumanDuration`).
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    let (m, h, d) = (secs / 60, secs / 3600, secs / 86400);
    let with = |big: i64, bu: &str, small: i64, su: &str| {
        if small == 0 {
            format!("{big}{bu}")
        } else {
            format!("{big}{bu}{small}{su}")
        }
    };
    if secs < 120 {
        format!("{secs}s")
    } else if m < 10 {
        with(m, "m", secs % 60, "s")
    } else if m < 180 {
        format!("{m}m")
    } else if h < 8 {
        with(h, "h", m % 60, "m")
    } else if h < 48 {
        format!("{h}h")
    } else if h < 24 * 8 {
        with(d, "d", h % 24, "h")
    } else if h < 24 * 365 * 2 {
        format!("{d}d")
    } else if h < 24 * 365 * 8 {
        with(d / 365, "y", d % 365, "d")
    } else {
        format!("{}y", d / 365)
    }
}

/// Age of an object from its creation time, or `<unknown>`.
pub fn age(created: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> String {
    match created {
        Some(t) => human_duration(now_secs() - t.0.as_second()),
        None => "<unknown>".into(),
    }
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    k8s_openapi::jiff::Timestamp::now().as_second()
}

/// First 7 characters of a commit, like `git log --oneline`.
pub fn short_commit(c: &str) -> String {
    c.chars().take(7).collect()
}

/// `<none>` for empty cells.
pub fn or_none(s: Option<&str>) -> String {
    match s {
        Some(v) if !v.is_empty() => v.to_string(),
        _ => "<none>".into(),
    }
}

/// Serialize a list the way `kubectl get -o json|yaml` does: a `v1/List` of items.
pub fn render_list<T: Serialize>(items: &[T], format: Format) -> Result<String, Error> {
    let list = serde_json::json!({ "apiVersion": "v1", "kind": "List", "items": items, "metadata": { "resourceVersion": "" } });
    render_value(&list, format)
}

/// Serialize one object as JSON (2-space indent, trailing newline) or YAML.
pub fn render_value<T: Serialize>(v: &T, format: Format) -> Result<String, Error> {
    match format {
        Format::Json => serde_json::to_string_pretty(v)
            .map(|s| s + "\n")
            .map_err(|e| Error::Other(format!("cannot encode JSON: {e}"))),
        _ => serde_yaml::to_string(v).map_err(|e| Error::Other(format!("cannot encode YAML: {e}"))),
    }
}

/// "No resources found in NS namespace." (or "No resources found" with -A), for stderr.
pub fn no_resources(namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) => format!("No resources found in {ns} namespace."),
        None => "No resources found".into(),
    }
}

/// Colour is allowed on a terminal, with `TERM` not `dumb` and `NO_COLOR` unset (any value disables it).
pub fn colour_allowed(is_terminal: bool, term: Option<&str>, no_color: bool) -> bool {
    is_terminal && term != Some("dumb") && !no_color
}

/// Whether to colour what goes to stderr.
pub fn stderr_colour() -> bool {
    colour_allowed(
        std::io::stderr().is_terminal(),
        std::env::var("TERM").ok().as_deref(),
        std::env::var_os("NO_COLOR").is_some(),
    )
}

/// Print a `warning: …` line on stderr (yellow on a terminal).
pub fn warn(msg: &str) {
    if stderr_colour() {
        eprintln!("\x1b[33mwarning:\x1b[0m {msg}");
    } else {
        eprintln!("warning: {msg}");
    }
}

/// Write to stdout; a closed pipe (`| head`) is not an error.
pub fn stdout(text: &str) -> Result<(), Error> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::Other(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_pads_like_kubectl() {
        let mut t = Table::new(&["name", "age"], false);
        t.row(vec!["a".into(), "1s".into()]);
        t.row(vec!["longer-name".into(), "<none>".into()]);
        assert_eq!(
            t.render(),
            "NAME          AGE\na             1s\nlonger-name   <none>\n"
        );
        let mut t = Table::new(&["name"], true);
        t.row(vec!["x".into()]);
        assert_eq!(t.render(), "x\n");
    }

    #[test]
    fn cells_cannot_carry_escapes() {
        assert_eq!(escape_terminal("a\x1b[31mb\r\n"), "a^[[31mb\\r\\n");
    }

    #[test]
    fn logs_keep_their_lines_and_lose_their_control_sequences() {
        let raw = "step 1/2\r\n\tok\x1b[2J\x1b]0;pwned\x07\u{9b}31m\rover\x08\x7f\u{202e}txt.exe\n";
        assert_eq!(
            escape_log(raw),
            "step 1/2\n\tok^[[2J^[]0;pwned^G\\u{9b}31m^Mover^H^?\\u{202e}txt.exe\n"
        );
        let out = escape_log(raw);
        assert!(
            out.chars()
                .all(|c| c == '\n' || c == '\t' || !(c.is_control() || is_bidi_control(c))),
            "{out:?}"
        );
        assert_eq!(escape_log("plain text, émoji ✓\n"), "plain text, émoji ✓\n");
    }

    #[test]
    fn human_durations_match_kubectl() {
        for (s, want) in [
            (-5, "<invalid>"),
            (0, "0s"),
            (59, "59s"),
            (119, "119s"),
            (120, "2m"),
            (125, "2m5s"),
            (600, "10m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 60, "3h1m"),
            (10 * 3600, "10h"),
            (3 * 86400, "3d"),
            (3 * 86400 + 3600, "3d1h"),
            (30 * 86400, "30d"),
            (3 * 365 * 86400 + 86400, "3y1d"),
            (9 * 365 * 86400, "9y"),
        ] {
            assert_eq!(human_duration(s), want, "{s}");
        }
    }

    #[test]
    fn colour_rules() {
        assert!(colour_allowed(true, Some("xterm"), false));
        assert!(!colour_allowed(false, Some("xterm"), false));
        assert!(!colour_allowed(true, Some("dumb"), false));
        assert!(!colour_allowed(true, None, true));
    }

    #[test]
    fn lists_are_v1_lists() {
        let s = render_list(&[serde_json::json!({"a": 1})], Format::Json).unwrap();
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["kind"], "List");
        assert_eq!(v["items"][0]["a"], 1);
    }
}
