//! The stages that need no cluster: fetch the commit's tarball and build it (bounded by the
//! build timeout), then push the image and make sure the registry serves the digest the engine
//! reported. Each turns an adapter error into the `Stop` the Build records.

use std::time::Duration;

use crate::build_log::LogTail;
use crate::context::ContextSummary;
use crate::plan;

use super::ports::{ImageBuilder, RegistryCheck, SourceHost};
use super::{Job, Stop, fail};

/// Fetch and build `job`'s commit. Returns the build log's tail whatever the outcome.
pub async fn fetch_and_build(
    source: &dyn SourceHost,
    builder: &dyn ImageBuilder,
    timeout: Duration,
    job: &Job,
) -> (Result<ContextSummary, Stop>, String) {
    let tarball = match source
        .tarball(job.token.as_ref(), &job.repo, &job.commit)
        .await
    {
        Ok(t) => t,
        Err(e) => return (Err(fail("SourceUnavailable", e)), String::new()),
    };
    let mut tail = LogTail::default();
    let built = tokio::time::timeout(
        timeout,
        builder.build(
            tarball,
            &job.plan,
            &job.commit,
            job.auth.as_ref(),
            &mut tail,
        ),
    )
    .await;
    let result = match built {
        Err(_) => Err(fail(
            "BuildTimeout",
            format!("build did not finish within {timeout:?}"),
        )),
        Ok(Err(e)) => Err(fail(e.reason("BuildFailed"), e)),
        Ok(Ok(summary)) => Ok(summary),
    };
    (result, tail.text())
}

/// Push the built image and check the registry serves it; returns `repository@digest`.
pub async fn push_and_verify(
    builder: &dyn ImageBuilder,
    registry: &dyn RegistryCheck,
    job: &Job,
) -> Result<String, Stop> {
    let plan = &job.plan;
    let short = plan::short_sha(&job.commit);
    let digest = builder
        .push(&plan.repository, short, job.auth.as_ref())
        .await
        .map_err(|e| fail(e.reason("PushFailed"), e))?;
    let image = mosaic_core::reference::ImageRef::parse_repository(&plan.repository)
        .map_err(|e| fail("InvalidBinding", e))?;
    registry
        .verify_digest(job.auth.as_ref(), &plan.registry_host, &image.path, &digest)
        .await
        .map_err(|e| fail("DigestNotServed", e))?;
    Ok(image.with_digest(&digest))
}
