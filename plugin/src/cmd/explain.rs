//! `kubectl mosaic explain`: gathers objects (live, or offline with `-f`), runs the
//! pure engine, keeps the findings the target is involved in, and renders them.

use std::io::IsTerminal;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use mosaic_core::explain::probe;
use mosaic_core::explain::{self, Finding, Severity, catalog};
use serde_json::Value;

use crate::error::{Error, Outcome};
use crate::explain::render::{self, Format};
use crate::explain::scope::{self, Target};
use crate::explain::{ingest, live};
use crate::kubeconf;
use crate::kubeconf::KubeArgs;

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  kubectl mosaic explain deploy/api -n shop\n  kubectl mosaic explain -A -o json\n  \
kubectl mosaic explain -f dump/ deploy/api          # a `kubectl cluster-info dump --output-directory` tree\n  \
kubectl get pods,events -o yaml | kubectl mosaic explain -f -\n  kubectl mosaic explain --list"
)]
pub struct ExplainArgs {
    /// What to explain: TYPE/NAME (e.g. deploy/api) or TYPE; everything in scope when omitted.
    pub target: Option<String>,
    /// Explain objects from a file, a directory (e.g. `kubectl cluster-info dump --output-directory`) or `-` for stdin, instead of the cluster. Repeatable.
    #[arg(short = 'f', long = "filename", value_name = "FILE|DIR|-")]
    pub filename: Vec<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    pub output: Format,
    /// Add a short explanation of the concepts involved to every finding.
    #[arg(long)]
    pub learn: bool,
    /// Exit with code 1 when a finding at or above this severity is reported.
    #[arg(long, value_enum, default_value_t = FailOn::Error, value_name = "LEVEL")]
    pub fail_on: FailOn,
    /// List every finding code (slug) with its title, and exit.
    #[arg(long)]
    pub list: bool,
    /// Reference time for time-dependent checks, RFC 3339 (default: now when live; the newest timestamp in the input with -f).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// With svc/NAME or ingress/NAME: check the Service from inside the cluster with a short-lived cURL pod (DNS, ClusterIP, each endpoint), deleted afterwards.
    #[arg(long)]
    pub probe: bool,
    /// The image of the probe pod (needs sh and curl); name a mirror where the default cannot be pulled.
    #[arg(long, value_name = "IMAGE", default_value = probe::DEFAULT_IMAGE)]
    pub probe_image: String,
    /// How long the probe pod may take, from creation to its last check (30s, 2m).
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub probe_timeout: String,
}

/// `--fail-on` levels.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    Error,
    Warning,
    Never,
}

impl FailOn {
    fn trips(self, findings: &[Finding]) -> bool {
        let floor = match self {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
            FailOn::Never => return false,
        };
        findings.iter().any(|f| f.severity >= floor)
    }
}

pub async fn run(kube: &KubeArgs, args: ExplainArgs) -> Result<Outcome, Error> {
    if args.list {
        print!("{}", list_modes(args.output)?);
        return Ok(Outcome::Success);
    }
    let target = args
        .target
        .as_deref()
        .map(scope::parse_target)
        .transpose()
        .map_err(Error::Usage)?;
    let now = args
        .now
        .as_deref()
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    Error::Usage(format!(
                        "invalid --now {s:?}: {e}; use RFC 3339, e.g. 2024-05-01T12:00:00Z"
                    ))
                })
        })
        .transpose()?;
    let probing = args
        .probe
        .then(|| probe_target(target.as_ref(), &args))
        .transpose()?;
    let mut client = None;
    let mut for_probe = None;
    let (input, namespace, mut notes, now) = if args.filename.is_empty() {
        let (objects, namespace, notes, c) = gather_live(kube, target.as_ref()).await?;
        client = Some(c);
        if probing.is_some() {
            for_probe = Some(objects.clone());
        }
        (
            explain::Input::from(objects),
            namespace,
            notes,
            now.or_else(|| Some(Utc::now())),
        )
    } else {
        let input = read_offline(&args.filename)?;
        let namespace = if kube.all_namespaces {
            None
        } else {
            kube.namespace.clone()
        };
        (input, namespace, Vec::new(), now)
    };
    let (mut findings, engine_notes) =
        analyse_then_exit(input, target.as_ref(), namespace.as_deref(), now)?;
    notes.extend(engine_notes);
    if let (Some(timeout), Some(objects), Some(client), Some(t)) =
        (probing, for_probe, client.as_ref(), target.as_ref())
    {
        let ns = namespace.as_deref().unwrap_or("default");
        let services = crate::explain::probe::services(&objects, t, ns);
        for name in services {
            let ix = explain::Index::build(objects.clone());
            let Some(svc) = ix.get("Service", Some(ns), &name) else {
                continue;
            };
            let checks = explain::probe::plan(svc, &ix);
            let ran =
                crate::explain::probe::run(client, ns, &checks, &args.probe_image, timeout).await?;
            crate::explain::probe::attach(&mut findings, &mut notes, &name, ran, timeout);
        }
    }
    emit(&findings, &notes, &args);
    Ok(if args.fail_on.trips(&findings) {
        Outcome::Findings
    } else {
        Outcome::Success
    })
}

async fn gather_live(
    kube: &KubeArgs,
    target: Option<&Target>,
) -> Result<(Vec<Value>, Option<String>, Vec<String>, kube::Client), Error> {
    let cluster = kubeconf::connect(kube).await?;
    let cluster_scoped = target.is_some_and(|t| !t.kind.namespaced);
    if kube.all_namespaces && target.is_some_and(|t| t.name.is_some() && t.kind.namespaced) {
        return Err(Error::Usage(
            "a resource cannot be retrieved by name across all namespaces; drop -A and pass -n NAMESPACE".into(),
        ));
    }
    let namespace = if kube.all_namespaces || cluster_scoped {
        None
    } else {
        Some(cluster.namespace.clone())
    };
    let fetch = live::KubeFetch {
        client: cluster.client.clone(),
    };
    let g = live::gather(&fetch, namespace.as_deref()).await?;
    tracing::debug!(objects = g.objects.len(), namespace = ?namespace, "gathered");
    Ok((g.objects, namespace, g.notes, cluster.client))
}

/// Reads `-f` input, one file at a time, into the engine's input.
fn read_offline(paths: &[PathBuf]) -> Result<explain::Input, Error> {
    let mut input = explain::Input::new();
    for p in paths {
        let read = if p.as_os_str() == "-" {
            ingest::read_stdin(std::io::stdin().lock()).map(|more| input.extend(more))
        } else {
            ingest::read_path_into(p, &mut input)
        };
        read.map_err(|e| Error::Input(e.to_string()))?;
    }
    Ok(input)
}

/// Select what the target reaches (or the namespace), run the engine, keep the findings that involve the selection.
pub fn analyse(
    objects: Vec<Value>,
    target: Option<&Target>,
    namespace: Option<&str>,
    now: Option<DateTime<Utc>>,
) -> Result<(Vec<Finding>, Vec<String>), Error> {
    analyse_input(explain::Input::from(objects), target, namespace, now)
}

/// [`analyse`] of an engine input gathered one object at a time.
pub fn analyse_input(
    input: explain::Input,
    target: Option<&Target>,
    namespace: Option<&str>,
    now: Option<DateTime<Utc>>,
) -> Result<(Vec<Finding>, Vec<String>), Error> {
    analyse_with(input, target, namespace, now, explain::explain_input)
}

/// [`analyse_input`] for the command, which exits once it has the findings: the
/// engine's index is left to the exit to free (see `explain_input_then_exit`).
fn analyse_then_exit(
    input: explain::Input,
    target: Option<&Target>,
    namespace: Option<&str>,
    now: Option<DateTime<Utc>>,
) -> Result<(Vec<Finding>, Vec<String>), Error> {
    analyse_with(
        input,
        target,
        namespace,
        now,
        explain::explain_input_then_exit,
    )
}

/// [`analyse_input`] with the engine entry to run (`explain_input`, or
/// `explain_input_then_exit` in a process about to exit).
fn analyse_with(
    mut input: explain::Input,
    target: Option<&Target>,
    namespace: Option<&str>,
    now: Option<DateTime<Utc>>,
    engine: fn(explain::Input, &explain::Options) -> explain::Report,
) -> Result<(Vec<Finding>, Vec<String>), Error> {
    let (selected, involved) = match target {
        Some(t) => {
            let sel = scope::select(input, t, namespace).ok_or_else(|| not_found(t, namespace))?;
            (sel.objects, Some(sel.involved))
        }
        None => {
            if let Some(ns) = namespace {
                // Namespaced objects of `ns`, and cluster-scoped objects (nodes, volumes,
                // classes); Events by their own namespace (those about cluster-scoped
                // objects carry one too).
                input.retain(
                    |o| object_namespace(o).is_none_or(|n| n == ns),
                    |e| e.namespace.as_deref() == Some(ns),
                    |n| n == Some(ns),
                );
            }
            (input, None)
        }
    };
    let report = engine(
        selected,
        &explain::Options {
            now,
            ..explain::Options::default()
        },
    );
    let findings = match involved {
        Some(set) => report
            .findings
            .into_iter()
            .filter(|f| scope::involves(f, &set))
            .collect(),
        None => report.findings,
    };
    Ok((findings, report.notes))
}

fn not_found(t: &Target, namespace: Option<&str>) -> Error {
    let msg = match namespace.filter(|_| t.kind.namespaced) {
        Some(ns) => format!("{} not found in namespace {ns:?}", t.label()),
        None => format!("{} not found", t.label()),
    };
    Error::NotFound(msg)
}

/// `metadata.namespace` of an object (`None` for cluster-scoped objects).
fn object_namespace(o: &explain::tree::Value) -> Option<&str> {
    o.pointer("/metadata/namespace")
        .and_then(explain::tree::Value::as_str)
        .filter(|s| !s.is_empty())
}

fn emit(findings: &[Finding], notes: &[String], args: &ExplainArgs) {
    let colour = args.output == Format::Text
        && crate::output::colour_allowed(
            std::io::stdout().is_terminal(),
            std::env::var("TERM").ok().as_deref(),
            std::env::var_os("NO_COLOR").is_some(),
        );
    print!(
        "{}",
        render::render(findings, notes, args.output, args.learn, colour)
    );
    for n in notes {
        eprintln!("note: {n}");
    }
    if findings.is_empty() {
        eprintln!("No problems found.");
    } else if args.output == Format::Text {
        eprintln!("{}", render::tally(findings));
    }
}

fn list_modes(format: Format) -> Result<String, Error> {
    let modes = catalog();
    match format {
        Format::Text => {
            let width = modes.iter().map(|m| m.slug.len()).max().unwrap_or(0);
            let mut out = String::new();
            for m in modes {
                let mark = if m.implemented {
                    ""
                } else {
                    "  (not implemented)"
                };
                out.push_str(&format!("{:width$}   {}{mark}\n", m.slug, m.title));
            }
            Ok(out)
        }
        Format::Json | Format::Yaml => {
            let items: Vec<Value> = modes
                .iter()
                .map(|m| {
                    serde_json::json!({"slug": m.slug, "title": m.title, "kinds": m.kinds,
                        "explanation": m.explanation, "implemented": m.implemented})
                })
                .collect();
            let doc = serde_json::json!({ "modes": items });
            if format == Format::Json {
                serde_json::to_string_pretty(&doc)
                    .map(|s| s + "\n")
                    .map_err(|e| Error::Other(e.to_string()))
            } else {
                serde_yaml::to_string(&doc).map_err(|e| Error::Other(e.to_string()))
            }
        }
    }
}

/// `--probe` is for one named Service or Ingress, live; returns its timeout.
fn probe_target(target: Option<&Target>, args: &ExplainArgs) -> Result<std::time::Duration, Error> {
    if !args.filename.is_empty() {
        return Err(Error::Usage(
            "--probe checks a live cluster from inside; it cannot run with -f".into(),
        ));
    }
    match target {
        Some(t) if t.name.is_some() && matches!(t.kind.kind, "Service" | "Ingress") => {
            mosaic_core::duration::parse_flag(&args.probe_timeout)
                .map_err(|e| Error::Usage(format!("--probe-timeout: {e}")))
        }
        _ => Err(Error::Usage(
            "--probe needs one Service or Ingress: explain svc/NAME --probe or explain ingress/NAME --probe".into(),
        )),
    }
}
