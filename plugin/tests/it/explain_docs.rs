//! `docs/explain.md` carries the slug list generated from the engine's catalogue.
//! This test fails when the two drift apart; `MOSAIC_BLESS=1 cargo test -p
//! kubectl-mosaic --test it explain_docs` rewrites the generated block.

use mosaic_core::explain::catalog;

const BEGIN: &str = "<!-- BEGIN generated slug list: MOSAIC_BLESS=1 cargo test -p kubectl-mosaic --test it explain_docs -->";
const END: &str = "<!-- END generated slug list -->";

fn table() -> String {
    let mut out = String::from("| slug | reported on | implemented | title |\n|---|---|---|---|\n");
    for m in catalog() {
        let kinds = m.kinds.join(", ");
        let imp = if m.implemented { "yes" } else { "no" };
        out.push_str(&format!(
            "| `{}` | {kinds} | {imp} | {} |\n",
            m.slug,
            m.title.replace('|', "\\|")
        ));
    }
    out
}

#[test]
fn slug_list_is_generated_from_the_catalogue() {
    let path = mosaic_tests::workspace_root().join("docs/explain.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (start, end) = match (doc.find(BEGIN), doc.find(END)) {
        (Some(s), Some(e)) if s < e => (s + BEGIN.len(), e),
        _ => panic!("docs/explain.md lacks the generated-block markers"),
    };
    let want = format!("\n{}", table());
    if doc[start..end] != want {
        if std::env::var_os("MOSAIC_BLESS").is_some() {
            let new = format!("{}{}{}", &doc[..start], want, &doc[end..]);
            std::fs::write(&path, new).expect("rewrite docs/explain.md");
        } else {
            panic!(
                "docs/explain.md's slug list is stale; run MOSAIC_BLESS=1 cargo test -p kubectl-mosaic --test it explain_docs"
            );
        }
    }
    let implemented = catalog().iter().filter(|m| m.implemented).count();
    assert!(implemented >= 40, "only {implemented} slugs implemented");
}
