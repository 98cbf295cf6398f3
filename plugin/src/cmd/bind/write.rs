//! The Binding a bind writes, whichever way it was asked for (`bind deployment/NAME` or a
//! row `bind --auto` proposes): the request, already checked for syntax, the object it makes,
//! and the server-side apply.

use kube::api::{ObjectMeta, Patch, PatchParams};
use kube::{Api, ResourceExt};
use mosaic_core::names::FIELD_MANAGER_PLUGIN;
use mosaic_core::reference::{ImageRef, RepoName};
use mosaic_core::{Binding, BindingSpec};

use crate::error::Error;

/// Everything `bind` needs, already checked for syntax.
#[derive(Debug, Clone)]
pub struct BindRequest {
    pub deployment: String,
    pub repo: RepoName,
    pub image: ImageRef,
    pub branch: String,
    pub container: Option<String>,
    pub dockerfile: String,
    pub context: String,
    pub registry_secret: Option<String>,
    pub github_secret: Option<String>,
    pub rollback: bool,
    pub verify: Option<mosaic_core::resources::VerifySpec>,
}

impl BindRequest {
    /// The Binding object for this request.
    pub fn to_binding(&self, name: &str, namespace: &str, container: Option<String>) -> Binding {
        let mut b = Binding::new(
            name,
            BindingSpec {
                deployment: self.deployment.clone(),
                container,
                repo: self.repo.to_string(),
                branch: self.branch.clone(),
                image: self.image.repository(),
                dockerfile: self.dockerfile.clone(),
                context: self.context.clone(),
                registry_secret: self.registry_secret.clone(),
                github_secret: self.github_secret.clone(),
                rollback_on_failure: self.rollback,
                paused: false,
                verify: self.verify.clone(),
                take_ownership: false,
                history: None,
            },
        );
        b.metadata = ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            ..Default::default()
        };
        b
    }
}

/// Server-side apply a Binding; returns the stored object and whether it was new.
pub async fn apply_binding(client: &kube::Client, b: &Binding) -> Result<(Binding, bool), Error> {
    let ns = b.metadata.namespace.as_deref().unwrap_or("default");
    let name = b.name_any();
    let api: Api<Binding> = Api::namespaced(client.clone(), ns);
    let existed = api.get_opt(&name).await?.is_some();
    let pp = PatchParams::apply(FIELD_MANAGER_PLUGIN).force();
    let stored = api.patch(&name, &pp, &Patch::Apply(b)).await?;
    Ok((stored, !existed))
}
