//! The command list: the subcommands and their one-line help. Each command's flags live with
//! the command (`cmd/*`), kubectl's connection flags in `kubeconf`, GitHub's in `github`;
//! `lib.rs` dispatches.

use clap::{Parser, Subcommand};

use crate::cmd;
use crate::kubeconf::KubeArgs;

/// Mosaic: push-to-deploy, root-cause analysis and teaching for Kubernetes.
///
/// Bind a Deployment to a GitHub repository and an image repository; every push to the
/// bound branch is then built, pushed and rolled out, and failed rollouts are explained.
#[derive(Parser, Debug)]
#[command(
    name = "kubectl mosaic",
    bin_name = "kubectl mosaic",
    version,
    propagate_version = true,
    disable_help_subcommand = true,
    after_help = "Examples:\n  kubectl mosaic bind deployment/api --repo acme/api --image ghcr.io/acme/api\n  kubectl mosaic bind --auto --owner acme\n  kubectl mosaic list -A\n  kubectl mosaic deploy deployment/api --ref main --wait"
)]
pub struct Cli {
    #[command(flatten)]
    pub kube: KubeArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Bind a Deployment to a GitHub repository branch and an image repository.
    Bind(cmd::bind::BindArgs),
    /// Remove the binding of a Deployment (the Deployment itself is left alone).
    Unbind(cmd::unbind::UnbindArgs),
    /// List bindings with their last commit, image, build phase and age.
    #[command(visible_alias = "ls")]
    List(cmd::list::ListArgs),
    /// Show a binding, its recent builds and the Deployment's rollout state.
    Status(cmd::status::StatusArgs),
    /// Build and roll out a branch or commit now.
    Deploy(cmd::deploy::DeployArgs),
    /// Run an earlier successful build's image again (no rebuild), recorded as a rollback Build.
    Rollback(cmd::rollback::RollbackArgs),
    /// Print the log tail of a build.
    Logs(cmd::logs::LogsArgs),
    /// Explain why a workload is unhealthy: root cause, evidence, fix (live or offline with -f).
    Explain(cmd::explain::ExplainArgs),
    /// Install the webhook, CRDs and RBAC into the cluster (namespace mosaic-system; -n to change).
    Install(cmd::install::InstallArgs),
    /// Remove what install created; Bindings and the CRDs stay unless --all.
    Uninstall(cmd::uninstall::UninstallArgs),
    /// Create or update a repository's GitHub webhook so pushes reach Mosaic.
    Hook(cmd::hook::HookArgs),
    /// Open the web UI: a local server on loopback that acts with your kubeconfig.
    Ui(crate::ui::UiArgs),
    /// Print the plugin version (and the in-cluster webhook's, when installed).
    Version(cmd::version::VersionArgs),
    /// Print a shell completion script (bash, zsh or fish).
    Completion(cmd::completion::CompletionArgs),
    /// Print completion candidates for `kubectl_complete-mosaic` (used by kubectl's plugin completion).
    #[command(name = "__complete", hide = true)]
    Complete(cmd::completion::CompleteArgs),
}
