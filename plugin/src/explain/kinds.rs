//! The resource kinds explain reads: their API coordinates, whether they are
//! namespaced, and the names users type for them (`deploy`, `po`, `svc`, …).

/// One resource kind explain knows how to gather and analyse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindInfo {
    pub kind: &'static str,
    /// API group, empty for core.
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
    /// Other names accepted on the command line (lower case), besides kind and plural.
    pub aliases: &'static [&'static str],
}

impl KindInfo {
    /// `apiVersion` as written in objects (`v1`, `apps/v1`).
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

const fn k(
    kind: &'static str,
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    namespaced: bool,
    aliases: &'static [&'static str],
) -> KindInfo {
    KindInfo {
        kind,
        group,
        version,
        plural,
        namespaced,
        aliases,
    }
}

/// Every kind explain uses, in gathering order.
pub const KINDS: &[KindInfo] = &[
    k("Deployment", "apps", "v1", "deployments", true, &["deploy"]),
    k("ReplicaSet", "apps", "v1", "replicasets", true, &["rs"]),
    k("StatefulSet", "apps", "v1", "statefulsets", true, &["sts"]),
    k("DaemonSet", "apps", "v1", "daemonsets", true, &["ds"]),
    k(
        "ControllerRevision",
        "apps",
        "v1",
        "controllerrevisions",
        true,
        &[],
    ),
    k("Job", "batch", "v1", "jobs", true, &[]),
    k("CronJob", "batch", "v1", "cronjobs", true, &["cj"]),
    k("Pod", "", "v1", "pods", true, &["po"]),
    k("Service", "", "v1", "services", true, &["svc"]),
    k("Endpoints", "", "v1", "endpoints", true, &["ep"]),
    k(
        "EndpointSlice",
        "discovery.k8s.io",
        "v1",
        "endpointslices",
        true,
        &[],
    ),
    k(
        "Ingress",
        "networking.k8s.io",
        "v1",
        "ingresses",
        true,
        &["ing"],
    ),
    k(
        "IngressClass",
        "networking.k8s.io",
        "v1",
        "ingressclasses",
        false,
        &[],
    ),
    k(
        "PersistentVolumeClaim",
        "",
        "v1",
        "persistentvolumeclaims",
        true,
        &["pvc"],
    ),
    k(
        "PersistentVolume",
        "",
        "v1",
        "persistentvolumes",
        false,
        &["pv"],
    ),
    k(
        "StorageClass",
        "storage.k8s.io",
        "v1",
        "storageclasses",
        false,
        &["sc"],
    ),
    k(
        "HorizontalPodAutoscaler",
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        true,
        &["hpa"],
    ),
    k(
        "PodDisruptionBudget",
        "policy",
        "v1",
        "poddisruptionbudgets",
        true,
        &["pdb"],
    ),
    k("Node", "", "v1", "nodes", false, &["no"]),
    k("Secret", "", "v1", "secrets", true, &[]),
    k("ConfigMap", "", "v1", "configmaps", true, &["cm"]),
    k("ServiceAccount", "", "v1", "serviceaccounts", true, &["sa"]),
    k(
        "ResourceQuota",
        "",
        "v1",
        "resourcequotas",
        true,
        &["quota"],
    ),
    k("Event", "", "v1", "events", true, &["ev"]),
];

/// The kinds a user may name as a target (`explain TYPE/NAME`).
pub const TARGET_KINDS: &[&str] = &[
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "Pod",
    "Service",
    "Ingress",
    "PersistentVolumeClaim",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "Node",
];

/// Look a kind up by its exact `kind` name.
pub fn by_kind(kind: &str) -> Option<&'static KindInfo> {
    KINDS.iter().find(|i| i.kind == kind)
}

/// Resolve what a user typed (`deploy`, `deployments`, `Deployment`, `deployments.apps`).
pub fn resolve(typed: &str) -> Option<&'static KindInfo> {
    let lower = typed.to_ascii_lowercase();
    let name = lower.split_once('.').map_or(lower.as_str(), |(n, _)| n);
    KINDS
        .iter()
        .filter(|i| TARGET_KINDS.contains(&i.kind))
        .find(|i| {
            i.kind.eq_ignore_ascii_case(name) || i.plural == name || i.aliases.contains(&name)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_kubectl_spellings() {
        for typed in [
            "deploy",
            "deployment",
            "deployments",
            "Deployment",
            "deployments.apps",
        ] {
            assert_eq!(
                resolve(typed).map(|i| i.kind),
                Some("Deployment"),
                "{typed}"
            );
        }
        assert_eq!(resolve("po").map(|i| i.kind), Some("Pod"));
        assert_eq!(
            resolve("pvc").map(|i| i.kind),
            Some("PersistentVolumeClaim")
        );
        assert_eq!(
            resolve("hpa").map(|i| i.kind),
            Some("HorizontalPodAutoscaler")
        );
        assert_eq!(resolve("secret"), None, "secrets are context, not targets");
        assert_eq!(resolve("bogus"), None);
    }

    #[test]
    fn api_versions() {
        assert_eq!(by_kind("Pod").unwrap().api_version(), "v1");
        assert_eq!(by_kind("Deployment").unwrap().api_version(), "apps/v1");
    }
}
