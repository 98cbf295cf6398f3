//! Rolling a Deployment to a digest, in three separate steps:
//! - `apply`: server-side apply of only the container image and the commit and Build
//!   annotations (field manager `mosaic-webhook`, forced, conditional on the resourceVersion
//!   read before the latest-wins check: see `plan::deployment_taken_by`);
//! - `Watch`: one look at the rollout at a time, judged by `mosaic_core::verdict` (the one
//!   place that decides Succeeded and Failed) from the Deployment and its new pods, until a
//!   verdict, a newer Build taking the Deployment over, or `--rollout-timeout` (an API server
//!   that is briefly away is waited for);
//! - `roll_back`: the previous pod template applied back exactly (image and annotations), under
//!   the same guard, so the previous ReplicaSet, whose pods are still warm, scales back up as
//!   with `kubectl rollout undo`.

use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::BoxStream;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use mosaic_core::explain::{self, Finding};
use mosaic_core::names;
use mosaic_core::resources::{Binding, Build};
use mosaic_core::verdict::{Failure, Judge, Policy, Step};

use crate::claim::Claimed;
use crate::pipeline::{Ctx, Stop, fail, list_siblings, siblings};
use crate::plan;
use crate::transient::{API_RETRY_BUDGET, is_transient, retry};

/// How often the outcome is re-read without a change to the Deployment (new pods failing show
/// up here; the Deployment's own changes wake the loop at once through a watch).
const POLL: Duration = Duration::from_millis(500);
/// Conditional applies tried before giving up on a Deployment that keeps changing.
const APPLY_ATTEMPTS: usize = 8;

/// Changes to the rolled Deployment; `None` once the watch failed, leaving only the poll.
type Changes = Option<BoxStream<'static, Result<Deployment, watcher::Error>>>;

fn watch_changes(api: &Api<Deployment>, name: &str) -> Changes {
    let cfg = watcher::Config::default().fields(&format!("metadata.name={name}"));
    Some(watcher(api.clone(), cfg).applied_objects().boxed())
}

/// Wait until the Deployment changes or `POLL` passes, whichever is first.
async fn changed_or_poll(changes: &mut Changes) {
    let Some(stream) = changes.as_mut() else {
        return tokio::time::sleep(POLL).await;
    };
    let broken = tokio::select! {
        ev = stream.next() => match ev {
            Some(Ok(_)) => false,
            Some(Err(e)) => {
                tracing::debug!(error = %e, "Deployment watch failed; polling instead");
                true
            }
            None => true,
        },
        () = tokio::time::sleep(POLL) => false,
    };
    if broken {
        *changes = None;
    }
}

/// The pod template's Mosaic annotations: which commit and Build it runs (`None`: absent).
#[derive(Debug, Clone, Copy)]
pub struct Marks<'a> {
    pub commit: Option<&'a str>,
    pub build: Option<&'a str>,
}

/// Server-side apply `image` and `marks` (an absent mark is left out, so this field manager
/// releases it) to one container of `dep`. With `resource_version`, the API server refuses
/// (409) if the Deployment changed since.
pub async fn apply_image(
    api: &Api<Deployment>,
    dep: &str,
    container: &str,
    image: &str,
    marks: Marks<'_>,
    resource_version: Option<&str>,
) -> Result<(), kube::Error> {
    let commit = marks.commit.unwrap_or_default();
    let mut patch = plan::rollout_patch(
        dep,
        container,
        image,
        commit,
        marks.build.unwrap_or_default(),
    );
    if let Some(a) = patch["spec"]["template"]["metadata"]["annotations"].as_object_mut() {
        if marks.commit.is_none() {
            a.remove(names::ANNOTATION_COMMIT);
        }
        if marks.build.is_none() {
            a.remove(names::ANNOTATION_BUILD);
        }
    }
    if let Some(rv) = resource_version {
        patch["metadata"]["resourceVersion"] = rv.into();
    }
    api.patch(
        dep,
        &PatchParams::apply(names::FIELD_MANAGER_WEBHOOK).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map(|_| ())
}

/// How a guarded apply ended.
enum Guarded {
    Applied,
    /// This newer Build stands in the way.
    Blocked(Box<Build>),
}

/// Which newer sibling forbids an apply.
type Blocker = for<'a> fn(&Build, &'a [Build]) -> Option<&'a Build>;

/// Apply `image` unless `blocker` finds a newer Build in the way. The order matters (see
/// `plan::deployment_taken_by`): read the Deployment, then list the Builds, then apply
/// conditionally on the resourceVersion read first; on a conflict start again.
#[allow(clippy::too_many_arguments)]
async fn guarded_apply(
    ctx: &Ctx,
    claimed: &Claimed,
    api: &Api<Deployment>,
    dep_name: &str,
    container: &str,
    image: &str,
    marks: Marks<'_>,
    blocker: Blocker,
) -> Result<Guarded, Stop> {
    let me = claimed.build().await;
    let bname = me.metadata.name.clone().unwrap_or_default();
    for _ in 0..APPLY_ATTEMPTS {
        let dep = api.get(dep_name).await.map_err(|e| {
            fail(
                "ClusterUnreachable",
                format!("reading Deployment {dep_name}: {e}"),
            )
        })?;
        let all = siblings(&ctx.client, &me).await?;
        if let Some(newer) = blocker(&me, &all) {
            return Ok(Guarded::Blocked(Box::new(newer.clone())));
        }
        let rv = dep.metadata.resource_version.as_deref();
        match apply_image(api, dep_name, container, image, marks, rv).await {
            Ok(()) => return Ok(Guarded::Applied),
            Err(kube::Error::Api(s)) if s.code == 409 => {
                tracing::debug!(build = %bname, deployment = dep_name, "Deployment changed; checking again");
            }
            Err(e) => {
                return Err(fail(
                    "RolloutApplyFailed",
                    format!("applying image to Deployment {dep_name}: {e}"),
                ));
            }
        }
    }
    Err(fail(
        "RolloutApplyFailed",
        format!(
            "Deployment {dep_name} changed during each of {APPLY_ATTEMPTS} attempts to apply the image"
        ),
    ))
}

/// The new pods of `build`'s rollout: those of `dep` whose template names this Build.
async fn new_pods(
    client: &kube::Client,
    ns: &str,
    dep: &Deployment,
    build: &str,
) -> Result<Vec<Pod>, kube::Error> {
    let selector = dep
        .spec
        .selector
        .match_labels
        .as_ref()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let pods = Api::<Pod>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels(&selector))
        .await?;
    Ok(pods
        .items
        .into_iter()
        .filter(|p| {
            p.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(names::ANNOTATION_BUILD))
                .map(String::as_str)
                == Some(build)
        })
        .collect())
}

/// The Events of `ns` (for the words of a failure and the explain engine); none when they
/// cannot be read.
async fn events(client: &kube::Client, ns: &str) -> Vec<Event> {
    Api::<Event>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
}

/// Findings about the new pods, their ReplicaSets and Deployment, from the explain engine.
async fn diagnose(
    client: &kube::Client,
    ns: &str,
    dep: &Deployment,
    pods: &[Pod],
    events: &[Event],
) -> Vec<Finding> {
    let mut objects = vec![serde_json::to_value(dep).unwrap_or_default()];
    let uid = dep.metadata.uid.clone().unwrap_or_default();
    if let Ok(rs) = Api::<ReplicaSet>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
    {
        objects.extend(
            rs.items
                .iter()
                .filter(|r| {
                    r.metadata
                        .owner_references
                        .iter()
                        .flatten()
                        .any(|o| o.uid == uid)
                })
                .filter_map(|r| serde_json::to_value(r).ok()),
        );
    }
    objects.extend(pods.iter().filter_map(|p| serde_json::to_value(p).ok()));
    objects.extend(events.iter().filter_map(|e| serde_json::to_value(e).ok()));
    // The verdict already decided this rollout failed: report what the young objects show.
    let options = explain::Options {
        now: Some(chrono::Utc::now()),
        settle: false,
    };
    explain::explain(objects, &options).findings
}

/// What `apply` changed, and the template it replaced (for `roll_back`).
pub struct Applied {
    container: String,
    previous: Option<Previous>,
    /// Set when the image was taken over from another field manager (`ownership`).
    pub took_over: Option<String>,
}

/// The pod template before the rollout, as far as Mosaic's apply touches it.
struct Previous {
    image: String,
    commit: Option<String>,
    build: Option<String>,
}

/// The value of annotation `key` on `dep`'s pod template.
fn template_mark(dep: &Deployment, key: &str) -> Option<String> {
    dep.spec
        .template
        .metadata
        .as_ref()?
        .annotations
        .as_ref()?
        .get(key)
        .cloned()
}

/// Roll `binding`'s Deployment to `image`, unless a newer Build is in the way. The caller has
/// already written phase RollingOut (the announcement the guard relies on).
pub async fn apply(
    ctx: &Ctx,
    claimed: &Claimed,
    build: &Build,
    binding: &Binding,
    image: &str,
) -> Result<Applied, Stop> {
    let ns = build.metadata.namespace.clone().unwrap_or_default();
    let bname = build.metadata.name.clone().unwrap_or_default();
    let dep_name = &binding.spec.deployment;
    let api = Api::<Deployment>::namespaced(ctx.client.clone(), &ns);
    let dep = retry("reading the Deployment", API_RETRY_BUDGET, || {
        api.get(dep_name)
    })
    .await
    .map_err(|e| {
        fail(
            "DeploymentNotFound",
            format!("Deployment {ns}/{dep_name}: {e}"),
        )
    })?;
    let container =
        plan::pick_container(&binding.spec, &dep).map_err(|e| fail("InvalidBinding", e))?;
    // On a retry after a crash the Deployment may already run this image: keep the first
    // previous template recorded.
    let recorded = claimed.build().await.status.and_then(|s| {
        s.previous_image.map(|image| Previous {
            image,
            commit: s.previous_commit,
            build: s.previous_build,
        })
    });
    let previous = recorded.or_else(|| {
        plan::container_image(&dep, &container)
            .filter(|i| i != image)
            .map(|image| Previous {
                image,
                commit: template_mark(&dep, names::ANNOTATION_COMMIT),
                build: template_mark(&dep, names::ANNOTATION_BUILD),
            })
    });
    let prev = previous
        .as_ref()
        .map(|p| (p.image.clone(), p.commit.clone(), p.build.clone()));
    claimed
        .update(move |s| {
            if let Some((image, commit, build)) = prev.clone() {
                s.previous_image = Some(image);
                s.previous_commit = commit;
                s.previous_build = build;
            }
        })
        .await?;
    let took_over =
        crate::ownership::settle(&api, binding, &container, image, &build.spec.commit, &bname)
            .await?;
    let marks = Marks {
        commit: Some(build.spec.commit.as_str()),
        build: Some(bname.as_str()),
    };
    let latest: Blocker =
        |me, all| plan::newer_build(me, all).or_else(|| plan::deployment_taken_by(me, all));
    match guarded_apply(
        ctx, claimed, &api, dep_name, &container, image, marks, latest,
    )
    .await?
    {
        Guarded::Applied => {}
        Guarded::Blocked(newer) => return Err(Stop::superseded_by(&newer)),
    }
    tracing::info!(build = %bname, deployment = %dep_name, image, "rollout applied");
    Ok(Applied {
        container,
        previous,
        took_over,
    })
}

/// A rollout being watched: each `next` is one look, judged by `mosaic_core::verdict`.
pub struct Watch<'a> {
    ctx: &'a Ctx,
    claimed: &'a Claimed,
    api: Api<Deployment>,
    ns: String,
    build: String,
    dep_name: String,
    judge: Judge,
    deadline: Instant,
    changes: Changes,
    unreachable: bool,
    first: bool,
    /// The Deployment and new pods of the last look.
    last: Option<(Deployment, Vec<Pod>)>,
}

impl<'a> Watch<'a> {
    /// Start watching the rollout of `build` (already applied) to `binding`'s Deployment.
    pub async fn start(
        ctx: &'a Ctx,
        claimed: &'a Claimed,
        build: &Build,
        binding: &Binding,
    ) -> Result<Watch<'a>, Stop> {
        let ns = build.metadata.namespace.clone().unwrap_or_default();
        let dep_name = binding.spec.deployment.clone();
        let api = Api::<Deployment>::namespaced(ctx.client.clone(), &ns);
        let dep = retry("reading the Deployment", API_RETRY_BUDGET, || {
            api.get(&dep_name)
        })
        .await
        .map_err(|e| {
            fail(
                "ClusterUnreachable",
                format!("reading Deployment {dep_name}: {e}"),
            )
        })?;
        let policy = Policy::for_rollout(binding.spec.verify.as_ref(), &dep, ctx.verify)
            .map_err(|e| fail("InvalidBinding", e))?;
        let changes = watch_changes(&api, &dep_name);
        Ok(Watch {
            ctx,
            claimed,
            api,
            ns,
            build: build.metadata.name.clone().unwrap_or_default(),
            dep_name,
            judge: Judge::new(policy),
            deadline: Instant::now() + ctx.rollout_timeout,
            changes,
            unreachable: false,
            first: true,
            last: None,
        })
    }

    /// The policy this rollout is judged by.
    pub fn policy(&self) -> Policy {
        self.judge.policy()
    }

    /// Wait for a change (or the poll), then look once. A newer Build taking the Deployment
    /// over ends the watch as superseded.
    pub async fn next(&mut self) -> Result<Step, Stop> {
        if !std::mem::replace(&mut self.first, false) {
            changed_or_poll(&mut self.changes).await;
        }
        loop {
            let me = self.claimed.build().await;
            let read = async {
                let dep = self.api.get(&self.dep_name).await?;
                let all = list_siblings(&self.ctx.client, &me).await?;
                let pods = new_pods(&self.ctx.client, &self.ns, &dep, &self.build).await?;
                Ok::<_, kube::Error>((dep, all, pods))
            };
            let (dep, all, pods) = match read.await {
                Ok(r) => r,
                // An API server restarting is waited for, up to the deadline (one warning).
                Err(e) if is_transient(&e) && Instant::now() < self.deadline => {
                    if !std::mem::replace(&mut self.unreachable, true) {
                        tracing::warn!(build = %self.build, error = %e, "cannot read the rollout; waiting for the API server");
                    }
                    tokio::time::sleep(POLL).await;
                    continue;
                }
                Err(e) => {
                    return Err(fail(
                        "ClusterUnreachable",
                        format!("reading the Deployment, its pods and Builds: {e}"),
                    ));
                }
            };
            if std::mem::replace(&mut self.unreachable, false) {
                tracing::info!(build = %self.build, "the API server answers again; watching the rollout");
            }
            // A newer Build took the Deployment over: what happens now is its rollout, not ours.
            if let Some(newer) = plan::deployment_taken_by(&me, &all) {
                return Err(Stop::superseded_by(newer));
            }
            let now = Instant::now();
            let mut step = self.judge.step(now, &dep, &pods);
            if let Step::Progressing(what) = &step
                && now >= self.deadline
            {
                step = Step::Failed(self.judge.timed_out(self.ctx.rollout_timeout, what, &pods));
            }
            self.last = Some((dep, pods));
            return Ok(step);
        }
    }

    /// A failed rollout's message (its root cause in words) and the explain engine's findings.
    pub async fn describe(&mut self, failure: &Failure) -> (String, Vec<Finding>) {
        let Some((dep, pods)) = &self.last else {
            return (failure.cause(&[], &[]), Vec::new());
        };
        let events = events(&self.ctx.client, &self.ns).await;
        let cause = failure.cause(pods, &events);
        let mut findings = diagnose(&self.ctx.client, &self.ns, dep, pods, &events).await;
        // A crash caught at its first exit is not yet a crash loop to the explain engine.
        if let Some(f) = failure.crash_finding(pods)
            && !findings.iter().any(|x| x.object == f.object)
        {
            findings.insert(0, f);
        }
        (cause, findings)
    }
}

/// Apply the template `applied` replaced back (exactly: image and annotations), unless a newer
/// Build took the Deployment over. Returns whether it was rolled back, or why not.
pub async fn roll_back(
    ctx: &Ctx,
    claimed: &Claimed,
    binding: &Binding,
    ns: &str,
    applied: &Applied,
) -> Result<(), String> {
    let Some(prev) = &applied.previous else {
        return Err("there is no previous image to roll back to".into());
    };
    let api = Api::<Deployment>::namespaced(ctx.client.clone(), ns);
    let dep_name = &binding.spec.deployment;
    let marks = Marks {
        commit: prev.commit.as_deref(),
        build: prev.build.as_deref(),
    };
    let taken: Blocker = plan::deployment_taken_by;
    let c = &applied.container;
    match guarded_apply(ctx, claimed, &api, dep_name, c, &prev.image, marks, taken).await {
        Ok(Guarded::Applied) => {
            tracing::warn!(deployment = %dep_name, image = %prev.image, "rolled back");
            Ok(())
        }
        Ok(Guarded::Blocked(newer)) => Err(format!(
            "not rolled back: {} is rolling out",
            newer.metadata.name.unwrap_or_default()
        )),
        Err(e) => {
            tracing::error!(error = ?e, "rollback failed");
            Err("not rolled back: the previous image could not be applied".into())
        }
    }
}
