use super::*;
use k8s_openapi::api::core::v1::PodSpec;

fn pod(d: &Deployment) -> PodSpec {
    d.spec.template.spec.clone().unwrap()
}

fn mounts(c: &Container) -> Vec<String> {
    c.volume_mounts
        .iter()
        .flatten()
        .map(|m| m.name.clone())
        .collect()
}

#[test]
fn only_the_builders_engine_is_privileged() {
    for d in [intake_deployment(), builder_deployment()] {
        let pod = pod(&d);
        let privileged: Vec<&str> = pod
            .containers
            .iter()
            .filter(|c| c.security_context.as_ref().and_then(|s| s.privileged) == Some(true))
            .map(|c| c.name.as_str())
            .collect();
        let web = &pod.containers[0];
        let sc = web.security_context.as_ref().unwrap();
        assert_eq!(sc.run_as_non_root, Some(true));
        assert_eq!(sc.read_only_root_filesystem, Some(true));
        assert_eq!(
            sc.capabilities.as_ref().unwrap().drop.as_deref(),
            Some(&["ALL".to_string()][..])
        );
        assert!(web.ports.as_ref().unwrap()[0].container_port == i32::from(names::WEBHOOK_PORT));
        if d.metadata.name.as_deref() == Some(names::BUILDER_NAME) {
            assert_eq!(privileged, ["docker"]);
        } else {
            assert!(privileged.is_empty());
        }
        // Empty strings do not survive the API server and make applies look like changes.
        for c in &pod.containers {
            for e in c.env.iter().flatten() {
                assert_ne!(
                    e.value.as_deref(),
                    Some(""),
                    "{}: empty env {}",
                    c.name,
                    e.name
                );
            }
        }
    }
    // The engine has no port and no TCP listener: it is reached through the socket only.
    let pod = pod(&builder_deployment());
    let docker = &pod.containers[1];
    assert!(docker.ports.is_none());
    let args = docker.args.clone().unwrap();
    assert_eq!(
        args[0], "dockerd",
        "the entrypoint must not add its default listeners"
    );
    assert!(args.iter().all(|a| !a.contains("tcp://")), "{args:?}");
}

#[test]
fn the_intake_has_no_engine_no_socket_and_no_credentials() {
    let d = intake_deployment();
    assert_eq!(d.metadata.name.as_deref(), Some(names::INTAKE_NAME));
    let pod = pod(&d);
    assert_eq!(pod.containers.len(), 1);
    assert_eq!(
        pod.service_account_name.as_deref(),
        Some(names::INTAKE_NAME)
    );
    let args = pod.containers[0].args.clone().unwrap();
    assert!(args.contains(&"--concurrency=0".to_string()), "{args:?}");
    for a in &args {
        assert!(
            !a.starts_with("--docker-host") && !a.starts_with("--default-"),
            "{a}"
        );
    }
    let volumes: Vec<String> = pod.volumes.unwrap().into_iter().map(|v| v.name).collect();
    assert!(
        !volumes.iter().any(|v| v.starts_with("docker")),
        "{volumes:?}"
    );
}

#[test]
fn the_token_reaches_only_the_container_that_calls_the_api() {
    for d in [intake_deployment(), builder_deployment()] {
        let pod = pod(&d);
        assert_eq!(pod.automount_service_account_token, Some(false));
        for c in &pod.containers {
            let has = mounts(c).contains(&TOKEN_VOLUME.to_string());
            assert_eq!(has, c.name == WEBHOOK_CONTAINER, "{}", c.name);
        }
        let token = pod
            .volumes
            .unwrap()
            .into_iter()
            .find(|v| v.name == TOKEN_VOLUME)
            .unwrap();
        let sources = token.projected.unwrap().sources.unwrap();
        assert!(sources[0].service_account_token.is_some());
        let m = pod.containers[0]
            .volume_mounts
            .iter()
            .flatten()
            .find(|m| m.name == TOKEN_VOLUME)
            .unwrap();
        assert_eq!(m.mount_path, TOKEN_DIR);
        assert_eq!(m.read_only, Some(true));
    }
}

#[test]
fn every_volume_and_container_has_a_storage_limit() {
    for d in [intake_deployment(), builder_deployment()] {
        let pod = pod(&d);
        for v in pod.volumes.iter().flatten() {
            if let Some(e) = &v.empty_dir {
                assert!(e.size_limit.is_some(), "{} has no sizeLimit", v.name);
            }
        }
        for c in &pod.containers {
            let limits = c.resources.as_ref().unwrap().limits.as_ref().unwrap();
            assert!(
                limits.contains_key("ephemeral-storage") && limits.contains_key("memory"),
                "{}",
                c.name
            );
        }
    }
    let pod = pod(&builder_deployment());
    let data = pod
        .volumes
        .unwrap()
        .into_iter()
        .find(|v| v.name == "docker-data")
        .unwrap();
    assert_eq!(
        data.empty_dir.unwrap().size_limit,
        Some(Quantity(ENGINE_DISK.into()))
    );
}

#[test]
fn the_webhook_reads_its_secret_from_the_mounted_file() {
    let pod = pod(&intake_deployment());
    let args = pod.containers[0].args.clone().unwrap();
    assert!(args.contains(&format!("--webhook-secret-file={SECRET_MOUNT_DIR}/secret")));
    let vol = pod
        .volumes
        .unwrap()
        .into_iter()
        .find(|v| v.name == "webhook-secret")
        .unwrap();
    assert_eq!(
        vol.secret.unwrap().secret_name.as_deref(),
        Some(names::WEBHOOK_SECRET_NAME)
    );
}

#[test]
fn the_builders_never_see_the_webhook_secret() {
    let pod = pod(&builder_deployment());
    let secrets: Vec<_> = pod
        .volumes
        .unwrap()
        .into_iter()
        .filter(|v| v.secret.is_some())
        .collect();
    assert!(secrets.is_empty(), "{secrets:?}");
    for c in &pod.containers {
        let args = c.args.clone().unwrap_or_default();
        assert!(
            !args.iter().any(|a| a.contains("webhook-secret")),
            "{}: {args:?}",
            c.name
        );
    }
}
