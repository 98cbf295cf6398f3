//! Mosaic's shared core: the resource model (custom resources), the names every
//! component agrees on, and pure decision logic (explain engine, matching,
//! build planning). Nothing in this crate performs IO.

pub mod autoscale;
pub mod bound_container;
pub mod build_reason;
pub mod commit_status;
pub mod duration;
pub mod error_chain;
pub mod explain;
pub mod history;
pub mod images;
pub mod install;
pub mod install_pods;
pub mod install_settings;
pub mod manifests;
pub mod matching;
pub mod names;
pub mod netpol;
pub mod new_build;
pub mod permission;
pub mod public_text;
pub mod rbac;
pub mod reference;
pub mod registry_auth;
pub mod resources;
pub mod rollback;
pub mod size;
pub mod syntax_frontend;
#[cfg(test)]
mod testing;
pub mod verdict;

pub use build_reason::BuildReason;
pub use new_build::CommitRef;
pub use resources::{
    Binding, BindingSpec, BindingStatus, Build, BuildPhase, BuildSpec, BuildStatus,
};
