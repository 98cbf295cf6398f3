use super::*;

fn labels(pairs: &[(&str, &str)]) -> Result<LabelLine, DockerfileError> {
    LabelLine::new(
        &pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn oci() -> LabelLine {
    labels(&[
        (
            "org.opencontainers.image.source",
            "https://github.com/acme/web",
        ),
        (
            "org.opencontainers.image.revision",
            "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        ),
        ("org.opencontainers.image.created", "2026-12-03T13:30:00Z"),
    ])
    .unwrap()
}

const OCI_LINE: &str = "LABEL \"org.opencontainers.image.created\"=\"2026-12-03T13:30:00Z\" \
    \"org.opencontainers.image.revision\"=\"6113728f27ae82c7b1a177c8d03f9e96e0adf246\" \
    \"org.opencontainers.image.source\"=\"https://github.com/acme/web\"\n";

fn rewrite(original: &str) -> Result<String, DockerfileError> {
    dockerfile_with_labels(original.as_bytes(), &oci()).map(|b| String::from_utf8(b).unwrap())
}

#[test]
fn appends_one_sorted_quoted_label_line_and_keeps_the_file() {
    let original = "FROM scratch\nCOPY hello.txt /hello.txt\n";
    assert_eq!(rewrite(original).unwrap(), format!("{original}{OCI_LINE}"));
}

#[test]
fn the_label_line_starts_on_its_own_line() {
    assert_eq!(
        rewrite("FROM scratch\nCOPY a /a").unwrap(),
        format!("FROM scratch\nCOPY a /a\n{OCI_LINE}")
    );
    // CRLF files keep their endings; a lone CR is not a line end for Docker.
    assert_eq!(
        rewrite("FROM scratch\r\n").unwrap(),
        format!("FROM scratch\r\n{OCI_LINE}")
    );
    assert_eq!(
        rewrite("FROM scratch\r").unwrap(),
        format!("FROM scratch\r\n{OCI_LINE}")
    );
    assert_eq!(rewrite("").unwrap(), OCI_LINE);
}

#[test]
fn no_labels_leave_the_file_as_it_is() {
    let none = labels(&[]).unwrap();
    assert_eq!(none.instruction(), None);
    assert_eq!(
        dockerfile_with_labels(b"FROM scratch\nRUN x \\", &none).unwrap(),
        b"FROM scratch\nRUN x \\"
    );
}

#[test]
fn values_that_would_change_meaning_in_a_dockerfile_are_refused() {
    for (v, why) in [
        ("a\"b", "`\"`"),
        ("$HOME", "`$`"),
        ("${x}", "`$`"),
        ("a\\", "escape character"),
        ("a`b", "escape character"),
        ("a\nLABEL x=y", "control character"),
        ("a\rb", "control character"),
        ("a\tb", "control character"),
        ("a\0b", "control character"),
    ] {
        let err = labels(&[("k", v)]).unwrap_err();
        assert!(
            matches!(&err, DockerfileError::BadLabel { key, why: w } if key == "k" && w.contains(why)),
            "{v:?}: {err:?}"
        );
    }
    for (k, why) in [
        ("", "empty"),
        ("a=b", "`=`"),
        ("a\"", "`\"`"),
        ("a\n", "control"),
    ] {
        let err = labels(&[(k, "v")]).unwrap_err();
        assert!(
            matches!(&err, DockerfileError::BadLabel { why: w, .. } if w.contains(why)),
            "{k:?}: {err:?}"
        );
    }
    // Spaces, `=`, `#`, quotes of the other kind and non-ASCII are fine inside the quotes.
    let ok = labels(&[("a b", "x = 'y' # ünïcode")]).unwrap();
    assert_eq!(
        ok.instruction().unwrap(),
        "LABEL \"a b\"=\"x = 'y' # ünïcode\""
    );
}

#[test]
fn a_dockerfile_over_the_cap_is_refused_with_its_size() {
    let at_cap = vec![b'#'; MAX_DOCKERFILE as usize];
    let out = dockerfile_with_labels(&at_cap, &oci()).unwrap();
    assert!(out.ends_with(OCI_LINE.as_bytes()));
    let over = vec![b'#'; MAX_DOCKERFILE as usize + 1];
    let err = dockerfile_with_labels(&over, &oci()).unwrap_err();
    assert_eq!(
        err,
        DockerfileError::TooLarge {
            size: MAX_DOCKERFILE + 1,
            limit: MAX_DOCKERFILE
        }
    );
    assert!(err.to_string().contains("1048577 bytes"), "{err}");
}

#[test]
fn a_file_ending_inside_a_line_continuation_is_refused() {
    for (file, line) in [
        ("FROM scratch\nRUN a \\", 2),
        ("FROM scratch\nRUN a \\\n", 2),
        ("FROM scratch\nRUN a \\ \t\r\n", 2),
        // Blank and comment lines do not end a continuation.
        ("FROM scratch\nRUN a \\\n\n# note\n   \n", 2),
        ("FROM scratch\nRUN a \\\n  b \\\n", 3),
    ] {
        assert_eq!(
            rewrite(file),
            Err(DockerfileError::EndsInContinuation { line, escape: '\\' }),
            "{file:?}"
        );
    }
    // A continuation that is closed, or a backslash in a comment, is fine.
    for file in [
        "FROM scratch\nRUN a \\\n  b\n",
        "FROM scratch\n# C:\\\n",
        "FROM scratch\nRUN a \\b\n",
    ] {
        assert!(rewrite(file).is_ok(), "{file:?}");
    }
}

#[test]
fn the_escape_directive_decides_what_continues_a_line() {
    let tick = "# escape=`\nFROM scratch\nRUN dir c:\\\n";
    assert!(rewrite(tick).unwrap().ends_with(OCI_LINE));
    let err = rewrite("# escape=`\nFROM scratch\nRUN a `\n").unwrap_err();
    assert_eq!(
        err,
        DockerfileError::EndsInContinuation {
            line: 3,
            escape: '`'
        }
    );
    assert!(err.to_string().contains("remove the trailing `"), "{err}");
}

#[test]
fn escape_directives_are_read_only_at_the_top() {
    for (file, escape) in [
        ("# escape=`\n", '`'),
        ("#ESCAPE = ` \n", '`'),
        ("\u{feff}# escape=`\n", '`'),
        ("  #  escape=`\r\n", '`'),
        ("# syntax=docker/dockerfile:1\n# escape=`\n", '`'),
        ("# escape=\\\n", '\\'),
        // A blank line, a plain comment or an instruction ends the directives.
        ("\n# escape=`\n", '\\'),
        ("# a comment\n# escape=`\n", '\\'),
        ("FROM scratch\n# escape=`\n", '\\'),
        ("# escape\n", '\\'),
        ("", '\\'),
    ] {
        assert_eq!(escape_char(file.as_bytes()), escape, "{file:?}");
    }
}

#[test]
fn arbitrary_bytes_never_panic() {
    let pieces: [&[u8]; 9] = [
        b"\n",
        b"\r",
        b"\\",
        b"`",
        b"#",
        b" ",
        b"\xEF\xBB\xBF",
        b"\xff",
        b"escape=",
    ];
    // Every sequence of up to four pieces.
    let mut files: Vec<Vec<u8>> = vec![Vec::new()];
    for _ in 0..4 {
        let next: Vec<Vec<u8>> = files
            .iter()
            .flat_map(|f| pieces.iter().map(move |p| [f.as_slice(), p].concat()))
            .collect();
        files.extend(next);
    }
    for f in files {
        if let Ok(out) = dockerfile_with_labels(&f, &oci()) {
            assert!(out.starts_with(&f) && out.ends_with(OCI_LINE.as_bytes()));
        }
    }
}
