//! The plugin's integration tests, one binary: `cargo test -p kubectl-mosaic --test it [filter]`
//! (a test's name starts with its module, e.g. `krew::`). A new test file `x.rs` here is
//! registered with `mod x;` below.

mod auto_deploy;
mod commands;
mod environment;
mod explain_cli;
mod explain_docs;
mod explain_live;
mod explain_nodes;
mod explain_probe;
mod forbidden;
mod hook;
mod hook_ns;
mod install;
mod install_autoscale;
mod krew;
mod rollback_cli;
mod status_commit;
mod support;
mod ui_browser;
mod ui_pages;
