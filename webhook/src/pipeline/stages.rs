//! The stages that need no cluster: fetch the commit's tarball and build it (bounded by the
//! build timeout), then push the image and make sure the registry serves the digest the engine
//! reported. Each turns an adapter error into the `Stop` the Build records, and runs again (a
//! bounded number of times, with pauses) when the error is transient: the engine went away,
//! GitHub answered 5xx or timed out, the registry answered the push with a 5xx.

use mosaic_core::BuildReason;
use std::time::Duration;

use crate::adapters::docker::EngineError;
use crate::adapters::docker::build_log::LogTail;
use crate::pipeline::context::{ContextError, ContextSummary};

use super::ports::{ImageBuilder, RegistryCheck, SourceHost};
use super::{Stop, Work, fail};

/// A stage's failure, and whether running the stage again may succeed.
struct Failure {
    stop: Stop,
    transient: bool,
}

/// May the same build or push succeed if run again? The engine was away, the download of the
/// tarball broke off, or the registry answered with a 5xx (dockerd's own retries included).
pub fn engine_transient(e: &EngineError) -> bool {
    match e {
        EngineError::Unreachable(_) => true,
        EngineError::Context(ContextError::Read(e)) => super::ports::broke_off(e),
        EngineError::Push { message, .. } => names_a_5xx(message),
        EngineError::Context(_) | EngineError::Build(_) | EngineError::Labels(_) => false,
    }
}

/// Does `message` carry an HTTP 5xx status: `status: 503`, `500 Internal Server Error`?
pub fn names_a_5xx(message: &str) -> bool {
    let words: Vec<&str> = message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().enumerate().any(|(i, w)| {
        let is_5xx = w.len() == 3 && w.parse::<u16>().is_ok_and(|n| (500..600).contains(&n));
        let after_status = i > 0 && words[i - 1].eq_ignore_ascii_case("status");
        let reason_follows = words
            .get(i + 1)
            .is_some_and(|n| n.starts_with(|c: char| c.is_ascii_uppercase()));
        is_5xx && (after_status || reason_follows)
    })
}

/// Tries of the stages of one run: the pauses left, and what was retried (for the message).
pub struct Retry<'a> {
    pauses: &'a [Duration],
    pub notes: Vec<String>,
}

impl<'a> Retry<'a> {
    pub fn new(pauses: &'a [Duration]) -> Self {
        Self {
            pauses,
            notes: Vec::new(),
        }
    }

    /// After failed attempt `attempt` (from 1) of `what`: pause and return `Ok` to try again,
    /// or the stop to end with (saying how many tries there were).
    async fn again(&mut self, what: &str, attempt: usize, f: Failure) -> Result<(), Stop> {
        match self.pauses.get(attempt - 1) {
            Some(&pause) if f.transient => {
                let why = match &f.stop {
                    Stop::Failed { message, .. } => message.clone(),
                    other => format!("{other:?}"),
                };
                tracing::warn!(stage = what, error = %why, retry_in = ?pause, "transient failure; trying the stage again");
                self.notes.push(format!("{what}: {why}"));
                tokio::time::sleep(pause).await;
                Ok(())
            }
            _ if attempt > 1 => Err(match f.stop {
                Stop::Failed {
                    reason,
                    message,
                    findings,
                    rolled_back,
                } => Stop::Failed {
                    reason,
                    message: format!("{message} (the {what} was tried {attempt} times)"),
                    findings,
                    rolled_back,
                },
                other => other,
            }),
            _ => Err(f.stop),
        }
    }
}

/// Fetch and build `job`'s commit, again while it fails transiently. Returns the build log's
/// tail (of the last try) whatever the outcome.
pub async fn fetch_and_build(
    source: &dyn SourceHost,
    builder: &dyn ImageBuilder,
    timeout: Duration,
    job: &Work,
    retry: &mut Retry<'_>,
) -> (Result<ContextSummary, Stop>, String) {
    for attempt in 1.. {
        let (r, tail) = fetch_and_build_once(source, builder, timeout, job).await;
        match r {
            Ok(summary) => return (Ok(summary), tail),
            Err(f) => {
                if let Err(stop) = retry.again("build", attempt, f).await {
                    return (Err(stop), tail);
                }
            }
        }
    }
    unreachable!("every try returns or tries again")
}

async fn fetch_and_build_once(
    source: &dyn SourceHost,
    builder: &dyn ImageBuilder,
    timeout: Duration,
    job: &Work,
) -> (Result<ContextSummary, Failure>, String) {
    let tarball = match source
        .tarball(job.token.as_ref(), &job.repo, &job.commit)
        .await
    {
        Ok(t) => t,
        Err(e) => {
            let transient = e.is_transient();
            let stop = fail(BuildReason::SourceUnavailable, e);
            return (Err(Failure { stop, transient }), String::new());
        }
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
        Err(_) => Err(Failure {
            stop: fail(
                BuildReason::BuildTimeout,
                format!("build did not finish within {timeout:?}"),
            ),
            transient: false,
        }),
        Ok(Err(e)) => Err(Failure {
            transient: engine_transient(&e),
            stop: fail(e.reason(BuildReason::BuildFailed), e),
        }),
        Ok(Ok(summary)) => Ok(summary),
    };
    (result, tail.text())
}

/// A failed push, and whether to try it again. The engine can answer `unauthorized` for a
/// registry that failed (dockerd after a run of 5xx answers, seen in the registry drill), so a
/// refusal is checked against the registry itself: when it accepts the Binding's credentials,
/// the push is tried again and the message says why.
async fn push_failure(registry: &dyn RegistryCheck, job: &Work, e: EngineError) -> Failure {
    let transient = engine_transient(&e);
    let refused = matches!(&e, EngineError::Push { message, .. } if names_a_refusal(message));
    if let (false, true, Some(auth)) = (transient, refused, job.auth.as_ref())
        && let Ok(true) = registry.accepts(auth, &job.plan.registry_host).await
    {
        let message = format!(
            "{e}; yet {} accepts these credentials, so the refusal is taken for a passing registry failure",
            job.plan.registry_host
        );
        return Failure {
            stop: fail(BuildReason::PushFailed, message),
            transient: true,
        };
    }
    Failure {
        stop: fail(e.reason(BuildReason::PushFailed), e),
        transient,
    }
}

/// Does an engine's push error say the registry refused the credentials?
pub fn names_a_refusal(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("unauthorized") || m.contains("authentication required")
}

/// Push the built image (by its id when the build reported one; again while the push fails
/// transiently) and check the registry serves it; returns `repository@digest`.
pub async fn push_and_verify(
    builder: &dyn ImageBuilder,
    registry: &dyn RegistryCheck,
    job: &Work,
    image_id: Option<&str>,
    retry: &mut Retry<'_>,
) -> Result<String, Stop> {
    let plan = &job.plan;
    let mut attempt = 0;
    let digest = loop {
        attempt += 1;
        match builder
            .push_image(
                &plan.repository,
                plan.tag_name(),
                image_id,
                job.auth.as_ref(),
            )
            .await
        {
            Ok(d) => break d,
            Err(e) => {
                let failure = push_failure(registry, job, e).await;
                retry.again("push", attempt, failure).await?;
            }
        }
    };
    let image = mosaic_core::reference::ImageRef::parse_repository(&plan.repository)
        .map_err(|e| fail(BuildReason::InvalidBinding, e))?;
    registry
        .verify_digest(job.auth.as_ref(), &plan.registry_host, &image.path, &digest)
        .await
        .map_err(|e| fail(BuildReason::DigestNotServed, e))?;
    Ok(image.with_digest(&digest))
}
