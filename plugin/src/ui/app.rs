//! What every UI request handler gets: the view of the cluster, the keys, the user's own
//! client and the settings of `kubectl mosaic ui`. Its own module, so the pages depend on it
//! and the server depends on the pages, never the reverse.

use super::security::Keys;
use super::state::View;
use crate::github::GitHubArgs;

/// Everything a request needs.
#[derive(Clone)]
pub struct App {
    pub view: View,
    pub keys: Keys,
    pub client: kube::Client,
    /// Who acts (recorded on manual Builds, as `deploy` records it).
    pub user: Option<String>,
    pub github: GitHubArgs,
    /// "namespace X" or "all namespaces", shown in the header.
    pub scope: String,
    /// The namespace of `-n` or the context (the Explain page's first choice).
    pub home_ns: String,
    /// The probe pod's image (`--probe-image`).
    pub probe_image: String,
}
