use super::*;
use crate::autoscale::Autoscale;
use crate::install;

fn args(d: &Deployment, name: &str) -> Vec<String> {
    let pod = d.spec.template.spec.as_ref().unwrap();
    let c = pod.containers.iter().find(|c| c.name == name).unwrap();
    c.args.clone().unwrap_or_default()
}

fn image(d: &Deployment, name: &str) -> String {
    let pod = d.spec.template.spec.as_ref().unwrap();
    let c = pod.containers.iter().find(|c| c.name == name).unwrap();
    c.image.clone().unwrap()
}

fn all() -> Settings {
    Settings {
        image: Some("mirror.local/mosaic-webhook:1".into()),
        engine_image: Some("mirror.local/docker:28-dind".into()),
        github_api_url: Some("https://ghe.example/api/v3".into()),
        github_web_url: Some("https://ghe.example".into()),
        insecure_registries: vec![
            "registry.kube-system.svc:5000".into(),
            "10.0.0.5:5000".into(),
        ],
        builders: Some(3),
        builder_autoscale: None,
        namespaces: vec!["shop".into(), "billing".into()],
        api_server_cidrs: vec!["172.18.0.2/32".into()],
        egress_ports: vec![443, 5000],
        deny_cidrs: vec!["169.254.0.0/16".into()],
    }
}

#[test]
fn every_setting_reaches_the_containers_and_is_remembered() {
    let mut d = install::builder_deployment();
    let s = all();
    apply(&s, &mut d);
    assert_eq!(
        image(&d, WEBHOOK_CONTAINER),
        "mirror.local/mosaic-webhook:1"
    );
    assert_eq!(image(&d, ENGINE_CONTAINER), "mirror.local/docker:28-dind");
    let web = args(&d, WEBHOOK_CONTAINER);
    for want in [
        "--github-api-url=https://ghe.example/api/v3",
        "--github-web-url=https://ghe.example",
        "--insecure-registry=registry.kube-system.svc:5000",
        "--insecure-registry=10.0.0.5:5000",
    ] {
        assert!(web.iter().any(|a| a == want), "{want} not in {web:?}");
    }
    let engine = args(&d, ENGINE_CONTAINER);
    assert_eq!(engine[0], "dockerd");
    assert!(engine.contains(&"--insecure-registry=10.0.0.5:5000".to_string()));
    assert!(web.contains(&"--namespace=shop,billing".to_string()));
    assert_eq!(d.spec.replicas, Some(3));
    assert_eq!(remembered(&d), Some(s.clone()));
    // The intake takes the namespaces too, never the builders' replica count.
    let mut i = install::intake_deployment();
    apply(&s, &mut i);
    assert_eq!(i.spec.replicas, Some(install::INTAKE_REPLICAS));
    assert!(args(&i, WEBHOOK_CONTAINER).contains(&"--namespace=shop,billing".to_string()));
    assert_eq!(
        s.secret_scope(),
        crate::rbac::SecretScope::Namespaces(s.namespaces.clone())
    );
    assert_eq!(s.egress().ports, [443, 5000]);
}

#[test]
fn defaults_change_nothing_but_the_annotation() {
    let mut d = install::builder_deployment();
    let plain = install::builder_deployment();
    apply(&Settings::default(), &mut d);
    assert_eq!(d.spec, plain.spec);
    assert_eq!(image(&d, ENGINE_CONTAINER), install::engine_image());
    assert_eq!(remembered(&d), Some(Settings::default()));
    assert_eq!(remembered(&plain), None);
}

#[test]
fn flags_override_what_was_remembered_and_keep_the_rest() {
    let old = all();
    let flags = Settings {
        engine_image: Some("other/docker:29-dind".into()),
        ..Default::default()
    };
    let s = old.overridden_by(&flags);
    assert_eq!(s.engine_image.as_deref(), Some("other/docker:29-dind"));
    assert_eq!(s.image, old.image);
    assert_eq!(s.insecure_registries, old.insecure_registries);
    let lists = Settings {
        insecure_registries: vec!["a:1".into(), "a:1".into(), "b".into()],
        ..Default::default()
    };
    assert_eq!(
        old.overridden_by(&lists).insecure_registries,
        ["a:1", "b"],
        "a list given replaces the remembered one, without duplicates"
    );
}

#[test]
fn bad_settings_are_named() {
    assert_eq!(all().validate(), Ok(()));
    let bad = |s: Settings| s.validate().unwrap_err().to_string();
    let e = bad(Settings {
        engine_image: Some("has space".into()),
        ..Default::default()
    });
    assert!(e.starts_with("--engine-image \"has space\""), "{e}");
    let e = bad(Settings {
        github_api_url: Some("ghe.example/api/v3".into()),
        ..Default::default()
    });
    assert!(
        e.contains("--github-api-url") && e.contains("http(s) URL"),
        "{e}"
    );
    for r in ["http://r:5000", "r:5000/path", "r:port", "", "r:0"] {
        let e = bad(Settings {
            insecure_registries: vec![r.into()],
            ..Default::default()
        });
        assert!(e.contains("HOST:PORT"), "{r}: {e}");
    }
    for (s, flag) in [
        (
            Settings {
                builders: Some(-1),
                ..Default::default()
            },
            "--builders -1",
        ),
        (
            Settings {
                namespaces: vec!["Shop".into()],
                ..Default::default()
            },
            "--namespaces \"Shop\"",
        ),
        (
            Settings {
                api_server_cidrs: vec!["10.0.0.1".into()],
                ..Default::default()
            },
            "--api-server-cidr \"10.0.0.1\" is not a CIDR",
        ),
        (
            Settings {
                deny_cidrs: vec!["x/8".into()],
                ..Default::default()
            },
            "--builder-deny-cidr",
        ),
        (
            Settings {
                egress_ports: vec![0],
                ..Default::default()
            },
            "--builder-egress-port 0",
        ),
    ] {
        let e = bad(s);
        assert!(e.starts_with(flag), "{e}");
    }
    for r in ["r", "r.ns.svc:5000", "10.0.0.5:5000", "[::1]:5000"] {
        let s = Settings {
            insecure_registries: vec![r.into()],
            ..Default::default()
        };
        assert_eq!(s.validate(), Ok(()), "{r}");
    }
}

#[test]
fn rows_fill_in_the_defaults() {
    let rows = Settings::default().rows();
    assert!(rows.iter().all(|(_, _, default)| *default));
    assert_eq!(rows[1], ("--engine-image", install::engine_image(), true));
    let rows = all().rows();
    // All but autoscaling, which a fixed number of builders excludes.
    assert!(
        rows.iter()
            .filter(|(flag, _, _)| *flag != "--builder-autoscale")
            .all(|(_, _, default)| !*default)
    );
    assert_eq!(
        rows[4].1,
        "registry.kube-system.svc:5000, 10.0.0.5:5000".to_string()
    );
}

#[test]
fn the_flags_leave_in_place_what_they_do_not_give() {
    let remembered = Settings {
        image: Some("mirror/webhook:1".into()),
        builders: Some(3),
        namespaces: vec!["team-a".into()],
        deny_cidrs: vec!["10.0.0.0/8".into()],
        ..Default::default()
    };
    let flags = Settings {
        image: Some("mirror/webhook:2".into()),
        deny_cidrs: vec!["192.168.0.0/16".into()],
        ..Default::default()
    };
    let kept = remembered.not_replaced_by(&flags);
    assert_eq!(kept.image, None);
    assert_eq!(kept.builders, Some(3));
    assert_eq!(kept.namespaces, ["team-a"]);
    assert!(kept.deny_cidrs.is_empty());
    // What is kept is exactly what the merge takes from the remembered settings.
    let merged = remembered.overridden_by(&flags);
    assert_eq!(merged.builders, kept.builders);
    assert_eq!(merged.namespaces, kept.namespaces);
}

fn autoscaled(min: i32, max: i32) -> Settings {
    Settings {
        builder_autoscale: Some(Autoscale { min, max }),
        ..Default::default()
    }
}

#[test]
fn under_autoscaling_the_builder_replicas_are_left_to_the_hpa() {
    let s = autoscaled(1, 6);
    let mut d = install::builder_deployment();
    apply(&s, &mut d);
    assert_eq!(d.spec.replicas, None, "install applies no replicas");
    assert_eq!(remembered(&d), Some(s.clone()));
    let json = serde_json::to_value(&d).unwrap();
    assert!(json["spec"].get("replicas").is_none(), "{}", json["spec"]);
    let mut i = install::intake_deployment();
    apply(&s, &mut i);
    assert_eq!(i.spec.replicas, Some(install::INTAKE_REPLICAS));
    let rows = s.rows();
    assert!(rows.contains(&("--builder-autoscale", "1:6".into(), false)));
    assert!(rows.contains(&("--builders", "(chosen by the HPA)".into(), true)));
}

#[test]
fn builders_and_autoscaling_replace_each_other() {
    let fixed = Settings {
        builders: Some(3),
        ..Default::default()
    };
    let scaled = autoscaled(2, 9);
    let s = fixed.overridden_by(&scaled);
    assert_eq!(
        (s.builders, s.builder_autoscale),
        (None, scaled.builder_autoscale)
    );
    assert_eq!(s.validate(), Ok(()));
    let back = scaled.overridden_by(&fixed);
    assert_eq!((back.builders, back.builder_autoscale), (Some(3), None));
    // What is kept is exactly what the merge takes from the remembered settings.
    assert_eq!(fixed.not_replaced_by(&scaled), Settings::default());
    assert_eq!(scaled.not_replaced_by(&fixed), Settings::default());
    let other = Settings {
        image: Some("mirror/webhook:2".into()),
        ..Default::default()
    };
    assert_eq!(
        scaled.overridden_by(&other).builder_autoscale,
        scaled.builder_autoscale
    );
    assert_eq!(scaled.not_replaced_by(&other), scaled);
}

#[test]
fn a_bad_autoscaling_range_or_both_ways_of_sizing_are_refused() {
    let bad = |s: Settings| s.validate().unwrap_err().to_string();
    assert_eq!(
        bad(autoscaled(0, 3)),
        "--builder-autoscale 0:3: MIN must be at least 1 (an HPA does not scale to 0 builders); give e.g. 1:3"
    );
    assert_eq!(
        bad(autoscaled(5, 2)),
        "--builder-autoscale 5:2: MIN is above MAX; give the smaller number first, e.g. 2:5"
    );
    let both = Settings {
        builders: Some(2),
        ..autoscaled(1, 3)
    };
    assert!(bad(both).starts_with("--builders and --builder-autoscale both given"));
}
