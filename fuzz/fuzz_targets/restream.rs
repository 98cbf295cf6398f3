//! Fuzz target: the tarball → build-context restreamer. The input is used as the gzip stream
//! itself (first byte even) or gzip-compressed first (first byte odd, so the fuzzer explores
//! the tar layer rather than the gzip checksum). Invariants: no panic, memory bounded by
//! libFuzzer's `-rss_limit_mb`; when a context is produced, re-reading it yields only
//! relative paths without `..`, regular files, directories, and links that stay inside; with
//! labels (mode bit 0x20), the Dockerfile is a regular file that ends with the one LABEL line,
//! on a line of its own.

#![no_main]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Component, Path};

use libfuzzer_sys::fuzz_target;
use mosaic_webhook::context::{ContextSpec, restream};
use mosaic_webhook::dockerfile::LabelLine;

fn inside(path: &Path) -> bool {
    path.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// Does `target`, resolved from the directory of `link`, stay inside the context?
fn link_stays_inside(link: &Path, target: &Path) -> bool {
    let mut depth = link.parent().map_or(0, |p| p.iter().count());
    for c in target.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            _ => return false,
        }
    }
    true
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let spec = match mode >> 1 & 3 {
        0 => ContextSpec::new("", "Dockerfile"),
        1 => ContextSpec::new("app", "Dockerfile"),
        2 => ContextSpec::new("./app/sub/", "docker/Dockerfile"),
        _ => ContextSpec::new("a", "../b"),
    };
    let Ok(spec) = spec else {
        return;
    };
    let gz: Vec<u8> = if mode & 1 == 1 {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(rest).expect("in-memory gzip");
        enc.finish().expect("in-memory gzip")
    } else {
        rest.to_vec()
    };
    let expected = (mode & 0x10 != 0).then_some("6113728f27ae82c7b1a177c8d03f9e96e0adf246");
    let labels = (mode & 0x20 != 0).then(|| {
        LabelLine::new(&HashMap::from([
            (
                "org.opencontainers.image.revision".into(),
                "6113728f".into(),
            ),
            (
                "org.opencontainers.image.source".into(),
                "https://github.com/a/b".into(),
            ),
        ]))
        .expect("valid labels")
    });
    let line = labels
        .as_ref()
        .and_then(LabelLine::instruction)
        .map(|l| format!("{l}\n").into_bytes());
    let mut out = Vec::new();
    let Ok(summary) = restream(&gz[..], &mut out, &spec, expected, labels.as_ref()) else {
        return;
    };
    if let (Some(found), Some(exp)) = (&summary.commit, expected) {
        assert_eq!(found, exp, "a mismatching commit was accepted");
    }
    let mut archive = tar::Archive::new(&out[..]);
    let mut saw_dockerfile = false;
    for entry in archive.entries().expect("restreamed tar is readable") {
        let mut entry = entry.expect("restreamed entry is readable");
        let path = entry.path().expect("restreamed path").into_owned();
        assert!(inside(&path), "escaping path {path:?}");
        saw_dockerfile |= path == spec.dockerfile;
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Directory => {}
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .expect("link")
                    .expect("target")
                    .into_owned();
                assert!(link_stays_inside(&path, &target), "{path:?} -> {target:?}");
            }
            tar::EntryType::Link => {
                let target = entry
                    .link_name()
                    .expect("link")
                    .expect("target")
                    .into_owned();
                assert!(inside(&target), "hard link {path:?} -> {target:?}");
            }
            other => panic!("entry type {other:?} passed through at {path:?}"),
        }
        let mut sink = Vec::new();
        entry.read_to_end(&mut sink).expect("entry data");
        let kind = entry.header().entry_type();
        if line.is_some() && path == spec.dockerfile {
            assert!(
                !kind.is_symlink() && !kind.is_hard_link(),
                "Dockerfile is a {kind:?}"
            );
        }
        if let Some(line) = line
            .as_ref()
            .filter(|_| path == spec.dockerfile && kind.is_file())
        {
            let before = sink
                .strip_suffix(&line[..])
                .expect("Dockerfile ends with the labels");
            assert!(
                before.is_empty() || before.ends_with(b"\n"),
                "LABEL not on its own line"
            );
        }
    }
    assert!(
        saw_dockerfile,
        "context without {:?} accepted",
        spec.dockerfile
    );
});
