//! The webhook's integration tests, one binary: `cargo test -p mosaic-webhook --test it
//! [filter]`; a test's name starts with its module (`flow::two_quick_pushes…`). The shared
//! set-up (World, the real binary, signed deliveries, the stand-in Deployment controller) is
//! `mosaic_tests::webhook`. The real-cluster tests (`cluster`, `cluster_install`, `cluster_probe`, `cluster_verdicts`) are the only
//! `#[ignore]`d ones: scripts/test's cluster phase runs them with `--test it cluster --
//! --ignored`. A new test file `x.rs` here is registered with `mod x;` below.

mod audit;
mod buildkit;
mod cluster;
mod cluster_install;
mod cluster_probe;
mod cluster_verdicts;
mod crash;
mod drills;
mod flow;
mod git_truth;
mod github_faults;
mod hostile;
mod hostile_http;
mod hostile_tar;
mod install_defaults;
mod intake_bounds;
mod labels;
mod ns_secrets;
mod ownership;
mod registry_auth;
mod resync;
mod rollout_guard;
mod secrets;
mod verdicts;
