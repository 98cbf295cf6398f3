//! Applying an image to a Deployment and applying the previous template back, both under the
//! latest-wins guard (`latest::deployment_taken_by`): read the Deployment, list the Builds, apply
//! conditionally on the resourceVersion read first.

use k8s_openapi::api::apps::v1::Deployment;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use mosaic_core::BuildReason;
use mosaic_core::names;
use mosaic_core::resources::{Binding, Build};

use crate::cluster::claim::Claimed;
use crate::cluster::retry::{api_budget, retry};
use crate::pipeline::latest::{self, siblings};
use crate::pipeline::{Ctx, Stop, fail, plan};

/// Conditional applies tried before giving up on a Deployment that keeps changing.
const APPLY_ATTEMPTS: usize = 8;

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

/// One apply of `image` to `container` of Deployment `deployment`, with `marks`, unless
/// `blocker` finds a newer Build in the way.
struct Apply<'a> {
    api: &'a Api<Deployment>,
    deployment: &'a str,
    container: &'a str,
    image: &'a str,
    marks: Marks<'a>,
    blocker: Blocker,
}

/// Make `apply` unless its blocker finds a newer Build in the way. The order matters (see
/// `latest::deployment_taken_by`): read the Deployment, then list the Builds, then apply
/// conditionally on the resourceVersion read first; on a conflict start again.
async fn guarded_apply(ctx: &Ctx, claimed: &Claimed, apply: Apply<'_>) -> Result<Guarded, Stop> {
    let Apply {
        api,
        deployment: dep_name,
        container,
        image,
        marks,
        blocker,
    } = apply;
    let me = claimed.build().await;
    let bname = me.name_any();
    for _ in 0..APPLY_ATTEMPTS {
        let dep = api.get(dep_name).await.map_err(|e| {
            fail(
                BuildReason::ClusterUnreachable,
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
                    BuildReason::RolloutApplyFailed,
                    format!("applying image to Deployment {dep_name}: {e}"),
                ));
            }
        }
    }
    Err(fail(
        BuildReason::RolloutApplyFailed,
        format!(
            "Deployment {dep_name} changed during each of {APPLY_ATTEMPTS} attempts to apply the image"
        ),
    ))
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
    let bname = build.name_any();
    let dep_name = &binding.spec.deployment;
    let api = Api::<Deployment>::namespaced(ctx.client.clone(), &ns);
    let dep = retry("reading the Deployment", api_budget(), || api.get(dep_name))
        .await
        .map_err(|e| {
            fail(
                BuildReason::DeploymentNotFound,
                format!("Deployment {ns}/{dep_name}: {e}"),
            )
        })?;
    let container = plan::pick_container(&binding.spec, &dep)
        .map_err(|e| fail(BuildReason::InvalidBinding, e))?;
    let previous = record_previous(claimed, &dep, &container, image).await?;
    let took_over = crate::pipeline::rollout::ownership::settle(
        &api,
        binding,
        &container,
        image,
        &build.spec.commit,
        &bname,
    )
    .await?;
    let marks = Marks {
        commit: Some(build.spec.commit.as_str()),
        build: Some(bname.as_str()),
    };
    let latest: Blocker =
        |me, all| latest::newer_build(me, all).or_else(|| latest::deployment_taken_by(me, all));
    let apply = Apply {
        api: &api,
        deployment: dep_name,
        container: &container,
        image,
        marks,
        blocker: latest,
    };
    match guarded_apply(ctx, claimed, apply).await? {
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

/// The template `image` replaces in `container` of `dep` (none when it already runs `image`),
/// recorded in the Build's status before the apply. On a retry after a crash the Deployment may
/// already run this image: the first previous template recorded is kept.
async fn record_previous(
    claimed: &Claimed,
    dep: &Deployment,
    container: &str,
    image: &str,
) -> Result<Option<Previous>, Stop> {
    let recorded = claimed.build().await.status.and_then(|s| {
        s.previous_image.map(|image| Previous {
            image,
            commit: s.previous_commit,
            build: s.previous_build,
        })
    });
    let previous = recorded.or_else(|| {
        plan::container_image(dep, container)
            .filter(|i| i != image)
            .map(|image| Previous {
                image,
                commit: template_mark(dep, names::ANNOTATION_COMMIT),
                build: template_mark(dep, names::ANNOTATION_BUILD),
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
    Ok(previous)
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
    let apply = Apply {
        api: &api,
        deployment: dep_name,
        container: &applied.container,
        image: &prev.image,
        marks,
        blocker: latest::deployment_taken_by,
    };
    match guarded_apply(ctx, claimed, apply).await {
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
