//! A stand-in for the Deployment controller and the kubelet (the test API server runs
//! neither). It writes what the real ones write, as `shared/notes/real-cluster.md` records
//! them, and no kinder:
//! - a pod without a readiness probe is Running and counted available as soon as it starts,
//!   so a rollout whose app crashes a second later first completes;
//! - while new pods fail their readiness probe, the old pod keeps serving (the Deployment stays
//!   available) and `ProgressDeadlineExceeded` is written only once `progressDeadlineSeconds`
//!   passed;
//! - a crash is shown the way kubelet ≥ 1.35 shows it: `state.terminated` with the exit code
//!   and a growing `restartCount`, plus the `BackOff` Event.
//!
//! Pods are named `web-g<generation>-<n>` and carry the rolled template's labels and
//! annotations, as the real ReplicaSet's pods do.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use super::World;

/// How the stand-in controller and kubelet behave for each new generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollouts {
    /// The new pod starts, is ready, and stays so.
    Healthy,
    /// No new pod becomes available; `ProgressDeadlineExceeded` at the Deployment's deadline.
    DeadlineExceeded,
    /// The new pod crash-loops from the start (shown as older kubelets do, waiting in
    /// `CrashLoopBackOff` with the last termination).
    CrashingPods,
    /// The new pod runs and counts as available (no readiness probe), then its app exits with
    /// code 3 about a second after start and keeps crashing (kubelet ≥ 1.35's `terminated`).
    CrashAfterStart,
    /// The new pod runs but its readiness probe answers 404; the old pod keeps serving.
    NotReady,
    /// As `NotReady` for the given time, then the probe passes and the rollout completes.
    SlowReady(Duration),
}

/// Play the Deployment controller and kubelet for Deployment `web` of `w`: whenever its
/// generation moves, act out `mode` for a pod template that a Build rolled, and `Healthy` for
/// one without a Build (the template from before Mosaic, rolled back to). Abort the task to
/// stop it.
pub fn deployment_controller(w: &World, mode: Rollouts) -> tokio::task::JoinHandle<()> {
    deployment_controller_by(w, move |commit| match commit {
        Some(_) => mode,
        None => Rollouts::Healthy,
    })
}

/// As `deployment_controller`, with the behaviour chosen by the template's commit annotation.
pub fn deployment_controller_by(
    w: &World,
    mode_of: impl Fn(Option<&str>) -> Rollouts + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let deps = w.deployments();
    let pods: Api<Pod> = Api::namespaced(w.kube.client.clone(), w.ns());
    let events: Api<Event> = Api::namespaced(w.kube.client.clone(), w.ns());
    tokio::spawn(async move {
        let mut current: Option<Rollout> = None;
        loop {
            if let Ok(d) = deps.get("web").await {
                let generation = d.metadata.generation.unwrap_or(0);
                if current.as_ref().map(|r| r.generation) != Some(generation) {
                    let commit = d
                        .spec
                        .template
                        .metadata
                        .as_ref()
                        .and_then(|m| m.annotations.as_ref())
                        .and_then(|a| a.get(mosaic_core::names::ANNOTATION_COMMIT))
                        .map(String::as_str);
                    current = Some(Rollout::new(&d, generation, mode_of(commit)));
                }
                if let Some(r) = current.as_mut() {
                    r.tick(&deps, &pods, &events).await;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

/// One generation's rollout, acted out over time.
struct Rollout {
    generation: i64,
    mode: Rollouts,
    started: Instant,
    template: Value,
    deadline: Duration,
    pod: String,
    /// The last stage written, so each is written once.
    written: Option<&'static str>,
}

impl Rollout {
    fn new(d: &Deployment, generation: i64, mode: Rollouts) -> Self {
        let deadline = d.spec.progress_deadline_seconds.unwrap_or(600);
        Self {
            generation,
            mode,
            started: Instant::now(),
            template: serde_json::to_value(&d.spec.template).unwrap(),
            deadline: Duration::from_secs(u64::try_from(deadline).unwrap_or(600)),
            pod: format!("web-g{generation}-1"),
            written: None,
        }
    }

    /// What the cluster shows at this moment of the rollout.
    fn stage(&self) -> &'static str {
        let t = self.started.elapsed();
        match self.mode {
            Rollouts::Healthy => "ready",
            Rollouts::CrashingPods => "crash-looping",
            Rollouts::CrashAfterStart if t < Duration::from_millis(1200) => "ready",
            Rollouts::CrashAfterStart if t < Duration::from_secs(4) => "exited",
            Rollouts::CrashAfterStart => "restarted",
            Rollouts::SlowReady(d) if t >= d => "ready",
            Rollouts::NotReady | Rollouts::SlowReady(_) if t >= self.deadline => "deadline",
            Rollouts::NotReady | Rollouts::SlowReady(_) => "unready",
            Rollouts::DeadlineExceeded if t >= self.deadline => "stuck-deadline",
            Rollouts::DeadlineExceeded => "stuck",
        }
    }

    async fn tick(&mut self, deps: &Api<Deployment>, pods: &Api<Pod>, events: &Api<Event>) {
        let stage = self.stage();
        if self.written == Some(stage) {
            return;
        }
        if self.written.is_none() && !stage.starts_with("stuck") {
            self.create_pod(pods).await;
        }
        let ok = match stage {
            "ready" => {
                self.write(deps, pods, running(true, 0, None), complete())
                    .await
            }
            "exited" => {
                let pod = terminated(0);
                let dep = unavailable();
                self.write(deps, pods, pod, dep).await
            }
            "restarted" => {
                self.event(
                    events,
                    "BackOff",
                    "Back-off restarting failed container app",
                )
                .await;
                self.write(deps, pods, terminated(2), unavailable()).await
            }
            "crash-looping" => {
                self.event(
                    events,
                    "BackOff",
                    "Back-off restarting failed container app",
                )
                .await;
                self.write(deps, pods, crash_loop_back_off(), progressing())
                    .await
            }
            "unready" => {
                let msg = "Readiness probe failed: HTTP probe failed with statuscode: 404";
                self.event(events, "Unhealthy", msg).await;
                self.write(deps, pods, running(false, 0, None), progressing())
                    .await
            }
            "deadline" => {
                self.write(deps, pods, running(false, 0, None), deadline())
                    .await
            }
            "stuck" => self.write_status(deps, progressing()).await,
            "stuck-deadline" => self.write_status(deps, deadline()).await,
            _ => unreachable!("{stage}"),
        };
        if ok {
            self.written = Some(stage);
        }
    }

    async fn create_pod(&self, pods: &Api<Pod>) {
        let meta = &self.template["metadata"];
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": self.pod, "labels": meta["labels"], "annotations": meta["annotations"]},
            "spec": self.template["spec"],
        }))
        .unwrap();
        let _ = pods.create(&PostParams::default(), &pod).await;
    }

    /// Write the pod's status (with the template's image) and the Deployment's.
    async fn write(
        &self,
        deps: &Api<Deployment>,
        pods: &Api<Pod>,
        mut pod: Value,
        dep: Value,
    ) -> bool {
        let image = self.template["spec"]["containers"][0]["image"].clone();
        pod["containerStatuses"][0]["image"] = image.clone();
        pod["containerStatuses"][0]["imageID"] = image;
        let p = pods
            .patch_status(
                &self.pod,
                &PatchParams::default(),
                &Patch::Merge(&json!({"status": pod})),
            )
            .await;
        p.is_ok() && self.write_status(deps, dep).await
    }

    async fn write_status(&self, deps: &Api<Deployment>, mut status: Value) -> bool {
        status["observedGeneration"] = self.generation.into();
        // A merge patch would keep stale conditions: replace them whole.
        let clear = json!({"status": {"conditions": null}});
        let _ = deps
            .patch_status("web", &PatchParams::default(), &Patch::Merge(&clear))
            .await;
        deps.patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": status})),
        )
        .await
        .is_ok()
    }

    /// The kubelet's Event about the pod (Warning), as `kubectl describe` shows it.
    async fn event(&self, events: &Api<Event>, reason: &str, message: &str) {
        let now = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::now(),
        );
        let ev: Event = serde_json::from_value(json!({
            "metadata": {"name": format!("{}.{}", self.pod, reason.to_lowercase())},
            "involvedObject": {"kind": "Pod", "name": self.pod, "apiVersion": "v1"},
            "reason": reason, "message": message, "type": "Warning", "count": 1,
            "source": {"component": "kubelet"},
            "firstTimestamp": now, "lastTimestamp": now,
        }))
        .unwrap();
        let _ = events.create(&PostParams::default(), &ev).await;
    }
}

fn now() -> String {
    k8s_openapi::jiff::Timestamp::now().to_string()
}

fn ago(secs: i64) -> String {
    (k8s_openapi::jiff::Timestamp::now() - k8s_openapi::jiff::SignedDuration::from_secs(secs))
        .to_string()
}

/// A running pod, ready or not.
fn running(ready: bool, restarts: i32, last: Option<Value>) -> Value {
    let r = if ready { "True" } else { "False" };
    let mut c = json!({"name": "app", "ready": ready, "started": true, "restartCount": restarts,
        "state": {"running": {"startedAt": now()}}});
    if let Some(l) = last {
        c["lastState"] = l;
    }
    json!({"phase": "Running", "startTime": now(), "podIP": "10.88.0.9",
        "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Initialized", "status": "True"},
            {"type": "ContainersReady", "status": r}, {"type": "Ready", "status": r}],
        "containerStatuses": [c]})
}

/// Kubelet ≥ 1.35 between restarts of a crashing container: `terminated`, exit code 3, having
/// run about a second.
fn terminated(restarts: i32) -> Value {
    let exit = json!({"exitCode": 3, "reason": "Error", "startedAt": ago(2), "finishedAt": ago(1)});
    let mut c = json!({"name": "app", "ready": false, "started": false, "restartCount": restarts,
        "state": {"terminated": exit}});
    if restarts > 0 {
        c["lastState"] = json!({"terminated": exit});
    }
    json!({"phase": "Running",
        "conditions": [{"type": "PodScheduled", "status": "True"},
            {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady"},
            {"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
        "containerStatuses": [c]})
}

/// An older kubelet's crash loop: waiting in `CrashLoopBackOff` after exit code 1.
fn crash_loop_back_off() -> Value {
    json!({"phase": "Running",
        "conditions": [{"type": "Ready", "status": "False"}],
        "containerStatuses": [{"name": "app", "ready": false, "started": false, "restartCount": 6,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container=app"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                "startedAt": ago(2), "finishedAt": ago(1)}}}]})
}

fn condition(kind: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({"type": kind, "status": status, "reason": reason, "message": message,
        "lastUpdateTime": now(), "lastTransitionTime": now()})
}

/// Every replica updated and available.
fn complete() -> Value {
    json!({"replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1,
        "conditions": [
            condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
            condition("Progressing", "True", "NewReplicaSetAvailable", "ReplicaSet \"web-new\" has successfully progressed.")]})
}

/// The new pod is not ready; the old one keeps serving.
fn progressing() -> Value {
    json!({"replicas": 2, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1,
        "unavailableReplicas": 1,
        "conditions": [
            condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
            condition("Progressing", "True", "ReplicaSetUpdated", "ReplicaSet \"web-new\" is progressing.")]})
}

/// The rollout had completed (the old pod is gone), and the new pod stopped being ready.
fn unavailable() -> Value {
    json!({"replicas": 1, "updatedReplicas": 1, "readyReplicas": 0, "availableReplicas": 0,
        "unavailableReplicas": 1,
        "conditions": [
            condition("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability."),
            condition("Progressing", "True", "NewReplicaSetAvailable", "ReplicaSet \"web-new\" has successfully progressed.")]})
}

/// What the controller writes once `progressDeadlineSeconds` passed.
fn deadline() -> Value {
    json!({"replicas": 2, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1,
        "unavailableReplicas": 1,
        "conditions": [
            condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
            condition("Progressing", "False", "ProgressDeadlineExceeded", "ReplicaSet \"web-new\" has timed out progressing.")]})
}

/// A minimal Deployment controller for every Deployment `api` lists (drills and load, which
/// need no pods): a new generation is marked rolled out, available and ready `delay` after it
/// is first seen. Abort the task to stop it.
pub fn complete_rollouts(api: Api<Deployment>, delay: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut seen: std::collections::HashMap<(String, i64), Instant> = Default::default();
        loop {
            if let Ok(list) = api.list(&Default::default()).await {
                for d in list.items {
                    let name = d.metadata.name.clone().unwrap_or_default();
                    let generation = d.metadata.generation.unwrap_or(0);
                    let observed = d
                        .status
                        .as_ref()
                        .and_then(|s| s.observed_generation)
                        .unwrap_or(0);
                    if generation <= observed {
                        continue;
                    }
                    let first = *seen
                        .entry((name.clone(), generation))
                        .or_insert_with(Instant::now);
                    if first.elapsed() < delay {
                        continue;
                    }
                    let status = json!({"status": {"observedGeneration": generation, "replicas": 1,
                        "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1}});
                    let _ = api
                        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
                        .await;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}
