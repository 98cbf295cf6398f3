use super::*;

/// `GET /v1.41/system/df` as dockerd 20.10 answered on the test stack (trimmed to two records
/// of each kind): the image layers, a shared and an owned build cache record, a container.
const DF: &str = r#"{"LayersSize":130,
 "Images":[{"Containers":0,"Created":1796605865,"Id":"sha256:bdba0b3009c7f1fa12f620e4cf1e028cd5a4cc0f06364bb058e159fe7fdc4264","Labels":{"org.opencontainers.image.revision":"89a7e5c4bb90397f34b7b03bcd4717e8ff1e651f"},"ParentId":"","RepoDigests":["127.0.0.1:34931/mosaic-test/t-b5ef9caa@sha256:4dc7d28be1d674ede0dc584a5fcf22d074d27c5f5ae6894ecafbf3bc16b021e2"],"RepoTags":null,"SharedSize":0,"Size":41,"VirtualSize":41}],
 "Containers":[{"Id":"5c1d0e9a0f3b","Names":["/fill"],"Image":"busybox","ImageID":"sha256:bdba0b3009c7f1fa12f620e4cf1e028cd5a4cc0f06364bb058e159fe7fdc4264","Command":"sh","Created":1796605900,"Ports":[],"SizeRw":1048576,"SizeRootFs":1048617,"Labels":{},"State":"exited","Status":"Exited (0) 2 seconds ago","HostConfig":{"NetworkMode":"none"},"NetworkSettings":{"Networks":{}},"Mounts":[]}],
 "Volumes":[],
 "BuildCache":[
  {"ID":"mj348t6q6mzb799kv99isc0ue","Parent":"","Type":"regular","Description":"fileop target","InUse":false,"Shared":false,"Size":32,"CreatedAt":"2026-12-07T01:10:41.862588745Z","LastUsedAt":"2026-12-07T01:10:41.899625501Z","UsageCount":1},
  {"ID":"hhejdnfx0s7p5fyomm2yhax49","Parent":"","Type":"regular","Description":"http url http://build-context-pvzkrab1p9a42ib13oz43fhef","InUse":false,"Shared":false,"Size":2048,"CreatedAt":"2026-12-07T01:10:40.984209276Z","LastUsedAt":"2026-12-07T01:10:41.483900801Z","UsageCount":2},
  {"ID":"q0v1o0h8c0p3l6k5j4i3h2g1f","Parent":"","Type":"regular","Description":"pulled from docker.io/library/alpine","InUse":false,"Shared":true,"Size":7340032,"CreatedAt":"2026-12-07T01:10:40Z","LastUsedAt":"2026-12-07T01:10:41Z","UsageCount":3}],
 "BuilderSize":7342112}"#;

#[test]
fn usage_is_read_from_the_long_standing_df_fields() {
    let v: serde_json::Value = serde_json::from_str(DF).unwrap();
    let u = DiskUsage::from_df(&v);
    assert_eq!(
        u,
        DiskUsage {
            layers: 130,
            build_cache: 32 + 2048,
            containers: 1_048_576,
        }
    );
    assert_eq!(u.total(), 130 + 2080 + 1_048_576);
}

#[test]
fn the_totals_of_api_1_52_are_read_too() {
    let v = serde_json::json!({"ImageUsage": {"ActiveCount": 1, "TotalCount": 2, "Reclaimable": 5, "TotalSize": 5},
        "ContainerUsage": {"TotalSize": 3}, "BuildCacheUsage": {"TotalSize": 7}, "VolumeUsage": {"TotalSize": 100}});
    assert_eq!(DiskUsage::from_df(&v).total(), 15);
}

#[test]
fn a_build_or_push_in_flight_is_counted_while_held() {
    let before = IN_FLIGHT.load(Ordering::SeqCst);
    let held = InFlight::enter();
    assert!(IN_FLIGHT.load(Ordering::SeqCst) > before);
    drop(held);
}
