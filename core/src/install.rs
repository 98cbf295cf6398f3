//! The install manifests as typed objects: Namespace, ServiceAccount, RBAC
//! binding, the webhook Deployment with its Docker engine sidecar, Service,
//! PodDisruptionBudget, NetworkPolicy and an example Ingress. Every name, port
//! and path comes from [`crate::names`]; `manifests.rs` renders them to YAML.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    HTTPGetAction, Namespace, ObjectFieldSelector, PodSecurityContext, PodSpec, PodTemplateSpec,
    Probe, ResourceRequirements, SeccompProfile, SecretVolumeSource, SecurityContext, Service,
    ServiceAccount, ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, NetworkPolicy, NetworkPolicyIngressRule,
    NetworkPolicyPort, NetworkPolicySpec, ServiceBackendPort,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::ObjectMeta;

use crate::names;

/// Version of the workspace, used as the webhook image tag.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Named port of the webhook container and Service.
pub const PORT_NAME: &str = "http";
/// Port the Service exposes (forwarded to [`names::WEBHOOK_PORT`]).
pub const SERVICE_PORT: i32 = 80;
/// Where the webhook Secret is mounted in the webhook container.
pub const SECRET_MOUNT_DIR: &str = "/etc/mosaic/webhook-secret";
/// Directory shared by the webhook and the Docker engine, holding only the engine's socket. It
/// is not the engine's runtime folder (`/run/docker`, with containerd's socket and the
/// engine's state), which stays private to the engine container.
pub const DOCKER_SOCKET_DIR: &str = "/run/mosaic-engine";
/// Image of the Docker engine sidecar (`install --engine-image` names another).
pub const DOCKER_IMAGE: &str = "docker:28-dind";
/// Name of the webhook container.
pub const WEBHOOK_CONTAINER: &str = "webhook";
/// Name of the Docker engine container.
pub const ENGINE_CONTAINER: &str = "docker";
/// Replicas of the webhook Deployment (builds are claimed, so replicas never race).
pub const REPLICAS: i32 = 2;

/// The webhook image reference, `repository:version`.
pub fn webhook_image() -> String {
    format!("{}:{VERSION}", names::WEBHOOK_IMAGE_REPOSITORY)
}

/// Path of the webhook secret file inside the webhook container.
pub fn webhook_secret_file() -> String {
    format!("{SECRET_MOUNT_DIR}/{}", names::WEBHOOK_SECRET_KEY)
}

/// `unix://` URL of the sidecar engine's socket.
pub fn docker_host() -> String {
    format!("unix://{DOCKER_SOCKET_DIR}/docker.sock")
}

/// Labels on every installed object.
pub fn labels() -> BTreeMap<String, String> {
    let mut l = selector_labels();
    l.insert("app.kubernetes.io/part-of".into(), "mosaic".into());
    l
}

/// Labels selecting the webhook pods.
pub fn selector_labels() -> BTreeMap<String, String> {
    [(
        "app.kubernetes.io/name".to_string(),
        names::WEBHOOK_NAME.to_string(),
    )]
    .into()
}

fn meta(name: &str, namespace: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: namespace.map(str::to_string),
        labels: Some(labels()),
        ..Default::default()
    }
}

fn selector() -> LabelSelector {
    LabelSelector {
        match_labels: Some(selector_labels()),
        ..Default::default()
    }
}

fn quantities(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, Quantity>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
            .collect(),
    )
}

/// The namespace everything namespaced is installed into.
pub fn namespace() -> Namespace {
    Namespace {
        metadata: meta(names::SYSTEM_NAMESPACE, None),
        ..Default::default()
    }
}

/// The webhook's ServiceAccount.
pub fn service_account() -> ServiceAccount {
    ServiceAccount {
        metadata: meta(names::WEBHOOK_NAME, Some(names::SYSTEM_NAMESPACE)),
        ..Default::default()
    }
}

/// Binds the generated ClusterRole to the webhook's ServiceAccount.
pub fn cluster_role_binding() -> ClusterRoleBinding {
    ClusterRoleBinding {
        metadata: meta(names::WEBHOOK_NAME, None),
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "ClusterRole".into(),
            name: names::WEBHOOK_NAME.into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: names::WEBHOOK_NAME.into(),
            namespace: Some(names::SYSTEM_NAMESPACE.into()),
            ..Default::default()
        }]),
    }
}

fn probe(path: &str, period: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String(PORT_NAME.into()),
            ..Default::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(2),
        failure_threshold: Some(3),
        ..Default::default()
    }
}

fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: read_only.then_some(true),
        ..Default::default()
    }
}

fn empty_dir(name: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    }
}

fn field_env(name: &str, path: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The unprivileged webhook container. It starts beside the engine and waits for the engine's
/// socket (`--engine-wait`, logging what it waits for) rather than exiting: that works on every
/// Kubernetes version, where a native sidecar (an init container with `restartPolicy: Always`)
/// needs 1.29 or later and a probe binary in the engine image.
fn webhook_container() -> Container {
    Container {
        name: WEBHOOK_CONTAINER.into(),
        image: Some(webhook_image()),
        args: Some(vec![
            format!("--listen=0.0.0.0:{}", names::WEBHOOK_PORT),
            format!("--webhook-secret-file={}", webhook_secret_file()),
            format!("--docker-host={}", docker_host()),
            "--log-format=json".into(),
            "--identity=$(POD_NAME)".into(),
            // The credentials `install` stores serve Bindings that name none (README, Install).
            format!(
                "--default-github-secret=$(POD_NAMESPACE)/{}",
                names::GITHUB_SECRET_NAME
            ),
            format!(
                "--default-registry-secret=$(POD_NAMESPACE)/{}",
                names::REGISTRY_SECRET_NAME
            ),
        ]),
        env: Some(vec![
            field_env("POD_NAME", "metadata.name"),
            field_env("POD_NAMESPACE", "metadata.namespace"),
        ]),
        ports: Some(vec![ContainerPort {
            name: Some(PORT_NAME.into()),
            container_port: i32::from(names::WEBHOOK_PORT),
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        liveness_probe: Some(probe(names::HEALTHZ_PATH, 10)),
        readiness_probe: Some(probe(names::READYZ_PATH, 5)),
        resources: Some(ResourceRequirements {
            requests: quantities(&[("cpu", "50m"), ("memory", "64Mi")]),
            limits: quantities(&[("cpu", "1"), ("memory", "256Mi")]),
            ..Default::default()
        }),
        security_context: Some(SecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(names::WEBHOOK_UID),
            run_as_group: Some(names::WEBHOOK_UID),
            read_only_root_filesystem: Some(true),
            allow_privilege_escalation: Some(false),
            privileged: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Default::default()
            }),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        volume_mounts: Some(vec![
            mount("webhook-secret", SECRET_MOUNT_DIR, true),
            // Read-only: the webhook only connects to the socket, it never creates files there.
            mount("docker-socket", DOCKER_SOCKET_DIR, true),
            mount("tmp", "/tmp", false),
        ]),
        ..Default::default()
    }
}

/// The Docker engine sidecar: the one privileged container. It has no network
/// port; the webhook reaches it only through the socket in a shared emptyDir,
/// whose group is the webhook's numeric group.
fn docker_container() -> Container {
    Container {
        name: ENGINE_CONTAINER.into(),
        image: Some(DOCKER_IMAGE.into()),
        // `dockerd` first: the image's entrypoint then adds no listener of its own
        // (given only `--flags`, it would add a TCP one); the unix socket is the only one.
        // No env either: an empty `DOCKER_TLS_CERTDIR` would be dropped by the API
        // server and make every server-side apply look like a change.
        args: Some(vec![
            "dockerd".into(),
            format!("--host={}", docker_host()),
            format!("--group={}", names::WEBHOOK_UID),
        ]),
        resources: Some(ResourceRequirements {
            requests: quantities(&[("cpu", "250m"), ("memory", "256Mi")]),
            limits: quantities(&[("cpu", "2"), ("memory", "2Gi")]),
            ..Default::default()
        }),
        security_context: Some(SecurityContext {
            privileged: Some(true),
            ..Default::default()
        }),
        volume_mounts: Some(vec![
            mount("docker-socket", DOCKER_SOCKET_DIR, false),
            mount("docker-data", "/var/lib/docker", false),
        ]),
        ..Default::default()
    }
}

/// The webhook Deployment: 2 replicas of the webhook plus its Docker engine.
pub fn deployment() -> Deployment {
    Deployment {
        metadata: meta(names::WEBHOOK_NAME, Some(names::SYSTEM_NAMESPACE)),
        spec: DeploymentSpec {
            replicas: Some(REPLICAS),
            selector: selector(),
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_unavailable: Some(IntOrString::Int(0)),
                    max_surge: Some(IntOrString::Int(1)),
                }),
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels()),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(names::WEBHOOK_NAME.into()),
                    termination_grace_period_seconds: Some(60),
                    security_context: Some(PodSecurityContext {
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    containers: vec![webhook_container(), docker_container()],
                    volumes: Some(vec![
                        Volume {
                            name: "webhook-secret".into(),
                            secret: Some(SecretVolumeSource {
                                secret_name: Some(names::WEBHOOK_SECRET_NAME.into()),
                                ..Default::default()
                            }),
                            ..Default::default()
                        },
                        empty_dir("docker-socket"),
                        empty_dir("docker-data"),
                        empty_dir("tmp"),
                    ]),
                    ..Default::default()
                }),
            },
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The webhook Service.
pub fn service() -> Service {
    Service {
        metadata: meta(names::WEBHOOK_NAME, Some(names::SYSTEM_NAMESPACE)),
        spec: Some(ServiceSpec {
            selector: Some(selector_labels()),
            ports: Some(vec![ServicePort {
                name: Some(PORT_NAME.into()),
                port: SERVICE_PORT,
                target_port: Some(IntOrString::String(PORT_NAME.into())),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Keeps one webhook pod up through voluntary disruptions.
pub fn pod_disruption_budget() -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: meta(names::WEBHOOK_NAME, Some(names::SYSTEM_NAMESPACE)),
        spec: Some(PodDisruptionBudgetSpec {
            min_available: Some(IntOrString::Int(1)),
            selector: Some(selector()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Admits traffic to the webhook pods on the webhook port only.
pub fn network_policy() -> NetworkPolicy {
    NetworkPolicy {
        metadata: meta(names::WEBHOOK_NAME, Some(names::SYSTEM_NAMESPACE)),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(selector()),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                ports: Some(vec![NetworkPolicyPort {
                    port: Some(IntOrString::Int(i32::from(names::WEBHOOK_PORT))),
                    protocol: Some("TCP".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }]),
            ..Default::default()
        }),
    }
}

/// An example Ingress exposing only the GitHub delivery path.
pub fn ingress_example() -> Ingress {
    Ingress {
        metadata: meta(names::WEBHOOK_NAME, Some(names::SYSTEM_NAMESPACE)),
        spec: Some(IngressSpec {
            tls: Some(vec![IngressTLS {
                hosts: Some(vec!["mosaic.example.com".into()]),
                secret_name: Some("mosaic-webhook-tls".into()),
            }]),
            rules: Some(vec![IngressRule {
                host: Some("mosaic.example.com".into()),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some(names::WEBHOOK_PATH.into()),
                        path_type: "Exact".into(),
                        backend: IngressBackend {
                            service: Some(IngressServiceBackend {
                                name: names::WEBHOOK_NAME.into(),
                                port: Some(ServiceBackendPort {
                                    name: Some(PORT_NAME.into()),
                                    ..Default::default()
                                }),
                            }),
                            ..Default::default()
                        },
                    }],
                }),
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_docker_sidecar_is_privileged() {
        let d = deployment();
        let pod = d.spec.template.spec.unwrap();
        let privileged: Vec<&str> = pod
            .containers
            .iter()
            .filter(|c| c.security_context.as_ref().and_then(|s| s.privileged) == Some(true))
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(privileged, ["docker"]);
        let web = &pod.containers[0];
        let sc = web.security_context.as_ref().unwrap();
        assert_eq!(sc.run_as_non_root, Some(true));
        assert_eq!(sc.read_only_root_filesystem, Some(true));
        assert_eq!(
            sc.capabilities.as_ref().unwrap().drop.as_deref(),
            Some(&["ALL".to_string()][..])
        );
        assert!(web.ports.as_ref().unwrap()[0].container_port == i32::from(names::WEBHOOK_PORT));
        // The engine has no port and no TCP listener: it is reached through the socket only.
        let docker = &pod.containers[1];
        assert!(docker.ports.is_none());
        let args = docker.args.clone().unwrap();
        assert_eq!(
            args[0], "dockerd",
            "the entrypoint must not add its default listeners"
        );
        assert!(args.iter().all(|a| !a.contains("tcp://")), "{args:?}");
        // Empty strings do not survive the API server and make applies look like changes.
        for c in &pod.containers {
            for e in c.env.iter().flatten() {
                assert_ne!(
                    e.value.as_deref(),
                    Some(""),
                    "{}: empty env {}",
                    c.name,
                    e.name
                );
            }
        }
    }

    #[test]
    fn the_webhook_reads_its_secret_from_the_mounted_file() {
        let d = deployment();
        let pod = d.spec.template.spec.unwrap();
        let args = pod.containers[0].args.clone().unwrap();
        assert!(args.contains(&format!("--webhook-secret-file={SECRET_MOUNT_DIR}/secret")));
        let vol = pod
            .volumes
            .unwrap()
            .into_iter()
            .find(|v| v.name == "webhook-secret")
            .unwrap();
        assert_eq!(
            vol.secret.unwrap().secret_name.as_deref(),
            Some(names::WEBHOOK_SECRET_NAME)
        );
    }
}
