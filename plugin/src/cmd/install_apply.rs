//! How `install` writes objects: server-side apply as `kubectl-mosaic`, without taking fields
//! over from other managers. A field someone changed by other means (kubectl edit or patch,
//! another tool) is never reset silently: the API server refuses the apply, and install reports
//! the fields and who changed them, unless `--force-conflicts` asks to take them back.

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};

use mosaic_core::names;

use crate::bundle::Item;
use crate::error::Error;

/// The result of applying one object.
#[derive(Debug)]
pub enum Applied {
    /// kubectl's word for it: `created`, `configured` or `unchanged`.
    Done(&'static str),
    /// Not applied: fields another manager changed; the API server's description of them.
    Conflict(String),
    /// Not applied: the cluster does not serve this kind's API version.
    Unserved,
}

fn api_for(client: &Client, item: &Item) -> Api<DynamicObject> {
    match (&item.kind.namespaced, &item.object.metadata.namespace) {
        (true, Some(ns)) => Api::namespaced_with(client.clone(), ns, &item.kind.resource),
        _ => Api::all_with(client.clone(), &item.kind.resource),
    }
}

fn params(force: bool) -> PatchParams {
    let pp = PatchParams::apply(names::FIELD_MANAGER_PLUGIN);
    if force { pp.force() } else { pp }
}

/// Server-side apply one bundle object.
pub async fn apply(client: &Client, item: &Item, force: bool) -> Result<Applied, Error> {
    let api = api_for(client, item);
    let before = api.get_opt(item.name()).await?;
    match api
        .patch(item.name(), &params(force), &Patch::Apply(&item.object))
        .await
    {
        Ok(after) => Ok(Applied::Done(outcome(before.as_ref(), &after))),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(Applied::Conflict(e.message)),
        Err(kube::Error::Api(e))
            if e.code == 404 && e.message.contains("could not find the requested resource") =>
        {
            Ok(Applied::Unserved)
        }
        Err(e) => Err(e.into()),
    }
}

/// What to do about a bundle object whose API version the cluster does not serve: the
/// disruption budget only keeps a replica through node drains, so an older cluster (policy/v1
/// PodDisruptionBudget needs Kubernetes 1.21) runs without it, with a warning; anything else
/// is needed, and install stops. Returns the warning, or the error.
pub fn unserved(item: &Item) -> Result<String, Error> {
    let r = &item.kind.resource;
    let what = format!(
        "{}: this cluster does not serve {} {}",
        item.display(),
        r.api_version,
        r.kind
    );
    if r.kind == "HorizontalPodAutoscaler" {
        Err(Error::Other(format!(
            "{what}: --builder-autoscale needs it (Kubernetes 1.23 or later); give --builders N instead"
        )))
    } else if r.kind == "PodDisruptionBudget" {
        Ok(format!(
            "warning: {what} (Kubernetes before 1.21): skipped; the webhook runs without a disruption budget, so a node drain may stop both replicas at once"
        ))
    } else {
        Err(Error::Other(format!(
            "{what}: Mosaic needs it; upgrade the cluster, or check that its API server serves {}",
            r.api_version
        )))
    }
}

/// kubectl's word for an apply: `created`, `unchanged` when nothing but
/// bookkeeping (resourceVersion, managedFields timestamps) differs, else `configured`.
pub fn outcome<T: serde::Serialize>(before: Option<&T>, after: &T) -> &'static str {
    let content = |o: &T| {
        let mut v = serde_json::to_value(o).unwrap_or_default();
        if let Some(m) = v.get_mut("metadata").and_then(|m| m.as_object_mut()) {
            m.remove("resourceVersion");
            m.remove("managedFields");
        }
        v
    };
    match before {
        None => "created",
        Some(b) if content(b) == content(after) => "unchanged",
        Some(_) => "configured",
    }
}

/// One line per conflicting object for the final error, with what to do.
pub fn conflict_error(conflicts: &[(String, String)]) -> Error {
    let objects: Vec<&str> = conflicts.iter().map(|(o, _)| o.as_str()).collect();
    Error::Other(format!(
        "{} not applied: changed since by other means (above), and install does not reset such changes silently. \
         Keep them: set them through install's flags (see `kubectl mosaic install --help` and --show) and run it again; \
         or reset them to what install applies: rerun with --force-conflicts",
        objects.join(", ")
    ))
}

/// A Secret labelled as Mosaic's.
pub fn secret(namespace: &str, name: &str, type_: &str, key: &str, value: Vec<u8>) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            labels: Some(mosaic_core::install::labels()),
            ..Default::default()
        },
        type_: Some(type_.into()),
        data: Some([(key.to_string(), ByteString(value))].into()),
        ..Default::default()
    }
}

/// Create the webhook secret (32 random bytes, hex) unless one exists; never replace it.
pub async fn ensure_webhook_secret(
    secrets: &Api<Secret>,
    namespace: &str,
) -> Result<&'static str, Error> {
    if secrets.get_opt(names::WEBHOOK_SECRET_NAME).await?.is_some() {
        return Ok("unchanged");
    }
    let mut raw = [0u8; 32];
    rand::Rng::fill(&mut rand::rng(), &mut raw);
    let value: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let s = secret(
        namespace,
        names::WEBHOOK_SECRET_NAME,
        "Opaque",
        names::WEBHOOK_SECRET_KEY,
        value.into_bytes(),
    );
    match secrets.create(&PostParams::default(), &s).await {
        Ok(_) => Ok("created"),
        // Another install created it between our get and create: keep theirs.
        Err(kube::Error::Api(e)) if e.code == 409 => Ok("unchanged"),
        Err(e) => Err(e.into()),
    }
}

/// Apply a credentials Secret the user gave by flag: the flag is their choice, so it wins.
pub async fn apply_secret(secrets: &Api<Secret>, s: &Secret) -> Result<&'static str, Error> {
    let name = s.name_any();
    let before = secrets.get_opt(&name).await?;
    let after = secrets
        .patch(&name, &params(true), &Patch::Apply(s))
        .await?;
    Ok(outcome(before.as_ref(), &after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_ignore_bookkeeping() {
        let obj = |rv: &str, time: &str, replicas: i32| {
            serde_json::json!({"metadata": {"name": "w", "resourceVersion": rv,
                "managedFields": [{"manager": "kubectl-mosaic", "time": time}]},
                "spec": {"replicas": replicas}})
        };
        let a = obj("1", "2026-01-01T00:00:00Z", 2);
        assert_eq!(outcome(None, &a), "created");
        assert_eq!(
            outcome(Some(&a), &obj("2", "2026-01-01T00:00:01Z", 2)),
            "unchanged"
        );
        assert_eq!(
            outcome(Some(&a), &obj("2", "2026-01-01T00:00:01Z", 3)),
            "configured"
        );
    }

    #[test]
    fn only_the_disruption_budget_may_be_unserved() {
        let items = crate::bundle::objects("mosaic-system").expect("bundle");
        let by_kind = |k: &str| {
            items
                .iter()
                .find(|i| i.kind.resource.kind == k)
                .expect("kind in the bundle")
        };
        let pdb = unserved(by_kind("PodDisruptionBudget")).expect("a warning");
        assert!(
            pdb.starts_with(
                "warning: poddisruptionbudget/mosaic-intake: this cluster does not serve policy/v1"
            ) && pdb.contains("skipped"),
            "{pdb}"
        );
        let e = unserved(by_kind("Deployment")).expect_err("an error");
        assert!(
            e.to_string().starts_with(
                "deployment/mosaic-intake: this cluster does not serve apps/v1 Deployment"
            ),
            "{e}"
        );
        assert_eq!(e.exit_code(), 1);
        // An HPA (autoscaling/v2, Kubernetes 1.23) is needed only for --builder-autoscale.
        let mut items = crate::bundle::objects("mosaic-system").expect("bundle");
        let s = mosaic_core::install_settings::Settings {
            builder_autoscale: Some("1:3".parse().unwrap()),
            ..Default::default()
        };
        crate::bundle_settings::set_settings(&mut items, &s, &s.egress(), "mosaic-system").unwrap();
        let e = unserved(by_kind_in(&items, "HorizontalPodAutoscaler")).expect_err("an error");
        assert_eq!(
            e.to_string(),
            "horizontalpodautoscaler/mosaic-builder: this cluster does not serve autoscaling/v2 HorizontalPodAutoscaler: --builder-autoscale needs it (Kubernetes 1.23 or later); give --builders N instead"
        );
    }

    fn by_kind_in<'a>(items: &'a [Item], kind: &str) -> &'a Item {
        items
            .iter()
            .find(|i| i.kind.resource.kind == kind)
            .expect("kind in the bundle")
    }

    #[test]
    fn a_conflict_says_both_ways_out() {
        let e = conflict_error(&[("deployment/mosaic-webhook".into(), "x".into())]).to_string();
        assert!(
            e.starts_with("deployment/mosaic-webhook not applied"),
            "{e}"
        );
        assert!(
            e.contains("--force-conflicts") && e.contains("--show"),
            "{e}"
        );
    }
}
