//! Fakes shared by the plugin's unit tests: Bindings and Builds shaped as the API server returns
//! them (apiVersion, kind, namespace, creation time), so that each test states only what it is
//! about.

use mosaic_core::{Binding, Build};
use serde_json::{Value, json};

/// The commit every fake Build is for.
pub const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// Binding `name` in `ns` of Deployment `name` to repository `repo`, pushing to `image`.
pub fn binding(ns: &str, name: &str, repo: &str, image: &str) -> Binding {
    serde_json::from_value(json!({
        "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Binding",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"deployment": name, "repo": repo, "image": image}
    }))
    .expect("a Binding")
}

/// Build `name` in `ns` of Binding `binding` for a push of [`COMMIT`] to `main`, created at
/// `created` (RFC 3339), with `status` as the webhook writes it.
pub fn build(ns: &str, name: &str, binding: &str, created: &str, status: Value) -> Build {
    serde_json::from_value(json!({
        "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
        "metadata": {"name": name, "namespace": ns, "creationTimestamp": created},
        "spec": {"binding": binding, "commit": COMMIT, "ref": "refs/heads/main",
            "trigger": {"type": "push"}},
        "status": status
    }))
    .expect("a Build")
}
