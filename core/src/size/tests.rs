use super::*;

#[test]
fn sizes_are_read_as_kubernetes_quantities_of_bytes() {
    assert_eq!(parse_bytes("0"), Ok(0));
    assert_eq!(parse_bytes("1048576"), Ok(1 << 20));
    assert_eq!(parse_bytes("16Gi"), Ok(16 << 30));
    assert_eq!(parse_bytes("512Mi"), Ok(512 << 20));
    assert_eq!(parse_bytes("2G"), Ok(2_000_000_000));
    assert_eq!(parse_bytes(" 3Ki "), Ok(3072));
}

#[test]
fn anything_else_is_refused_with_what_to_write() {
    for bad in [
        "",
        "Gi",
        "1.5Gi",
        "-1",
        "16GB",
        "16gi",
        "99999999999999999999",
        "20000000Ti",
    ] {
        let e = parse_bytes(bad).unwrap_err();
        assert!(e.to_string().contains("e.g. 16Gi"), "{bad}: {e}");
    }
}
