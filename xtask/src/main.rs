//! `cargo xtask gen` writes every generated file; `cargo xtask check` fails on drift and on a
//! broken layout rule (`layout`) and on an image in `manifests/` not pinned by digest (`pins`); `cargo xtask long-fns` lists the functions over 80 lines.

mod imports;
mod layout;
mod long_fns;
mod pins;
mod source;
#[cfg(test)]
mod tests;

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};

fn main() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let cmd = std::env::args().nth(1).unwrap_or_default();
    match cmd.as_str() {
        "gen" => generate(&root)?,
        "check" => {
            check_pinned(&root)?;
            check_generated(&root)?;
            let broken = layout::problems(&root);
            if !broken.is_empty() {
                bail!("layout rules broken:\n  {}", broken.join("\n  "));
            }
        }
        "long-fns" => print!("{}", long_fns::report(&long_fns::long_functions(&root))),
        _ => bail!("usage: cargo xtask gen|check|long-fns"),
    }
    Ok(())
}

fn generate(root: &Path) -> anyhow::Result<()> {
    for (path, body) in mosaic_core::manifests::generated_files() {
        let p = root.join(path);
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&p, body).with_context(|| format!("writing {}", p.display()))?;
        eprintln!("wrote {path}");
    }
    Ok(())
}

fn check_pinned(root: &Path) -> anyhow::Result<()> {
    let broken = pins::problems(&root.join("manifests"))?;
    if !broken.is_empty() {
        bail!("images not pinned by digest:\n  {}", broken.join("\n  "));
    }
    Ok(())
}

fn check_generated(root: &Path) -> anyhow::Result<()> {
    let mut drift = Vec::new();
    for (path, body) in mosaic_core::manifests::generated_files() {
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
    Ok(())
}
