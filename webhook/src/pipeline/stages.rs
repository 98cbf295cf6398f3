//! The stages that need no cluster: fetch the commit's tarball and build it (bounded by the
//! build timeout), then push the image and make sure the registry serves the digest the engine
//! reported. Each turns a port's error into the `Stop` the Build records, and runs again
//! (`--retry-pauses`, through `backoff::retry`) when the error is `Transient`: the engine went
//! away, GitHub answered 5xx or timed out, the registry answered the push with a 5xx. Whether
//! an error is transient is the adapter's to say (`ports::PortError`); the adapters themselves
//! do not retry these calls, so a stage is tried at most once per pause plus one.

use mosaic_core::BuildReason;
use std::future::Future;
use std::time::Duration;

use crate::backoff::{self, Policy};

use super::ports::{
    BuildOutput, ImageBuilder, Kind, LogTail, PortError, RegistryCheck, SourceHost,
};
use super::{Stop, Work, fail};

/// Tries of the stages of one run: the pauses (`--retry-pauses`, for each stage anew), and
/// what was retried (for the Build's message).
pub struct Tries {
    policy: Policy,
    pub notes: Vec<String>,
}

impl Tries {
    pub fn new(pauses: &[Duration]) -> Self {
        Self {
            policy: Policy::Pauses(pauses.to_vec()),
            notes: Vec::new(),
        }
    }

    /// Run the stage `what` (`call`, whose error carries a value `E` besides the port's error)
    /// until it succeeds or fails for good; a final error after several tries says how many.
    async fn run<T, E, F, Fut>(&mut self, what: &str, call: F) -> Result<T, (Stop, E)>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, (PortError, E)>>,
    {
        let notes = &mut self.notes;
        let tried = backoff::retry(
            &self.policy,
            |(e, _): &(PortError, E)| e.kind,
            |(e, _), pause| {
                tracing::warn!(stage = what, error = %e, retry_in = ?pause, "transient failure; trying the stage again");
                notes.push(format!("{what}: {e}"));
            },
            call,
        )
        .await;
        tried.map_err(|t| {
            let (e, extra) = t.error;
            let message = match t.tries {
                1 => e.message,
                n => format!("{} (the {what} was tried {n} times)", e.message),
            };
            (fail(e.reason, message), extra)
        })
    }
}

/// Fetch and build `job`'s commit, again while it fails transiently. Returns the build log's
/// tail (of the last try) whatever the outcome.
pub async fn fetch_and_build(
    source: &dyn SourceHost,
    builder: &dyn ImageBuilder,
    timeout: Duration,
    job: &Work,
    tries: &mut Tries,
) -> (Result<BuildOutput, Stop>, String) {
    let once = || fetch_and_build_once(source, builder, timeout, job);
    match tries.run("build", once).await {
        Ok((output, tail)) => (Ok(output), tail),
        Err((stop, tail)) => (Err(stop), tail),
    }
}

async fn fetch_and_build_once(
    source: &dyn SourceHost,
    builder: &dyn ImageBuilder,
    timeout: Duration,
    job: &Work,
) -> Result<(BuildOutput, String), (PortError, String)> {
    let tarball = source
        .tarball(job.token.as_ref(), &job.repo, &job.commit)
        .await
        .map_err(|e| (e, String::new()))?;
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
    match built {
        Err(_) => Err((
            PortError::new(
                Kind::Permanent,
                BuildReason::BuildTimeout,
                format!("build did not finish within {timeout:?}"),
            ),
            tail.text(),
        )),
        Ok(Err(e)) => Err((e, tail.text())),
        Ok(Ok(output)) => Ok((output, tail.text())),
    }
}

/// Push once. The engine can answer `unauthorized` for a registry that failed (dockerd after a
/// run of 5xx answers, seen in the registry drill), so a refusal is checked against the
/// registry itself: when it accepts the Binding's credentials, the push is tried again and the
/// message says why.
async fn push_once(
    builder: &dyn ImageBuilder,
    registry: &dyn RegistryCheck,
    job: &Work,
    image_id: Option<&str>,
) -> Result<String, (PortError, ())> {
    let plan = &job.plan;
    let e = match builder
        .push_image(
            &plan.repository,
            plan.tag_name(),
            image_id,
            job.auth.as_ref(),
        )
        .await
    {
        Ok(digest) => return Ok(digest),
        Err(e) => e,
    };
    if let (Kind::Refused, Some(auth)) = (e.kind, job.auth.as_ref())
        && let Ok(true) = registry.accepts(auth, &plan.registry_host).await
    {
        let message = format!(
            "{e}; yet {} accepts these credentials, so the refusal is taken for a passing registry failure",
            plan.registry_host
        );
        return Err((
            PortError::new(Kind::Transient, BuildReason::PushFailed, message),
            (),
        ));
    }
    Err((e, ()))
}

/// Push the built image (by its id when the build reported one; again while the push fails
/// transiently) and check the registry serves it; returns `repository@digest`.
pub async fn push_and_verify(
    builder: &dyn ImageBuilder,
    registry: &dyn RegistryCheck,
    job: &Work,
    image_id: Option<&str>,
    tries: &mut Tries,
) -> Result<String, Stop> {
    let digest = tries
        .run("push", || push_once(builder, registry, job, image_id))
        .await
        .map_err(|(stop, ())| stop)?;
    let plan = &job.plan;
    let image = mosaic_core::reference::ImageRef::parse_repository(&plan.repository)
        .map_err(|e| fail(BuildReason::InvalidBinding, e))?;
    registry
        .verify_digest(job.auth.as_ref(), &plan.registry_host, &image.path, &digest)
        .await
        .map_err(|e| fail(e.reason, e))?;
    Ok(image.with_digest(&digest))
}

#[cfg(test)]
mod tests;
