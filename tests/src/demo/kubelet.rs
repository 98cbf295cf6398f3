//! The stand-in kubelet of one crashing Pod (see `standin`): it creates the Pod a ReplicaSet of
//! the Deployment's template would, then reports its container crash-looping as kubelet 1.35+
//! does, until a newer generation replaces it, and deletes it then.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use sha2::Digest;
use tokio::sync::{mpsc, watch};

use super::standin::{Played, first_image, now, ns_of, replica_set, template_hash};

/// The node the stand-in kubelet pretends to be.
const NODE: &str = "demo-node";
/// How long each stand-in crash-loop state lasts (a real back-off is 10 s, 20 s, 40 s …, and
/// the first restart is immediate).
const TERMINATED_FOR: Duration = Duration::from_millis(700);
const WAITING_FOR: Duration = Duration::from_millis(400);

/// The stand-in kubelet of one crashing Pod.
pub struct Kubelet {
    pub pods: Api<Pod>,
    pub events: Api<Event>,
    pub tx: mpsc::UnboundedSender<Played>,
    pub exit_code: i32,
}

impl Kubelet {
    fn note(&self, text: String) {
        self.send(text, false);
    }

    fn send(&self, text: String, gone: bool) {
        let at = Instant::now();
        let _ = self.tx.send(Played::Pod { at, text, gone });
    }

    /// Create the generation's Pod and crash it until `latest` moves past `generation`.
    pub async fn crash_loop(
        self,
        d: Deployment,
        generation: i64,
        mut latest: watch::Receiver<i64>,
    ) {
        let Some((pod, uid, container)) = self.create(&d).await else {
            return;
        };
        let ns = ns_of(&d).to_string();
        let mut previous: Option<Value> = None;
        let mut restarts = 0;
        let mut backoff = 10;
        let replaced = |l: &watch::Receiver<i64>| *l.borrow() > generation;
        loop {
            // The container ran and exited: terminated, the previous run in lastState.
            let t = now();
            let term = json!({"exitCode": self.exit_code, "reason": "Error", "startedAt": t, "finishedAt": t,
                "containerID": container_id(&pod, restarts)});
            let last = previous
                .take()
                .map_or(json!({}), |p| json!({"terminated": p}));
            self.status(
                &pod,
                &d,
                json!({"terminated": term.clone()}),
                &last,
                restarts,
            )
            .await;
            if restarts < 2 {
                self.note(format!(
                    "(stand-in kubelet) pod {pod}: container {} exited with code {} (Error), restartCount {restarts}",
                    container, self.exit_code
                ));
            }
            if wait_replaced(&mut latest, TERMINATED_FOR, replaced).await {
                break;
            }
            if restarts == 0 {
                // The first restart is immediate: the kubelet backs off from the second crash on.
                previous = Some(term);
                restarts = 1;
                continue;
            }
            // Backing off before the next restart: waiting CrashLoopBackOff, and a BackOff event.
            let waiting = json!({"waiting": {"reason": "CrashLoopBackOff", "message":
                format!("back-off {backoff}s restarting failed container={container} pod={pod}_{ns}({uid})")}});
            let last = json!({"terminated": term.clone()});
            self.status(&pod, &d, waiting, &last, restarts).await;
            previous = Some(term);
            self.backoff_event(&pod, &uid, &ns, &container, restarts)
                .await;
            if restarts == 1 {
                self.note(format!(
                    "(stand-in kubelet) pod {pod}: back-off {backoff}s restarting failed container {container} (CrashLoopBackOff)"
                ));
            }
            if wait_replaced(&mut latest, WAITING_FOR, replaced).await {
                break;
            }
            restarts += 1;
            backoff = (backoff * 2).min(300);
        }
        let _ = self.pods.delete(&pod, &DeleteParams::default()).await;
        self.send(
            format!("(stand-in) pod {pod} deleted: a newer generation replaced it"),
            true,
        );
    }

    /// Create the Pod a ReplicaSet of `d`'s template would; returns its name, uid and container.
    async fn create(&self, d: &Deployment) -> Option<(String, String, String)> {
        let t = d.spec.template.clone();
        let meta = t.metadata.unwrap_or_default();
        let mut spec = serde_json::to_value(t.spec.unwrap_or_default()).ok()?;
        spec["nodeName"] = NODE.into();
        let container = spec["containers"][0]["name"].as_str()?.to_string();
        let hash = template_hash(d);
        let mut labels = meta.labels.unwrap_or_default();
        labels.insert("pod-template-hash".into(), hash.clone());
        let suffix = &hex::encode(sha2::Sha256::digest(now().as_bytes()))[..5];
        let name = format!("{}-{suffix}", replica_set(d));
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": labels, "annotations": meta.annotations},
            "spec": spec
        }))
        .ok()?;
        let made = self.pods.create(&PostParams::default(), &pod).await.ok()?;
        let uid = made.metadata.uid.unwrap_or_default();
        self.note(format!(
            "(stand-in) Deployment {} generation {}: pod {name} started on {NODE}; the old pod keeps serving",
            d.metadata.name.as_deref().unwrap_or_default(),
            d.metadata.generation.unwrap_or_default(),
        ));
        Some((name, uid, container))
    }

    /// Write the Pod status as the kubelet does for a container that is not ready.
    async fn status(&self, pod: &str, d: &Deployment, state: Value, last: &Value, restarts: i32) {
        let image = first_image(d);
        let (name, t) = (pod.to_string(), now());
        let not_ready = |ty: &str| {
            json!({"type": ty, "status": "False", "reason": "ContainersNotReady", "lastProbeTime": null,
                "lastTransitionTime": t, "message": format!("containers with unready status: [{}]", container_name(d))})
        };
        let ok = |ty: &str| json!({"type": ty, "status": "True", "lastProbeTime": null, "lastTransitionTime": t});
        let status = json!({"status": {"phase": "Running", "hostIP": "10.0.0.4", "hostIPs": [{"ip": "10.0.0.4"}],
            "podIP": "10.244.0.17", "podIPs": [{"ip": "10.244.0.17"}], "startTime": t, "qosClass": "BestEffort",
            "conditions": [ok("PodReadyToStartContainers"), ok("Initialized"), not_ready("Ready"),
                not_ready("ContainersReady"), ok("PodScheduled")],
            "containerStatuses": [{"name": container_name(d), "image": image, "imageID": image,
                "ready": false, "started": false, "restartCount": restarts,
                "state": state, "lastState": last}]}});
        let _ = self
            .pods
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
            .await;
    }

    /// The kubelet's `BackOff` Event for the container, created or counted up.
    async fn backoff_event(&self, pod: &str, uid: &str, ns: &str, container: &str, count: i32) {
        let name = format!("{pod}.backoff");
        let t = now();
        let body = json!({"metadata": {"name": name},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": pod, "namespace": ns, "uid": uid,
                "fieldPath": format!("spec.containers{{{container}}}")},
            "reason": "BackOff", "type": "Warning",
            "message": format!("Back-off restarting failed container {container} in pod {pod}_{ns}({uid})"),
            "source": {"component": "kubelet", "host": NODE}, "reportingComponent": "kubelet",
            "reportingInstance": NODE, "firstTimestamp": t, "lastTimestamp": t, "count": count});
        if count == 1 {
            if let Ok(ev) = serde_json::from_value::<Event>(body) {
                let _ = self.events.create(&PostParams::default(), &ev).await;
            }
        } else {
            let patch = json!({"count": count, "lastTimestamp": t});
            let _ = self
                .events
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await;
        }
    }
}

fn container_name(d: &Deployment) -> String {
    d.spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .map(|c| c.name.clone())
        .unwrap_or_default()
}

fn container_id(pod: &str, run: i32) -> String {
    let id = hex::encode(sha2::Sha256::digest(format!("{pod}/{run}").as_bytes()));
    format!("containerd://{id}")
}

/// Wait `d` for the stand-in's clock; true when a newer generation arrived meanwhile.
async fn wait_replaced(
    latest: &mut watch::Receiver<i64>,
    d: Duration,
    replaced: impl Fn(&watch::Receiver<i64>) -> bool,
) -> bool {
    let until = tokio::time::Instant::now() + d;
    loop {
        if replaced(latest) {
            return true;
        }
        tokio::select! {
            r = latest.changed() => {
                if r.is_err() {
                    return true;
                }
            }
            () = tokio::time::sleep_until(until) => return replaced(latest),
        }
    }
}
