//! `kubectl mosaic status`: a binding, its recent builds with phases and
//! durations, the Deployment's rollout state in words, and the findings of a
//! failed rollout.

use std::fmt::Write as _;

use clap::Args;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use mosaic_core::names::LABEL_BINDING;
use mosaic_core::verdict::Rollout;
use mosaic_core::{Binding, Build, BuildPhase, BuildStatus};

use crate::error::{Error, Outcome};
use crate::kubeconf;
use crate::kubeconf::KubeArgs;
use crate::output::{self, ObjectFormat, Table};

/// How many builds `status` shows per binding.
pub const RECENT_BUILDS: usize = 5;

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The bound Deployment: deployment/NAME (every binding in scope when omitted).
    pub target: Option<String>,
    /// The container, when the Deployment has one binding per container.
    #[arg(long, short = 'c')]
    pub container: Option<String>,
    /// Output format: json or yaml (binding, rollout state and recent builds per binding).
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<ObjectFormat>,
    /// What happened to one commit (7 to 40 hex digits): deployed, superseded, refused, failed,
    /// or never delivered.
    #[arg(long, value_name = "SHA", conflicts_with_all = ["target", "container"])]
    pub commit: Option<String>,
}

/// The machine-readable status of one binding.
#[derive(serde::Serialize)]
pub struct StatusReport<'a> {
    pub binding: &'a Binding,
    pub rollout: String,
    pub builds: Vec<&'a Build>,
    /// The image's registry, when it is reached over plain HTTP.
    #[serde(rename = "plainHttpRegistry", skip_serializing_if = "Option::is_none")]
    pub plain_http_registry: Option<String>,
}

/// The image's registry host when the webhook reaches it over plain HTTP: a loopback address
/// or one of `plain` (the install's `--insecure-registry` list).
pub fn plain_http_registry(binding: &Binding, plain: &[String]) -> Option<String> {
    let r = mosaic_core::reference::ImageRef::parse(&binding.spec.image).ok()?;
    let host = r.registry_host();
    mosaic_core::registry_auth::plain_http(host, plain).then(|| host.to_string())
}

/// The report for one binding (pure): rollout in words and the newest builds first.
pub fn report<'a>(
    binding: &'a Binding,
    deployment: Option<&Deployment>,
    builds: &'a [Build],
    plain: &[String],
) -> StatusReport<'a> {
    let mut mine: Vec<&Build> = builds
        .iter()
        .filter(|b| b.spec.binding == binding.name_any())
        .collect();
    mine.sort_by_key(|b| {
        std::cmp::Reverse(
            b.metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0.as_second()),
        )
    });
    mine.truncate(RECENT_BUILDS);
    StatusReport {
        binding,
        rollout: deployment
            .map(rollout_words)
            .unwrap_or_else(|| format!("deployment/{} not found", binding.spec.deployment)),
        builds: mine,
        plain_http_registry: plain_http_registry(binding, plain),
    }
}

/// A Deployment's rollout state in words, following `kubectl rollout status`. Whether it
/// failed or completed is decided once, in core, as the webhook decides it; this only words it.
pub fn rollout_words(d: &Deployment) -> String {
    match mosaic_core::verdict::rollout_state(d) {
        Rollout::Failed { reason, message } => {
            let what = match reason.as_str() {
                "ProgressDeadlineExceeded" => "progress deadline exceeded",
                other => other,
            };
            let message = if message.is_empty() {
                "no message"
            } else {
                message.as_str()
            };
            format!("failed: {what} ({message})")
        }
        Rollout::Complete => {
            let n = d.spec.replicas.unwrap_or(1);
            format!("complete: {n} of {n} replicas up to date and available")
        }
        Rollout::Waiting(what) => waiting_words(d).unwrap_or(format!("rolling out: {what}")),
    }
}

/// What a rollout that is still going waits for, in `kubectl rollout status`'s order.
fn waiting_words(d: &Deployment) -> Option<String> {
    let Some(st) = d.status.as_ref() else {
        return Some("waiting for the Deployment controller to report status".into());
    };
    if st.observed_generation.unwrap_or(0) < d.metadata.generation.unwrap_or(0) {
        return Some("waiting for the Deployment controller to observe the new spec".into());
    }
    let spec_replicas = d.spec.replicas.unwrap_or(1);
    let updated = st.updated_replicas.unwrap_or(0);
    let replicas = st.replicas.unwrap_or(0);
    let available = st.available_replicas.unwrap_or(0);
    if updated < spec_replicas {
        Some(format!(
            "rolling out: {updated} of {spec_replicas} new replicas updated"
        ))
    } else if replicas > updated {
        Some(format!(
            "rolling out: {} old replicas pending termination",
            replicas - updated
        ))
    } else if available < updated {
        Some(format!(
            "rolling out: {available} of {updated} updated replicas available"
        ))
    } else {
        None
    }
}

/// Seconds a Build took (or has taken so far).
pub fn build_seconds(b: &Build, now: i64) -> Option<i64> {
    let st = b.status.as_ref();
    let times = st.map(|s| &s.phase_times);
    let start = times
        .and_then(|t| t.pending.as_ref())
        .or(b.metadata.creation_timestamp.as_ref())
        .map(|t| t.0.as_second())?;
    let end = times
        .and_then(|t| t.finished.as_ref())
        .map(|t| t.0.as_second());
    match end {
        Some(e) => Some(e - start),
        None if st.is_some_and(|s| s.phase.is_terminal()) => None,
        None => Some(now - start),
    }
}

/// The text `status` prints for one binding (pure).
pub fn render(
    binding: &Binding,
    deployment: Option<&Deployment>,
    builds: &[Build],
    now: i64,
    plain: &[String],
) -> String {
    let r = report(binding, deployment, builds, plain);
    let mut out = String::new();
    write_binding(&mut out, &r);
    if r.builds.is_empty() {
        let _ = writeln!(out, "Builds:      <none>");
        return out;
    }
    write_builds(&mut out, &r.builds, now);
    if let Some(failed) = r.builds.first().and_then(|b| b.status.as_ref())
        && failed.phase == BuildPhase::Failed
    {
        write_failure(&mut out, failed);
    }
    out
}

/// The Binding, what it deploys, and the rollout.
fn write_binding(out: &mut String, r: &StatusReport<'_>) {
    let binding = r.binding;
    let st = binding.status.clone().unwrap_or_default();
    let ns = binding.namespace().unwrap_or_default();
    let _ = writeln!(out, "Binding:     {} (namespace {ns})", binding.name_any());
    let container = binding
        .spec
        .container
        .as_deref()
        .map(|c| format!(" container {c}"))
        .unwrap_or_default();
    let _ = writeln!(out, "Deployment:  {}{container}", binding.spec.deployment);
    let _ = writeln!(
        out,
        "Repository:  {} branch {}",
        binding.spec.repo, binding.spec.branch
    );
    let _ = writeln!(out, "Image:       {}", binding.spec.image);
    if let Some(host) = &r.plain_http_registry {
        let _ = writeln!(
            out,
            "Registry:    {host} over plain HTTP (unencrypted; install --insecure-registry or loopback)"
        );
    }
    if binding.spec.paused {
        let _ = writeln!(
            out,
            "Paused:      yes (pushes are ignored; Builds recorded before end Cancelled)"
        );
    }
    let _ = writeln!(
        out,
        "Last commit: {}",
        output::or_none(st.last_commit.as_deref())
    );
    let _ = writeln!(
        out,
        "Deployed:    {}",
        output::or_none(st.last_image.as_deref())
    );
    let _ = writeln!(out, "Rollout:     {}", r.rollout);
}

/// The recent Builds as a table, newest first.
fn write_builds(out: &mut String, builds: &[&Build], now: i64) {
    let _ = writeln!(out, "Builds:");
    let mut t = Table::new(
        &["name", "commit", "trigger", "phase", "duration", "age"],
        false,
    );
    for b in builds {
        let s = b.status.clone().unwrap_or_default();
        let trigger = match (&b.spec.trigger.user, &b.spec.trigger.pusher) {
            (Some(u), _) => format!("manual by {u}"),
            (None, Some(p)) => format!("push by {p}"),
            _ => format!("{:?}", b.spec.trigger.kind).to_lowercase(),
        };
        t.row(vec![
            b.name_any(),
            output::short_commit(&b.spec.commit),
            trigger,
            s.phase.to_string(),
            build_seconds(b, now).map_or_else(|| "<unknown>".into(), output::human_duration),
            output::age(b.metadata.creation_timestamp.as_ref()),
        ]);
    }
    for line in t.render().lines() {
        let _ = writeln!(out, "  {line}");
    }
}

/// Why the newest Build failed: its reason and message, the rollback, and the findings.
fn write_failure(out: &mut String, s: &BuildStatus) {
    let why = [s.reason.as_deref(), s.message.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(": ");
    let _ = writeln!(out, "Last build failed: {}", output::escape_terminal(&why));
    if s.rolled_back {
        let _ = writeln!(
            out,
            "  rolled back to {}",
            output::or_none(s.previous_image.as_deref())
        );
    }
    for f in &s.findings {
        let _ = writeln!(
            out,
            "  {:?} {} {}/{}: {}",
            f.severity,
            f.slug,
            f.object.kind,
            f.object.name,
            output::escape_terminal(&f.summary)
        );
        for fix in &f.fix {
            let _ = writeln!(out, "    fix: {}", output::escape_terminal(fix));
        }
    }
}

pub async fn run(kube: &KubeArgs, args: StatusArgs) -> Result<Outcome, Error> {
    if let Some(commit) = &args.commit {
        return super::status_commit::run(kube, commit, args.output).await;
    }
    let cluster = kubeconf::connect(kube).await?;
    let all = kube.all_namespaces && args.target.is_none();
    let bapi: Api<Binding> = if all {
        Api::all(cluster.client.clone())
    } else {
        Api::namespaced(cluster.client.clone(), &cluster.namespace)
    };
    let bindings = match &args.target {
        Some(t) => {
            let d = super::parse_deployment_target(t)?;
            vec![
                super::one_binding_for(&bapi, &cluster.namespace, &d, args.container.as_deref())
                    .await?,
            ]
        }
        None => bapi.list(&ListParams::default()).await?.items,
    };
    if bindings.is_empty() {
        eprintln!(
            "{}",
            output::no_resources((!all).then_some(cluster.namespace.as_str()))
        );
        return Ok(Outcome::Success);
    }
    // The registries the webhook reaches over plain HTTP, from its install settings; a webhook
    // this user cannot see leaves only loopback registries marked.
    let plain = crate::locate::plain_http_registries(&cluster.client).await;
    let now = output::now_secs();
    let mut first = true;
    let mut gathered = vec![];
    for b in &bindings {
        let ns = b.namespace().unwrap_or_else(|| cluster.namespace.clone());
        let builds = Api::<Build>::namespaced(cluster.client.clone(), &ns)
            .list(&ListParams::default().labels(&format!("{LABEL_BINDING}={}", b.name_any())))
            .await?
            .items;
        let dep = Api::<Deployment>::namespaced(cluster.client.clone(), &ns)
            .get_opt(&b.spec.deployment)
            .await?;
        if args.output.is_some() {
            gathered.push((b, dep, builds));
            continue;
        }
        if !first {
            println!();
        }
        first = false;
        print!("{}", render(b, dep.as_ref(), &builds, now, &plain));
    }
    if let Some(f) = args.output {
        let reports: Vec<StatusReport> = gathered
            .iter()
            .map(|(b, d, builds)| report(b, d.as_ref(), builds, &plain))
            .collect();
        print!("{}", output::render_list(&reports, f.into())?);
    }
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(v: serde_json::Value) -> Deployment {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn rollout_in_words() {
        let base = |status: serde_json::Value| {
            dep(
                serde_json::json!({"metadata": {"name": "api", "generation": 2},
                "spec": {"replicas": 3, "selector": {}, "template": {}}, "status": status}),
            )
        };
        assert!(
            rollout_words(&base(serde_json::json!({"observedGeneration": 1})))
                .starts_with("waiting")
        );
        assert_eq!(
            rollout_words(&base(
                serde_json::json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1})
            )),
            "rolling out: 1 of 3 new replicas updated"
        );
        assert_eq!(
            rollout_words(&base(
                serde_json::json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3})
            )),
            "rolling out: 1 old replicas pending termination"
        );
        assert_eq!(
            rollout_words(&base(
                serde_json::json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3})
            )),
            "complete: 3 of 3 replicas up to date and available"
        );
        let failed = base(
            serde_json::json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1,
            "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                "message": "ReplicaSet \"api-1\" has timed out progressing."}]}),
        );
        assert_eq!(
            rollout_words(&failed),
            "failed: progress deadline exceeded (ReplicaSet \"api-1\" has timed out progressing.)"
        );
    }

    #[test]
    fn renders_builds_and_findings() {
        let mut b = Binding::new(
            "api",
            serde_json::from_value(serde_json::json!({"deployment": "api", "repo": "acme/api", "image": "r.example.com/api"}))
                .unwrap(),
        );
        b.metadata.namespace = Some("ns".into());
        let build: Build = serde_json::from_value(serde_json::json!({
            "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
            "metadata": {"name": "api-0123456789ab", "namespace": "ns", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"binding": "api", "commit": "0123456789abcdef0123456789abcdef01234567", "ref": "refs/heads/main",
                "trigger": {"type": "push", "pusher": "octocat"}},
            "status": {"phase": "Failed", "reason": "RolloutFailed", "message": "pods crash",
                "phaseTimes": {"pending": "2026-01-01T00:00:00Z", "finished": "2026-01-01T00:02:05Z"},
                "findings": [{"slug": "crash-loop", "severity": "error", "object": {"kind": "Pod", "name": "api-x"},
                    "summary": "The container exits with code 1.", "fix": ["Read the logs."]}]}
        }))
        .unwrap();
        let out = render(&b, None, &[build], 0, &[]);
        assert!(!out.contains("plain HTTP"), "{out}");
        assert!(
            out.contains("Rollout:     deployment/api not found"),
            "{out}"
        );
        assert!(
            out.contains("api-0123456789ab   0123456   push by octocat   Failed   2m5s"),
            "{out}"
        );
        assert!(
            out.contains("Last build failed: RolloutFailed: pods crash"),
            "{out}"
        );
        assert!(
            out.contains("Error crash-loop Pod/api-x: The container exits with code 1."),
            "{out}"
        );
        assert!(out.contains("fix: Read the logs."), "{out}");
    }

    #[test]
    fn a_plain_http_registry_is_said() {
        let b = Binding::new(
            "api",
            serde_json::from_value(serde_json::json!({"deployment": "api", "repo": "acme/api",
                "image": "registry.kube-system.svc:5000/acme/api"}))
            .unwrap(),
        );
        let plain = vec!["registry.kube-system.svc:5000".to_string()];
        let out = render(&b, None, &[], 0, &plain);
        assert!(
            out.contains("Registry:    registry.kube-system.svc:5000 over plain HTTP"),
            "{out}"
        );
        assert!(!render(&b, None, &[], 0, &[]).contains("plain HTTP"));
        let r = report(&b, None, &[], &plain);
        assert_eq!(
            serde_json::to_value(&r).unwrap()["plainHttpRegistry"],
            "registry.kube-system.svc:5000"
        );
    }
}
