//! Every name that more than one component must agree on: the API group,
//! kinds, annotation and label keys, field managers, ports and paths.
//! Defined once here; everything else imports them.

/// API group of Mosaic's custom resources.
pub const API_GROUP: &str = "mosaic.nectar.dev";
/// API version of Mosaic's custom resources.
pub const API_VERSION: &str = "v1alpha1";
/// `apiVersion` string, `group/version`.
pub const API_GROUP_VERSION: &str = "mosaic.nectar.dev/v1alpha1";

/// Kind of the Binding custom resource.
pub const KIND_BINDING: &str = "Binding";
/// Kind of the Build custom resource.
pub const KIND_BUILD: &str = "Build";

/// Field manager used by the kubectl plugin for server-side apply.
pub const FIELD_MANAGER_PLUGIN: &str = "kubectl-mosaic";
/// Field manager used by the in-cluster webhook for server-side apply.
pub const FIELD_MANAGER_WEBHOOK: &str = "mosaic-webhook";
/// Field manager that holds the builder Deployment's replicas, at their value then, while
/// `install --builder-autoscale` hands them from install to the HPA (install stops applying
/// them; without a second owner the API server would reset them to 1).
pub const FIELD_MANAGER_AUTOSCALE_HANDOVER: &str = "mosaic-autoscale-handover";
/// Generic field manager name (tests and tooling that speak for Mosaic as a whole).
pub const FIELD_MANAGER: &str = "mosaic";

/// Annotation on the pod template: the commit the running image was built from.
pub const ANNOTATION_COMMIT: &str = "mosaic.nectar.dev/commit";
/// Annotation on the pod template: the Build that rolled the Deployment.
pub const ANNOTATION_BUILD: &str = "mosaic.nectar.dev/build";
/// Annotation on a Build: when its push was received (RFC 3339, nanoseconds). Orders Builds of
/// one Binding for latest-wins; Builds without it fall back to their creation time.
pub const ANNOTATION_PUSHED_AT: &str = "mosaic.nectar.dev/pushed-at";
/// Label on a Build naming its Binding (for cheap list filtering).
pub const LABEL_BINDING: &str = "mosaic.nectar.dev/binding";
/// Label on a Build carrying the full commit SHA.
pub const LABEL_COMMIT: &str = "mosaic.nectar.dev/commit";
/// Standard label: the component managing an object.
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";

/// OCI image label: source repository URL.
pub const OCI_LABEL_SOURCE: &str = "org.opencontainers.image.source";
/// OCI image label: VCS revision.
pub const OCI_LABEL_REVISION: &str = "org.opencontainers.image.revision";
/// OCI image label: creation time (RFC 3339).
pub const OCI_LABEL_CREATED: &str = "org.opencontainers.image.created";

/// Namespace the webhook is installed into by default.
pub const SYSTEM_NAMESPACE: &str = "mosaic-system";
/// Name of the webhook program: its Service (routing to the intake), Event source and the
/// `app.kubernetes.io/name` label shared by every installed object.
pub const WEBHOOK_NAME: &str = "mosaic-webhook";
/// Name of the intake Deployment, ServiceAccount and ClusterRole: verifies deliveries and
/// records Builds; no engine, no credentials.
pub const INTAKE_NAME: &str = "mosaic-intake";
/// Name of the builder Deployment, ServiceAccount and ClusterRole: claims and runs Builds with
/// its Docker engine sidecar.
pub const BUILDER_NAME: &str = "mosaic-builder";
/// Name of the Secret holding the GitHub webhook secret(s).
pub const WEBHOOK_SECRET_NAME: &str = "mosaic-webhook-secret";
/// Delivery bodies the intake holds at once, all deliveries together, in MiB (its
/// `--max-inflight-mib` default; the intake's memory limit follows from it).
pub const INTAKE_INFLIGHT_MIB: u64 = 64;
/// Deliveries the intake handles at once (its `--max-requests` default).
pub const INTAKE_MAX_REQUESTS: u16 = 64;
/// Port the webhook listens on.
pub const WEBHOOK_PORT: u16 = 8080;
/// Path GitHub delivers to.
pub const WEBHOOK_PATH: &str = "/webhooks/github";
/// Liveness path.
pub const HEALTHZ_PATH: &str = "/healthz";
/// Readiness path.
pub const READYZ_PATH: &str = "/readyz";
/// Prometheus metrics path.
pub const METRICS_PATH: &str = "/metrics";

/// Default branch when a Binding names none.
pub const DEFAULT_BRANCH: &str = "main";
/// Default Dockerfile path when a Binding names none.
pub const DEFAULT_DOCKERFILE: &str = "Dockerfile";
/// Default build context when a Binding names none.
pub const DEFAULT_CONTEXT: &str = ".";

/// Key in the webhook Secret holding the GitHub webhook secret.
pub const WEBHOOK_SECRET_KEY: &str = "secret";
/// Secret (in the install namespace) with the GitHub token `install` stores, under [`GITHUB_TOKEN_KEY`].
pub const GITHUB_SECRET_NAME: &str = "mosaic-github";
/// Key of a GitHub token in a Secret a Binding names in `githubSecret`.
pub const GITHUB_TOKEN_KEY: &str = "token";
/// `kubernetes.io/dockerconfigjson` Secret (in the install namespace) with the registry credentials `install` stores.
pub const REGISTRY_SECRET_NAME: &str = "mosaic-registry";
/// Key of the registry credentials in a `kubernetes.io/dockerconfigjson` Secret (install's
/// default, a Binding's `registrySecret`, a Deployment's image pull Secrets).
pub const REGISTRY_CONFIG_KEY: &str = ".dockerconfigjson";
/// Type of a Secret holding registry credentials under [`REGISTRY_CONFIG_KEY`].
pub const REGISTRY_SECRET_TYPE: &str = "kubernetes.io/dockerconfigjson";
/// Numeric user and group the webhook image and Deployment run as.
pub const WEBHOOK_UID: i64 = 65532;
