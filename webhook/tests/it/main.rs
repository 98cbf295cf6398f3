//! The webhook's integration tests, one binary: `cargo test -p mosaic-webhook --test it
//! [filter]`; a test's name starts with its module (`flow::two_quick_pushes…`). The shared
//! set-up (World, the real binary, signed deliveries, the stand-in Deployment controller) is
//! `mosaic_tests::webhook`. The real-cluster tests (`cluster`, `cluster_install`, `cluster_probe`, `cluster_verdicts`) are the only
//! `#[ignore]`d ones: scripts/test's cluster phase runs them with `--test it cluster --
//! --ignored`. A new test file `x.rs` here is registered with `mod x;` below.

mod audit;
mod bench_git;
mod build_events;
mod buildkit;
mod builds_gauge;
mod cluster;
mod cluster_install;
mod cluster_probe;
mod cluster_verdicts;
mod commit_statuses;
mod crash;
mod drills;
mod engine_prune;
mod flags;
mod flow;
mod git_faults;
mod git_truth;
mod github_faults;
mod history_drill;
mod history_reads;
mod hostile;
mod hostile_builds;
mod hostile_http;
mod hostile_tar;
mod install_defaults;
mod intake_bounds;
mod intake_events;
mod labels;
mod leaks;
mod ns_secrets;
mod ownership;
mod paused;
mod registry_auth;
mod resync;
mod rollback;
mod rollout_guard;
mod rollout_reads;
mod secrets;
mod syntax_frontends;
mod takeover;
mod verdicts;
