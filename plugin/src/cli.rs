//! Command-line surface: global kubectl-style flags and the subcommands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::cmd;

/// Mosaic: push-to-deploy, root-cause analysis and teaching for Kubernetes.
#[derive(Parser, Debug)]
#[command(name = "kubectl mosaic", bin_name = "kubectl mosaic", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub kube: KubeArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// kubectl's connection flags, accepted by every command that talks to a cluster.
#[derive(Args, Debug, Clone, Default)]
pub struct KubeArgs {
    /// Path to the kubeconfig file to use.
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// The name of the kubeconfig context to use.
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// The name of the kubeconfig cluster to use.
    #[arg(long, global = true)]
    pub cluster: Option<String>,
    /// The name of the kubeconfig user to use.
    #[arg(long, global = true)]
    pub user: Option<String>,
    /// Namespace scope for this request (default: the context's namespace).
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
    /// Act across all namespaces.
    #[arg(short = 'A', long, global = true)]
    pub all_namespaces: bool,
    /// Username to impersonate for the operation.
    #[arg(long = "as", global = true, value_name = "USER")]
    pub as_user: Option<String>,
    /// Time to wait for a single server request, e.g. 30s, 1m (0 = no timeout).
    #[arg(long, global = true, value_name = "DURATION")]
    pub request_timeout: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Explain why a workload is unhealthy: root cause, evidence, fix (live or offline with -f).
    Explain(cmd::explain::ExplainArgs),
    /// Print the plugin version (and the in-cluster webhook's, when installed).
    Version,
}
