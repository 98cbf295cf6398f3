//! Test doubles for the `ports` traits: GitHub (a tarball answer, statuses that record, fail
//! or wait for a gate), the engine (scripted build outcome, builds lost to a vanished engine,
//! scripted push failures, a fixed digest, a hook during the push) and a registry that serves
//! a set of digests. Their failures are the adapters' own errors, classified by the adapters,
//! so the fakes fail exactly as the real ports do.

use std::collections::HashSet;
use std::sync::Mutex;

use futures::future::BoxFuture;
use mosaic_core::reference::RepoName;

use mosaic_core::BuildReason;
use mosaic_core::registry_auth::RegistryAuth;

use super::ports::{
    BuildOutput, ByteStream, ImageBuilder, LogTail, PortError, RegistryCheck, SourceHost,
};
use crate::adapters::docker::EngineError;
use crate::adapters::github::GitHubError;
use crate::adapters::registry::RegistryError;
use crate::pipeline::plan::BuildPlan;
use crate::pipeline::ports::{CommitState, Token};

pub const DIGEST: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// GitHub: a tarball answer and statuses that either record or fail.
#[derive(Default)]
pub struct FakeGitHub {
    pub missing: bool,
    /// This many tarball requests first answer 502.
    pub tarball_errors: usize,
    /// Tarball requests made.
    pub tarballs: std::sync::atomic::AtomicUsize,
    pub statuses_fail: bool,
    pub statuses: Mutex<Vec<(CommitState, String)>>,
    /// When set, each status report waits for a permit (a GitHub that does not answer yet).
    pub gate: Option<std::sync::Arc<tokio::sync::Semaphore>>,
}

impl SourceHost for FakeGitHub {
    fn tarball<'a>(
        &'a self,
        _: Option<&'a Token>,
        repo: &'a RepoName,
        commit: &'a str,
    ) -> BoxFuture<'a, Result<ByteStream, PortError>> {
        Box::pin(async move {
            let n = self
                .tarballs
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let answer = |status, message: &str| {
                Err(GitHubError::Status {
                    what: format!("the tarball of {repo}@{commit}"),
                    status,
                    message: message.into(),
                }
                .port(BuildReason::SourceUnavailable))
            };
            if self.missing {
                return answer(404, "Not Found");
            }
            if n < self.tarball_errors {
                return answer(502, "Bad Gateway");
            }
            let chunk: Result<bytes::Bytes, std::io::Error> = Ok(bytes::Bytes::from_static(b"tgz"));
            Ok(Box::pin(futures::stream::iter([chunk])) as ByteStream)
        })
    }

    fn status<'a>(
        &'a self,
        _: Option<&'a Token>,
        repo: &'a RepoName,
        commit: &'a str,
        _context: &'a str,
        state: CommitState,
        description: &'a str,
    ) -> BoxFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            if let Some(gate) = &self.gate {
                gate.acquire().await.expect("gate open").forget();
            }
            if self.statuses_fail {
                return Err(GitHubError::Status {
                    what: format!("the commit status of {repo}@{commit}"),
                    status: 500,
                    message: "Server Error".into(),
                }
                .port(BuildReason::GitHubUnavailable));
            }
            self.statuses
                .lock()
                .unwrap()
                .push((state, description.to_string()));
            Ok(())
        })
    }
}

/// The engine: logs some lines, fails the build with `build_error` if set, pushes `DIGEST`.
#[derive(Default)]
pub struct FakeEngine {
    pub build_error: Option<String>,
    /// Builds started.
    pub builds: std::sync::atomic::AtomicUsize,
    /// This many builds first fail as if the engine went away.
    pub lost_builds: usize,
    /// Push failures to answer with first, in order.
    pub push_errors: Mutex<Vec<String>>,
    pub pushed: Mutex<Vec<String>>,
    /// Runs during the push (e.g. a newer push lands meanwhile).
    pub on_push: Option<Box<dyn Fn() + Send + Sync>>,
}

impl ImageBuilder for FakeEngine {
    fn build<'a>(
        &'a self,
        _: ByteStream,
        plan: &'a BuildPlan,
        _: &'a str,
        _: Option<&'a RegistryAuth>,
        tail: &'a mut LogTail,
    ) -> BoxFuture<'a, Result<BuildOutput, PortError>> {
        Box::pin(async move {
            let n = self
                .builds
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if n < self.lost_builds {
                return Err(EngineError::Unreachable(
                    "connection to the Docker engine lost: connection reset by peer".into(),
                )
                .of_build());
            }
            tail.push("Step 1/2 : FROM scratch\nStep 2/2 : RUN false\n");
            match &self.build_error {
                Some(e) => {
                    tail.push(e);
                    Err(EngineError::Build(e.clone()).of_build())
                }
                None => {
                    tail.push(&format!("Successfully tagged {}", plan.tag));
                    Ok(BuildOutput::default())
                }
            }
        })
    }

    fn push<'a>(
        &'a self,
        repository: &'a str,
        tag: &'a str,
        _: Option<&'a RegistryAuth>,
    ) -> BoxFuture<'a, Result<String, PortError>> {
        Box::pin(async move {
            self.pushed
                .lock()
                .unwrap()
                .push(format!("{repository}:{tag}"));
            let mut errors = self.push_errors.lock().unwrap();
            if !errors.is_empty() {
                return Err(EngineError::Push {
                    tag: format!("{repository}:{tag}"),
                    message: errors.remove(0),
                }
                .of_push());
            }
            drop(errors);
            if let Some(f) = &self.on_push {
                f();
            }
            Ok(DIGEST.to_string())
        })
    }
}

/// A registry serving the digests in `serves`, accepting credentials if `accepts_credentials`.
#[derive(Default)]
pub struct FakeRegistry {
    pub serves: HashSet<String>,
    pub accepts_credentials: bool,
    /// Credential checks asked of it.
    pub checks: std::sync::atomic::AtomicUsize,
}

impl RegistryCheck for FakeRegistry {
    fn verify_digest<'a>(
        &'a self,
        _: Option<&'a RegistryAuth>,
        host: &'a str,
        path: &'a str,
        digest: &'a str,
    ) -> BoxFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            if self.serves.contains(digest) {
                Ok(())
            } else {
                Err(RegistryError::NotServed {
                    host: host.to_string(),
                    reference: format!("{path}@{digest}"),
                    status: 404,
                }
                .port())
            }
        })
    }

    fn accepts<'a>(
        &'a self,
        _: &'a RegistryAuth,
        _: &'a str,
    ) -> BoxFuture<'a, Result<bool, PortError>> {
        self.checks
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async move { Ok(self.accepts_credentials) })
    }
}

pub fn serving() -> FakeRegistry {
    FakeRegistry {
        serves: HashSet::from([DIGEST.to_string()]),
        ..Default::default()
    }
}
