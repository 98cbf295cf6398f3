//! The webhook's container image on the real dockerd: `webhook/Dockerfile` builds
//! `FROM scratch` from the context `scripts/webhook-image-context` prepares (static musl
//! binary + CA bundle), runs as the non-root numeric user the Deployment expects, and
//! `mosaic-webhook --version` prints this workspace's version inside it.

use std::path::PathBuf;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    BuildImageOptions, CreateContainerOptions, LogsOptions, RemoveContainerOptions,
    RemoveImageOptions, WaitContainerOptions,
};
use futures::StreamExt;

fn context_dir() -> PathBuf {
    mosaic_tests::workspace_root().join("target/image/context")
}

/// The build context as a tar: the Dockerfile from the source tree (so the test
/// checks the committed file), the binary and the CA bundle from the prepared context.
fn context_tar() -> Vec<u8> {
    let dir = context_dir();
    let binary = dir.join("mosaic-webhook");
    assert!(
        binary.is_file(),
        "{} is missing: run `scripts/webhook-image-context` first (scripts/test does)",
        binary.display()
    );
    let mut b = tar::Builder::new(Vec::new());
    let root = mosaic_tests::workspace_root();
    b.append_path_with_name(root.join("webhook/Dockerfile"), "Dockerfile")
        .expect("Dockerfile");
    b.append_path_with_name(&binary, "mosaic-webhook")
        .expect("binary");
    b.append_path_with_name(dir.join("ca-certificates.crt"), "ca-certificates.crt")
        .expect("CA bundle");
    b.into_inner().expect("tar")
}

#[tokio::test]
async fn image_builds_from_scratch_and_runs_version_as_non_root() {
    let docker = mosaic_tests::docker()
        .negotiate_version()
        .await
        .expect("dockerd answers a version negotiation");
    let tag = format!("{}:test", mosaic_tests::unique_name("mosaic-webhook-image"));
    let opts = BuildImageOptions {
        t: Some(tag.clone()),
        rm: true,
        networkmode: Some("none".into()),
        buildargs: Some([("VERSION".to_string(), env!("CARGO_PKG_VERSION").to_string())].into()),
        ..Default::default()
    };
    let mut build = docker.build_image(opts, None, Some(bollard::body_full(context_tar().into())));
    while let Some(item) = build.next().await {
        item.unwrap_or_else(|e| panic!("building {tag} from webhook/Dockerfile failed: {e}"));
    }

    let inspect = docker.inspect_image(&tag).await.expect("built image");
    let config = inspect.config.expect("image config");
    assert_eq!(
        config.user.as_deref(),
        Some("65532:65532"),
        "runs as the non-root numeric user"
    );
    assert_eq!(
        config.entrypoint.as_deref(),
        Some(&["/usr/local/bin/mosaic-webhook".to_string()][..])
    );
    let labels = config.labels.unwrap_or_default();
    assert_eq!(
        labels
            .get("org.opencontainers.image.version")
            .map(String::as_str),
        Some(env!("CARGO_PKG_VERSION"))
    );
    // FROM scratch: the image's only layers are the two COPYs.
    let layers = inspect.root_fs.and_then(|r| r.layers).unwrap_or_default();
    assert_eq!(layers.len(), 2, "unexpected layers {layers:?}");

    let body = ContainerCreateBody {
        image: Some(tag.clone()),
        cmd: Some(vec!["--version".into()]),
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            readonly_rootfs: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = docker
        .create_container(None::<CreateContainerOptions>, body)
        .await
        .expect("create container");
    docker
        .start_container(&created.id, None)
        .await
        .expect("start container");
    let mut wait = docker.wait_container(&created.id, None::<WaitContainerOptions>);
    let exit = match wait.next().await {
        Some(Ok(r)) => r.status_code,
        // bollard reports a non-zero exit as an error carrying the code.
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
        other => panic!("waiting for the container: {other:?}"),
    };
    let mut out = String::new();
    let mut logs = docker.logs(
        &created.id,
        Some(LogsOptions {
            stdout: true,
            stderr: true,
            ..Default::default()
        }),
    );
    while let Some(chunk) = logs.next().await {
        out.push_str(&chunk.expect("log chunk").to_string());
    }
    docker
        .remove_container(
            &created.id,
            Some(RemoveContainerOptions {
                force: true,
                ..Default::default()
            }),
        )
        .await
        .ok();
    docker
        .remove_image(&tag, None::<RemoveImageOptions>, None)
        .await
        .ok();

    assert_eq!(exit, 0, "`mosaic-webhook --version` exited {exit}: {out}");
    assert_eq!(
        out.trim(),
        format!("mosaic-webhook {}", env!("CARGO_PKG_VERSION"))
    );
}
