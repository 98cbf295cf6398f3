//! Where a Deployment's rollout stands, read from its own status the way `kubectl rollout
//! status` reads it. This is the controller's view only: whether the new pods stay healthy is
//! the verdict's business (`super::Judge`).

use k8s_openapi::api::apps::v1::Deployment;

/// Where a rollout stands, as the Deployment controller reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rollout {
    /// Still going; the text says what is awaited.
    Waiting(String),
    /// Every replica runs the new template and is available.
    Complete,
    /// The Deployment controller gave up (`Progressing=False`, normally
    /// `ProgressDeadlineExceeded` once `spec.progressDeadlineSeconds` passed).
    Failed { reason: String, message: String },
}

/// Read `dep`'s rollout state.
pub fn rollout_state(dep: &Deployment) -> Rollout {
    let generation = dep.metadata.generation.unwrap_or(0);
    let st = dep.status.clone().unwrap_or_default();
    let observed = st.observed_generation.unwrap_or(0);
    if observed < generation {
        return Rollout::Waiting(format!(
            "controller has observed generation {observed} of {generation}"
        ));
    }
    if let Some(c) = st
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_.as_deref() == Some("Progressing"))
        && c.status.as_deref() == Some("False")
    {
        return Rollout::Failed {
            reason: c
                .reason
                .clone()
                .unwrap_or_else(|| "ProgressDeadlineExceeded".into()),
            message: c.message.clone().unwrap_or_default(),
        };
    }
    let want = dep.spec.replicas.unwrap_or(1);
    let updated = st.updated_replicas.unwrap_or(0);
    let available = st.available_replicas.unwrap_or(0);
    let total = st.replicas.unwrap_or(0);
    if updated >= want && available >= want && total == updated {
        Rollout::Complete
    } else {
        Rollout::Waiting(format!(
            "{updated} of {want} updated, {available} available, {total} total replicas"
        ))
    }
}

/// The Deployment's progress deadline (`spec.progressDeadlineSeconds`, 600 by default).
pub fn progress_deadline_secs(dep: &Deployment) -> i32 {
    dep.spec.progress_deadline_seconds.unwrap_or(600)
}

/// The message of a `ReplicaFailure=True` condition: the controller could not create pods
/// (a ResourceQuota, a LimitRange or an admission webhook refused them).
pub fn replica_failure(dep: &Deployment) -> Option<String> {
    dep.status
        .as_ref()?
        .conditions
        .iter()
        .flatten()
        .find(|c| {
            c.type_.as_deref() == Some("ReplicaFailure") && c.status.as_deref() == Some("True")
        })
        .map(|c| {
            c.message
                .clone()
                .or_else(|| c.reason.clone())
                .unwrap_or_default()
        })
}
