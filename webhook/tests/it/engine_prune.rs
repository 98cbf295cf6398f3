//! Real-engine tests of `--engine-disk-budget`, each on a private dockerd (pruning the stack's
//! shared engine would take other tests' images away): the usage read from `/system/df`, a
//! pass that prunes dangling images first and old unused images last and keeps an image built
//! within the hour (it may be waiting for its push), and the binary's periodic pass.

use bollard::query_parameters::{ImportImageOptions, ListImagesOptions};
use futures::StreamExt;
use mosaic_tests::dockerd::PrivateDockerd;
use mosaic_tests::noise;
use mosaic_webhook::{Engine, EngineBuilder};
use sha2::{Digest, Sha256};

const MIB: u64 = 1 << 20;

fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// Load an image of one `mib`-MiB layer, created at `created`, tagged `tag` (or dangling),
/// as `docker save` writes one.
async fn load(docker: &bollard::Docker, tag: Option<&str>, created: &str, mib: usize, seed: u64) {
    let layer = tar_of(&[("blob.bin", &noise(mib * MIB as usize, seed))]);
    let diff_id = format!("sha256:{}", hex::encode(Sha256::digest(&layer)));
    let config = serde_json::json!({"architecture": "amd64", "os": "linux", "created": created,
        "config": {}, "rootfs": {"type": "layers", "diff_ids": [diff_id]}});
    let config = serde_json::to_vec(&config).unwrap();
    let manifest = serde_json::json!([{"Config": "config.json", "Layers": ["layer.tar"],
        "RepoTags": tag.map(|t| vec![t])}]);
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let archive = tar_of(&[
        ("config.json", &config),
        ("layer.tar", &layer),
        ("manifest.json", &manifest),
    ]);
    let mut s = docker.import_image(
        ImportImageOptions::default(),
        bollard::body_full(archive.into()),
        None,
    );
    while let Some(r) = s.next().await {
        let info = r.expect("load the image");
        assert!(info.error_detail.is_none(), "{info:?}");
    }
}

async fn tags(docker: &bollard::Docker) -> Vec<String> {
    let mut t: Vec<String> = docker
        .list_images(None::<ListImagesOptions>)
        .await
        .unwrap()
        .into_iter()
        .flat_map(|i| i.repo_tags)
        .collect();
    t.sort();
    t
}

#[tokio::test]
async fn a_pass_prunes_dangling_then_old_unused_images_and_keeps_a_fresh_build() {
    let d = PrivateDockerd::start();
    let docker = d.client();
    let engine = Engine::connect(&d.host(), 120, EngineBuilder::Classic)
        .await
        .unwrap();
    let now = chrono::Utc::now().to_rfc3339();
    load(&docker, Some("old/base:1"), "2020-01-01T00:00:00Z", 4, 1).await;
    load(&docker, Some("fresh/app:1"), &now, 4, 2).await;
    load(&docker, None, &now, 4, 3).await;
    load(&docker, None, &now, 4, 4).await;
    let usage = engine.disk_usage().await.unwrap();
    assert!(usage.layers >= 16 * MIB, "{usage:?}");
    assert_eq!(tags(&docker).await.len(), 4, "two dangling (<none>:<none>)");

    // Under the budget: nothing is touched.
    let r = engine.prune_to(usage.total() + MIB).await.unwrap();
    assert!(r.steps.is_empty() && !r.busy, "{r:?}");
    assert_eq!(tags(&docker).await.len(), 4);

    // Over by less than the dangling images: they go, the tagged ones stay.
    let r = engine.prune_to(usage.total() - 6 * MIB).await.unwrap();
    assert_eq!(
        r.steps,
        ["containers", "build cache", "dangling images"],
        "{r:?}"
    );
    assert!(r.after <= usage.total() - 6 * MIB, "{r:?}");
    assert_eq!(tags(&docker).await, ["fresh/app:1", "old/base:1"]);

    // Over by more: the old unused image goes too; the fresh one stays even so.
    let r = engine.prune_to(MIB).await.unwrap();
    assert_eq!(r.steps.last(), Some(&"unused images"), "{r:?}");
    assert_eq!(tags(&docker).await, ["fresh/app:1"]);
    assert!(r.after >= 4 * MIB && r.after < r.before, "{r:?}");
}

#[tokio::test]
async fn the_builder_prunes_its_engine_every_interval() {
    use mosaic_tests::webhook::*;
    let d = PrivateDockerd::start();
    let docker = d.client();
    load(&docker, Some("old/base:1"), "2020-01-01T00:00:00Z", 2, 5).await;
    let w = world(None, true).await;
    let host = d.host();
    let args = [
        "--docker-host",
        &host,
        "--engine-disk-budget",
        "1Mi",
        "--engine-prune-interval",
        "1",
    ];
    let server = start(&w, "pruner", &args).await;
    // The pass logs once it has read the usage back.
    let log = server.log.clone();
    let line = mosaic_tests::eventually("the pass to log its prune", 30, || {
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        async move {
            log.lines()
                .find(|l| l.contains("pruned the engine"))
                .map(str::to_string)
        }
    })
    .await;
    assert!(tags(&docker).await.is_empty());
    assert!(line.contains("\"budget_bytes\":1048576"), "{line}");
}
