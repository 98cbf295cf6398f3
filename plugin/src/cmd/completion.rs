//! Shell completion: `completion bash|zsh|fish` scripts (clap_complete), and the
//! hidden `__complete` command behind `kubectl_complete-mosaic`, which kubectl
//! runs to complete `kubectl mosaic <TAB>`.

use clap::{Args, ValueEnum};
use clap_complete::Shell;

use crate::error::{Error, Outcome};
use crate::kubeconf::KubeArgs;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Args, Debug)]
#[command(
    after_help = "For `kubectl mosaic <TAB>`, put krew/kubectl_complete-mosaic on your PATH (kubectl 1.26+).\nFor the kubectl-mosaic binary itself:\n  source <(kubectl-mosaic completion bash)"
)]
pub struct CompletionArgs {
    /// The shell to print a completion script for.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

#[derive(Args, Debug)]
pub struct CompleteArgs {
    /// The words after `kubectl mosaic`, the last being the one to complete ("" for a new word).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub words: Vec<String>,
}

/// The completion script for a shell, for the `kubectl-mosaic` binary.
pub fn script(mut root: clap::Command, shell: CompletionShell) -> Vec<u8> {
    let shell = match shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut root, "kubectl-mosaic", &mut out);
    out
}

pub fn run(root: clap::Command, args: CompletionArgs) -> Result<Outcome, Error> {
    use std::io::Write;
    std::io::stdout()
        .write_all(&script(root, args.shell))
        .map_err(|e| Error::Other(format!("cannot write the completion script: {e}")))?;
    Ok(Outcome::Success)
}

/// cobra's ShellCompDirectiveNoFileComp: kubectl must not fall back to file names.
const NO_FILE_COMP: &str = ":4";

/// Completion candidates (`value\tdescription` lines, then a `:N` directive) for the words typed so far.
pub fn candidates(root: &clap::Command, words: &[String]) -> Vec<String> {
    let (current, done) = match words.split_last() {
        Some((c, d)) => (c.as_str(), d),
        None => ("", &[][..]),
    };
    let mut cmd = root;
    for w in done {
        if w.starts_with('-') {
            continue;
        }
        if let Some(sub) = cmd.find_subcommand(w) {
            cmd = sub;
        }
    }
    let mut out = vec![];
    // A value for the flag just typed.
    if let Some(prev) = done.last().filter(|p| p.starts_with('-')) {
        let flag = prev.trim_start_matches('-');
        let arg = cmd.get_arguments().chain(root.get_arguments()).find(|a| {
            a.get_long() == Some(flag) || a.get_short().is_some_and(|s| flag == s.to_string())
        });
        if let Some(a) = arg
            && a.get_action().takes_values()
        {
            for v in a.get_possible_values() {
                if v.get_name().starts_with(current) {
                    out.push(v.get_name().to_string());
                }
            }
            out.push(NO_FILE_COMP.into());
            return out;
        }
    }
    if current.starts_with('-') {
        for a in cmd
            .get_arguments()
            .chain(root.get_arguments().filter(|a| a.is_global_set()))
        {
            if a.is_hide_set() {
                continue;
            }
            if let Some(l) = a.get_long() {
                let flag = format!("--{l}");
                if flag.starts_with(current) {
                    let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
                    out.push(format!("{flag}\t{}", first_line(&help)));
                }
            }
        }
    } else {
        for s in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            if s.get_name().starts_with(current) {
                let about = s.get_about().map(|h| h.to_string()).unwrap_or_default();
                out.push(format!("{}\t{}", s.get_name(), first_line(&about)));
            }
        }
        for a in cmd.get_positionals() {
            for v in a.get_possible_values() {
                if v.get_name().starts_with(current) {
                    out.push(v.get_name().to_string());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out.push(NO_FILE_COMP.into());
    out
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("").trim_end_matches('.')
}

/// Which object names complete the word being typed, if any.
#[derive(Debug, PartialEq, Eq)]
pub enum Names {
    /// Every Deployment in the namespace (`bind`).
    Deployments,
    /// Deployments that have a Binding (`unbind`, `status`, `deploy`).
    BoundDeployments,
    /// Builds (`logs`).
    Builds,
}

/// Flags whose value is the next word.
const VALUE_FLAGS: &[&str] = &[
    "--kubeconfig",
    "--context",
    "--cluster",
    "--user",
    "-n",
    "--namespace",
    "--as",
    "--request-timeout",
    "--repo",
    "--image",
    "--branch",
    "-c",
    "--container",
    "--dockerfile",
    "--build-context",
    "--registry-secret",
    "--github-secret",
    "-o",
    "--output",
    "--owner",
    "--threshold",
    "--ref",
    "--timeout",
    "--github-api-url",
];

/// Whether the last word is a command's first positional that names an object (pure).
pub fn names_for(words: &[String]) -> Option<Names> {
    let (current, done) = words.split_last()?;
    if current.starts_with('-') {
        return None;
    }
    let mut positionals = vec![];
    let mut skip = false;
    for w in done {
        if skip {
            skip = false;
        } else if VALUE_FLAGS.contains(&w.as_str()) {
            skip = true;
        } else if !w.starts_with('-') {
            positionals.push(w.as_str());
        }
    }
    if skip {
        return None;
    }
    match positionals.as_slice() {
        ["bind"] => Some(Names::Deployments),
        ["unbind" | "status" | "deploy" | "rollback"] => Some(Names::BoundDeployments),
        ["logs"] => Some(Names::Builds),
        _ => None,
    }
}

/// The connection flags among the words typed so far.
pub fn kube_args_from(base: &KubeArgs, words: &[String]) -> KubeArgs {
    let mut k = KubeArgs {
        request_timeout: Some("2s".into()),
        ..base.clone()
    };
    let mut it = words.iter();
    while let Some(w) = it.next() {
        let (flag, inline) = match w.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (w.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| it.next().cloned());
        match flag {
            "--kubeconfig" => k.kubeconfig = value().map(Into::into),
            "--context" => k.context = value(),
            "--cluster" => k.cluster = value(),
            "--user" => k.user = value(),
            "-n" | "--namespace" => k.namespace = value(),
            "--as" => k.as_user = value(),
            _ => {}
        }
    }
    k
}

async fn object_names(
    base: &KubeArgs,
    words: &[String],
    which: &Names,
) -> Result<Vec<String>, Error> {
    use kube::{Api, ResourceExt};
    let cluster = crate::kubeconf::connect(&kube_args_from(base, words)).await?;
    let lp = kube::api::ListParams::default();
    let ns = &cluster.namespace;
    let mut names: Vec<String> = match which {
        Names::Deployments => {
            Api::<k8s_openapi::api::apps::v1::Deployment>::namespaced(cluster.client, ns)
                .list(&lp)
                .await?
                .items
                .iter()
                .map(|d| format!("deployment/{}", d.name_any()))
                .collect()
        }
        Names::BoundDeployments => Api::<mosaic_core::Binding>::namespaced(cluster.client, ns)
            .list(&lp)
            .await?
            .items
            .iter()
            .map(|b| format!("deployment/{}", b.spec.deployment))
            .collect(),
        Names::Builds => Api::<mosaic_core::Build>::namespaced(cluster.client, ns)
            .list(&lp)
            .await?
            .items
            .iter()
            .map(|b| format!("build/{}", b.name_any()))
            .collect(),
    };
    names.sort();
    names.dedup();
    Ok(names)
}

pub async fn complete(
    root: &clap::Command,
    kube: &KubeArgs,
    args: CompleteArgs,
) -> Result<Outcome, Error> {
    if let Some(which) = names_for(&args.words) {
        let current = args.words.last().map(String::as_str).unwrap_or("");
        // Completion must never fail loudly: without a cluster, offer nothing.
        let names = object_names(kube, &args.words, &which)
            .await
            .unwrap_or_default();
        for n in names.iter().filter(|n| {
            n.starts_with(current)
                || n.split_once('/')
                    .is_some_and(|(_, b)| b.starts_with(current))
        }) {
            println!("{n}");
        }
        println!("{NO_FILE_COMP}");
        return Ok(Outcome::Success);
    }
    for c in candidates(root, &args.words) {
        println!("{c}");
    }
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cli;
    use clap::CommandFactory;

    fn words(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn object_names_complete_the_first_positional_only() {
        assert_eq!(names_for(&words(&["bind", ""])), Some(Names::Deployments));
        assert_eq!(
            names_for(&words(&["-n", "x", "unbind", "dep"])),
            Some(Names::BoundDeployments)
        );
        assert_eq!(
            names_for(&words(&["deploy", "--kubeconfig", "k", "d"])),
            Some(Names::BoundDeployments)
        );
        assert_eq!(names_for(&words(&["logs", "b"])), Some(Names::Builds));
        assert_eq!(names_for(&words(&["bind", "--repo", ""])), None);
        assert_eq!(names_for(&words(&["bind", "deployment/a", ""])), None);
        assert_eq!(names_for(&words(&["bind", "--re"])), None);
        assert_eq!(names_for(&words(&["list", ""])), None);
    }

    #[test]
    fn connection_flags_are_read_from_the_words() {
        let k = kube_args_from(
            &KubeArgs::default(),
            &words(&["--kubeconfig=/k", "-n", "ns", "--context", "c", "bind", ""]),
        );
        assert_eq!(k.kubeconfig.as_deref(), Some(std::path::Path::new("/k")));
        assert_eq!(
            (k.namespace.as_deref(), k.context.as_deref()),
            (Some("ns"), Some("c"))
        );
        assert_eq!(k.request_timeout.as_deref(), Some("2s"));
    }

    #[test]
    fn scripts_for_every_shell_name_the_subcommands() {
        for (shell, marker) in [
            (CompletionShell::Bash, "complete -F"),
            (CompletionShell::Zsh, "#compdef kubectl-mosaic"),
            (CompletionShell::Fish, "complete -c kubectl-mosaic"),
        ] {
            let s = String::from_utf8(script(Cli::command(), shell)).unwrap();
            assert!(s.contains(marker), "{shell:?}");
            assert!(
                s.contains("unbind") && s.contains("registry-secret"),
                "{shell:?}"
            );
        }
    }

    #[test]
    fn completes_subcommands_flags_and_values() {
        let c = candidates(&Cli::command(), &words(&[""]));
        assert!(c.iter().any(|l| l.starts_with("bind\t")), "{c:?}");
        assert!(!c.iter().any(|l| l.starts_with("__complete")), "{c:?}");
        assert_eq!(c.last().unwrap(), ":4");
        let c = candidates(&Cli::command(), &words(&["de"]));
        assert_eq!(
            c,
            vec![
                "deploy\tBuild and roll out a branch or commit now".to_string(),
                ":4".into()
            ]
        );
        let c = candidates(&Cli::command(), &words(&["bind", "--re"]));
        assert!(c.iter().any(|l| l.starts_with("--repo\t")), "{c:?}");
        assert!(
            c.iter().any(|l| l.starts_with("--registry-secret\t")),
            "{c:?}"
        );
        let c = candidates(&Cli::command(), &words(&["list", "-o", ""]));
        assert!(
            c.contains(&"json".to_string()) && c.contains(&"wide".to_string()),
            "{c:?}"
        );
        let c = candidates(&Cli::command(), &words(&["completion", "z"]));
        assert_eq!(c, vec!["zsh".to_string(), ":4".into()]);
        let c = candidates(&Cli::command(), &words(&["list", "--kubec"]));
        assert!(c.iter().any(|l| l.starts_with("--kubeconfig\t")), "{c:?}");
    }
}
