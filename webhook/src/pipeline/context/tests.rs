//! Unit tests of the restreamer over a real recorded GitHub tarball and hand-made hostile ones.

use std::io::Write;

use super::*;

const SHA: &str = "900f3f818d8c2ac46196b3cdaee655d1ee986381";

/// One archive entry: raw path bytes (written verbatim, so hostile paths are possible).
enum E<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    Fifo(&'a str),
}

fn raw_header(path: &str, kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h
}

/// A gzip tarball shaped like GitHub's: pax global header with the commit, then the entries.
fn tarball(commit: Option<&str>, entries: &[E]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    if let Some(c) = commit {
        let rec = format!("52 comment={c}\n");
        let mut h = raw_header(
            "pax_global_header",
            tar::EntryType::XGlobalHeader,
            rec.len() as u64,
        );
        h.set_cksum();
        b.append(&h, rec.as_bytes()).unwrap();
    }
    for e in entries {
        let (mut h, data): (tar::Header, &[u8]) = match e {
            E::File(p, d) => (raw_header(p, tar::EntryType::Regular, d.len() as u64), d),
            E::Dir(p) => (raw_header(p, tar::EntryType::Directory, 0), b""),
            E::Fifo(p) => (raw_header(p, tar::EntryType::Fifo, 0), b""),
            E::Symlink(p, t) => {
                let mut h = raw_header(p, tar::EntryType::Symlink, 0);
                h.as_old_mut().linkname[..t.len()].copy_from_slice(t.as_bytes());
                (h, b"")
            }
        };
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

/// Re-streamed entries: (path, contents).
type Files = Vec<(String, Vec<u8>)>;

fn run(
    tgz: &[u8],
    ctx: &str,
    df: &str,
    commit: Option<&str>,
) -> Result<(ContextSummary, Files), ContextError> {
    run_labelled(tgz, ctx, df, commit, None)
}

fn run_labelled(
    tgz: &[u8],
    ctx: &str,
    df: &str,
    commit: Option<&str>,
    labels: Option<&LabelLine>,
) -> Result<(ContextSummary, Files), ContextError> {
    let mut out = Vec::new();
    let spec = ContextSpec::new(ctx, df).unwrap();
    let s = restream(tgz, &mut out, &spec, commit, labels)?;
    let mut a = tar::Archive::new(&out[..]);
    let files = a
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let p = e.path().unwrap().display().to_string();
            let mut d = Vec::new();
            e.read_to_end(&mut d).unwrap();
            (p, d)
        })
        .collect();
    Ok((s, files))
}

fn refusal(r: Result<impl std::fmt::Debug, ContextError>) -> String {
    match r {
        Err(e @ ContextError::Refused { .. }) => e.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn real_github_tarball_is_rerooted() {
    let tgz = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/github-get-archive.tar.gz"
    ))
    .unwrap();
    let (s, files) = run(&tgz, ".", "README.md", Some(SHA)).unwrap();
    assert_eq!(s.commit.as_deref(), Some(SHA));
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].0, "README.md");
    assert_eq!(s.bytes, files[0].1.len() as u64);
}

#[test]
fn a_tarball_of_another_commit_is_refused() {
    let tgz = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/github-get-archive.tar.gz"
    ))
    .unwrap();
    let e = run(&tgz, ".", "README.md", Some(&"a".repeat(40))).unwrap_err();
    assert!(matches!(e, ContextError::CommitMismatch { .. }), "{e}");
}

#[test]
fn subdirectory_context_and_dockerfile_are_honoured() {
    let tgz = tarball(
        Some(SHA),
        &[
            E::Dir("o-r-900f3f8/"),
            E::File("o-r-900f3f8/README.md", b"top"),
            E::Dir("o-r-900f3f8/svc/"),
            E::Dir("o-r-900f3f8/svc/build/"),
            E::File("o-r-900f3f8/svc/build/Dockerfile", b"FROM scratch\n"),
            E::File("o-r-900f3f8/svc/app.txt", b"hello"),
            E::Symlink("o-r-900f3f8/svc/link", "build/Dockerfile"),
        ],
    );
    let (_, files) = run(&tgz, "./svc", "build/Dockerfile", None).unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(names, ["build", "build/Dockerfile", "app.txt", "link"]);
    assert_eq!(files[2].1, b"hello");
}

#[test]
fn missing_context_or_dockerfile_is_named() {
    let tgz = tarball(
        Some(SHA),
        &[
            E::Dir("o-r-1/"),
            E::File("o-r-1/Dockerfile", b"FROM scratch"),
        ],
    );
    assert!(
        matches!(run(&tgz, "nope", "Dockerfile", None), Err(ContextError::ContextMissing(d)) if d == "nope")
    );
    assert!(
        matches!(run(&tgz, ".", "Other", None), Err(ContextError::DockerfileMissing(d)) if d == "Other")
    );
}

#[test]
fn hostile_entries_are_refused_with_a_reason() {
    let df = E::File("o-r-1/Dockerfile", b"FROM scratch");
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            tarball(None, &[E::File("o-r-1/../../etc/passwd", b"x")]),
            "`..`",
        ),
        (tarball(None, &[E::File("/etc/passwd", b"x")]), "absolute"),
        (
            tarball(None, &[E::Symlink("o-r-1/evil", "/etc/shadow"), df]),
            "absolute path",
        ),
        (
            tarball(None, &[E::Symlink("o-r-1/a/evil", "../../x")]),
            "outside the build context",
        ),
        (tarball(None, &[E::Fifo("o-r-1/pipe")]), "named pipe"),
    ];
    for (tgz, why) in cases {
        let msg = refusal(run(&tgz, ".", "Dockerfile", None));
        assert!(msg.contains(why), "{msg:?} should mention {why:?}");
    }
    // A symlink that stays in the repository but leaves the chosen context is refused too.
    let tgz = tarball(
        None,
        &[
            E::Symlink("o-r-1/svc/up", "../secret"),
            E::File("o-r-1/svc/Dockerfile", b""),
        ],
    );
    assert!(refusal(run(&tgz, "svc", "Dockerfile", None)).contains("outside the build context"));
}

#[test]
fn symlink_chains_are_followed_not_read_as_text() {
    let df = || E::File("o-r-1/Dockerfile", b"FROM scratch");
    // Each link is harmless by its text; together `c` is the context's parent.
    let chain = tarball(
        None,
        &[
            E::Symlink("o-r-1/a/b", ".."),
            E::Symlink("o-r-1/c", "a/b/../.."),
            df(),
        ],
    );
    let msg = refusal(run(&chain, ".", "Dockerfile", None));
    assert!(
        msg.contains("c") && msg.contains("outside the build context"),
        "{msg}"
    );
    // The same chain with the links in the other order is caught when the archive ends.
    let reversed = tarball(
        None,
        &[
            E::Symlink("o-r-1/c", "a/b/../.."),
            E::Symlink("o-r-1/a/b", ".."),
            df(),
        ],
    );
    assert!(refusal(run(&reversed, ".", "Dockerfile", None)).contains("outside the build context"));
    // A loop is named as one.
    let looped = tarball(
        None,
        &[E::Symlink("o-r-1/x", "y"), E::Symlink("o-r-1/y", "x"), df()],
    );
    assert!(refusal(run(&looped, ".", "Dockerfile", None)).contains("symlink loop"));
    // Links through links that stay inside still pass.
    let fine = tarball(
        None,
        &[
            E::Symlink("o-r-1/lib", "vendor/lib"),
            E::Symlink("o-r-1/docs/readme", "../lib/../README.md"),
            df(),
        ],
    );
    assert!(run(&fine, ".", "Dockerfile", None).is_ok());
}

#[test]
fn two_top_directories_or_garbage_are_errors() {
    let tgz = tarball(
        None,
        &[E::File("a-b-1/Dockerfile", b""), E::File("other/x", b"")],
    );
    assert!(matches!(
        run(&tgz, ".", "Dockerfile", None),
        Err(ContextError::NoTopDir(_))
    ));
    assert!(matches!(
        run(b"not gzip at all", ".", "Dockerfile", None),
        Err(ContextError::Read(_))
    ));
    let mut truncated = tarball(None, &[E::File("a-b-1/Dockerfile", &[7u8; 5000])]);
    truncated.truncate(truncated.len() / 2);
    assert!(run(&truncated, ".", "Dockerfile", None).is_err());
}

#[test]
fn spec_validation() {
    assert!(matches!(
        ContextSpec::new("../x", "Dockerfile"),
        Err(ContextError::BadContext(_, _))
    ));
    assert!(matches!(
        ContextSpec::new("/abs", "Dockerfile"),
        Err(ContextError::BadContext(_, _))
    ));
    assert!(matches!(
        ContextSpec::new(".", "../Dockerfile"),
        Err(ContextError::BadDockerfile(_, _))
    ));
    assert!(matches!(
        ContextSpec::new(".", "."),
        Err(ContextError::BadDockerfile(_, _))
    ));
    let s = ContextSpec::new("./a/./b/", "./d/Dockerfile").unwrap();
    assert_eq!(s.context, PathBuf::from("a/b"));
    assert_eq!(s.dockerfile, PathBuf::from("d/Dockerfile"));
}

#[test]
fn large_files_stream_through_a_pipe() {
    // A 64 MiB file streams through a 64 KiB OS pipe: nothing ever holds it whole.
    struct Zeros(u64);
    impl Read for Zeros {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = (buf.len() as u64).min(self.0) as usize;
            buf[..n].fill(0);
            self.0 -= n as u64;
            Ok(n)
        }
    }
    let size = 64 << 20;
    let (pr, pw) = std::io::pipe().unwrap();
    let producer = std::thread::spawn(move || {
        let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
            pw,
            flate2::Compression::fast(),
        ));
        let mut h = raw_header("o-r-1/Dockerfile", tar::EntryType::Regular, size);
        h.set_cksum();
        b.append(&h, Zeros(size)).unwrap();
        b.into_inner().unwrap().finish().unwrap();
    });
    struct Count(u64);
    impl Write for Count {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0 += b.len() as u64;
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut out = Count(0);
    let s = restream(
        pr,
        &mut out,
        &ContextSpec::new(".", "Dockerfile").unwrap(),
        None,
        None,
    )
    .unwrap();
    producer.join().unwrap();
    assert_eq!(s.bytes, size);
    assert!(out.0 > size, "output carries the data plus headers");
}

fn label_line() -> LabelLine {
    LabelLine::new(&std::collections::HashMap::from([
        ("b".to_string(), "2".to_string()),
        ("a".to_string(), "1 one".to_string()),
    ]))
    .unwrap()
}

#[test]
fn labels_are_appended_to_the_dockerfile_only() {
    let tgz = tarball(
        Some(SHA),
        &[
            E::Dir("acme-web-900f3f8/"),
            E::File("acme-web-900f3f8/Dockerfile", b"FROM scratch\n"),
            E::File(
                "acme-web-900f3f8/app/Dockerfile",
                b"FROM scratch\nCOPY a /a",
            ),
            E::File("acme-web-900f3f8/app/a", b"data"),
            E::File("acme-web-900f3f8/app/docker/Dockerfile", b"FROM x"),
        ],
    );
    let line = label_line();
    let (s, files) = run_labelled(&tgz, "app", "Dockerfile", Some(SHA), Some(&line)).unwrap();
    let want = b"FROM scratch\nCOPY a /a\nLABEL \"a\"=\"1 one\" \"b\"=\"2\"\n";
    assert_eq!(
        files,
        [
            ("Dockerfile".to_string(), want.to_vec()),
            ("a".to_string(), b"data".to_vec()),
            ("docker/Dockerfile".to_string(), b"FROM x".to_vec()),
        ]
    );
    assert_eq!(s.bytes, (want.len() + 4 + 6) as u64);
    // Without labels the same Dockerfile passes through unchanged.
    let (_, files) = run(&tgz, "app", "Dockerfile", Some(SHA)).unwrap();
    assert_eq!(files[0].1, b"FROM scratch\nCOPY a /a");
}

#[test]
fn a_dockerfile_that_cannot_take_the_labels_fails_the_context() {
    let big = vec![b'#'; crate::pipeline::context::dockerfile::MAX_DOCKERFILE as usize + 1];
    let cases: [(&[E], &str); 3] = [
        (
            &[E::File("t/Dockerfile", &big)],
            "over the 1048576-byte limit",
        ),
        (
            &[
                E::File("t/real", b"FROM scratch\n"),
                E::Symlink("t/Dockerfile", "real"),
            ],
            "is a link",
        ),
        (
            &[E::File("t/Dockerfile", b"FROM scratch\nRUN a \\\n")],
            "line continuation (line 2",
        ),
    ];
    for (entries, why) in cases {
        let tgz = tarball(None, entries);
        let line = label_line();
        let err = run_labelled(&tgz, "", "Dockerfile", None, Some(&line)).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, ContextError::Dockerfile { ref path, .. } if path == "Dockerfile")
                && msg.contains(why),
            "{why}: {msg}"
        );
        // The same context without labels is fine.
        run(&tgz, "", "Dockerfile", None).unwrap();
    }
}
