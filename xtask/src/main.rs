//! `cargo xtask gen` writes every generated file; `cargo xtask check` fails on drift.

use anyhow::{Context, bail};
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let cmd = std::env::args().nth(1).unwrap_or_default();
    let files = mosaic_core::manifests::generated_files();
    match cmd.as_str() {
        "gen" => {
            for (path, body) in files {
                let p = root.join(path);
                if let Some(dir) = p.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(&p, body).with_context(|| format!("writing {}", p.display()))?;
                eprintln!("wrote {path}");
            }
        }
        "check" => {
            let mut drift = Vec::new();
            for (path, body) in files {
                let on_disk = std::fs::read_to_string(root.join(path)).unwrap_or_default();
                if on_disk != body {
                    drift.push(path);
                }
            }
            if !drift.is_empty() {
                bail!(
                    "generated files are stale: {}; run `cargo xtask gen` and commit",
                    drift.join(", ")
                );
            }
        }
        _ => bail!("usage: cargo xtask gen|check"),
    }
    Ok(())
}
