//! Hostile repository tarballs through the public restreamer (`context::restream`), filling
//! the gaps of the unit tests: device files, hard links out of the context, and `..` hidden in
//! the places a plain header name check misses (pax `path`/`linkpath` records, GNU long names).

use std::io::Read as _;

use mosaic_webhook::context::{ContextError, ContextSpec, restream};

const TOP: &str = "acme-app-6113728";

fn header(path: &str, kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.as_gnu_mut().unwrap().name[..path.len()].copy_from_slice(path.as_bytes());
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h
}

/// Append a raw entry (no path sanitising by the tar crate).
fn put(b: &mut tar::Builder<Vec<u8>>, mut h: tar::Header, data: &[u8]) {
    h.set_cksum();
    b.append(&h, data).unwrap();
}

/// A pax extended header (`x`) carrying `records` for the next entry.
fn pax(b: &mut tar::Builder<Vec<u8>>, records: &[(&str, &str)]) {
    let mut data = String::new();
    for (k, v) in records {
        let rec = format!(" {k}={v}\n");
        let mut len = rec.len() + 1;
        while format!("{len}{rec}").len() != len {
            len += 1;
        }
        data.push_str(&format!("{len}{rec}"));
    }
    put(
        b,
        header("PaxHeader", tar::EntryType::XHeader, data.len() as u64),
        data.as_bytes(),
    );
}

fn dockerfile(b: &mut tar::Builder<Vec<u8>>) {
    let df = b"FROM scratch\n";
    put(
        b,
        header(
            &format!("{TOP}/Dockerfile"),
            tar::EntryType::Regular,
            df.len() as u64,
        ),
        df,
    );
}

fn gz(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    dockerfile(&mut b);
    build(&mut b);
    let raw = b.into_inner().unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut e, &raw).unwrap();
    e.finish().unwrap()
}

fn refusal(tgz: &[u8], context: &str) -> String {
    let spec = ContextSpec::new(context, "Dockerfile").unwrap();
    match restream(tgz, std::io::sink(), &spec, None, None) {
        Err(e @ ContextError::Refused { .. }) => e.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn device_files_are_refused() {
    for (kind, what) in [
        (tar::EntryType::Char, "character device"),
        (tar::EntryType::Block, "block device"),
    ] {
        let tgz = gz(|b| put(b, header(&format!("{TOP}/dev-null"), kind, 0), b""));
        let msg = refusal(&tgz, ".");
        assert!(msg.contains(what) && msg.contains("dev-null"), "{msg}");
    }
}

#[test]
fn hard_links_out_of_the_context_are_refused() {
    let tgz = gz(|b| {
        put(
            b,
            header(&format!("{TOP}/secret"), tar::EntryType::Regular, 1),
            b"s",
        );
        put(
            b,
            header(&format!("{TOP}/app/Dockerfile"), tar::EntryType::Regular, 0),
            b"",
        );
        let target = format!("{TOP}/secret");
        let mut l = header(&format!("{TOP}/app/leak"), tar::EntryType::Link, 0);
        l.as_gnu_mut().unwrap().linkname[..target.len()].copy_from_slice(target.as_bytes());
        put(b, l, b"");
    });
    let msg = refusal(&tgz, "app");
    assert!(msg.contains("outside the build context"), "{msg}");

    let tgz = gz(|b| {
        let mut l = header(&format!("{TOP}/up"), tar::EntryType::Link, 0);
        l.as_gnu_mut().unwrap().linkname[..13].copy_from_slice(b"../etc/passwd");
        put(b, l, b"");
    });
    assert!(refusal(&tgz, ".").contains("`..`"));
}

#[test]
fn dot_dot_hidden_in_pax_and_gnu_long_names_is_refused() {
    // The ustar name is harmless; the pax `path` record that overrides it is not.
    let tgz = gz(|b| {
        pax(b, &[("path", &format!("{TOP}/../../etc/cron.d/x"))]);
        put(
            b,
            header(&format!("{TOP}/harmless"), tar::EntryType::Regular, 1),
            b"x",
        );
    });
    assert!(refusal(&tgz, ".").contains("`..`"));

    // A pax `linkpath` pointing out of the context.
    let tgz = gz(|b| {
        pax(b, &[("linkpath", "../../../../etc/shadow")]);
        put(
            b,
            header(&format!("{TOP}/sl"), tar::EntryType::Symlink, 0),
            b"",
        );
    });
    assert!(refusal(&tgz, ".").contains("outside the build context"));

    // A GNU long name (`././@LongLink`) with `..` past the 100-byte ustar field.
    let long = format!("{TOP}/{}/../../../../x", "d".repeat(120));
    let tgz = gz(|b| {
        let mut l = header(
            "././@LongLink",
            tar::EntryType::GNULongName,
            long.len() as u64 + 1,
        );
        l.set_mode(0o644);
        put(b, l, format!("{long}\0").as_bytes());
        put(
            b,
            header(&format!("{TOP}/short"), tar::EntryType::Regular, 1),
            b"x",
        );
    });
    assert!(refusal(&tgz, ".").contains("`..`"));
}

#[test]
fn a_dockerfile_that_is_a_symlink_out_is_refused() {
    let target = b"../../../../root/.docker/config.json";
    let mut b = tar::Builder::new(Vec::new());
    let mut l = header(&format!("{TOP}/svc/Dockerfile"), tar::EntryType::Symlink, 0);
    l.as_gnu_mut().unwrap().linkname[..target.len()].copy_from_slice(target);
    put(&mut b, l, b"");
    let raw = b.into_inner().unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut e, &raw).unwrap();
    let tgz = e.finish().unwrap();
    assert!(refusal(&tgz, "svc").contains("outside the build context"));
}

/// Peak resident memory of this process so far (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

#[test]
fn a_highly_compressed_tarball_streams_in_bounded_memory() {
    // 64 MiB of zeros in one file compress to well under 1 MiB; the restreamer copies it
    // through without holding it: the process's peak RSS grows by far less than the file.
    const SIZE: u64 = 64 << 20;
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    dockerfile_into(&mut b);
    let mut h = header(&format!("{TOP}/zeros.bin"), tar::EntryType::Regular, SIZE);
    h.set_cksum();
    b.append(&h, std::io::repeat(0).take(SIZE)).unwrap();
    let tgz = b.into_inner().unwrap().finish().unwrap();
    assert!(tgz.len() < 1 << 20, "{}", tgz.len());
    let before = peak_rss_kib();
    let spec = ContextSpec::new(".", "Dockerfile").unwrap();
    let summary = restream(&tgz[..], std::io::sink(), &spec, None, None).expect("restreamed");
    assert_eq!(summary.bytes, SIZE + 13);
    let grown = peak_rss_kib().saturating_sub(before);
    assert!(
        grown < 16 * 1024,
        "peak RSS grew by {grown} KiB for a 64 MiB file"
    );
}

fn dockerfile_into<W: std::io::Write>(b: &mut tar::Builder<W>) {
    let df = b"FROM scratch\n";
    let mut h = header(
        &format!("{TOP}/Dockerfile"),
        tar::EntryType::Regular,
        df.len() as u64,
    );
    h.set_cksum();
    b.append(&h, &df[..]).unwrap();
}
