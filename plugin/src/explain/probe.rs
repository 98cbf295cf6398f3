//! `explain svc/NAME --probe`, the cluster half: checks with SelfSubjectAccessReviews
//! that the user may create and delete pods and read their logs, removes probe pods
//! an earlier, killed run left behind (found by the probe label, once finished, past
//! the time their run would have deleted them, or past their deadline), starts the
//! probe pod, waits for it to finish (or the timeout, or Ctrl-C), reads its log and
//! always deletes it; then puts the results on the Service's findings. The checks and
//! their reading are `mosaic_core::explain::probe`.

use std::time::Duration;

use chrono::Utc;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, LogParams, PostParams};
use kube::runtime::wait::await_condition;
use mosaic_core::explain::probe::{self, Check, EXPIRES, LABEL, Outcome};
use mosaic_core::explain::tree::Value;
use mosaic_core::explain::{self as engine, Finding};

use super::scope::Target;

use crate::error::Error;

/// How a probe ended.
#[derive(Debug)]
pub enum Ran {
    /// The probe pod finished; the outcomes of its checks.
    Done(Vec<Outcome>),
    /// Not started: the reason (a missing permission), to show as a note.
    Skipped(String),
    /// Started but did not finish in time (never scheduled, image not pulled, …):
    /// what the pod showed last. The pod was deleted.
    TimedOut(String),
}

/// The permissions the probe needs, as (verb, subresource, what to say).
const NEEDS: &[(&str, &str, &str)] = &[
    ("create", "", "create pods"),
    ("delete", "", "delete pods"),
    ("get", "log", "get pods/log"),
];

/// The permissions the user lacks in `namespace`, by name; empty when all are
/// granted or the server cannot answer the question (it then decides on create).
pub async fn missing_permissions(client: &Client, namespace: &str) -> Result<Vec<String>, Error> {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let mut missing = Vec::new();
    for (verb, sub, label) in NEEDS {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    namespace: Some(namespace.to_string()),
                    verb: Some(verb.to_string()),
                    resource: Some("pods".into()),
                    subresource: (!sub.is_empty()).then(|| sub.to_string()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        match api.create(&PostParams::default(), &review).await {
            Ok(r) if r.status.as_ref().is_some_and(|s| s.allowed) => {}
            Ok(_) => missing.push(label.to_string()),
            // Not served (a minimal API server): nothing to ask; creating will tell.
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(missing)
}

/// How long after its timeout a run may take to delete its own probe pod; a pod
/// still there later was left behind by a run that was killed.
const DELETE_GRACE: Duration = Duration::from_secs(2);

/// Deletes probe pods of earlier runs that are finished, past the time their run
/// would have deleted them (the pod's [`EXPIRES`] annotation, written by that run),
/// or past their deadline. A probe another run is waiting for now is left alone.
/// Returns how many.
pub async fn remove_leftovers(pods: &Api<Pod>) -> Result<usize, Error> {
    let list = pods
        .list(&ListParams::default().labels(&format!("{LABEL}=true")))
        .await?;
    let now = Utc::now();
    let mut removed = 0;
    for p in list.items {
        let expired = p
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(EXPIRES))
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|t| t < now);
        let finished = p
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .is_some_and(|ph| ph == "Succeeded" || ph == "Failed");
        let deadline = p
            .spec
            .as_ref()
            .and_then(|s| s.active_deadline_seconds)
            .unwrap_or(0);
        let overdue = p
            .metadata
            .creation_timestamp
            .as_ref()
            .is_some_and(|t| now.timestamp() - t.0.as_second() > deadline + 30);
        if (finished || expired || overdue)
            && let Some(name) = p.metadata.name.as_deref()
        {
            delete(pods, name).await;
            removed += 1;
        }
    }
    Ok(removed)
}

async fn delete(pods: &Api<Pod>, name: &str) {
    let dp = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::default()
    };
    if let Err(e) = pods.delete(name, &dp).await {
        tracing::warn!(pod = name, error = %e, "could not delete the probe pod");
    }
}

/// Runs `checks` from a probe pod in `namespace`.
pub async fn run(
    client: &Client,
    namespace: &str,
    checks: &[Check],
    image: &str,
    timeout: Duration,
) -> Result<Ran, Error> {
    let missing = missing_permissions(client, namespace).await?;
    if !missing.is_empty() {
        return Ok(Ran::Skipped(format!(
            "the probe did not run: you may not {} in namespace {namespace}; it needs create and delete on pods and get on pods/log there",
            missing.join(", ")
        )));
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let removed = remove_leftovers(&pods).await?;
    if removed > 0 {
        eprintln!("note: removed {removed} probe pod(s) left behind by an earlier run");
    }
    let per_check = 2;
    let deadline = (timeout.as_secs() as i64).max(10);
    let name = format!("mosaic-probe-{}", Utc::now().format("%H%M%S%3f"));
    let manifest = probe::pod(
        &name,
        namespace,
        image,
        &probe::script(checks, per_check),
        deadline,
    );
    let mut pod: Pod = serde_json::from_value(manifest)
        .map_err(|e| Error::Other(format!("probe pod manifest: {e}")))?;
    // When this run will have deleted the pod at the latest: past it, the pod is a
    // leftover of a killed run, and the next run removes it.
    let expires = Utc::now()
        + chrono::Duration::from_std(timeout + DELETE_GRACE).unwrap_or(chrono::Duration::MAX);
    pod.metadata.annotations.get_or_insert_default().insert(
        EXPIRES.to_string(),
        expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    // Ctrl-C is caught from before the pod exists until it is deleted (polled once
    // here, the handler is installed; a Ctrl-C during the create is seen after it).
    let mut interrupt = Box::pin(tokio::signal::ctrl_c());
    if futures::FutureExt::now_or_never(&mut interrupt).is_some() {
        return Err(Error::Other(
            "interrupted (Ctrl-C) before the probe pod was created".into(),
        ));
    }
    pods.create(&PostParams::default(), &pod).await?;
    eprintln!(
        "probing from pod {name} (image {image}, up to {} s)",
        timeout.as_secs()
    );
    let finished = await_condition(pods.clone(), &name, |p: Option<&Pod>| {
        p.and_then(|p| p.status.as_ref()?.phase.as_deref())
            .is_some_and(|ph| ph == "Succeeded" || ph == "Failed")
    });
    let outcome = tokio::select! {
        r = tokio::time::timeout(timeout, finished) => match r {
            Ok(Ok(_)) => {
                let log = pods
                    .logs(&name, &LogParams { container: Some("probe".into()), ..LogParams::default() })
                    .await;
                match log {
                    Ok(text) => Ok(Ran::Done(probe::parse(checks, &text))),
                    Err(e) => Err(Error::from(e)),
                }
            }
            Ok(Err(e)) => Err(Error::Other(format!("watching the probe pod: {e}"))),
            Err(_) => Ok(Ran::TimedOut(last_state(&pods, &name).await)),
        },
        _ = &mut interrupt => {
            delete(&pods, &name).await;
            return Err(Error::Other(format!(
                "interrupted (Ctrl-C): the probe stopped and its pod {name} was deleted"
            )));
        }
    };
    delete(&pods, &name).await;
    outcome
}

/// What a pod that did not finish shows: its phase and the reason it waits.
async fn last_state(pods: &Api<Pod>, name: &str) -> String {
    let Ok(p) = pods.get(name).await else {
        return "the probe pod could not be read".into();
    };
    let st = p.status.unwrap_or_default();
    let waiting = st
        .container_statuses
        .unwrap_or_default()
        .into_iter()
        .find_map(|c| c.state?.waiting?.reason);
    let unscheduled = st
        .conditions
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False")
        .map(|c| c.message.unwrap_or_default());
    match (st.phase.as_deref(), waiting, unscheduled) {
        (_, Some(w), _) => format!("its container was waiting: {w}"),
        (_, _, Some(m)) if !m.is_empty() => format!("it was not scheduled: {m}"),
        (Some(ph), _, _) => format!("it was still {ph}"),
        (None, _, _) => "no node had started it (phase not set)".into(),
    }
}

/// The Services a probe checks: the one named, or the backends of the Ingress named.
pub fn services(objects: &[serde_json::Value], t: &Target, ns: &str) -> Vec<String> {
    let name = t.name.clone().unwrap_or_default();
    if t.kind.kind == "Service" {
        return vec![name];
    }
    let ix = engine::Index::build(objects.to_vec());
    let Some(ing) = ix.get("Ingress", Some(ns), &name) else {
        return Vec::new();
    };
    let mut out: Vec<String> = ing
        .arr("spec.rules")
        .iter()
        .flat_map(|r| {
            r.pointer("/http/paths")
                .and_then(Value::as_array)
                .unwrap_or_default()
        })
        .filter_map(|p| p.get("backend"))
        .chain(ing.get("spec.defaultBackend"))
        .filter_map(|b| {
            b.pointer("/service/name")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Puts a probe's results where they belong: as evidence on the Service's
/// findings (a wrong target port shown by the probe makes the mismatch certain),
/// else as notes.
pub fn attach(
    findings: &mut [Finding],
    notes: &mut Vec<String>,
    svc: &str,
    ran: Ran,
    timeout: std::time::Duration,
) {
    let outcomes = match ran {
        Ran::Done(o) => o,
        Ran::Skipped(why) => return notes.push(why),
        Ran::TimedOut(why) => {
            return notes.push(format!(
                "the probe of Service {svc} did not finish within {} s ({why}); its pod was deleted",
                timeout.as_secs()
            ));
        }
    };
    let evidence = probe::evidence(svc, &outcomes);
    let verdict = probe::verdict(&outcomes);
    let mut attached = false;
    for f in findings
        .iter_mut()
        .filter(|f| f.object.kind == "Service" && f.object.name == svc)
    {
        if f.slug == "service.target-port-mismatch"
            && verdict
                .as_deref()
                .is_some_and(|v| v.contains("targetPort is wrong"))
        {
            // Shown, not inferred: traffic to the target port reaches nothing.
            f.confidence = engine::Confidence::Certain;
            f.possible = false;
            f.severity = engine::Severity::Error;
        }
        f.evidence.extend(evidence.iter().cloned());
        attached = true;
    }
    if !attached {
        match &verdict {
            Some(v) => notes.push(format!("probe of Service {svc}: {v}")),
            None => notes.push(format!("probe of Service {svc}: every layer answers")),
        }
        notes.extend(outcomes.iter().map(|o| format!("probe: {}", o.describe())));
    }
}

#[cfg(test)]
mod tests;
