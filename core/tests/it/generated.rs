//! Drift check: committed generated files must equal what the code renders.

#[test]
fn committed_manifests_match_the_code() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for (path, body) in mosaic_core::manifests::generated_files() {
        let on_disk =
            std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(
            on_disk == body,
            "{path} is stale: run `cargo xtask gen` and commit the result"
        );
    }
}
