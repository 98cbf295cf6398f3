//! What the page's action forms post: one struct for every action, so the actions and the
//! bind page (which posts a bind) share it without depending on each other.

/// An action as the page's forms post it.
#[derive(serde::Deserialize, Debug)]
pub struct ActionForm {
    /// bind, deploy, rollback, pause, resume, scale or unbind (not `action`: that would shadow `form.action`).
    #[serde(rename = "op")]
    pub action: String,
    pub namespace: String,
    pub binding: String,
    #[serde(default, rename = "ref")]
    pub git_ref: Option<String>,
    #[serde(default)]
    pub replicas: Option<String>,
    /// rollback: the Build whose image to run again.
    #[serde(default)]
    pub to: Option<String>,
    /// bind: the Deployment, its container (when it has several), the repository and the
    /// image repository (`ref` is the branch).
    #[serde(default)]
    pub deployment: Option<String>,
    #[serde(default)]
    pub container: Option<String>,
    #[serde(default)]
    pub repo: Option<String>,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub csrf: Option<String>,
}
