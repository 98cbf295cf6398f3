//! Offline input for `explain -f`: turns files, directories and stdin into plain
//! Kubernetes objects. Accepts a single object, a `v1 List` or typed list
//! (`PodList`), multi-document YAML, concatenated JSON, `kubectl cluster-info dump`
//! output (stdout form with its log sections, or an `--output-directory` tree).
//! Parsing is pure (`parse_text`); only `read_path`/`read_stdin` touch the filesystem.
//! Text is read straight into the engine's compact tree ([`Value`]), never through
//! `serde_json::Value`, whose per-mapping B-tree nodes would cost five times the memory.

use std::io::Read;
use std::path::{Path, PathBuf};

use mosaic_core::explain::Input;
use mosaic_core::explain::tree::Value;
use serde::Deserialize;

/// Why input could not be read. `Display` is the one line the user sees.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("cannot read {path}: {reason}; check the path passed to -f")]
    Read { path: String, reason: String },
    #[error("{source_name} line {line} column {column}: invalid {format}: {message}")]
    Parse {
        source_name: String,
        line: usize,
        column: usize,
        format: &'static str,
        message: String,
    },
    #[error(
        "{source_name} document {index}: expected a Kubernetes object (a mapping with apiVersion and kind), found {found}"
    )]
    NotAnObject {
        source_name: String,
        index: usize,
        found: &'static str,
    },
    #[error(
        "{0}: no Kubernetes objects found; pass `kubectl get -o yaml` output, a List or a `kubectl cluster-info dump` directory"
    )]
    Empty(String),
}

/// Parse one text (a file's content) named `source_name` in error messages.
pub fn parse_text(source_name: &str, text: &str) -> Result<Vec<serde_json::Value>, IngestError> {
    Ok(parse_tree(source_name, text)?
        .iter()
        .map(Value::to_json)
        .collect())
}

/// [`parse_text`] into the engine's compact tree.
pub fn parse_tree(source_name: &str, text: &str) -> Result<Vec<Value>, IngestError> {
    let trimmed = text.trim_start_matches('\u{feff}');
    let first = trimmed.chars().find(|c| !c.is_whitespace());
    let docs = match first {
        None => Vec::new(),
        Some('{') | Some('[') | Some('=') => {
            parse_json_stream(source_name, &strip_dump_logs(trimmed))?
        }
        Some(_) => parse_yaml_stream(source_name, trimmed)?,
    };
    let mut out = Vec::new();
    for (i, doc) in docs.into_iter().enumerate() {
        flatten(source_name, i + 1, doc, &mut out)?;
    }
    Ok(out)
}

/// `kubectl cluster-info dump` (stdout form) interleaves JSON with container logs
/// between `==== START logs …` and `==== END logs …` lines. Blank them out,
/// keeping line numbers intact for error messages.
fn strip_dump_logs(text: &str) -> String {
    if !text.contains("==== START logs for") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut in_logs = false;
    for line in text.split_inclusive('\n') {
        let keep = !in_logs && !line.starts_with("==== START logs for");
        if line.starts_with("==== START logs for") {
            in_logs = true;
        } else if line.starts_with("==== END logs for") {
            in_logs = false;
        }
        if keep && !line.starts_with("==== END logs for") {
            out.push_str(line);
        } else if line.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

fn parse_json_stream(source_name: &str, text: &str) -> Result<Vec<Value>, IngestError> {
    let mut docs = Vec::new();
    for item in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
        match item {
            Ok(Value::Array(items)) => docs.extend(items),
            Ok(v) => docs.push(v),
            Err(e) => {
                return Err(IngestError::Parse {
                    source_name: source_name.to_string(),
                    line: e.line(),
                    column: e.column(),
                    format: "JSON",
                    message: strip_position(&e.to_string()),
                });
            }
        }
    }
    Ok(docs)
}

fn parse_yaml_stream(source_name: &str, text: &str) -> Result<Vec<Value>, IngestError> {
    let mut docs = Vec::new();
    for de in serde_yaml::Deserializer::from_str(text) {
        match Value::deserialize(de) {
            Ok(Value::Null) => {}
            Ok(v) => docs.push(v),
            Err(e) => {
                let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
                return Err(IngestError::Parse {
                    source_name: source_name.to_string(),
                    line,
                    column,
                    format: "YAML",
                    message: strip_position(&e.to_string()),
                });
            }
        }
    }
    Ok(docs)
}

/// serde's messages end in "at line L column C"; the position is already in our prefix.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Unpack `List`/`PodList`-style documents; items lacking `kind`/`apiVersion` get them from the list type.
fn flatten(
    source_name: &str,
    index: usize,
    doc: Value,
    out: &mut Vec<Value>,
) -> Result<(), IngestError> {
    let Value::Object(mut map) = doc else {
        return Err(IngestError::NotAnObject {
            source_name: source_name.to_string(),
            index,
            found: type_name(&doc),
        });
    };
    let kind = map
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let is_list = kind.ends_with("List") && map.get("items").is_some_and(Value::is_array);
    if !is_list {
        out.push(Value::Object(map));
        return Ok(());
    }
    let api_version = map.get("apiVersion").cloned();
    let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
    let Some(Value::Array(items)) = map.remove("items") else {
        return Ok(());
    };
    for item in items {
        match item {
            Value::Object(mut obj) => {
                if let Some(k) = item_kind
                    && !obj.contains_key("kind")
                {
                    obj.insert("kind", Value::String(k.into()));
                    if let (Some(av), false) = (&api_version, obj.contains_key("apiVersion")) {
                        obj.insert("apiVersion", av.clone());
                    }
                }
                flatten(source_name, index, Value::Object(obj), out)?;
            }
            Value::Null => {}
            other => {
                return Err(IngestError::NotAnObject {
                    source_name: source_name.to_string(),
                    index,
                    found: type_name(&other),
                });
            }
        }
    }
    Ok(())
}

fn read_err(path: &Path, e: &std::io::Error) -> IngestError {
    IngestError::Read {
        path: path.display().to_string(),
        reason: io_reason(e),
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::InvalidData => "not UTF-8 text".into(),
        _ => e.to_string(),
    }
}

fn is_object_file(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("json" | "yaml" | "yml")
    )
}

/// Every `.json`/`.yaml`/`.yml` file under `dir`, sorted, recursively.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), IngestError> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| read_err(dir, &e))?
        .map(|e| e.map(|e| e.path()).map_err(|e| read_err(dir, &e)))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?;
        } else if is_object_file(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// Read a file or a directory (a `kubectl cluster-info dump --output-directory` tree, or any
/// folder of manifests). An empty result is an error naming the path.
pub fn read_path(path: &Path) -> Result<Vec<serde_json::Value>, IngestError> {
    let mut objects = Vec::new();
    each_file(path, |more| objects.extend(more.iter().map(Value::to_json)))?;
    Ok(objects)
}

/// [`read_path`] into an engine [`Input`], one file at a time: Events are normalised as
/// each file is read, so a large dump is never held as JSON values all at once.
pub fn read_path_into(path: &Path, input: &mut Input) -> Result<(), IngestError> {
    each_file(path, |more| {
        more.into_iter().for_each(|v| input.push_tree(v))
    })
}

/// Parses each object file under `path` and hands its objects to `sink`; an error
/// when there are none.
fn each_file(path: &Path, mut sink: impl FnMut(Vec<Value>)) -> Result<(), IngestError> {
    let meta = std::fs::metadata(path).map_err(|e| read_err(path, &e))?;
    let files = if meta.is_dir() {
        let mut files = Vec::new();
        walk(path, &mut files)?;
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut any = false;
    for f in &files {
        let text = std::fs::read_to_string(f).map_err(|e| read_err(f, &e))?;
        let objects = parse_tree(&f.display().to_string(), &text)?;
        drop(text);
        any |= !objects.is_empty();
        sink(objects);
    }
    if !any {
        return Err(IngestError::Empty(path.display().to_string()));
    }
    Ok(())
}

/// Read objects from standard input (`-f -`).
pub fn read_stdin(mut stdin: impl Read) -> Result<Vec<serde_json::Value>, IngestError> {
    let mut text = String::new();
    stdin
        .read_to_string(&mut text)
        .map_err(|e| IngestError::Read {
            path: "<stdin>".into(),
            reason: io_reason(&e),
        })?;
    let objects = parse_text("<stdin>", &text)?;
    if objects.is_empty() {
        return Err(IngestError::Empty("<stdin>".into()));
    }
    Ok(objects)
}

#[cfg(test)]
mod tests;
