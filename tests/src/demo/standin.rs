//! The stand-in Deployment controller of the push demo and the overhead benchmark: the test API
//! server runs no controllers and no kubelet, so this plays their part (the demo marks its lines
//! "(stand-in)"). A new generation of the Deployment rolls out healthy: the status a completed
//! rollout has. A generation whose pod-template commit annotation is listed as crashing instead
//! stays progressing with one unavailable replica, and gets a Pod that the stand-in kubelet
//! (`kubelet`) crash-loops the way kubelet 1.35+ reports it: mostly `state.terminated` (reason
//! Error, the exit code) with `lastState.terminated` and a growing `restartCount`, a `BackOff`
//! Event, and for part of each back-off `state.waiting` CrashLoopBackOff, until a newer
//! generation (the rollback) replaces it.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{SecondsFormat, Utc};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::watcher;
use mosaic_core::names;
use serde_json::{Value, json};
use sha2::Digest;
use tokio::sync::{mpsc, watch};

use super::kubelet::Kubelet;

/// One rollout the stand-in controller completed.
#[derive(Debug, Clone)]
pub struct Rolled {
    pub generation: i64,
    /// The template's first container image at that generation.
    pub image: String,
    /// When the controller saw the new generation.
    pub seen: Instant,
    /// When its status write (rollout complete) was accepted.
    pub done: Instant,
}

/// What the stand-in did.
#[derive(Debug, Clone)]
pub enum Played {
    /// A generation rolled out healthy.
    Rolled(Rolled),
    /// The stand-in kubelet or controller did something to a crashing Pod: when, and in words;
    /// `gone` when it deleted the Pod.
    Pod {
        at: Instant,
        text: String,
        gone: bool,
    },
}

/// Which generations crash, and how.
#[derive(Debug, Clone, Default)]
pub struct Crashes {
    /// Commits (the pod template's commit annotation) whose pods crash; the demo adds one
    /// once it has made it.
    pub commits: Arc<Mutex<Vec<String>>>,
    /// The exit code their container ends with.
    pub exit_code: i32,
}

pub(super) fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The image of a Deployment's first container.
pub fn first_image(d: &Deployment) -> String {
    d.spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
        .unwrap_or_default()
}

fn commit_of(d: &Deployment) -> Option<String> {
    d.spec
        .template
        .metadata
        .as_ref()?
        .annotations
        .as_ref()?
        .get(names::ANNOTATION_COMMIT)
        .cloned()
}

/// Play the Deployment controller for Deployment `name` (every generation rolls out healthy),
/// reporting each completed rollout. It cannot tell who changed the Deployment, so every change
/// is treated alike.
pub async fn standin_controller(
    api: Api<Deployment>,
    name: &str,
) -> Result<mpsc::UnboundedReceiver<Rolled>, String> {
    let mut played = standin(api, name, Crashes::default()).await?;
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(p) = played.recv().await {
            if let Played::Rolled(r) = p
                && tx.send(r).is_err()
            {
                return;
            }
        }
    });
    Ok(rx)
}

/// Play the Deployment controller, and the kubelet for the generations `crashes` names.
pub async fn standin(
    api: Api<Deployment>,
    name: &str,
    crashes: Crashes,
) -> Result<mpsc::UnboundedReceiver<Played>, String> {
    let mut events = super::watch(
        api.clone(),
        watcher::Config::default().fields(&format!("metadata.name={name}")),
    )
    .await?;
    let (tx, rx) = mpsc::unbounded_channel();
    let name = name.to_string();
    let (latest_tx, _) = watch::channel(0i64);
    tokio::spawn(async move {
        let mut handled = 0;
        while let Some((seen, d)) = events.recv().await {
            let generation = d.metadata.generation.unwrap_or(0);
            let observed = d
                .status
                .as_ref()
                .and_then(|s| s.observed_generation)
                .unwrap_or(0);
            if generation <= observed || generation <= handled {
                continue;
            }
            latest_tx.send_replace(generation);
            let crashing = commit_of(&d)
                .is_some_and(|c| crashes.commits.lock().is_ok_and(|list| list.contains(&c)));
            let status = if crashing {
                progressing(generation, &d)
            } else {
                healthy(generation)
            };
            if api
                .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
                .await
                .is_err()
            {
                continue;
            }
            handled = generation;
            if crashing {
                let pods = Api::<Pod>::namespaced(api.clone().into_client(), ns_of(&d));
                let events = Api::<Event>::namespaced(api.clone().into_client(), ns_of(&d));
                let kubelet = Kubelet {
                    pods,
                    events,
                    tx: tx.clone(),
                    exit_code: crashes.exit_code,
                };
                tokio::spawn(kubelet.crash_loop(d, generation, latest_tx.subscribe()));
                continue;
            }
            let r = Rolled {
                generation,
                image: first_image(&d),
                seen,
                done: Instant::now(),
            };
            if tx.send(Played::Rolled(r)).is_err() {
                return;
            }
        }
    });
    Ok(rx)
}

pub(super) fn ns_of(d: &Deployment) -> &str {
    d.metadata.namespace.as_deref().unwrap_or("default")
}

/// The status of a generation rolled out: one replica, updated and available.
fn healthy(generation: i64) -> Value {
    json!({"status": {"observedGeneration": generation, "replicas": 1,
        "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1,
        "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
            "message": "stand-in controller", "lastUpdateTime": "2026-01-01T00:00:00Z",
            "lastTransitionTime": "2026-01-01T00:00:00Z"}]}})
}

/// The status while a generation's new pod is not available (max surge 1, max unavailable 0):
/// the old pod serves, the new one does not.
fn progressing(generation: i64, d: &Deployment) -> Value {
    let t = now();
    json!({"status": {"observedGeneration": generation, "replicas": 2,
        "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1, "unavailableReplicas": 1,
        "terminatingReplicas": 0,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                "message": "Deployment has minimum availability.", "lastUpdateTime": t, "lastTransitionTime": t},
            {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                "message": format!("ReplicaSet \"{}\" is progressing.", replica_set(d)),
                "lastUpdateTime": t, "lastTransitionTime": t}]}})
}

/// The ReplicaSet name a controller would give this template: `<deployment>-<template hash>`.
pub(super) fn replica_set(d: &Deployment) -> String {
    format!(
        "{}-{}",
        d.metadata.name.as_deref().unwrap_or("web"),
        template_hash(d)
    )
}

pub(super) fn template_hash(d: &Deployment) -> String {
    let t = serde_json::to_vec(&d.spec.template).unwrap_or_default();
    hex::encode(sha2::Sha256::digest(&t))[..10].to_string()
}
