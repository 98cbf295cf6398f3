//! `MIN:MAX` parsing and the HPA as the API server takes it.

use super::*;

#[test]
fn a_range_parses_and_prints_back() {
    let a: Autoscale = "1:10".parse().expect("a range");
    assert_eq!(a, Autoscale { min: 1, max: 10 });
    assert_eq!(a.to_string(), "1:10");
    assert_eq!("3:3".parse(), Ok(Autoscale { min: 3, max: 3 }));
}

#[test]
fn a_bad_range_says_what_to_give() {
    let err = |s: &str| s.parse::<Autoscale>().expect_err(s).to_string();
    assert_eq!(
        err("5:2"),
        "5:2: MIN is above MAX; give the smaller number first, e.g. 2:5"
    );
    assert_eq!(
        err("0:3"),
        "0:3: MIN must be at least 1 (an HPA does not scale to 0 builders); give e.g. 1:3"
    );
    assert_eq!(err("1:101"), "1:101: MAX is above 100 builders");
    for shape in [
        "x",
        "3",
        "1:",
        ":4",
        "1:x",
        "-1:3",
        "+1:3",
        "1:2:3",
        " 1:2",
        "99999999999:1",
    ] {
        assert_eq!(
            err(shape),
            format!("{shape:?} is not MIN:MAX: give two whole numbers, e.g. 1:10"),
            "{shape}"
        );
    }
}

#[test]
fn the_hpa_scales_the_builders_on_the_external_unfinished_builds_per_builder() {
    let hpa = serde_json::to_value(builder_hpa(Autoscale { min: 2, max: 8 })).unwrap();
    assert_eq!(
        hpa["metadata"]["name"], "mosaic-builder",
        "named as the Deployment it scales"
    );
    assert_eq!(hpa["metadata"]["namespace"], "mosaic-system");
    assert_eq!(
        hpa["metadata"]["labels"]["app.kubernetes.io/component"],
        "builder"
    );
    assert_eq!(
        hpa["spec"],
        serde_json::json!({
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "mosaic-builder"},
            "minReplicas": 2,
            "maxReplicas": 8,
            "metrics": [{"type": "External", "external": {
                "metric": {"name": "mosaic_builds_unfinished"},
                "target": {"type": "AverageValue", "averageValue": "2"}}}]
        })
    );
}
