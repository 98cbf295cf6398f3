//! A stand-in for the Deployment controller (the test API server runs none): it writes the
//! Deployment status, and crash-looping Pods, that each kind of rollout would produce.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use super::World;

/// How the stand-in Deployment controller behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollouts {
    /// Every new generation rolls out: updated = available = replicas.
    Healthy,
    /// New generations stall with Progressing=False/ProgressDeadlineExceeded.
    DeadlineExceeded,
    /// New generations get a Pod (with the template's annotations) in CrashLoopBackOff.
    CrashingPods,
}

/// Play the Deployment controller (the test API server runs none): whenever `web`'s generation
/// moves, write the status `mode` calls for. Abort the returned task to stop it.
pub fn deployment_controller(w: &World, mode: Rollouts) -> tokio::task::JoinHandle<()> {
    let api = w.deployments();
    let pods: Api<Pod> = Api::namespaced(w.kube.client.clone(), w.ns());
    tokio::spawn(async move {
        loop {
            if let Ok(d) = api.get("web").await {
                let generation = d.metadata.generation.unwrap_or(0);
                let observed = d
                    .status
                    .as_ref()
                    .and_then(|s| s.observed_generation)
                    .unwrap_or(0);
                if generation > observed {
                    let status = match mode {
                        Rollouts::Healthy => {
                            json!({"observedGeneration": generation, "replicas": 1,
                            "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1})
                        }
                        Rollouts::DeadlineExceeded => {
                            json!({"observedGeneration": generation, "replicas": 2,
                            "updatedReplicas": 1, "availableReplicas": 1, "unavailableReplicas": 1,
                            "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                "message": "ReplicaSet \"web-new\" has timed out progressing.",
                                "lastUpdateTime": "2026-01-01T00:00:00Z", "lastTransitionTime": "2026-01-01T00:00:00Z"}]})
                        }
                        Rollouts::CrashingPods => {
                            crashing_pod(&pods, &d, generation).await;
                            json!({"observedGeneration": generation, "replicas": 2, "updatedReplicas": 1,
                                "availableReplicas": 1, "unavailableReplicas": 1})
                        }
                    };
                    let _ = api
                        .patch_status(
                            "web",
                            &PatchParams::default(),
                            &Patch::Merge(&json!({"status": status})),
                        )
                        .await;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

/// A Pod of `dep`'s current template, crash-looping with exit code 1.
async fn crashing_pod(pods: &Api<Pod>, dep: &Deployment, generation: i64) {
    let t = dep.spec.template.clone();
    let meta = t.metadata.unwrap_or_default();
    let image = t
        .spec
        .as_ref()
        .and_then(|s| s.containers[0].image.clone())
        .unwrap_or_default();
    let name = format!("web-g{generation}-crash");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": meta.labels, "annotations": meta.annotations},
        "spec": {"containers": [{"name": "app", "image": image}]}
    }))
    .unwrap();
    if pods.create(&PostParams::default(), &pod).await.is_err() {
        return;
    }
    let status = json!({"status": {"phase": "Running",
        "conditions": [{"type": "Ready", "status": "False"}],
        "containerStatuses": [{"name": "app", "image": image, "imageID": "", "ready": false, "started": false,
            "restartCount": 6,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container=app"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                "startedAt": "2026-01-01T00:00:00Z", "finishedAt": "2026-01-01T00:00:01Z"}}}]}});
    let _ = pods
        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
        .await;
}
