//! The two Deployments `install` runs, as typed objects:
//! - `mosaic-intake` verifies GitHub deliveries and records Builds (`--concurrency 0`): one
//!   unprivileged container, no engine, no socket, no credentials;
//! - `mosaic-builder` claims and runs Builds: the unprivileged webhook container plus its
//!   privileged Docker engine sidecar, which share only the engine's socket.
//!
//! Neither pod mounts a ServiceAccount token by default; the token is projected only into the
//! container that calls the API. Every volume has a size limit and every container an
//! ephemeral-storage limit.

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapProjection, Container, ContainerPort, DownwardAPIProjection,
    DownwardAPIVolumeFile, EmptyDirVolumeSource, EnvVar, EnvVarSource, HTTPGetAction, KeyToPath,
    ObjectFieldSelector, PodSecurityContext, PodSpec, PodTemplateSpec, Probe,
    ProjectedVolumeSource, ResourceRequirements, SeccompProfile, SecretVolumeSource,
    SecurityContext, ServiceAccountTokenProjection, Volume, VolumeMount, VolumeProjection,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::ObjectMeta;

use crate::install::{
    DOCKER_SOCKET_DIR, ENGINE_CONTAINER, PORT_NAME, SECRET_MOUNT_DIR, WEBHOOK_CONTAINER,
    docker_host, engine_image, part_labels, part_meta, quantities, selector, webhook_image,
    webhook_secret_file,
};
use crate::names;
use crate::rbac::Part;

/// Where the API token, CA and namespace are projected (where clients look for them).
pub const TOKEN_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// Name of the projected volume holding the API token.
pub const TOKEN_VOLUME: &str = "kube-api-access";
/// Size limit of the engine's image store (`docker-data`): the disk a builder's engine may use.
pub const ENGINE_DISK: &str = "20Gi";
/// What the builder prunes its engine back under (`--engine-disk-budget`): four fifths of the
/// image store, leaving room for the build under way when the pass runs.
pub const ENGINE_DISK_BUDGET: &str = "16Gi";
/// The intake's memory besides delivery bodies, in MiB: the runtime, the HTTP and API clients,
/// the Binding watch cache (it grows with the number of Bindings: raise it with them).
pub const INTAKE_BASE_MIB: u64 = 64;

/// The intake's memory limit in MiB: its base plus twice the delivery bodies it may hold at
/// once (`--max-inflight-mib`): a body, and the push parsed from it.
pub fn intake_memory_limit_mib() -> u64 {
    INTAKE_BASE_MIB + 2 * names::INTAKE_INFLIGHT_MIB
}

/// The engine container's ephemeral-storage limit: its image store plus 1 GiB of its own
/// (the kubelet evicts a pod whose volumes and containers together pass the sum of the
/// containers' limits, so this must cover the image store).
pub const ENGINE_EPHEMERAL_LIMIT: &str = "21Gi";

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

fn empty_dir(name: &str, size_limit: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource {
            size_limit: Some(Quantity(size_limit.into())),
            ..Default::default()
        }),
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

/// The ServiceAccount token, the cluster CA and the namespace, as the kubelet would mount them
/// automatically, but as a volume only the API-calling container mounts.
fn token_volume() -> Volume {
    Volume {
        name: TOKEN_VOLUME.into(),
        projected: Some(ProjectedVolumeSource {
            sources: Some(vec![
                VolumeProjection {
                    service_account_token: Some(ServiceAccountTokenProjection {
                        path: "token".into(),
                        expiration_seconds: Some(3607),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                VolumeProjection {
                    config_map: Some(ConfigMapProjection {
                        name: "kube-root-ca.crt".into(),
                        items: Some(vec![KeyToPath {
                            key: "ca.crt".into(),
                            path: "ca.crt".into(),
                            ..Default::default()
                        }]),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                VolumeProjection {
                    downward_api: Some(DownwardAPIProjection {
                        items: Some(vec![DownwardAPIVolumeFile {
                            path: "namespace".into(),
                            field_ref: Some(ObjectFieldSelector {
                                field_path: "metadata.namespace".into(),
                                ..Default::default()
                            }),
                            ..Default::default()
                        }]),
                    }),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn restricted() -> SecurityContext {
    SecurityContext {
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
    }
}

/// The unprivileged `mosaic-webhook` container of either part, with `args` after the common ones.
fn webhook_container(args: Vec<String>, memory_limit: &str, mounts: Vec<VolumeMount>) -> Container {
    let mut all = vec![
        format!("--listen=0.0.0.0:{}", names::WEBHOOK_PORT),
        "--log-format=json".into(),
        "--identity=$(POD_NAME)".into(),
    ];
    all.extend(args);
    let mut volume_mounts = vec![
        mount(TOKEN_VOLUME, TOKEN_DIR, true),
        mount("tmp", "/tmp", false),
    ];
    volume_mounts.extend(mounts);
    Container {
        name: WEBHOOK_CONTAINER.into(),
        image: Some(webhook_image()),
        args: Some(all),
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
            requests: quantities(&[
                ("cpu", "50m"),
                ("memory", "64Mi"),
                ("ephemeral-storage", "16Mi"),
            ]),
            limits: quantities(&[
                ("cpu", "1"),
                ("memory", memory_limit),
                ("ephemeral-storage", "64Mi"),
            ]),
            ..Default::default()
        }),
        security_context: Some(restricted()),
        volume_mounts: Some(volume_mounts),
        ..Default::default()
    }
}

/// The Docker engine sidecar: the one privileged container. It has no network port and no API
/// token; the webhook reaches it only through the socket in a shared emptyDir, whose group is
/// the webhook's numeric group.
fn docker_container() -> Container {
    Container {
        name: ENGINE_CONTAINER.into(),
        image: Some(engine_image()),
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
            requests: quantities(&[
                ("cpu", "250m"),
                ("memory", "256Mi"),
                ("ephemeral-storage", "1Gi"),
            ]),
            limits: quantities(&[
                ("cpu", "2"),
                ("memory", "2Gi"),
                ("ephemeral-storage", ENGINE_EPHEMERAL_LIMIT),
            ]),
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

fn deployment(
    part: Part,
    replicas: i32,
    containers: Vec<Container>,
    volumes: Vec<Volume>,
) -> Deployment {
    let mut all_volumes = vec![token_volume(), empty_dir("tmp", "32Mi")];
    all_volumes.extend(volumes);
    Deployment {
        metadata: part_meta(part),
        spec: DeploymentSpec {
            replicas: Some(replicas),
            selector: selector(part),
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_unavailable: Some(IntOrString::Int(0)),
                    max_surge: Some(IntOrString::Int(1)),
                }),
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(part_labels(part)),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(part.name().into()),
                    automount_service_account_token: Some(false),
                    termination_grace_period_seconds: Some(60),
                    security_context: Some(PodSecurityContext {
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    containers,
                    volumes: Some(all_volumes),
                    ..Default::default()
                }),
            },
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The intake: verifies deliveries and records Builds. No engine, no socket, no credentials;
/// its `/readyz` waits only for the Binding watch.
pub fn intake_deployment() -> Deployment {
    deployment(
        Part::Intake,
        crate::install::INTAKE_REPLICAS,
        vec![webhook_container(
            vec![
                format!("--webhook-secret-file={}", webhook_secret_file()),
                "--concurrency=0".into(),
                format!("--max-requests={}", names::INTAKE_MAX_REQUESTS),
                format!("--max-inflight-mib={}", names::INTAKE_INFLIGHT_MIB),
            ],
            &format!("{}Mi", intake_memory_limit_mib()),
            vec![mount("webhook-secret", SECRET_MOUNT_DIR, true)],
        )],
        // Only the intake verifies deliveries: the builders never see the webhook secret.
        vec![Volume {
            name: "webhook-secret".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(names::WEBHOOK_SECRET_NAME.into()),
                ..Default::default()
            }),
            ..Default::default()
        }],
    )
}

/// The builders: claim and run Builds, each with its own Docker engine.
pub fn builder_deployment() -> Deployment {
    let webhook = webhook_container(
        vec![
            format!("--docker-host={}", docker_host()),
            format!("--engine-disk-budget={ENGINE_DISK_BUDGET}"),
            // The credentials `install` stores serve Bindings that name none (README, Install).
            format!(
                "--default-github-secret=$(POD_NAMESPACE)/{}",
                names::GITHUB_SECRET_NAME
            ),
            format!(
                "--default-registry-secret=$(POD_NAMESPACE)/{}",
                names::REGISTRY_SECRET_NAME
            ),
        ],
        "256Mi",
        // Read-only: the webhook only connects to the socket, it never creates files there.
        vec![mount("docker-socket", DOCKER_SOCKET_DIR, true)],
    );
    deployment(
        Part::Builder,
        crate::install::BUILDER_REPLICAS,
        vec![webhook, docker_container()],
        vec![
            empty_dir("docker-socket", "1Mi"),
            empty_dir("docker-data", ENGINE_DISK),
        ],
    )
}

#[cfg(test)]
mod tests;
