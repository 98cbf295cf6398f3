//! The catalogue of failure modes: every slug of `failure-modes.yaml` with its title,
//! kinds and plain explanation, and whether a rule implements it.
//! (Long because it is data: one entry per catalogue slug.)

use std::sync::OnceLock;

/// One failure mode, as listed by `kubectl mosaic explain --list`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModeInfo {
    pub slug: &'static str,
    pub title: &'static str,
    pub kinds: &'static [&'static str],
    pub explanation: &'static str,
    /// Whether a rule reports this slug.
    pub implemented: bool,
    /// More generic slugs this one replaces when both match the same object.
    pub supersedes: &'static [&'static str],
    /// Whether the mode depends on how long a state has lasted.
    pub time_dependent: bool,
}

struct Mode {
    slug: &'static str,
    title: &'static str,
    kinds: &'static [&'static str],
    explanation: &'static str,
    supersedes: &'static [&'static str],
    time_dependent: bool,
}

/// Every failure mode, in taxonomy order, with `implemented` set from the rule list.
pub fn catalog() -> &'static [ModeInfo] {
    static CATALOG: OnceLock<Vec<ModeInfo>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let rules = super::rules::all();
        MODES
            .iter()
            .map(|m| ModeInfo {
                slug: m.slug,
                title: m.title,
                kinds: m.kinds,
                explanation: m.explanation,
                implemented: rules.iter().any(|r| r.slug == m.slug),
                supersedes: m.supersedes,
                time_dependent: m.time_dependent,
            })
            .collect()
    })
}

/// The catalogue entry of one slug.
pub fn mode(slug: &str) -> Option<&'static ModeInfo> {
    catalog().iter().find(|m| m.slug == slug)
}

/// Whether `a` supersedes `b` (directly).
pub fn supersedes(a: &str, b: &str) -> bool {
    mode(a).is_some_and(|m| m.supersedes.contains(&b))
}

// Copied from `failure-modes.yaml` (taxonomy version 1).
const MODES: &[Mode] = &[
    Mode {
        slug: "pod.unschedulable.insufficient-resources",
        title: "Pod cannot be scheduled because no node has enough free CPU, memory or other resources",
        kinds: &["Pod"],
        explanation: "The pod asks for more CPU, memory or devices (such as GPUs) than any node has left, so the scheduler has nowhere to put it until resources are freed or nodes are added.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pod.unschedulable.taints",
        title: "Pod cannot be scheduled because the nodes carry taints the pod does not tolerate",
        kinds: &["Pod"],
        explanation: "Nodes can be marked (\"tainted\") to repel pods, and this pod has no matching toleration, so every candidate node refuses it.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pod.unschedulable.node-selector",
        title: "Pod cannot be scheduled because no node matches its nodeSelector or required node affinity",
        kinds: &["Pod"],
        explanation: "The pod says it may only run on nodes with certain labels, and no node in the cluster has those labels.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pod.unschedulable.pod-affinity",
        title: "Pod cannot be scheduled because of its required pod affinity or anti-affinity rules",
        kinds: &["Pod"],
        explanation: "The pod must (or must not) run next to certain other pods, and no node satisfies that rule.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pod.unschedulable.topology-spread",
        title: "Pod cannot be scheduled because a DoNotSchedule topology spread constraint would be violated",
        kinds: &["Pod"],
        explanation: "The pod must be spread evenly across zones or nodes, and placing it anywhere would make the spread too uneven.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pod.unschedulable.unbound-pvc",
        title: "Pod cannot be scheduled because a PersistentVolumeClaim it uses is missing or not bound",
        kinds: &["Pod"],
        explanation: "The pod needs a storage volume that has not been created or connected yet, so the scheduler waits instead of starting it.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pod.unschedulable.nodes-cordoned",
        title: "Pod cannot be scheduled because the candidate nodes are cordoned (unschedulable)",
        kinds: &["Pod"],
        explanation: "The nodes have been switched to \"no new pods\" (usually for maintenance), so nothing new can start on them.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pod.scheduling-gated",
        title: "Pod is held back by scheduling gates and is not considered for scheduling yet",
        kinds: &["Pod"],
        explanation: "Something (usually a queueing controller such as Kueue) put a gate on the pod, and the scheduler will ignore it until every gate is removed.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pod.image-pull.not-found",
        title: "Container image or tag does not exist in the registry",
        kinds: &["Pod"],
        explanation: "The registry was reached but it has no image with that name and tag, usually because of a typo or because the image was never pushed.",
        supersedes: &["pod.image-pull.backoff-unknown"],
        time_dependent: false,
    },
    Mode {
        slug: "pod.image-pull.unauthorized",
        title: "Image pull is denied because credentials are missing or wrong",
        kinds: &["Pod"],
        explanation: "The registry refused to hand out the image because the node did not present valid credentials (an imagePullSecret); some registries give the same answer when the repository does not exist.",
        supersedes: &["pod.image-pull.backoff-unknown"],
        time_dependent: false,
    },
    Mode {
        slug: "pod.image-pull.registry-unreachable",
        title: "Image registry cannot be reached (DNS, network, TLS or timeout error)",
        kinds: &["Pod"],
        explanation: "The node could not talk to the image registry at all (wrong hostname, network problem, or an untrusted/invalid TLS certificate), so it never got to ask for the image.",
        supersedes: &["pod.image-pull.backoff-unknown"],
        time_dependent: false,
    },
    Mode {
        slug: "pod.image-pull.invalid-name",
        title: "Container image reference is not a valid image name",
        kinds: &["Pod"],
        explanation: "The image field is not written in a form Kubernetes can understand (for example it has upper-case letters or stray characters), so no pull is even attempted.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pod.image-pull.never-policy",
        title: "Image is not present on the node and imagePullPolicy is Never",
        kinds: &["Pod"],
        explanation: "The pod forbids downloading the image and the node does not already have it, so the container can never start on that node.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pod.image-pull.backoff-unknown",
        title: "Image pull keeps failing and the captured data no longer says why",
        kinds: &["Pod"],
        explanation: "Kubernetes is waiting before retrying an image download that failed; the original error message has expired, so check the image name, tag, registry access and credentials.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pod.config.missing-configmap",
        title: "Container cannot be created because a referenced ConfigMap does not exist",
        kinds: &["Pod"],
        explanation: "The pod reads settings from a ConfigMap that is not in the namespace, so Kubernetes cannot build the container's environment.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pod.config.missing-secret",
        title: "Container cannot be created because a referenced Secret does not exist",
        kinds: &["Pod"],
        explanation: "The pod reads a password or other secret value from a Secret that is not in the namespace, so Kubernetes cannot build the container's environment.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pod.config.missing-key",
        title: "Container cannot be created because a key is missing from a referenced ConfigMap or Secret",
        kinds: &["Pod"],
        explanation: "The ConfigMap or Secret exists, but the particular entry the pod asks for is not in it.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pod.config.run-as-non-root",
        title: "Container is refused because it must run as non-root but the image runs as root",
        kinds: &["Pod"],
        explanation: "The pod promises to run as an ordinary user, but the image is built to run as the administrator (root), so Kubernetes blocks it.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pod.run-error",
        title: "Container cannot start because its command or entrypoint cannot be executed",
        kinds: &["Pod"],
        explanation: "The program the container is told to run does not exist in the image (or is not executable), so the container dies the moment it is started; this applies to init containers too.",
        supersedes: &["pod.crash-loop", "pod.init.failing"],
        time_dependent: false,
    },
    Mode {
        slug: "pod.create-container-error",
        title: "Container runtime failed to create the container",
        kinds: &["Pod"],
        explanation: "The node's container runtime could not set up the container (often because the runtime is overloaded or left behind a half-created container), so it keeps retrying.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pod.sandbox-failed",
        title: "Pod sandbox (network namespace) cannot be created on the node",
        kinds: &["Pod"],
        explanation: "Before any container can start, the node must create the pod's private network space; that step is failing (network plugin or container runtime trouble).",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pod.lifecycle-hook-failed",
        title: "A postStart or preStop lifecycle hook failed",
        kinds: &["Pod"],
        explanation: "The extra command that Kubernetes runs right after the container starts (or right before it stops) returned an error, so Kubernetes kills and restarts the container.",
        supersedes: &["pod.crash-loop"],
        time_dependent: false,
    },
    Mode {
        slug: "pod.mount-failed",
        title: "A volume cannot be attached or mounted, so the containers cannot start",
        kinds: &["Pod"],
        explanation: "The pod needs a disk, network share, ConfigMap or host folder mounted before its containers can run, and that mount keeps failing.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pod.crash-loop",
        title: "Container keeps crashing and Kubernetes is backing off before restarting it",
        kinds: &["Pod"],
        explanation: "The program inside the container starts and then exits with an error again and again, so Kubernetes waits longer and longer between restarts; the container's logs usually say why.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pod.crash-loop.completed",
        title: "Container exits successfully but is restarted because the pod restarts it forever",
        kinds: &["Pod"],
        explanation: "The program finishes its work and exits normally, but a Deployment-style pod is expected to run forever, so Kubernetes keeps restarting it; use a Job for run-once work or keep the process running.",
        supersedes: &["pod.crash-loop"],
        time_dependent: false,
    },
    Mode {
        slug: "pod.restarting",
        title: "Container has restarted repeatedly after failing, although it is running right now",
        kinds: &["Pod"],
        explanation: "The container has crashed several times and was restarted each time; it happens to be up at the moment, but the same failure is likely to come back.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pod.oom-killed",
        title: "Container was killed because it used more memory than its limit",
        kinds: &["Pod"],
        explanation: "The program tried to use more memory than it is allowed, so the kernel killed it; raise the memory limit or make the program use less memory.",
        supersedes: &["pod.crash-loop", "pod.restarting", "pod.failed"],
        time_dependent: false,
    },
    Mode {
        slug: "pod.probe.liveness-killing",
        title: "Container is restarted because its liveness or startup probe keeps failing",
        kinds: &["Pod"],
        explanation: "Kubernetes regularly checks whether the container is still healthy; the check keeps failing (wrong port or path, app too slow, or app really stuck), so Kubernetes kills and restarts the container.",
        supersedes: &["pod.crash-loop", "pod.restarting"],
        time_dependent: false,
    },
    Mode {
        slug: "pod.probe.readiness-failing",
        title: "Container is running but its readiness probe fails, so it receives no traffic",
        kinds: &["Pod"],
        explanation: "The container is up, but its \"are you ready?\" check keeps failing, so Kubernetes does not send it any requests and Services skip it.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pod.readiness-gate.not-ready",
        title: "Pod is not Ready because a readiness gate condition is missing or false",
        kinds: &["Pod"],
        explanation: "All containers are healthy, but the pod also waits for an outside controller (such as a load balancer) to mark it ready, and that has not happened.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pod.init.failing",
        title: "An init container fails, so the pod never gets to start its main containers",
        kinds: &["Pod"],
        explanation: "Setup steps (init containers) must all succeed before the app starts; one of them keeps exiting with an error (often because something it waits for, like a database, is not reachable).",
        supersedes: &["pod.crash-loop"],
        time_dependent: false,
    },
    Mode {
        slug: "pod.init.stuck",
        title: "Pod has been initializing for a long time without an init container error",
        kinds: &["Pod"],
        explanation: "A setup step (init container) is still running or has not started after a long time, usually because it waits for something (a database, a migration, another service) that never becomes available.",
        supersedes: &[],
        time_dependent: true,
    },
    Mode {
        slug: "pod.stuck-creating",
        title: "Pod's containers stay in ContainerCreating/PodInitializing for a long time without an error",
        kinds: &["Pod"],
        explanation: "The pod was placed on a node but its containers have not started for a long time and nothing recorded says why; look at the node (runtime, disk, image download speed) and at recent events.",
        supersedes: &[],
        time_dependent: true,
    },
    Mode {
        slug: "pod.evicted",
        title: "Pod was evicted by the kubelet because the node ran short of a resource",
        kinds: &["Pod"],
        explanation: "The node was running out of memory or disk, so it stopped this pod to protect itself; the message says which resource and which container used the most.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pod.stuck-terminating",
        title: "Pod has been terminating for longer than its grace period",
        kinds: &["Pod"],
        explanation: "Someone asked to delete the pod, but it has not gone away long after the allowed shutdown time, usually because its node is unreachable or a finalizer is blocking removal.",
        supersedes: &[],
        time_dependent: true,
    },
    Mode {
        slug: "pod.failed",
        title: "Pod finished in phase Failed because a container exited with an error",
        kinds: &["Pod"],
        explanation: "The program in the pod ran and exited with an error code, and because this pod is not restarted in place (typical for Job pods), it stays failed.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "deployment.progress-deadline",
        title: "Deployment rollout stopped making progress within progressDeadlineSeconds",
        kinds: &["Deployment"],
        explanation: "The update has been stuck for longer than allowed (10 minutes by default); the reason is almost always in the new pods (image, crash, scheduling).",
        supersedes: &["deployment.unavailable"],
        time_dependent: false,
    },
    Mode {
        slug: "deployment.unavailable",
        title: "Deployment (or its ReplicaSet) has fewer available pods than required",
        kinds: &["Deployment", "ReplicaSet"],
        explanation: "Not enough copies of the application are up and ready; the reason is in the pods (follow the newest ReplicaSet down to its pods).",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "deployment.replica-failure.quota",
        title: "Pods cannot be created because a ResourceQuota would be exceeded",
        kinds: &["ReplicaSet", "Deployment"],
        explanation: "The namespace has a budget (ResourceQuota) for CPU, memory or object counts, and creating another pod would go over it, so no pod is created at all.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "deployment.replica-failure.admission",
        title: "Pods cannot be created because admission rejects them (service account, LimitRange, Pod Security, webhook)",
        kinds: &[
            "ReplicaSet",
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "Job",
        ],
        explanation: "The cluster's entry checks refuse to create the pods (for example the service account is missing or a security policy forbids the settings), so the controller cannot make any.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "statefulset.not-ready",
        title: "StatefulSet has fewer ready replicas than desired",
        kinds: &["StatefulSet"],
        explanation: "Not all numbered copies of the StatefulSet are ready; because they start one after another, one stuck pod holds back the rest.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "daemonset.not-ready",
        title: "DaemonSet pods are missing or not ready on some nodes",
        kinds: &["DaemonSet"],
        explanation: "A DaemonSet should run one pod on every (selected) node, but on some nodes that pod is missing or unhealthy.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "job.backoff-limit",
        title: "Job failed because its pods failed more times than backoffLimit allows",
        kinds: &["Job"],
        explanation: "The Job's pods kept failing, and after the allowed number of retries Kubernetes gave up; the failed pods' exit codes and logs show why.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "job.deadline-exceeded",
        title: "Job failed because it ran longer than activeDeadlineSeconds",
        kinds: &["Job"],
        explanation: "The Job has a time limit and did not finish in time, so Kubernetes stopped it.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "cronjob.last-job-failed",
        title: "The most recent Job started by the CronJob failed",
        kinds: &["CronJob"],
        explanation: "The scheduled task ran but its last run ended in failure; look at that Job and its pods.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pod.unschedulable.host-port",
        title: "Pod cannot be scheduled because the host port it asks for is taken on every node",
        kinds: &["Pod"],
        explanation: "The pod asks for a port on the node itself (hostPort), and every node that could run it already has a pod using that port, so it cannot be placed anywhere.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pod.image-pull.transfer-failed",
        title: "Image download breaks off while its layers are being transferred",
        kinds: &["Pod"],
        explanation: "The registry was found and the image exists, but the download of its layers broke off (unexpected EOF, short read, failed to copy): a flaky network, a proxy cutting large transfers, or a full disk on the node.",
        supersedes: &["pod.image-pull.backoff-unknown"],
        time_dependent: false,
    },
    Mode {
        slug: "pod.admission-rejected",
        title: "The node's kubelet refused to run the pod it was given",
        kinds: &["Pod"],
        explanation: "The scheduler placed the pod, but the node's kubelet checked it again on arrival and refused it (not enough CPU or memory left, node labels no longer matching, a device plugin error), so the pod failed without ever starting.",
        supersedes: &["pod.failed"],
        time_dependent: false,
    },
    Mode {
        slug: "pod.preempted",
        title: "Pod was evicted to make room for a pod with a higher priority",
        kinds: &["Pod"],
        explanation: "The scheduler needed room for a more important pod (higher priorityClassName) and removed this one; its controller creates a replacement, which waits until capacity frees up.",
        supersedes: &["pod.failed"],
        time_dependent: false,
    },
    Mode {
        slug: "hpa.target-missing",
        title: "The autoscaler's scale target does not exist",
        kinds: &["HorizontalPodAutoscaler"],
        explanation: "The autoscaler points at a Deployment, StatefulSet or other workload by name, and nothing of that kind and name exists in the namespace, so it cannot read or change any replica count.",
        supersedes: &["hpa.metrics-unavailable"],
        time_dependent: false,
    },
    Mode {
        slug: "cronjob.suspended",
        title: "CronJob is suspended and schedules nothing",
        kinds: &["CronJob"],
        explanation: "spec.suspend is true, so the CronJob starts no Jobs at their scheduled times (and writes no event about it) until it is resumed.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "cronjob.missed-schedules",
        title: "CronJob misses its scheduled runs",
        kinds: &["CronJob"],
        explanation: "Start times of the schedule passed and no Job was created for them: a run still active under concurrencyPolicy Forbid, a startingDeadlineSeconds the controller could not meet, or a controller that is down or whose clock is wrong.",
        supersedes: &[],
        time_dependent: true,
    },
    Mode {
        slug: "hpa.missing-requests",
        title: "HorizontalPodAutoscaler cannot compute utilization because target pods have no resource requests",
        kinds: &["HorizontalPodAutoscaler"],
        explanation: "Percent-based autoscaling compares usage with what each pod requested, and the pods request nothing, so the autoscaler cannot decide.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "hpa.metrics-unavailable",
        title: "HorizontalPodAutoscaler cannot read metrics",
        kinds: &["HorizontalPodAutoscaler"],
        explanation: "The autoscaler needs a metrics service (usually metrics-server) to see how busy the pods are, and it cannot get those numbers.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "hpa.at-max-replicas",
        title: "HorizontalPodAutoscaler wants more replicas than maxReplicas allows",
        kinds: &["HorizontalPodAutoscaler"],
        explanation: "Load is high enough that the autoscaler would add more pods, but it has reached the maximum it is allowed to run.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pdb.no-disruptions-allowed",
        title: "PodDisruptionBudget allows no voluntary disruptions, so evictions and node drains will block",
        kinds: &["PodDisruptionBudget"],
        explanation: "The budget says this many pods must always stay up and that is all that are running now, so Kubernetes will refuse to evict any of them (for example during a node drain or upgrade).",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "service.selector-matches-nothing",
        title: "Service selector matches no pods, so the Service has no endpoints",
        kinds: &["Service"],
        explanation: "The Service looks for pods with certain labels and none exist, so requests to it go nowhere; usually a typo in the selector or in the pod labels.",
        supersedes: &["service.no-endpoints"],
        time_dependent: false,
    },
    Mode {
        slug: "service.no-endpoints",
        title: "Service has no endpoints",
        kinds: &["Service"],
        explanation: "No pod is currently behind this Service, so connections to it fail; either no pod matches the selector or none of the matching pods is ready.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "service.endpoints-not-ready",
        title: "Some or all pods behind the Service are not ready",
        kinds: &["Service"],
        explanation: "The Service has found its pods, but some of them are failing their readiness check, so traffic only goes to the ready ones (or nowhere if none are ready).",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "service.target-port-mismatch",
        title: "Service targetPort does not match any port the selected pods expose",
        kinds: &["Service"],
        explanation: "The Service forwards traffic to a port number or name the pods are not listening on, so connections are refused even though endpoints exist.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "ingress.broken-reference",
        title: "Ingress refers to a Service, port, IngressClass or TLS Secret that does not exist",
        kinds: &["Ingress"],
        explanation: "The Ingress routes web traffic to something that is not there, so those paths answer with errors.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pvc.pending",
        title: "PersistentVolumeClaim stays Pending and no volume is bound to it",
        kinds: &["PersistentVolumeClaim"],
        explanation: "The claim asks for storage but no disk has been created or matched for it (often the storage class does not exist); note that \"WaitForFirstConsumer\" Pending is normal until a pod uses the claim.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "pvc.lost",
        title: "PersistentVolumeClaim is Lost (its PersistentVolume disappeared)",
        kinds: &["PersistentVolumeClaim"],
        explanation: "The claim was bound to a volume that no longer exists, so the data it pointed to is unavailable.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "node.not-ready",
        title: "Node is NotReady or its status is Unknown",
        kinds: &["Node"],
        explanation: "The node's agent (kubelet) is not reporting in or says the node is unhealthy, so no new pods go there and existing pods may be moved away.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "node.pressure",
        title: "Node reports memory, disk or PID pressure",
        kinds: &["Node"],
        explanation: "The node is close to running out of memory, disk space or process slots, so it stops accepting new pods and may evict running ones.",
        supersedes: &[],
        time_dependent: false,
    },
    Mode {
        slug: "node.cordoned",
        title: "Node is cordoned (marked unschedulable)",
        kinds: &["Node"],
        explanation: "An administrator (or an autoscaler preparing to remove the node) has switched off new scheduling on this node; running pods stay, new ones go elsewhere.",
        supersedes: &[],
        time_dependent: false,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_slug_is_in_the_catalog_with_its_kind() {
        for rule in super::super::rules::all() {
            let m = mode(rule.slug)
                .unwrap_or_else(|| panic!("rule {} has no catalog entry", rule.slug));
            for k in rule.kinds {
                assert!(
                    m.kinds.contains(k),
                    "rule {} runs on {k}, catalog says {:?}",
                    rule.slug,
                    m.kinds
                );
            }
            assert!(m.implemented);
        }
    }

    #[test]
    fn slugs_are_unique_and_supersedes_point_at_known_slugs() {
        let all = catalog();
        assert_eq!(all.len(), 66);
        for (i, m) in all.iter().enumerate() {
            assert!(
                all[i + 1..].iter().all(|o| o.slug != m.slug),
                "duplicate {}",
                m.slug
            );
            for s in m.supersedes {
                assert!(mode(s).is_some(), "{} supersedes unknown {s}", m.slug);
            }
        }
        assert!(supersedes("pod.oom-killed", "pod.crash-loop"));
        assert!(!supersedes("pod.crash-loop", "pod.oom-killed"));
    }
}
