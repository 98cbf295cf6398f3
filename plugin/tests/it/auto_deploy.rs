//! Real-stack tests of `bind --auto` (image labels read from the stack's
//! authenticated registry, repositories listed from a fake GitHub with
//! pagination) and of `deploy` (branch resolution, the manual Build, `--wait`).

use crate::support::stack;

use base64::Engine as _;
use kube::api::{Patch, PatchParams};
use kube::{Api, ResourceExt};
use mosaic_core::resources::TriggerKind;
use mosaic_core::{Binding, Build};
use mosaic_tests::fake_github::{FakeGitHub, File};
use sha2::Digest;
use stack::{deployment, mosaic, secret, setup};

fn sha256(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(b)))
}

/// Push a one-layer image whose config carries `labels` to the stack registry, over the registry HTTP API.
async fn push_labeled_image(repo: &str, tag: &str, labels: serde_json::Value) {
    let reg = mosaic_tests::registry();
    let http = reqwest::Client::new();
    let base = format!("http://{}", reg.host);
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(6);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, "hello.txt", &b"hello\n"[..])
        .unwrap();
    let raw = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &raw).unwrap();
    let layer = gz.finish().unwrap();
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": {"Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": [sha256(&raw)]}
    }))
    .unwrap();
    for blob in [&layer, &config] {
        let r = http
            .post(format!("{base}/v2/{repo}/blobs/uploads/"))
            .basic_auth(&reg.user, Some(&reg.password))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 202, "start upload");
        let loc = r.headers()["location"].to_str().unwrap().to_string();
        let loc = if loc.starts_with("http") {
            loc
        } else {
            format!("{base}{loc}")
        };
        let sep = if loc.contains('?') { '&' } else { '?' };
        let r = http
            .put(format!("{loc}{sep}digest={}", sha256(blob)))
            .basic_auth(&reg.user, Some(&reg.password))
            .header("content-type", "application/octet-stream")
            .body(blob.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status().as_u16(),
            201,
            "finish upload: {}",
            r.text().await.unwrap_or_default()
        );
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha256(&layer), "size": layer.len()}]
    });
    let r = http
        .put(format!("{base}/v2/{repo}/manifests/{tag}"))
        .basic_auth(&reg.user, Some(&reg.password))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(serde_json::to_vec(&manifest).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        201,
        "put manifest: {}",
        r.text().await.unwrap_or_default()
    );
}

async fn names(k: &mosaic_tests::TestKube) -> Vec<String> {
    let api: Api<Binding> = Api::namespaced(k.client.clone(), &k.namespace);
    let mut v: Vec<String> = api
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|b| b.name_any())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn auto_proposes_from_labels_and_names_and_yes_binds_only_the_confident() {
    let k = setup().await;
    let reg = mosaic_tests::registry();
    let img_repo = format!("mosaic-test/{}/x-image", k.namespace);
    push_labeled_image(
        &img_repo,
        "1.0",
        serde_json::json!({"org.opencontainers.image.source": "https://github.com/acme/inventory-service"}),
    )
    .await;
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", reg.user, reg.password));
    let docker_config =
        serde_json::json!({"auths": {reg.host.clone(): {"auth": auth}}}).to_string();
    secret(
        &k,
        "regcred",
        "kubernetes.io/dockerconfigjson",
        &[(".dockerconfigjson", docker_config.as_bytes())],
    )
    .await;

    deployment(
        &k,
        "stock",
        &[("main", &format!("{}/{img_repo}:1.0", reg.host))],
        Some("regcred"),
    )
    .await;
    deployment(
        &k,
        "checkout-svc",
        &[("app", &format!("{}/acme/checkout:1", reg.host))],
        None,
    )
    .await;
    deployment(
        &k,
        "api",
        &[("api", &format!("{}/acme/api:1", reg.host))],
        None,
    )
    .await;
    deployment(
        &k,
        "cache",
        &[("redis", &format!("{}/library/redis:7", reg.host))],
        None,
    )
    .await;
    deployment(
        &k,
        "billing",
        &[("billing", &format!("{}/acme/billing:3", reg.host))],
        None,
    )
    .await;
    stack::binding(
        &k,
        "billing",
        "billing",
        "acme/legacy-billing",
        "r.example.com/acme/billing",
    )
    .await;

    let gh = FakeGitHub::start("gh-test-token").await;
    for r in [
        "checkout",
        "inventory-service",
        "api-gateway",
        "api-docs",
        "billing",
    ] {
        gh.add_repo(&format!("acme/{r}"), false);
    }
    for i in 0..120 {
        gh.add_repo(&format!("acme/zz-filler-{i:03}"), false);
    }
    let env = [
        ("GITHUB_TOKEN", gh.token.as_str()),
        ("MOSAIC_GITHUB_API_URL", gh.url.as_str()),
    ];

    // Not a terminal and no --yes: the proposals are printed, nothing is applied.
    let r = mosaic(&k, &["bind", "--auto", "--owner", "acme"], &env).await;
    r.assert_ok();
    assert!(
        r.stderr.contains("Found 125 repositories of acme"),
        "pagination: {}",
        r.stderr
    );
    assert!(r.stderr.contains("Nothing applied"), "{}", r.stderr);
    let row = |dep: &str| -> String {
        r.stdout
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(dep))
            .unwrap_or_else(|| panic!("no row for {dep}: {}", r.stdout))
            .to_string()
    };
    let stock = row("stock");
    assert!(
        stock.contains("acme/inventory-service")
            && stock.contains("100%")
            && stock.contains("image label"),
        "{stock}"
    );
    assert!(stock.ends_with("bind"), "{stock}");
    let checkout = row("checkout-svc");
    assert!(
        checkout.contains("acme/checkout ")
            && checkout.contains("100%")
            && checkout.ends_with("bind"),
        "{checkout}"
    );
    assert!(row("api").ends_with("ask"), "{}", row("api"));
    assert!(row("cache").ends_with("skip"), "{}", row("cache"));
    let billing = row("billing");
    assert!(
        billing.contains("acme/legacy-billing") && billing.ends_with("already bound"),
        "{billing}"
    );
    assert_eq!(names(&k).await, vec!["billing"]);

    // --dry-run prints the Bindings --yes would create.
    let r = mosaic(
        &k,
        &["bind", "--auto", "--owner", "acme", "--dry-run"],
        &env,
    )
    .await;
    r.assert_ok();
    let docs: Vec<Binding> = serde_yaml::Deserializer::from_str(&r.stdout)
        .map(|d| <Binding as serde::Deserialize>::deserialize(d).unwrap())
        .collect();
    let mut dry: Vec<(String, String)> = docs
        .iter()
        .map(|b| (b.name_any(), b.spec.repo.clone()))
        .collect();
    dry.sort();
    assert_eq!(
        dry,
        vec![
            ("checkout-svc".into(), "acme/checkout".into()),
            ("stock".into(), "acme/inventory-service".into())
        ]
    );
    assert_eq!(names(&k).await, vec!["billing"]);

    // --yes creates exactly the confident ones and leaves the existing binding alone.
    let r = mosaic(&k, &["bind", "--auto", "--owner", "acme", "--yes"], &env).await;
    r.assert_ok();
    assert_eq!(
        r.stdout,
        "binding.mosaic.nectar.dev/checkout-svc created\nbinding.mosaic.nectar.dev/stock created\n"
    );
    assert_eq!(names(&k).await, vec!["billing", "checkout-svc", "stock"]);
    let api: Api<Binding> = Api::namespaced(k.client.clone(), &k.namespace);
    let s = api.get("stock").await.unwrap();
    assert_eq!(s.spec.image, format!("{}/{img_repo}", reg.host));
    assert_eq!(s.spec.repo, "acme/inventory-service");
    assert_eq!(
        api.get("billing").await.unwrap().spec.repo,
        "acme/legacy-billing"
    );

    // A lower threshold takes the ambiguous one too; the bound ones are shown, not changed.
    let r = mosaic(
        &k,
        &[
            "bind",
            "--auto",
            "--owner",
            "acme",
            "--yes",
            "--threshold",
            "0.5",
        ],
        &env,
    )
    .await;
    r.assert_ok();
    assert_eq!(r.stdout, "binding.mosaic.nectar.dev/api created\n");

    // A refused token is one clear error.
    let r = mosaic(
        &k,
        &["bind", "--auto", "--owner", "acme"],
        &[
            ("GITHUB_TOKEN", "wrong"),
            ("MOSAIC_GITHUB_API_URL", gh.url.as_str()),
        ],
    )
    .await;
    r.assert_error(1, "the token was refused; set GITHUB_TOKEN");
    let r = mosaic(&k, &["bind", "--auto", "--threshold", "2"], &env).await;
    r.assert_error(2, "--threshold 2 must be between 0 and 1");
}

#[tokio::test]
async fn deploy_resolves_the_branch_and_creates_a_manual_build() {
    let k = setup().await;
    deployment(&k, "api", &[("api", "r.example.com/acme/api:1")], None).await;
    stack::binding(&k, "api", "api", "acme/api", "r.example.com/acme/api").await;
    let gh = FakeGitHub::start("gh-deploy-token").await;
    gh.add_repo("acme/api", false);
    let main = gh.commit(
        "acme/api",
        "main",
        vec![File::new("Dockerfile", "FROM scratch\n")],
    );
    let env = [
        ("GITHUB_TOKEN", gh.token.as_str()),
        ("MOSAIC_GITHUB_API_URL", gh.url.as_str()),
    ];
    let builds: Api<Build> = Api::namespaced(k.client.clone(), &k.namespace);
    let kc = kube::config::Kubeconfig::read_from(&k.kubeconfig).unwrap();
    let ctx = kc.current_context.clone().unwrap();
    let user = kc
        .contexts
        .iter()
        .find(|c| c.name == ctx)
        .and_then(|c| c.context.as_ref())
        .map(|c| c.user.clone())
        .unwrap();

    let r = mosaic(&k, &["deploy", "deployment/api"], &env).await;
    r.assert_ok();
    let name = mosaic_core::resources::build_name("api", &main);
    assert_eq!(
        r.stdout,
        format!("build.mosaic.nectar.dev/{name} created\n")
    );
    assert!(
        r.stderr
            .contains(&format!("Resolved main in acme/api to {}", &main[..7])),
        "{}",
        r.stderr
    );
    let b = builds.get(&name).await.unwrap();
    assert_eq!(
        (
            b.spec.binding.as_str(),
            b.spec.commit.as_str(),
            b.spec.git_ref.as_str()
        ),
        ("api", main.as_str(), "refs/heads/main")
    );
    assert_eq!(b.spec.trigger.kind, TriggerKind::Manual);
    assert_eq!(b.spec.trigger.user, user);
    assert_eq!(
        b.labels()
            .get(mosaic_core::names::LABEL_BINDING)
            .map(String::as_str),
        Some("api")
    );
    assert_eq!(
        b.labels().get(mosaic_core::names::LABEL_COMMIT),
        Some(&main)
    );
    // Owned by its Binding, as the webhook's Builds are: deleted with it.
    let binding: Api<mosaic_core::Binding> = Api::namespaced(k.client.clone(), &k.namespace);
    let owner = &b.owner_references()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str(), Some(&owner.uid)),
        (
            "Binding",
            "api",
            binding.get("api").await.unwrap().uid().as_ref()
        )
    );

    // The same commit while its build is still running: no second build.
    let r = mosaic(&k, &["deploy", "deployment/api", "--ref", &main], &env).await;
    r.assert_ok();
    assert!(r.stderr.contains("is already Pending"), "{}", r.stderr);
    assert_eq!(
        builds.list(&Default::default()).await.unwrap().items.len(),
        1
    );

    let r = mosaic(
        &k,
        &["deploy", "deployment/api", "--ref", "no-such-branch"],
        &env,
    )
    .await;
    r.assert_error(1, "No commit found for SHA: no-such-branch");

    // --wait follows the phases and fails when the build fails.
    let feature = gh.commit(
        "acme/api",
        "feature",
        vec![File::new("Dockerfile", "FROM scratch\nLABEL x=1\n")],
    );
    let fname = mosaic_core::resources::build_name("api", &feature);
    let mut cmd = stack::command(&env);
    cmd.args([
        "deploy",
        "deployment/api",
        "--ref",
        "feature",
        "--wait",
        "--kubeconfig",
    ])
    .arg(&k.kubeconfig)
    .args(["-n", &k.namespace]);
    let child = tokio::task::spawn_blocking(move || cmd.output().unwrap());
    mosaic_tests::eventually("the --wait build to appear", 30, || {
        let builds = builds.clone();
        let fname = fname.clone();
        async move { builds.get_opt(&fname).await.ok().flatten() }
    })
    .await;
    let pp = PatchParams::apply("test-webhook").force();
    for phase in ["Building", "Failed"] {
        let st = serde_json::json!({"apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
            "status": {"phase": phase, "reason": "BuildFailed", "message": "step 2/3 exited 1"}});
        builds
            .patch_status(&fname, &pp, &Patch::Apply(&st))
            .await
            .unwrap();
    }
    let r: stack::Run = child.await.unwrap().into();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("build/{fname}: Failed (")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!(
            "error: build/{fname} ended Failed: BuildFailed: step 2/3 exited 1"
        )),
        "{}",
        r.stderr
    );

    // A finished build of the same commit is rebuilt under a new name, and --wait succeeds with it.
    let mut cmd = stack::command(&env);
    cmd.args([
        "deploy",
        "deployment/api",
        "--ref",
        &feature,
        "--wait",
        "--kubeconfig",
    ])
    .arg(&k.kubeconfig)
    .args(["-n", &k.namespace]);
    let child = tokio::task::spawn_blocking(move || cmd.output().unwrap());
    let second = mosaic_tests::eventually("a second build of the commit", 30, || {
        let builds = builds.clone();
        let fname = fname.clone();
        async move {
            let items = builds.list(&Default::default()).await.ok()?.items;
            items
                .into_iter()
                .map(|b| b.name_any())
                .find(|n| n.starts_with(&format!("{fname}-")))
        }
    })
    .await;
    let st = serde_json::json!({"apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
        "status": {"phase": "Succeeded", "image": "r.example.com/acme/api@sha256:0000000000000000000000000000000000000000000000000000000000000000"}});
    builds
        .patch_status(&second, &pp, &Patch::Apply(&st))
        .await
        .unwrap();
    let r: stack::Run = child.await.unwrap().into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("build/{second}: Succeeded")),
        "{}",
        r.stderr
    );
    assert_eq!(builds.get(&second).await.unwrap().spec.commit, feature);
}

#[tokio::test]
async fn auto_on_a_terminal_binds_the_rows_the_user_picks() {
    let k = setup().await;
    let reg = mosaic_tests::registry();
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", reg.user, reg.password));
    let docker_config =
        serde_json::json!({"auths": {reg.host.clone(): {"auth": auth}}}).to_string();
    secret(
        &k,
        "regcred",
        "kubernetes.io/dockerconfigjson",
        &[(".dockerconfigjson", docker_config.as_bytes())],
    )
    .await;
    for (dep, repo) in [("alpha", "acme/alpha-src"), ("beta", "acme/beta-src")] {
        let img = format!("mosaic-test/{}/{dep}", k.namespace);
        push_labeled_image(&img, "1", serde_json::json!({"org.opencontainers.image.source": format!("https://github.com/{repo}")})).await;
        deployment(
            &k,
            dep,
            &[("main", &format!("{}/{img}:1", reg.host))],
            Some("regcred"),
        )
        .await;
    }
    // `script` gives the command a terminal; the answer "2" picks the second row only.
    let cmdline = format!(
        "{} bind --auto --kubeconfig {} -n {}",
        env!("CARGO_BIN_EXE_kubectl-mosaic"),
        k.kubeconfig.display(),
        k.namespace
    );
    let mut c = std::process::Command::new("script");
    c.args(["-qec", &cmdline, "/dev/null"])
        .env("NO_COLOR", "1")
        .env("HOME", std::env::temp_dir());
    c.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().expect("run script(1)");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"2\n").unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("Bind which rows?"), "{text}");
    assert!(
        text.contains("binding.mosaic.nectar.dev/beta created"),
        "{text}"
    );
    assert_eq!(names(&k).await, vec!["beta"]);
    let api: Api<Binding> = Api::namespaced(k.client.clone(), &k.namespace);
    assert_eq!(api.get("beta").await.unwrap().spec.repo, "acme/beta-src");
}

/// A GitHub that accepts connections and never answers: each command that calls it gives up
/// after `--github-timeout` (or `MOSAIC_GITHUB_TIMEOUT`), naming the endpoint and the setting.
#[tokio::test]
async fn github_calls_give_up_on_a_github_that_never_answers() {
    let k = setup().await;
    deployment(&k, "api", &[("api", "r.example.com/acme/api:1")], None).await;
    stack::binding(&k, "api", "api", "acme/api", "r.example.com/acme/api").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // Hold every connection open, reading nothing and answering nothing.
    let stall = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let env = [
        ("GITHUB_TOKEN", "gh-stall-token"),
        ("MOSAIC_GITHUB_API_URL", url.as_str()),
    ];
    let started = std::time::Instant::now();
    let r = mosaic(
        &k,
        &["deploy", "deployment/api", "--github-timeout", "1s"],
        &env,
    )
    .await;
    r.assert_error(1, &format!("GitHub at {url} did not answer"));
    assert!(r.stderr.contains("within 1s") && r.stderr.contains("--github-timeout"));
    let env = [
        ("GITHUB_TOKEN", "gh-stall-token"),
        ("MOSAIC_GITHUB_API_URL", url.as_str()),
        ("MOSAIC_GITHUB_TIMEOUT", "2"),
    ];
    // `hook` reads the cluster's webhook secret before it calls GitHub.
    let webhook_secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(
        serde_json::json!({"metadata": {"name": mosaic_core::names::WEBHOOK_SECRET_NAME},
            "data": {(mosaic_core::names::WEBHOOK_SECRET_KEY): base64::engine::general_purpose::STANDARD.encode("0123456789abcdef0123456789abcdef")}}),
    )
    .unwrap();
    Api::<k8s_openapi::api::core::v1::Secret>::namespaced(k.client.clone(), &k.namespace)
        .create(&Default::default(), &webhook_secret)
        .await
        .unwrap();
    let r = mosaic(
        &k,
        &[
            "hook",
            "--system-namespace",
            &k.namespace,
            "--repo",
            "acme/api",
            "--url",
            "https://mosaic.example.com/webhooks/github",
        ],
        &env,
    )
    .await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "GitHub at {url} did not answer the webhooks of acme/api within 2s"
        )),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("MOSAIC_GITHUB_TIMEOUT"), "{}", r.stderr);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "both gave up at their deadlines ({:?})",
        started.elapsed()
    );
    stall.abort();
}
