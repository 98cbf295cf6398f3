//! Reading an engine's build progress stream: log lines from the classic builder (`stream`) and
//! from BuildKit (`aux` status messages: vertices, their logs and errors) go to tracing and to a
//! bounded tail for `status.logTail`; the first error, in either form, ends the build and its
//! first line becomes the failure message.

use bollard::moby::buildkit::v1::StatusResponse;
use bollard::models::{BuildInfo, BuildInfoAux};
use futures::{Stream, StreamExt};

use crate::pipeline::ports::LogTail;

/// The readable lines of one BuildKit status message: finished steps (marked when cached),
/// step output, and step errors.
fn buildkit_lines(status: &StatusResponse) -> Vec<String> {
    let mut lines = Vec::new();
    for v in &status.vertexes {
        if !v.error.is_empty() {
            lines.push(format!("{}: ERROR: {}", v.name, v.error));
        } else if v.completed.is_some() {
            lines.push(if v.cached {
                format!("{} (cached)", v.name)
            } else {
                v.name.clone()
            });
        }
    }
    for l in &status.logs {
        lines.push(String::from_utf8_lossy(&l.msg).into_owned());
    }
    lines
}

/// How a build stream ended early.
#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    /// The engine reported an error (its first line).
    Reported(String),
    /// The connection to the engine failed (the engine stopped or went away).
    Lost(String),
}

/// Drain a build stream into tracing and `tail`. Returns the first error, if any (the stream
/// is not read further after it): a reported one by its first line, a transport one whole.
pub async fn drain<S>(mut stream: S, tag: &str, tail: &mut LogTail) -> Option<Failure>
where
    S: Stream<Item = Result<BuildInfo, bollard::errors::Error>> + Unpin,
{
    let log = |line: &str, tail: &mut LogTail| {
        tracing::debug!(target: "mosaic_webhook::build_log", tag, line = line.trim_end());
        tail.push(line);
    };
    while let Some(item) = stream.next().await {
        let msg = match item {
            Ok(info) => {
                if let Some(line) = info.stream.as_deref().or(info.status.as_deref()) {
                    log(line, tail);
                }
                if let Some(BuildInfoAux::BuildKit(status)) = &info.aux {
                    for line in buildkit_lines(status) {
                        log(&line, tail);
                    }
                }
                match info.error_detail.and_then(|d| d.message) {
                    Some(msg) => msg,
                    None => continue,
                }
            }
            Err(e) if crate::adapters::docker::is_transport(&e) => {
                let msg = mosaic_core::error_chain::chain(&e);
                tail.push(&msg);
                return Some(Failure::Lost(msg));
            }
            Err(bollard::errors::Error::DockerStreamError { error }) => error,
            Err(other) => other.to_string(),
        };
        tail.push(&msg);
        return Some(Failure::Reported(
            msg.lines().next().unwrap_or_default().to_string(),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::moby::buildkit::v1::{Vertex, VertexLog};
    use bollard::models::ErrorDetail;

    fn line(s: &str) -> Result<BuildInfo, bollard::errors::Error> {
        Ok(BuildInfo {
            stream: Some(s.into()),
            ..Default::default()
        })
    }

    #[tokio::test]
    async fn a_classic_build_error_mid_stream_is_the_failure_line() {
        let items = vec![
            line("Step 1/2 : FROM scratch\n"),
            line("Step 2/2 : RUN false\n"),
            Ok(BuildInfo {
                error_detail: Some(ErrorDetail {
                    message: Some(
                        "The command '/bin/sh -c false' returned a non-zero code: 1\nmore".into(),
                    ),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            line("never read\n"),
        ];
        let mut tail = LogTail::default();
        let failure = drain(futures::stream::iter(items), "t", &mut tail).await;
        assert_eq!(
            failure,
            Some(Failure::Reported(
                "The command '/bin/sh -c false' returned a non-zero code: 1".into()
            ))
        );
        assert!(tail.text().contains("RUN false") && !tail.text().contains("never read"));
        // bollard's own error for a stream error item, and a clean stream.
        let err = vec![Err(bollard::errors::Error::DockerStreamError {
            error: "no basic auth credentials".into(),
        })];
        let mut tail = LogTail::default();
        let failure = drain(futures::stream::iter(err), "t", &mut tail).await;
        assert_eq!(
            failure,
            Some(Failure::Reported("no basic auth credentials".into()))
        );
        // A connection that fails mid-stream is a lost engine, not a build error.
        let lost = vec![Err(bollard::errors::Error::RequestTimeoutError)];
        let failure = drain(futures::stream::iter(lost), "t", &mut LogTail::default()).await;
        assert!(matches!(failure, Some(Failure::Lost(_))), "{failure:?}");
        let ok = vec![line("Successfully built 1\n")];
        assert!(
            drain(futures::stream::iter(ok), "t", &mut LogTail::default())
                .await
                .is_none()
        );
    }

    #[tokio::test]
    async fn buildkit_steps_logs_and_errors_reach_the_tail() {
        let vertex = |name: &str, done: bool, cached: bool, error: &str| Vertex {
            name: name.into(),
            completed: done.then(Default::default),
            cached,
            error: error.into(),
            ..Default::default()
        };
        let status = StatusResponse {
            vertexes: vec![
                vertex("[1/2] COPY hello.txt /hello.txt", false, false, ""),
                vertex("[internal] load .dockerignore", true, true, ""),
                vertex("[2/2] RUN false", true, false, "exit code: 1"),
            ],
            logs: vec![VertexLog {
                msg: b"step output\n".to_vec(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let items = vec![Ok(BuildInfo {
            aux: Some(BuildInfoAux::BuildKit(status)),
            ..Default::default()
        })];
        let mut tail = LogTail::default();
        assert!(
            drain(futures::stream::iter(items), "t", &mut tail)
                .await
                .is_none()
        );
        assert_eq!(
            tail.text(),
            "[internal] load .dockerignore (cached)\n[2/2] RUN false: ERROR: exit code: 1\nstep output"
        );
    }
}
