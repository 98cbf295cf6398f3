//! Rendering explain reports: compact text (one block per root cause, colour only
//! when allowed), and the stable JSON/YAML schema documented in `docs/explain.md`.

use mosaic_core::explain::{Confidence, Evidence, Finding, ObjectRef, Severity};
use serde::Serialize;

/// The `-o json|yaml` document. Every field is always present so consumers can rely on it.
#[derive(Serialize, Debug)]
pub struct Document<'a> {
    pub findings: Vec<FindingView<'a>>,
    pub notes: &'a [String],
}

/// One finding in the stable schema.
#[derive(Serialize, Debug)]
pub struct FindingView<'a> {
    pub slug: &'a str,
    pub severity: Severity,
    pub possible: bool,
    /// `certain` (a field or Event states the cause) or `likely` (inferred from the evidence).
    pub confidence: Confidence,
    pub object: &'a ObjectRef,
    pub summary: &'a str,
    pub evidence: &'a [Evidence],
    pub fix: &'a [String],
    pub chain: &'a [ObjectRef],
    pub learn: Option<&'a str>,
}

/// Build the document (`learn` included only when asked for).
pub fn document<'a>(findings: &'a [Finding], notes: &'a [String], learn: bool) -> Document<'a> {
    Document {
        findings: findings
            .iter()
            .map(|f| FindingView {
                slug: &f.slug,
                severity: f.severity,
                possible: f.possible,
                confidence: f.confidence,
                object: &f.object,
                summary: &f.summary,
                evidence: &f.evidence,
                fix: &f.fix,
                chain: &f.chain,
                learn: if learn { f.learn.as_deref() } else { None },
            })
            .collect(),
        notes,
    }
}

/// Output format of explain.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
    Yaml,
}

/// Render findings in `format`. Notes are part of the JSON/YAML document; for text the caller prints them on stderr.
pub fn render(
    findings: &[Finding],
    notes: &[String],
    format: Format,
    learn: bool,
    colour: bool,
) -> String {
    match format {
        Format::Json => {
            let doc = document(findings, notes, learn);
            serde_json::to_string_pretty(&doc)
                .map(|s| s + "\n")
                .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}\n"))
        }
        Format::Yaml => {
            let doc = document(findings, notes, learn);
            serde_yaml::to_string(&doc).unwrap_or_else(|e| format!("error: {e}\n"))
        }
        Format::Text => findings
            .iter()
            .map(|f| text_block(f, learn, colour))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

fn obj(r: &ObjectRef) -> String {
    match &r.namespace {
        Some(ns) => format!("{}/{} -n {ns}", r.kind, r.name),
        None => format!("{}/{}", r.kind, r.name),
    }
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "ERROR",
        Severity::Warning => "WARNING",
        Severity::Info => "INFO",
    }
}

/// One evidence line, without the leading indent.
pub fn evidence_line(e: &Evidence) -> String {
    let mut line = String::new();
    if let Some(o) = &e.object {
        line.push_str(o);
        line.push_str(": ");
    }
    if let Some(f) = &e.field {
        line.push_str(f);
        if let Some(v) = &e.value {
            line.push_str(" = ");
            line.push_str(v);
        }
    } else if let Some(v) = &e.value {
        line.push_str(v);
    }
    if let Some(r) = &e.reason {
        line.push_str("event ");
        line.push_str(r);
        let mut when = Vec::new();
        if let Some(c) = e.count.filter(|c| *c > 1) {
            when.push(format!("×{c}"));
        }
        if let Some(t) = &e.last_seen {
            when.push(format!("last seen {t}"));
        }
        if !when.is_empty() {
            line.push_str(&format!(" ({})", when.join(", ")));
        }
        if let Some(m) = e.message.as_deref().filter(|m| !m.is_empty()) {
            line.push_str(": ");
            line.push_str(m);
        }
    } else if let Some(m) = &e.message {
        line.push_str(m);
    }
    if let Some(n) = &e.note {
        if !line.is_empty() && !line.ends_with(": ") {
            line.push_str(" — ");
        }
        line.push_str("note: ");
        line.push_str(n);
    }
    escape(&line)
}

/// Object data must not drive the terminal.
fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\x1b' => "^[".to_string(),
            '\n' => " ".to_string(),
            c if c.is_control() => "?".to_string(),
            c => c.to_string(),
        })
        .collect()
}

fn text_block(f: &Finding, learn: bool, colour: bool) -> String {
    let st = Style { on: colour };
    let sev = match f.severity {
        Severity::Error => st.paint("1;31", severity_word(f.severity)),
        Severity::Warning => st.paint("1;33", severity_word(f.severity)),
        Severity::Info => st.paint("1;36", severity_word(f.severity)),
    };
    let possible = if f.possible {
        " (possible cause)"
    } else if f.confidence == Confidence::Likely {
        " (likely cause)"
    } else {
        ""
    };
    let mut out = format!(
        "{sev} {}{possible}  {}\n",
        st.paint("1", &f.slug),
        obj(&f.object)
    );
    out.push_str(&format!("  {}\n", escape(&f.summary)));
    if f.chain.len() > 1 {
        let chain: Vec<String> = f
            .chain
            .iter()
            .map(|c| format!("{}/{}", c.kind, c.name))
            .collect();
        out.push_str(&format!(
            "  {} {}\n",
            st.paint("2", "chain:"),
            chain.join(" → ")
        ));
    }
    if !f.evidence.is_empty() {
        out.push_str(&format!("  {}\n", st.paint("2", "evidence:")));
        for e in &f.evidence {
            out.push_str(&format!("    - {}\n", evidence_line(e)));
        }
    }
    if !f.fix.is_empty() {
        out.push_str(&format!("  {}\n", st.paint("2", "fix:")));
        for step in &f.fix {
            out.push_str(&format!("    - {}\n", escape(step)));
        }
    }
    if learn && let Some(l) = &f.learn {
        out.push_str(&format!("  {}\n", st.paint("2", "learn:")));
        for line in wrap(l, 76) {
            out.push_str(&format!("    {line}\n"));
        }
    }
    out
}

/// Greedy word wrap.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// One-line count for stderr, e.g. `2 errors, 1 warning`.
pub fn tally(findings: &[Finding]) -> String {
    let n = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let part = |c: usize, one: &str, many: &str| format!("{c} {}", if c == 1 { one } else { many });
    let mut parts = vec![
        part(n(Severity::Error), "error", "errors"),
        part(n(Severity::Warning), "warning", "warnings"),
    ];
    let info = n(Severity::Info);
    if info > 0 {
        parts.push(part(info, "info", "infos"));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests;
