//! The Dockerfile rewrite for the classic builder: appends the image's labels to the Dockerfile
//! as ONE `LABEL "k"="v" …` line, so the classic builder commits them in one step instead of one
//! intermediate container per label (what the build's `labels` option costs it). Owns the label
//! validation, the reading of the `# escape=` parser directive, the check that the file does not
//! end inside a line continuation, and the size cap on the Dockerfile that is buffered. Pure:
//! bytes in, bytes out; the restreamer (`context`) applies it to the Dockerfile entry.
//!
//! Values are refused, not escaped, when they hold `"`, `$`, either escape character (`\`, `` ` ``)
//! or a control character, so the appended line means the same whichever escape character the
//! file chose; the escape character only decides whether the file's last line continues.

use std::collections::HashMap;

/// Largest Dockerfile the rewrite buffers.
pub const MAX_DOCKERFILE: u64 = 1024 * 1024;

/// Why the labels cannot be put into the Dockerfile.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DockerfileError {
    #[error(
        "the Dockerfile is {size} bytes, over the {limit}-byte limit Mosaic reads to add its image labels"
    )]
    TooLarge { size: u64, limit: u64 },
    #[error(
        "image label {key:?} cannot be written into a Dockerfile: {why} (a label needs a non-empty key without `=`, and no `\"`, `$`, `\\`, backquote or control character)"
    )]
    BadLabel { key: String, why: &'static str },
    #[error(
        "the Dockerfile ends inside a line continuation (line {line} ends with `{escape}`), so an appended LABEL line would join that instruction; remove the trailing `{escape}`"
    )]
    EndsInContinuation { line: usize, escape: char },
    #[error(
        "the Dockerfile is a link; Mosaic adds its image labels to the Dockerfile with the classic builder, so point spec.dockerfile at the file itself (or run with --builder buildkit)"
    )]
    Link,
}

/// Labels checked to be safe inside a double-quoted Dockerfile word, in key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelLine(Vec<(String, String)>);

fn unsafe_char(s: &str) -> Option<&'static str> {
    s.chars().find_map(|c| match c {
        '"' => Some("it contains `\"`"),
        '$' => Some("it contains `$`"),
        '\\' | '`' => Some("it contains an escape character"),
        c if c.is_control() => Some("it contains a control character (newline, tab, …)"),
        _ => None,
    })
}

impl LabelLine {
    /// Check `labels` (any order; written sorted by key).
    pub fn new(labels: &HashMap<String, String>) -> Result<Self, DockerfileError> {
        let mut pairs: Vec<(String, String)> =
            labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        pairs.sort();
        for (k, v) in &pairs {
            let bad = |why| DockerfileError::BadLabel {
                key: k.clone(),
                why,
            };
            if k.is_empty() {
                return Err(bad("the key is empty"));
            }
            if k.contains('=') {
                return Err(bad("the key contains `=`"));
            }
            if let Some(why) = unsafe_char(k) {
                return Err(bad(why));
            }
            if let Some(why) = unsafe_char(v) {
                return Err(bad(why));
            }
        }
        Ok(Self(pairs))
    }

    /// The instruction, without a line ending; `None` when there are no labels.
    pub fn instruction(&self) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        let mut line = String::from("LABEL");
        for (k, v) in &self.0 {
            line.push_str(&format!(" \"{k}\"=\"{v}\""));
        }
        Some(line)
    }
}

/// The file's lines, each without its `\n` and a trailing `\r` (as Docker's line scanner).
fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    text.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

fn trim_start(l: &[u8]) -> &[u8] {
    let n = l.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &l[n..]
}

/// The escape character the file's parser directives choose (`\` unless `# escape=`` ` ``).
/// Directives are `# name=value` lines at the very top; the first other line ends them.
pub fn escape_char(original: &[u8]) -> char {
    let text = original.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(original);
    for line in lines(text) {
        let Some(rest) = trim_start(line).strip_prefix(b"#") else {
            break;
        };
        let rest = trim_start(rest);
        let name_len = rest
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if name_len == 0 || !rest[0].is_ascii_alphabetic() {
            break;
        }
        let (name, after) = rest.split_at(name_len);
        let Some(value) = trim_start(after).strip_prefix(b"=") else {
            break;
        };
        if name.eq_ignore_ascii_case(b"escape") {
            // Docker 20.10 takes the first character, later versions the trimmed value
            // (refusing anything but `\` and `` ` ``): agree with both on valid files.
            return match trim_start(value).first() {
                Some(b'`') => '`',
                _ => '\\',
            };
        }
    }
    '\\'
}

/// Does the file end inside a line continuation? Comment and blank lines after a continued
/// line keep it open, so look at the last other line. Returns its 1-based number.
fn open_continuation(original: &[u8], escape: char) -> Option<usize> {
    let (number, last) = lines(original)
        .enumerate()
        .filter(|(_, l)| {
            let t = trim_start(l);
            !t.is_empty() && !t.starts_with(b"#")
        })
        .last()?;
    let t = last
        .iter()
        .rev()
        .skip_while(|&&b| b == b' ' || b == b'\t')
        .copied()
        .next();
    (t == Some(escape as u8)).then_some(number + 1)
}

/// `original` with one `LABEL` line for `labels` appended on its own line. Nothing else of the
/// file changes; with no labels the file is returned as it is.
pub fn dockerfile_with_labels(
    original: &[u8],
    labels: &LabelLine,
) -> Result<Vec<u8>, DockerfileError> {
    let size = original.len() as u64;
    if size > MAX_DOCKERFILE {
        return Err(DockerfileError::TooLarge {
            size,
            limit: MAX_DOCKERFILE,
        });
    }
    let Some(instruction) = labels.instruction() else {
        return Ok(original.to_vec());
    };
    let escape = escape_char(original);
    if let Some(line) = open_continuation(original, escape) {
        return Err(DockerfileError::EndsInContinuation { line, escape });
    }
    let mut out = Vec::with_capacity(original.len() + instruction.len() + 2);
    out.extend_from_slice(original);
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend_from_slice(instruction.as_bytes());
    out.push(b'\n');
    Ok(out)
}

#[cfg(test)]
mod tests;
