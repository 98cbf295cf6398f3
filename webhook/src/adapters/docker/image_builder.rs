//! The pipeline's `ImageBuilder` port: the engine behind it, and `NoEngine` for a replica that
//! runs no builds (`--concurrency 0`), which refuses every build and push.

use futures::future::BoxFuture;

use super::{Engine, EngineError};
use crate::pipeline::plan::BuildPlan;
use crate::pipeline::ports::{BuildOutput, ByteStream, ImageBuilder, LogTail, PortError};
use mosaic_core::registry_auth::RegistryAuth;

impl ImageBuilder for Engine {
    fn build<'a>(
        &'a self,
        tarball: ByteStream,
        plan: &'a BuildPlan,
        commit: &'a str,
        auth: Option<&'a RegistryAuth>,
        tail: &'a mut LogTail,
    ) -> BoxFuture<'a, Result<BuildOutput, PortError>> {
        Box::pin(async move {
            Engine::build(self, tarball, plan, commit, auth, tail)
                .await
                .map(|context| BuildOutput { context })
                .map_err(EngineError::of_build)
        })
    }

    fn push<'a>(
        &'a self,
        repository: &'a str,
        tag: &'a str,
        auth: Option<&'a RegistryAuth>,
    ) -> BoxFuture<'a, Result<String, PortError>> {
        Box::pin(async move {
            Engine::push(self, repository, tag, auth)
                .await
                .map_err(EngineError::of_push)
        })
    }

    fn push_image<'a>(
        &'a self,
        repository: &'a str,
        tag: &'a str,
        image_id: Option<&'a str>,
        auth: Option<&'a RegistryAuth>,
    ) -> BoxFuture<'a, Result<String, PortError>> {
        Box::pin(async move {
            match image_id {
                Some(id) => self.push_by_id(repository, tag, id, auth).await,
                None => Engine::push(self, repository, tag, auth).await,
            }
            .map_err(EngineError::of_push)
        })
    }
}

/// The builder of a replica that runs no builds (`--concurrency 0`): it has no engine, and
/// never connects to one.
pub struct NoEngine;

impl NoEngine {
    fn refuse() -> EngineError {
        EngineError::Unreachable(
            "this replica runs no builds (--concurrency 0) and has no Docker engine".into(),
        )
    }
}

impl ImageBuilder for NoEngine {
    fn build<'a>(
        &'a self,
        _tarball: ByteStream,
        _plan: &'a BuildPlan,
        _commit: &'a str,
        _auth: Option<&'a RegistryAuth>,
        _tail: &'a mut LogTail,
    ) -> BoxFuture<'a, Result<BuildOutput, PortError>> {
        Box::pin(async { Err(Self::refuse().of_build()) })
    }

    fn push<'a>(
        &'a self,
        _repository: &'a str,
        _tag: &'a str,
        _auth: Option<&'a RegistryAuth>,
    ) -> BoxFuture<'a, Result<String, PortError>> {
        Box::pin(async { Err(Self::refuse().of_push()) })
    }
}
