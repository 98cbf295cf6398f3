use super::*;

const PIN: &str =
    "docker/dockerfile:1.7@sha256:a57df69d0ea827fb7266491f2813635de6f17269be881f696fbfdf2d83dda33e";

fn frontend(text: &str) -> Option<(String, usize)> {
    syntax_directive(text.as_bytes()).map(|s| (s.frontend, s.line))
}

#[test]
fn the_directive_is_read_as_buildkit_reads_it() {
    let one = Some(("docker/dockerfile:1".to_string(), 1));
    for text in [
        "# syntax=docker/dockerfile:1\nFROM scratch\n",
        "#syntax=docker/dockerfile:1\nFROM scratch\n",
        "# SYNTAX = docker/dockerfile:1 \nFROM scratch\n",
        "\t#  Syntax=docker/dockerfile:1\r\nFROM scratch\r\n",
        "\u{feff}# syntax=docker/dockerfile:1\nFROM scratch\n",
    ] {
        assert_eq!(frontend(text), one, "{text:?}");
    }
    // After other known directives.
    assert_eq!(
        frontend("# escape=`\n# check=skip=all\n# syntax=x/y:1\nFROM scratch\n"),
        Some(("x/y:1".into(), 3))
    );
}

#[test]
fn anywhere_else_it_is_a_comment() {
    for text in [
        "FROM scratch\n# syntax=docker/dockerfile:1\n",
        "\n# syntax=docker/dockerfile:1\nFROM scratch\n",
        "# a comment\n# syntax=docker/dockerfile:1\nFROM scratch\n",
        "# unknown=1\n# syntax=docker/dockerfile:1\nFROM scratch\n",
        "# the syntax = below\n# syntax=docker/dockerfile:1\n",
        "FROM scratch\n",
        "",
    ] {
        assert_eq!(frontend(text), None, "{text:?}");
    }
}

#[test]
fn only_an_allowed_frontend_passes() {
    let df = format!("# syntax={PIN}\nFROM scratch\n");
    assert_eq!(check(df.as_bytes(), &[PIN.to_string()]), Ok(()));
    assert_eq!(check(b"FROM scratch\n", &[]), Ok(()));
    let e = check(b"# syntax=docker/dockerfile:1\nFROM scratch\n", &[]).unwrap_err();
    assert_eq!(e.frontend, "docker/dockerfile:1");
    assert_eq!(e.line, 1);
    let m = e.to_string();
    assert!(
        m.contains("allows none") && m.contains("--syntax-frontends"),
        "{m}"
    );
    // The same name by tag, or another digest, is not the pinned frontend.
    let tag = check(b"# syntax=docker/dockerfile:1.7\n", &[PIN.to_string()]).unwrap_err();
    assert!(tag.to_string().contains(PIN), "{tag}");
}

#[test]
fn the_allow_list_takes_digests_only() {
    assert!(pinned(PIN));
    assert!(pinned(&PIN.replace(":1.7@", "@")));
    for bad in [
        "docker/dockerfile:1",
        "docker/dockerfile@sha256:abc",
        "@sha256:a57df69d0ea827fb7266491f2813635de6f17269be881f696fbfdf2d83dda33e",
    ] {
        assert!(!pinned(bad), "{bad}");
    }
}
