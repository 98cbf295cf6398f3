//! Foundation proof on the real stack: bollard builds a `FROM scratch` image from an
//! in-memory tar context and pushes it to the authenticated registry; the digest the
//! push reports equals the manifest digest the registry serves; wrong credentials fail
//! with a clear error.

use bollard::auth::DockerCredentials;
use bollard::models::{BuildInfoAux, ImageId};
use bollard::query_parameters::{BuildImageOptions, PushImageOptions};
use futures::StreamExt;
use sha2::{Digest, Sha256};

fn context_tar(marker: &str) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |path: &str, mode: u32, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(mode);
        h.set_cksum();
        b.append_data(&mut h, path, data).expect("tar entry");
    };
    add("Dockerfile", 0o644, b"FROM scratch\nCOPY busybox /bin/busybox\nCOPY hello.txt /hello.txt\nCMD [\"/bin/busybox\", \"cat\", \"/hello.txt\"]\n");
    let busybox =
        std::fs::read("/bin/busybox").expect("busybox-static is installed by scripts/stack");
    add("busybox", 0o755, &busybox);
    add("hello.txt", 0o644, marker.as_bytes());
    b.into_inner().expect("tar")
}

async fn build(docker: &bollard::Docker, tag: &str, marker: &str) -> String {
    let opts = BuildImageOptions {
        t: Some(tag.to_string()),
        rm: true,
        ..Default::default()
    };
    let mut stream = docker.build_image(
        opts,
        None,
        Some(bollard::body_full(context_tar(marker).into())),
    );
    let mut id = None;
    while let Some(item) = stream.next().await {
        let info = item.unwrap_or_else(|e| panic!("build of {tag} failed: {e}"));
        if let Some(BuildInfoAux::Default(ImageId { id: Some(aux) })) = info.aux {
            id = Some(aux);
        }
    }
    id.unwrap_or_else(|| panic!("build of {tag} reported no image id"))
}

/// Push and return the digest the engine reports, or the error text.
async fn push(
    docker: &bollard::Docker,
    repo: &str,
    tag: &str,
    user: &str,
    password: &str,
    host: &str,
) -> Result<String, String> {
    let creds = DockerCredentials {
        username: Some(user.to_string()),
        password: Some(password.to_string()),
        serveraddress: Some(host.to_string()),
        ..Default::default()
    };
    let opts = PushImageOptions {
        tag: Some(tag.to_string()),
        ..Default::default()
    };
    let mut stream = docker.push_image(repo, Some(opts), Some(creds));
    let mut digest = None;
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| e.to_string())?;
        if let Some(err) = info.error_detail.and_then(|d| d.message) {
            return Err(err);
        }
        if let Some(d) = info
            .status
            .as_deref()
            .and_then(|s| s.split("digest: ").nth(1))
        {
            digest = d.split_whitespace().next().map(str::to_string);
        }
    }
    digest.ok_or_else(|| "push reported no digest".to_string())
}

#[tokio::test]
async fn build_push_and_digest_match_the_registry() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let docker = mosaic_tests::docker()
        .negotiate_version()
        .await
        .expect("dockerd answers /version");
    let reg = mosaic_tests::registry();
    let name = mosaic_tests::unique_name("proof");
    let repo = format!("{}/proof/{name}", reg.host);
    let marker = format!("hello from {name}\n");
    build(&docker, &format!("{repo}:v1"), &marker).await;

    let digest = push(&docker, &repo, "v1", &reg.user, &reg.password, &reg.host)
        .await
        .expect("push with the right credentials");
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "digest {digest}"
    );

    let http = reqwest::Client::new();
    let url = format!("http://{}/v2/proof/{name}/manifests/v1", reg.host);
    let resp = http
        .get(&url)
        .basic_auth(&reg.user, Some(&reg.password))
        .header(
            "Accept",
            "application/vnd.docker.distribution.manifest.v2+json",
        )
        .send()
        .await
        .expect("registry answers");
    assert_eq!(resp.status(), 200, "GET {url}");
    let served = resp
        .headers()
        .get("Docker-Content-Digest")
        .expect("digest header")
        .to_str()
        .unwrap()
        .to_string();
    let body = resp.bytes().await.expect("manifest body");
    assert_eq!(
        served, digest,
        "registry digest equals the digest bollard reported"
    );
    assert_eq!(
        format!("sha256:{}", hex::encode(Sha256::digest(&body))),
        digest,
        "digest is the manifest's sha256"
    );

    // Without credentials the registry refuses to serve it: auth is really on.
    let anon = http.get(&url).send().await.expect("registry answers");
    assert_eq!(anon.status(), 401);
}

#[tokio::test]
async fn push_with_wrong_credentials_fails_clearly() {
    let docker = mosaic_tests::docker()
        .negotiate_version()
        .await
        .expect("dockerd answers /version");
    let reg = mosaic_tests::registry();
    let name = mosaic_tests::unique_name("denied");
    let repo = format!("{}/proof/{name}", reg.host);
    build(&docker, &format!("{repo}:v1"), "denied\n").await;
    let err = push(
        &docker,
        &repo,
        "v1",
        &reg.user,
        "not-the-password",
        &reg.host,
    )
    .await
    .expect_err("a push with a wrong password must fail");
    assert!(
        err.contains("unauthorized")
            || err.contains("authentication required")
            || err.contains("no basic auth"),
        "unclear error: {err}"
    );
}
