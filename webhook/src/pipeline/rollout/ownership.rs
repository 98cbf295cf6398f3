//! GitOps safety: before the rollout applies its image, the same server-side apply is tried
//! without force as a dry run. When another field manager owns the container's image (Argo CD,
//! Flux, Helm, `kubectl`, `before-first-apply`), the API server answers 409 naming it: the Build
//! then fails, saying who and what to do, and the Deployment is left untouched, unless the
//! Binding hands the field over explicitly (`spec.takeOwnership: true`), which the Build's
//! message then says.

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};
use mosaic_core::BuildReason;
use mosaic_core::names;
use mosaic_core::resources::Binding;

use crate::pipeline::{Stop, fail};

/// The field managers a server-side-apply conflict names (`conflict with "NAME"`, or
/// `conflicts with "NAME"` for several fields of one manager), in order.
pub fn conflicting_managers(message: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let message = message.replace("conflicts with \"", "conflict with \"");
    for part in message.split("conflict with \"").skip(1) {
        if let Some(name) = part.split('"').next()
            && !out.iter().any(|m| m == name)
        {
            out.push(name.to_string());
        }
    }
    out
}

/// The managers in a refused apply, when it was refused for owned fields.
pub fn manager_conflict(e: &kube::Error) -> Option<Vec<String>> {
    match e {
        kube::Error::Api(s) if s.code == 409 && s.message.starts_with("Apply failed with") => {
            Some(conflicting_managers(&s.message))
        }
        _ => None,
    }
}

/// The Build's failure when `managers` own the image and the Binding does not take it over.
pub fn refused(binding: &Binding, container: &str, managers: &[String]) -> Stop {
    let who = managers
        .iter()
        .map(|m| format!("{m:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let bname = binding.metadata.name.as_deref().unwrap_or_default();
    fail(
        BuildReason::ImageManagedElsewhere,
        format!(
            "the image of container {container} in Deployment {} is managed by {who}; Mosaic left it untouched. \
             Hand it over with `spec.takeOwnership: true` on Binding {bname}, or stop {who} from managing the image \
             (drop it from the manifests that tool applies)",
            binding.spec.deployment
        ),
    )
}

/// Try the apply without force, as a dry run. `Ok(None)`: nothing in the way; `Ok(Some(note))`:
/// owned elsewhere and taken over by the Binding's leave (the note says so); `Err`: owned
/// elsewhere, and the Build fails. Other errors are left to the real apply.
pub async fn settle(
    api: &Api<Deployment>,
    binding: &Binding,
    container: &str,
    image: &str,
    commit: &str,
    build: &str,
) -> Result<Option<String>, Stop> {
    let dep = &binding.spec.deployment;
    let patch = crate::pipeline::plan::rollout_patch(dep, container, image, commit, build);
    let pp = PatchParams::apply(names::FIELD_MANAGER_WEBHOOK).dry_run();
    let Err(e) = api.patch(dep, &pp, &Patch::Apply(&patch)).await else {
        return Ok(None);
    };
    let Some(managers) = manager_conflict(&e) else {
        tracing::debug!(deployment = %dep, error = %e, "dry-run apply failed; the apply will say why");
        return Ok(None);
    };
    if !binding.spec.take_ownership {
        return Err(refused(binding, container, &managers));
    }
    Ok(Some(format!(
        "took the image over from {} (spec.takeOwnership)",
        managers.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_managers_of_a_conflict_as_the_api_server_words_it() {
        let one = "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.template.spec.containers[name=\"app\"].image";
        assert_eq!(conflicting_managers(one), ["kubectl-client-side-apply"]);
        let two = "Apply failed with 2 conflicts: conflicts with \"argocd-controller\":\n- .spec.template.spec.containers[name=\"app\"].image\nconflict with \"helm\" using apps/v1: .metadata.annotations";
        assert_eq!(conflicting_managers(two), ["argocd-controller", "helm"]);
        let e = kube::Error::Api(
            kube::core::Status::failure(one, "Conflict")
                .with_code(409)
                .boxed(),
        );
        assert_eq!(
            manager_conflict(&e),
            Some(vec!["kubectl-client-side-apply".to_string()])
        );
        let stale = kube::Error::Api(
            kube::core::Status::failure("the object has been modified", "Conflict")
                .with_code(409)
                .boxed(),
        );
        assert_eq!(manager_conflict(&stale), None);
    }
}
