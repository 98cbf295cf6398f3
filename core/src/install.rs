//! The install manifests as typed objects, the parts both Deployments share: Namespace, a
//! ServiceAccount and ClusterRoleBinding per part (intake, builder), the Service and
//! PodDisruptionBudget of the intake and an example Ingress. The Deployments live in
//! `install_pods`, the NetworkPolicies in `netpol`. Every name, port and path comes from
//! [`crate::names`]; `manifests.rs` renders them to YAML.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Namespace, Service, ServiceAccount, ServicePort, ServiceSpec};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::ObjectMeta;

pub use crate::install_pods::{builder_deployment, intake_deployment};
use crate::names;
pub use crate::netpol::{builder_network_policy, intake_network_policy};
use crate::rbac::Part;

/// Version of the workspace, the webhook image's tag (`images::tests` checks the lock).
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
/// Name of the webhook container.
pub const WEBHOOK_CONTAINER: &str = "webhook";
/// Name of the Docker engine container.
pub const ENGINE_CONTAINER: &str = "docker";
/// Replicas of the intake Deployment.
pub const INTAKE_REPLICAS: i32 = 2;
/// Replicas of the builder Deployment by default (`install --builders N`); Builds are
/// claimed, so replicas never race.
pub const BUILDER_REPLICAS: i32 = 2;

/// The Docker engine sidecar's image by default, pinned by digest (`manifests/images.lock`).
pub use crate::images::engine_image;
/// The webhook image by default, `repository:version@sha256:…` (`manifests/images.lock`).
pub use crate::images::webhook_image;

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
    [
        (
            "app.kubernetes.io/name".to_string(),
            names::WEBHOOK_NAME.to_string(),
        ),
        (
            "app.kubernetes.io/part-of".to_string(),
            "mosaic".to_string(),
        ),
    ]
    .into()
}

/// Labels selecting the pods of `part`.
pub fn part_selector_labels(part: Part) -> BTreeMap<String, String> {
    [
        (
            "app.kubernetes.io/name".to_string(),
            names::WEBHOOK_NAME.to_string(),
        ),
        (
            "app.kubernetes.io/component".to_string(),
            part.component().to_string(),
        ),
    ]
    .into()
}

/// Labels selecting the intake pods; `kubectl mosaic version` and `status` find the
/// installed intake Deployment by them.
pub fn selector_labels() -> BTreeMap<String, String> {
    part_selector_labels(Part::Intake)
}

/// Labels on the objects of one part.
pub fn part_labels(part: Part) -> BTreeMap<String, String> {
    let mut l = labels();
    l.extend(part_selector_labels(part));
    l
}

pub(crate) fn meta(name: &str, namespace: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: namespace.map(str::to_string),
        labels: Some(labels()),
        ..Default::default()
    }
}

pub(crate) fn part_meta(part: Part) -> ObjectMeta {
    ObjectMeta {
        labels: Some(part_labels(part)),
        ..meta(part.name(), Some(names::SYSTEM_NAMESPACE))
    }
}

pub(crate) fn selector(part: Part) -> LabelSelector {
    LabelSelector {
        match_labels: Some(part_selector_labels(part)),
        ..Default::default()
    }
}

pub(crate) fn quantities(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, Quantity>> {
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

/// The ServiceAccount of `part`. Its token is not mounted by default: each pod projects it
/// into the one container that calls the API (`install_pods`).
pub fn service_account(part: Part) -> ServiceAccount {
    ServiceAccount {
        metadata: part_meta(part),
        automount_service_account_token: Some(false),
        ..Default::default()
    }
}

/// Binds the ClusterRole of `part` to its ServiceAccount.
pub fn cluster_role_binding(part: Part) -> ClusterRoleBinding {
    ClusterRoleBinding {
        metadata: ObjectMeta {
            namespace: None,
            ..part_meta(part)
        },
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "ClusterRole".into(),
            name: part.name().into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: part.name().into(),
            namespace: Some(names::SYSTEM_NAMESPACE.into()),
            ..Default::default()
        }]),
    }
}

/// The webhook Service: routes deliveries to the intake pods.
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

/// Keeps one intake pod up through voluntary disruptions.
pub fn pod_disruption_budget() -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: part_meta(Part::Intake),
        spec: Some(PodDisruptionBudgetSpec {
            min_available: Some(IntOrString::Int(1)),
            selector: Some(selector(Part::Intake)),
            ..Default::default()
        }),
        ..Default::default()
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
